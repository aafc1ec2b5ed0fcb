#include "imap/fetch/fetch.hpp"

#include "imap/fetch/detail/content.hpp"
#include "mime/preview.hpp"

namespace sov::imap::fetch {

bool needs_bytes(const wire::FetchAtt& att) noexcept {
    switch (att.item) {
        case wire::FetchItem::Rfc822:
        case wire::FetchItem::Rfc822Header:
        case wire::FetchItem::Rfc822Text:
        case wire::FetchItem::BodySection:
        case wire::FetchItem::BinarySection:
        case wire::FetchItem::BinarySize:
            return true;
        case wire::FetchItem::Preview:
            return !att.lazy;
        default:
            return false;
    }
}

bool needs_structure(const wire::FetchAtt& att) noexcept {
    switch (att.item) {
        case wire::FetchItem::Rfc822:
            return false;
        case wire::FetchItem::BodySection:
            return !detail::is_whole_message(att.section);
        case wire::FetchItem::Envelope:
        case wire::FetchItem::Body:
        case wire::FetchItem::BodyStructure:
        case wire::FetchItem::Rfc822Size:
        case wire::FetchItem::Rfc822Header:
        case wire::FetchItem::Rfc822Text:
        case wire::FetchItem::BinarySection:
        case wire::FetchItem::BinarySize:
            return true;
        case wire::FetchItem::Preview:
            return !att.lazy;
        default:
            return false;
    }
}

AttStatus write_att(
    wire::ResponseWriter& w,
    const wire::FetchAtt& att,
    const mime::MessageStructure& s,
    std::string_view bytes
) {
    switch (att.item) {
        case wire::FetchItem::Envelope:
            detail::write_envelope(w, s);
            return AttStatus::Ok;
        case wire::FetchItem::Body:
            detail::write_body_structure(w, s, false);
            return AttStatus::Ok;
        case wire::FetchItem::BodyStructure:
            detail::write_body_structure(w, s, true);
            return AttStatus::Ok;
        case wire::FetchItem::Rfc822Size:
            w.atom("RFC822.SIZE").number(rfc822_size(s));
            return AttStatus::Ok;
        case wire::FetchItem::BodySection:
            detail::write_body_section(w, "BODY", att.section, att.partial, s, bytes);
            return AttStatus::Ok;
        // RFC 9051 §6.4.5 / RFC 3501 §6.4.5: RFC822 is BODY[], RFC822.HEADER is
        // BODY.PEEK[HEADER], RFC822.TEXT is BODY[TEXT]; the response keeps the old names.
        case wire::FetchItem::Rfc822:
            detail::write_body_section(w, "RFC822", wire::Section{}, std::nullopt, s, bytes);
            return AttStatus::Ok;
        case wire::FetchItem::Rfc822Header:
            detail::write_body_section(
                w,
                "RFC822.HEADER",
                wire::Section{{}, wire::SectionText::Header, {}},
                std::nullopt,
                s,
                bytes
            );
            return AttStatus::Ok;
        case wire::FetchItem::Rfc822Text:
            detail::write_body_section(
                w,
                "RFC822.TEXT",
                wire::Section{{}, wire::SectionText::Text, {}},
                std::nullopt,
                s,
                bytes
            );
            return AttStatus::Ok;
        case wire::FetchItem::BinarySection:
        case wire::FetchItem::BinarySize:
            return detail::write_binary(w, att, s, bytes);
        case wire::FetchItem::Preview:
            // RFC 8970 §3.2: NIL only for LAZY; a message without text gets "".
            w.atom("PREVIEW");
            if (att.lazy) {
                w.nil();
            } else {
                w.string(mime::preview_text(bytes, s));
            }
            return AttStatus::Ok;
        default:
            return AttStatus::Ok;  // not a content attribute: the engine writes it
    }
}

std::uint64_t rfc822_size(const mime::MessageStructure& s) noexcept {
    if (s.parts.empty()) {
        return s.size;
    }
    // The root part spans the whole message: its header [0, body_offset) and its body
    // [body_offset, size). BODY[] adds one CR per bare LF.
    const mime::Part& root = s.parts[0];
    return s.size + detail::header_bare_lf_of(root) + root.body_bare_lf;
}

}  // namespace sov::imap::fetch
