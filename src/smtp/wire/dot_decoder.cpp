#include "smtp/wire/dot_decoder.hpp"

namespace sov::smtp::wire {
namespace {
constexpr std::string_view kCrlf = "\r\n";
}  // namespace

void DotDecoder::reset() noexcept {
    line_start_ = true;
    crlf_before_ = true;
    bad_line_ending_ = false;
}

DotDecoder::Step DotDecoder::decode(std::string_view input) noexcept {
    Step s;
    if (input.empty()) {
        return s;
    }
    if (line_start_ && input[0] == '.') {
        // RFC 5321 §4.5.2: a leading dot is removed; a line of just "." ends the data.
        if (input.size() < 2) {
            return s;
        }
        if (input[1] == '\r') {
            if (input.size() < 3) {
                return s;
            }
            if (input[2] == '\n') {
                if (crlf_before_) {
                    // §4.1.1.4: <CRLF>.<CRLF>, both CRLFs real: the end of the mail data.
                    s.consumed = 3;
                    s.done = true;
                    return s;
                }
                // "." CRLF after a bare LF is not the end (SMTP smuggling): keep it as content;
                // we stored the bare LF as CRLF, and our SMTP client will stuff this dot.
                s.consumed = 3;
                s.data = input.substr(0, 3);
                crlf_before_ = true;
                return s;
            }
        }
        if (input[1] == '\n') {
            // ".\n" is never the end; the lone dot is content (it cannot be a stuffing dot,
            // which would be "..") and the LF is handled as a bare LF next.
            s.consumed = 1;
            s.data = input.substr(0, 1);
            line_start_ = false;
            return s;
        }
        // A stuffing dot: drop it.
        s.consumed = 1;
        line_start_ = false;
        return s;
    }
    line_start_ = false;
    const auto p = input.find_first_of(kCrlf);
    if (p == std::string_view::npos) {
        s.consumed = input.size();
        s.data = input;
        return s;
    }
    if (p > 0) {
        // Emit the text before the line end; the line end is decided on the next call, which
        // keeps every decision in one place below.
        s.consumed = p;
        s.data = input.substr(0, p);
        return s;
    }
    if (input[0] == '\n') {
        // Bare LF (the CRLF case is handled below and never reaches here).
        line_start_ = true;
        crlf_before_ = false;
        s.consumed = 1;
        if (policy_ == BareLineEnding::Normalize) {
            s.data = kCrlf;
        } else {
            bad_line_ending_ = true;
            s.data = input.substr(0, 1);
        }
        return s;
    }
    // input[0] == '\r'
    if (input.size() < 2) {
        return s;  // hold the CR back until we know what follows it
    }
    if (input[1] == '\n') {
        line_start_ = true;
        crlf_before_ = true;
        s.consumed = 2;
        s.data = input.substr(0, 2);
        return s;
    }
    // Bare CR: no meaning in RFC 5322 text, and "\r.\r\n" is a smuggling variant.
    bad_line_ending_ = true;
    s.consumed = 1;
    s.data = input.substr(0, 1);
    return s;
}

}  // namespace sov::smtp::wire
