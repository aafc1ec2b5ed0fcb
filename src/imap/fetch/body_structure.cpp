// BODY and BODYSTRUCTURE (RFC 9051 §7.5.2, §9 "body"; RFC 3501 §7.4.2).
#include <string>

#include "imap/fetch/detail/content.hpp"

namespace sov::imap::fetch::detail {
namespace {

// mime::parse_message caps nesting at 256 levels; this only guards a damaged cache.
constexpr unsigned kMaxDepth = 300;

constexpr std::string_view kEmptyEnvelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";
// An empty text/plain body, as BODY and as BODYSTRUCTURE.
constexpr std::string_view kEmptyBody =
    R"(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0))";
constexpr std::string_view kEmptyBodyExtended =
    R"(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL))";

// body-type-msg: RFC 3501 §9 media-message is MESSAGE/RFC822 only, so for an IMAP4rev1
// client every other MESSAGE subtype is body-type-basic (a strict parser would fail on the
// envelope that follows); RFC 9051 §9 adds MESSAGE/GLOBAL (RFC 6532 §3.5).
bool is_message_type(const mime::ContentType& ct, bool imap4rev2) noexcept {
    return ct.type == "message" &&
           (ct.subtype == "rfc822" || (imap4rev2 && ct.subtype == "global"));
}

// body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
void emit_params(Emitter& e, const std::vector<mime::Parameter>& params, bool text) {
    bool need_charset = text;  // RFC 2046 §4.1.2: text/* defaults to charset=us-ascii
    if (text) {
        for (const auto& p : params) {
            if (p.name == "charset") {
                need_charset = false;
                break;
            }
        }
    }
    if (params.empty() && !need_charset) {
        e.nil();
        return;
    }
    e.open();
    for (const auto& p : params) {
        e.parameter(p);
    }
    if (need_charset) {
        e.atom(R"("CHARSET" "us-ascii")");
    }
    e.close();
}

// body-fld-dsp SP body-fld-lang SP body-fld-loc: the extension data that single parts and
// multiparts share (RFC 9051 §7.5.2 "body disposition", "body language", "body location").
void emit_common_extension(Emitter& e, const mime::Part& p) {
    if (p.disposition.type.empty()) {
        e.nil();
    } else {
        e.open();  // body-fld-dsp = "(" string SP body-fld-param ")" / nil
        e.upper_string(p.disposition.type);
        emit_params(e, p.disposition.params, false);
        e.close();
    }
    if (p.languages.empty()) {
        e.nil();
    } else {
        e.open();  // body-fld-lang = nstring / "(" string *(SP string) ")"
        for (const auto& l : p.languages) {
            e.string(l);
        }
        e.close();
    }
    e.nstring(p.location);
}

void emit_body(
    Emitter& e,
    const mime::MessageStructure& s,
    std::uint32_t index,
    bool extended,
    unsigned depth,
    bool adjacent
);

// body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
void emit_multipart(
    Emitter& e, const mime::MessageStructure& s, const mime::Part& p, bool extended, unsigned depth
) {
    std::uint32_t count = 0;
    for (std::uint32_t c = p.first_child; c != mime::kNoIndex && c < s.parts.size();
         c = s.parts[c].next_sibling) {
        emit_body(e, s, c, extended, depth + 1, true);
        if (++count > s.parts.size()) {
            break;  // a cycle in a damaged cache
        }
    }
    e.upper_string(p.content_type.subtype);
    if (extended) {
        // body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
        emit_params(e, p.content_type.params, false);
        emit_common_extension(e, p);
    }
}

// body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
void emit_single(
    Emitter& e, const mime::MessageStructure& s, const mime::Part& p, bool extended, unsigned depth
) {
    const bool text = p.content_type.type == "text";
    const bool message = is_message_type(p.content_type, e.imap4rev2());
    // A multipart without boundary or without body parts is not Part::is_multipart(): the
    // mime module models it as a leaf, and so it is sent, with its own media type.
    e.upper_string(p.content_type.type);
    e.upper_string(p.content_type.subtype);
    // body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
    //               body-fld-octets
    emit_params(e, p.content_type.params, text);
    e.nstring(p.content_id);
    e.nstring(p.description);
    if (p.transfer_encoding.empty()) {
        e.atom("\"7BIT\"");  // body-fld-enc: "Defaults to 7BIT (as per RFC 2045)"
    } else {
        e.upper_string(p.transfer_encoding);
    }
    e.number(p.body_size() + p.body_bare_lf);  // octets as BODY[n] sends them
    if (message) {
        // body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
        if (p.is_message() && depth < kMaxDepth && p.first_child < s.parts.size()) {
            const std::uint32_t nested = p.first_child;
            emit_envelope(e, s, s.parts[nested].envelope);
            emit_body(e, s, nested, extended, depth + 1, false);
        } else {
            // The nested message was not parsed (the depth or part limit, or a structure
            // cached before encoded message/rfc822 was parsed). The grammar still requires an
            // envelope and a body after MESSAGE/RFC822, and clients parse by the media type: send
            // an empty envelope and an empty text body rather than a malformed body-type-basic.
            e.atom(kEmptyEnvelope);
            e.atom(extended ? kEmptyBodyExtended : kEmptyBody);
        }
        e.number(p.body_lines);
    } else if (text) {
        e.number(p.body_lines);  // body-type-text = media-text SP body-fields SP body-fld-lines
    }
    if (extended) {
        // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
        e.nstring(p.md5);
        emit_common_extension(e, p);
    }
}

void emit_body(
    Emitter& e,
    const mime::MessageStructure& s,
    std::uint32_t index,
    bool extended,
    unsigned depth,
    bool adjacent
) {
    // body = "(" (body-type-1part / body-type-mpart) ")"; the bodies of a multipart follow
    // each other with no SP (1*body).
    if (adjacent) {
        e.open_adjacent();
    } else {
        e.open();
    }
    const mime::Part& p = s.parts[index];
    if (p.is_multipart() && depth < kMaxDepth) {
        emit_multipart(e, s, p, extended, depth);
    } else {
        emit_single(e, s, p, extended, depth);
    }
    e.close();
}

}  // namespace

void write_body_structure(wire::ResponseWriter& w, const mime::MessageStructure& s, bool extended) {
    thread_local std::string buf;
    buf.clear();
    Emitter e(w, buf);
    if (s.parts.empty()) {
        e.atom(extended ? kEmptyBodyExtended : kEmptyBody);
    } else {
        emit_body(e, s, 0, extended, 0, false);
    }
    w.atom(extended ? "BODYSTRUCTURE" : "BODY").atom(buf);
    release_if_large(buf);
}

}  // namespace sov::imap::fetch::detail
