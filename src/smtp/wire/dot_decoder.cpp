#include "smtp/wire/dot_decoder.hpp"

#include <cstring>

namespace sov::smtp::wire {
namespace {
constexpr std::string_view kCrlf = "\r\n";

const char* find_byte(const char* from, const char* end, char c) noexcept {
    return static_cast<const char*>(std::memchr(from, c, static_cast<std::size_t>(end - from)));
}

// The length of the run of whole lines at the start of `in` that need no decision: each ends in
// CRLF, holds no other CR or LF, and the line after it does not start with a dot (`in` itself
// does not). That is nearly every byte of a real message, taken in one step; the
// byte-at-a-time rules in decode() then only see dots at line starts and odd line ends.
std::size_t plain_lines(std::string_view in) noexcept {
    const char* const begin = in.data();
    const char* const end = begin + in.size();
    const char* line = begin;
    while (line < end && (line == begin || *line != '.')) {
        const char* lf = find_byte(line, end, '\n');
        if (lf == nullptr || lf == line || lf[-1] != '\r' ||
            find_byte(line, lf - 1, '\r') != nullptr) {
            break;  // an unfinished line, a bare LF or a bare CR: decided byte by byte
        }
        line = lf + 1;
    }
    return static_cast<std::size_t>(line - begin);
}

// The first CR or LF in `in`, or npos.
std::size_t find_line_end(std::string_view in) noexcept {
    const char* const begin = in.data();
    const char* const end = begin + in.size();
    const char* lf = find_byte(begin, end, '\n');
    const char* cr = find_byte(begin, lf != nullptr ? lf : end, '\r');
    const char* first = cr != nullptr ? cr : lf;
    return first != nullptr ? static_cast<std::size_t>(first - begin) : std::string_view::npos;
}
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
    if (const auto n = plain_lines(input); n > 0) {
        line_start_ = true;
        crlf_before_ = true;
        s.consumed = n;
        s.data = input.substr(0, n);
        return s;
    }
    const auto p = find_line_end(input);
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
