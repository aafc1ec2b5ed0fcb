#pragma once
// The render cache: the ENVELOPE, BODY and BODYSTRUCTURE answers of a message, rendered once
// from its cached MIME structure and kept by the store beside it (Store::set_render_cache).
// A FETCH of those items then copies text instead of decoding the structure and rendering it
// again (the way Dovecot's dovecot.index.cache keeps them). The message never changes, so an
// entry never goes stale; it is versioned (kRenderCacheVersion) against changes of the
// renderers: an entry of another version is ignored and rewritten.
//
// Rendering depends on the session's WriterOptions only through `utf8` (8-bit strings quoted or
// sent as literals) and `imap4rev2` (MESSAGE/GLOBAL is body-type-msg in IMAP4rev2 only, RFC
// 9051 §9 vs RFC 3501 §9). Entries are rendered for an IMAP4rev1 session without UTF-8; when
// another session's rendering may differ, the entry says so and such sessions render
// themselves (RenderedItems::fits).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "imap/wire/response.hpp"
#include "mime/structure.hpp"

namespace sov::imap::fetch {

/// Bump whenever ENVELOPE, BODY or BODYSTRUCTURE rendering changes its output.
/// 2: MESSAGE/GLOBAL is body-type-basic for IMAP4rev1 sessions. 3: two parts.
inline constexpr unsigned char kRenderCacheVersion = 3;

struct RenderedItems {
    bool utf8_differs = false;        // the utf8 = true rendering is not the same text
    bool imap4rev2_differs = false;   // the imap4rev2 = true rendering may not be the same
    std::string_view envelope;        // "ENVELOPE (...)"
    std::string_view body;            // "BODY (...)"
    std::string_view body_structure;  // "BODYSTRUCTURE (...)"

    /// Whether a session writing with `options` may send these texts as they are.
    [[nodiscard]] bool fits(const wire::WriterOptions& options) const noexcept {
        return !(options.utf8 && utf8_differs) && !(options.imap4rev2 && imap4rev2_differs);
    }
};

/// An entry in two parts, stored apart (store::RenderCache): ENVELOPE and BODY in `cache`,
/// BODYSTRUCTURE in `structure_cache`, so that FETCH 1:* BODYSTRUCTURE reads ~200 bytes a
/// message rather than all three texts. Each part: version, flags, then its texts as LEB128
/// length + bytes.
struct RenderCacheParts {
    std::string cache;
    std::string structure_cache;
};

/// Which parts a FETCH needs.
struct RenderCacheWanted {
    bool envelope_body = false;   // ENVELOPE or BODY
    bool body_structure = false;  // BODYSTRUCTURE
};

/// The cache entry for a message with structure `s`.
[[nodiscard]] RenderCacheParts encode_render_cache(const mime::MessageStructure& s);

/// The items of the parts wanted (views into them; the others' stay empty); nullopt if a part
/// wanted is empty, of another version or damaged.
[[nodiscard]] std::optional<RenderedItems> decode_render_cache(
    std::string_view cache, std::string_view structure_cache, RenderCacheWanted wanted
) noexcept;

}  // namespace sov::imap::fetch
