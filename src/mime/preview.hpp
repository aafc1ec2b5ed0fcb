#pragma once
// A message's preview: a short plain-text extract of what it says, for a mailbox listing
// (IMAP PREVIEW, RFC 8970). Everything produced here is UTF-8.
#include <cstddef>
#include <string>
#include <string_view>

#include "mime/structure.hpp"

namespace sov::mime {

/// RFC 8970 §3.3: a server SHOULD keep a preview to 200 characters and MUST NOT exceed 256.
inline constexpr std::size_t kPreviewChars = 200;

/// The preview of `message` (parsed as `s`): the first text/plain part in tree order that is
/// not an attachment, or else the first such text/html part with its markup removed; decoded
/// (transfer encoding, then charset) to UTF-8. Quoted lines ("> ...") are left out and the
/// text ends at a signature separator ("-- ", RFC 3676 §4.3); runs of white space become one
/// space. At most `max_chars` characters (code points), cut at a word boundary when one is
/// near. Empty when the message has no such text (RFC 8970 §3.2: an empty string, not NIL).
/// Only the first 64 KB of the chosen part are read, so the cost does not grow with the
/// message.
[[nodiscard]] std::string preview_text(
    std::string_view message, const MessageStructure& s, std::size_t max_chars = kPreviewChars
);

}  // namespace sov::mime
