#pragma once
// Streaming decoder for the DATA body (RFC 5321 §4.1.1.4 end of data, §4.5.2 transparency),
// hardened against SMTP smuggling (CVE-2023-51764/51765/51766, SEC Consult 2023-12).
//
// Policy, and why:
// - Only <CRLF>.<CRLF> ends the data, where both CRLFs are real CR LF pairs. "\n.\n",
//   "\n.\r\n", "\r\n.\n" and "\r.\r\n" never end it: a receiver that ends data on something its
//   upstream forwarded as content is exactly what smuggling exploits.
// - Normalize (default, like Postfix 3.9's smtpd_forbid_bare_newline=normalize): a bare LF is a
//   line end and is emitted as CRLF, so what we store and later relay has canonical line
//   ends and our SMTP client's dot-stuffing covers it (a downstream can't see a "." line we
//   don't). A leading dot after a bare LF is unstuffed like any other, but ".\n" / "." + CRLF
//   after a bare LF is content, not the end. A bare CR (CR not followed by LF) has no use in
//   RFC 5322 text and is the other smuggling vector, so it makes the message fail (550 5.6.0 at
//   the end; we keep reading to stay in sync).
// - Reject: any bare LF or bare CR makes the message fail (550 5.6.0), as Postfix "reject".
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sov::smtp::wire {

enum class BareLineEnding {
    Normalize,
    Reject,
};

class DotDecoder {
public:
    explicit DotDecoder(BareLineEnding policy = BareLineEnding::Normalize) noexcept
        : policy_(policy) {}

    struct Step {
        std::size_t consumed = 0;  ///< input bytes used by this step
        std::string_view data;     ///< decoded body bytes: into the input, or a static "\r\n"
        bool done = false;         ///< the terminating <CRLF>.<CRLF> was consumed
    };

    /// Decodes from the start of `input`. Call repeatedly, dropping `consumed` bytes each time,
    /// until `consumed` is 0 (need more input: present the unconsumed bytes again with more
    /// appended; at most 3 are held back) or `done`. `data` may be empty while consumed > 0
    /// (a removed stuffing dot). After `done`, call reset() before reuse.
    [[nodiscard]] Step decode(std::string_view input) noexcept;

    /// A bare CR, or under Reject a bare LF, was seen: the message must be refused.
    [[nodiscard]] bool bad_line_ending() const noexcept { return bad_line_ending_; }
    void reset() noexcept;

private:
    BareLineEnding policy_;
    bool line_start_ = true;   // at the start of a line
    bool crlf_before_ = true;  // that line start follows a real CRLF (or is the first line)
    bool bad_line_ending_ = false;
};

}  // namespace sov::smtp::wire
