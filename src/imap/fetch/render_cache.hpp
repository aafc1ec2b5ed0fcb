#pragma once
// The render cache: the ENVELOPE, BODY and BODYSTRUCTURE answers of a message, rendered once
// from its cached MIME structure and kept by the store beside it (Store::set_render_cache).
// A FETCH of those items then copies text instead of decoding the structure and rendering it
// again (the way Dovecot's dovecot.index.cache keeps them). The message never changes, so an
// entry never goes stale; it is versioned (kRenderCacheVersion) against changes of the
// renderers: an entry of another version is ignored and rewritten.
//
// Rendering depends on the session's WriterOptions only through `utf8` (8-bit strings quoted or
// sent as literals). Entries are rendered for utf8 = false; when the utf8 = true rendering
// differs, the entry says so and UTF-8 sessions render themselves.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mime/structure.hpp"

namespace sov::imap::fetch {

/// Bump whenever ENVELOPE, BODY or BODYSTRUCTURE rendering changes its output.
inline constexpr unsigned char kRenderCacheVersion = 1;

struct RenderedItems {
    bool utf8_differs = false;        // the utf8 = true rendering is not the same text
    std::string_view envelope;        // "ENVELOPE (...)"
    std::string_view body;            // "BODY (...)"
    std::string_view body_structure;  // "BODYSTRUCTURE (...)"
};

/// The cache entry for a message with structure `s`.
[[nodiscard]] std::string encode_render_cache(const mime::MessageStructure& s);

/// The items of an entry (views into `entry`); nullopt if it is empty, of another version or
/// damaged.
[[nodiscard]] std::optional<RenderedItems> decode_render_cache(std::string_view entry) noexcept;

}  // namespace sov::imap::fetch
