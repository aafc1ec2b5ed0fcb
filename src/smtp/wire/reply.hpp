#pragma once
// SMTP/LMTP replies as values and as wire bytes (RFC 5321 §4.2, RFC 2034, RFC 3463).
#include <string>
#include <string_view>

namespace sov::smtp::wire {

/// One SMTP reply. `text` may hold several lines separated by '\n'; they become a multiline
/// reply ("250-a", "250 b", RFC 5321 §4.2.1). `enhanced` is the RFC 3463 status code
/// ("5.1.1") or empty for replies that carry none (the 220 greeting, HELO/EHLO replies per
/// RFC 2034 §3, and 354, for which RFC 3463 defines no class).
struct Reply {
    int code = 250;
    std::string enhanced;
    std::string text;

    [[nodiscard]] bool positive() const noexcept { return code >= 200 && code < 400; }
    [[nodiscard]] bool transient() const noexcept { return code >= 400 && code < 500; }
    [[nodiscard]] bool permanent() const noexcept { return code >= 500; }

    friend bool operator==(const Reply&, const Reply&) = default;
};

/// Appends the reply as wire bytes to `out`. Every line gets the code and, when present, the
/// enhanced code (RFC 2034 §4: "each line of a multiline reply"). CR, LF and NUL inside the
/// text are replaced by spaces so a driver-supplied text cannot inject reply lines.
void append_reply(const Reply& reply, std::string& out);

/// The wire form of one reply (convenience for tests and drivers).
[[nodiscard]] std::string to_wire(const Reply& reply);

}  // namespace sov::smtp::wire
