#include "imap/fetch/render_cache.hpp"

#include "imap/fetch/fetch.hpp"
#include "imap/wire/response.hpp"

namespace sov::imap::fetch {
namespace {

constexpr unsigned char kUtf8Differs = 1;
constexpr unsigned char kImap4rev2Differs = 2;

// Only MESSAGE/GLOBAL parts render differently for IMAP4rev2 sessions (body_structure.cpp).
bool has_message_global(const mime::MessageStructure& s) noexcept {
    for (const auto& p : s.parts) {
        if (p.content_type.type == "message" && p.content_type.subtype == "global") {
            return true;
        }
    }
    return false;
}

void put_text(std::string& out, std::string_view text) {
    std::uint64_t n = text.size();
    while (n >= 0x80) {
        out.push_back(static_cast<char>((n & 0x7F) | 0x80));
        n >>= 7;
    }
    out.push_back(static_cast<char>(n));
    out.append(text);
}

bool get_text(std::string_view& in, std::string_view& text) noexcept {
    std::uint64_t n = 0;
    for (int shift = 0;; shift += 7) {
        if (in.empty() || shift > 56) {
            return false;
        }
        const auto byte = static_cast<unsigned char>(in.front());
        in.remove_prefix(1);
        n |= std::uint64_t{byte & 0x7FU} << shift;
        if ((byte & 0x80U) == 0) {
            break;
        }
    }
    if (n > in.size()) {
        return false;
    }
    text = in.substr(0, n);
    in.remove_prefix(n);
    return true;
}

std::string render(const mime::MessageStructure& s, wire::FetchItem item, bool utf8) {
    std::string out;
    wire::ResponseWriter w(out, wire::WriterOptions{.utf8 = utf8, .max_quoted = 1024});
    const wire::FetchAtt att{.item = item, .peek = false, .section = {}, .partial = {}};
    (void)write_att(w, att, s, {});  // ENVELOPE / BODY / BODYSTRUCTURE cannot fail
    return out;
}

}  // namespace

RenderCacheParts encode_render_cache(const mime::MessageStructure& s) {
    const wire::FetchItem items[] = {
        wire::FetchItem::Envelope, wire::FetchItem::Body, wire::FetchItem::BodyStructure
    };
    std::string texts[3];
    bool differs = false;
    for (int i = 0; i < 3; ++i) {
        texts[i] = render(s, items[i], false);
        differs = differs || render(s, items[i], true) != texts[i];
    }
    const unsigned flags =
        (differs ? kUtf8Differs : 0U) | (has_message_global(s) ? kImap4rev2Differs : 0U);
    RenderCacheParts out;
    for (std::string* part : {&out.cache, &out.structure_cache}) {
        part->push_back(static_cast<char>(kRenderCacheVersion));
        part->push_back(static_cast<char>(flags));
    }
    out.cache.reserve(2 + texts[0].size() + texts[1].size() + 8);
    put_text(out.cache, texts[0]);
    put_text(out.cache, texts[1]);
    put_text(out.structure_cache, texts[2]);
    return out;
}

namespace {

// The version and flags of a part; false if it is not of this version.
bool open_part(std::string_view& part, RenderedItems& r) noexcept {
    if (part.size() < 2 || static_cast<unsigned char>(part[0]) != kRenderCacheVersion) {
        return false;
    }
    const auto flags = static_cast<unsigned char>(part[1]);
    r.utf8_differs = r.utf8_differs || (flags & kUtf8Differs) != 0;
    r.imap4rev2_differs = r.imap4rev2_differs || (flags & kImap4rev2Differs) != 0;
    part.remove_prefix(2);
    return true;
}

}  // namespace

std::optional<RenderedItems> decode_render_cache(
    std::string_view cache, std::string_view structure_cache, RenderCacheWanted wanted
) noexcept {
    RenderedItems r;
    if (wanted.envelope_body && (!open_part(cache, r) || !get_text(cache, r.envelope) ||
                                 !get_text(cache, r.body) || !cache.empty())) {
        return std::nullopt;
    }
    if (wanted.body_structure &&
        (!open_part(structure_cache, r) || !get_text(structure_cache, r.body_structure) ||
         !structure_cache.empty())) {
        return std::nullopt;
    }
    return r;
}

}  // namespace sov::imap::fetch
