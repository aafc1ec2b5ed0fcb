#pragma once
// Literal announcements at the end of a command line (RFC 9051 §4.3): "{" number64 ["+"] "}",
// "~{...}" for literal8 (RFC 3516 §4.3), "+" for non-synchronising (LITERAL+/-, RFC 7888).
#include <cstdint>
#include <optional>
#include <string_view>

namespace sov::imap::wire {

struct LiteralMarker {
    std::uint64_t size = 0;  ///< UINT64_MAX if `overflow`
    bool sync = true;        ///< "{n}": the client waits for "+" (RFC 9051 §7.5)
    bool binary = false;     ///< "~{n}"
    bool overflow = false;   ///< more than 63 bits (RFC 9051 number64): always too big
    std::size_t length = 0;  ///< characters of the marker, from "{" or "~" to "}"
};

/// Looks for a literal marker at the very end of `line` (the line without CR LF). nullopt if the
/// line does not end in one. Leading zeros are allowed ("{007}" is 7); a value past 2^63-1 sets
/// `overflow`.
[[nodiscard]] std::optional<LiteralMarker> find_literal_marker(std::string_view line) noexcept;

}  // namespace sov::imap::wire
