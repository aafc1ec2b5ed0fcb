#pragma once
// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3), used by IMAP4rev1 clients that have not
// enabled UTF8=ACCEPT (RFC 6855) or IMAP4rev2 (RFC 9051 §5.1 uses UTF-8 instead).
#include <optional>
#include <string>
#include <string_view>

namespace sov::imap::wire {

/// Decodes to UTF-8. nullopt if malformed: a byte outside 0x20-0x7E, bad modified base64, a
/// shift that is empty ("&-" is "&"), non-zero padding bits, an unpaired surrogate, or a shift
/// holding only printable ASCII (RFC 3501 §5.1.3: those "MUST represent themselves").
[[nodiscard]] std::optional<std::string> mutf7_decode(std::string_view text);

/// Encodes UTF-8 to modified UTF-7. nullopt if `utf8` is not valid UTF-8.
[[nodiscard]] std::optional<std::string> mutf7_encode(std::string_view utf8);

}  // namespace sov::imap::wire
