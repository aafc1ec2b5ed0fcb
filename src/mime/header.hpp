#pragma once
// RFC 5322 header-field helpers: unfolding, case-insensitive names, field-value extent.
#include <cstddef>
#include <string>
#include <string_view>

namespace sov::mime {

/// ASCII case-insensitive equality (header names, MIME tokens).
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

/// Appends `s` lowercased (ASCII only) to `out`.
void append_lower(std::string& out, std::string_view s);
[[nodiscard]] std::string to_lower(std::string_view s);

[[nodiscard]] inline bool is_wsp(char c) noexcept {
    return c == ' ' || c == '\t';
}

/// Trims SP, HTAB, CR and LF at both ends.
[[nodiscard]] std::string_view trim(std::string_view s) noexcept;

/// The extent of a raw field value that starts at `raw[0]`: up to (excluding) the first line
/// break not followed by WSP (RFC 5322 §2.2.3), so a value with the next field glued on is cut.
[[nodiscard]] std::string_view field_value_extent(std::string_view raw) noexcept;

/// RFC 5322 §2.2.3 unfolding: removes every CRLF (or bare LF / CR) that is followed by WSP and
/// keeps the WSP; result is trimmed. This is the "raw" value IMAP ENVELOPE sends.
[[nodiscard]] std::string unfold(std::string_view raw);

/// Unstructured field for display: unfolded, whitespace around folds collapsed to one space,
/// RFC 2047 encoded-words decoded to UTF-8, trimmed.
[[nodiscard]] std::string decode_unstructured(std::string_view raw);

}  // namespace sov::mime
