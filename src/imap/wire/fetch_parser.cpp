// FETCH and STORE arguments (RFC 9051 §6.4.5-6, §9 "fetch", "store"; RFC 3516 BINARY;
// RFC 7162 CHANGEDSINCE/VANISHED/UNCHANGEDSINCE; RFC 8474 EMAILID/THREADID; RFC 8514 SAVEDATE).
#include <array>
#include <utility>

#include "core/ascii.hpp"
#include "imap/wire/chars.hpp"
#include "imap/wire/detail/grammar.hpp"

namespace sov::imap::wire::detail {
namespace {

// A fetch-att name: letters, digits and ".", up to "[" / "<" / SP / ")" (ATOM-CHAR includes
// "[", so atom() would swallow "BODY[HEADER").
std::string_view att_name(Cursor& c, std::string& upper) {
    upper.clear();
    while (!c.at_end()) {
        const char ch = c.peek();
        const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                        (ch >= '0' && ch <= '9') || ch == '.';
        if (!ok) {
            break;
        }
        upper += ascii_upper(ch);
        (void)c.eat(ch);
    }
    return upper;
}

// header-list = "(" header-fld-name *(SP header-fld-name) ")"; header-fld-name = astring
bool parse_header_list(Cursor& c, std::vector<std::string>& fields) {
    if (!c.sp() || !c.open_paren()) {
        return false;
    }
    do {
        std::string f;
        if (!c.astring(f) || !c.count_arg()) {
            return false;
        }
        for (auto& ch : f) {
            ch = ascii_upper(ch);
        }
        fields.push_back(std::move(f));
    } while (c.eat(' '));
    return c.close_paren();
}

// section = "[" [section-spec] "]"
// section-spec = section-msgtext / (section-part ["." section-text])
// section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
// section-text = section-msgtext / "MIME"; section-part = nz-number *("." nz-number)
bool parse_section(Cursor& c, Section& s, bool binary) {
    if (!c.expect('[')) {
        return false;
    }
    if (c.eat(']')) {
        return true;
    }
    bool have_part = false;
    bool dot = false;  // a "." after the part numbers announces a section-text
    while (c.peek() >= '0' && c.peek() <= '9') {
        std::uint32_t n = 0;
        if (!c.nz_number(n) || !c.count_arg()) {
            return false;
        }
        s.part.push_back(n);
        have_part = true;
        dot = c.eat('.');
        if (!dot) {
            break;
        }
    }
    if (dot || !c.eat(']')) {
        // section-binary = "[" [section-part] "]" (RFC 3516 §4.1): no text specifier.
        if (binary) {
            return c.fail("Invalid BINARY section");
        }
        if (c.keyword("HEADER.FIELDS.NOT")) {
            s.text = SectionText::HeaderFieldsNot;
            if (!parse_header_list(c, s.fields)) {
                return false;
            }
        } else if (c.keyword("HEADER.FIELDS")) {
            s.text = SectionText::HeaderFields;
            if (!parse_header_list(c, s.fields)) {
                return false;
            }
        } else if (c.keyword("HEADER")) {
            s.text = SectionText::Header;
        } else if (c.keyword("TEXT")) {
            s.text = SectionText::Text;
        } else if (have_part && c.keyword("MIME")) {
            s.text = SectionText::Mime;
        } else {
            return c.fail("Invalid section");
        }
        return c.expect(']');
    }
    return true;
}

// partial = "<" number64 "." nz-number64 ">"  (RFC 9051 §9)
bool parse_partial(Cursor& c, std::optional<Partial>& out) {
    if (!c.eat('<')) {
        return true;
    }
    Partial p;
    if (!c.number64(p.offset) || !c.expect('.') || !c.nz_number64(p.length) || !c.expect('>')) {
        return false;
    }
    out = p;
    return true;
}

// fetch-att =/ "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]; preview-mod = "LAZY"
// (RFC 8970 §6). Looked ahead: in "FETCH 1 PREVIEW (CHANGEDSINCE 5)" the list is the
// command's fetch-modifiers, and in "(PREVIEW UID)" the SP separates attributes.
bool parse_preview_modifiers(Cursor& c, FetchAtt& att) {
    const auto ahead = c.rest();
    if (ahead.size() < 7 || ahead.substr(0, 2) != " (" ||
        !core::ascii_iequals(ahead.substr(2, 4), "LAZY") || (ahead[6] != ')' && ahead[6] != ' ')) {
        return true;
    }
    (void)c.eat(' ');
    if (!c.open_paren()) {
        return false;
    }
    do {
        if (!c.keyword("LAZY")) {
            return c.fail("Unknown PREVIEW modifier");
        }
        att.lazy = true;
    } while (c.eat(' '));
    return c.close_paren();
}

struct SimpleAtt {
    std::string_view word;
    FetchItem item;
};

constexpr std::array<SimpleAtt, 16> kSimple = {{
    {"ENVELOPE", FetchItem::Envelope},
    {"FLAGS", FetchItem::Flags},
    {"INTERNALDATE", FetchItem::InternalDate},
    {"RFC822", FetchItem::Rfc822},
    {"RFC822.HEADER", FetchItem::Rfc822Header},
    {"RFC822.SIZE", FetchItem::Rfc822Size},
    {"RFC822.TEXT", FetchItem::Rfc822Text},
    {"BODY", FetchItem::Body},
    {"BODYSTRUCTURE", FetchItem::BodyStructure},
    {"UID", FetchItem::Uid},
    {"MODSEQ", FetchItem::ModSeq},
    {"EMAILID", FetchItem::EmailId},
    {"THREADID", FetchItem::ThreadId},
    {"SAVEDATE", FetchItem::SaveDate},
    {"PREVIEW", FetchItem::Preview},
    {"BINARY.SIZE", FetchItem::BinarySize},
}};

bool parse_att(Cursor& c, FetchAtt& att) {
    if (!c.count_arg()) {
        return false;
    }
    std::string name;
    att_name(c, name);
    if (name.empty()) {
        if (!c.at_end() && static_cast<unsigned char>(c.peek()) >= 0x80) {
            return c.fail("8-bit byte in a fetch attribute");
        }
        return c.fail("Expected a fetch attribute");
    }
    if (c.peek() == '[') {
        if (name == "BODY" || name == "BODY.PEEK") {
            att.item = FetchItem::BodySection;
            att.peek = name == "BODY.PEEK";
            return parse_section(c, att.section, false) && parse_partial(c, att.partial);
        }
        if (name == "BINARY" || name == "BINARY.PEEK") {
            att.item = FetchItem::BinarySection;
            att.peek = name == "BINARY.PEEK";
            return parse_section(c, att.section, true) && parse_partial(c, att.partial);
        }
        if (name == "BINARY.SIZE") {
            att.item = FetchItem::BinarySize;
            return parse_section(c, att.section, true);
        }
        return c.fail("Unknown fetch attribute");
    }
    for (const auto& s : kSimple) {
        if (name == s.word) {
            if (s.item == FetchItem::BinarySize) {
                break;  // needs a section
            }
            att.item = s.item;
            return s.item != FetchItem::Preview || parse_preview_modifiers(c, att);
        }
    }
    return c.fail("Unknown fetch attribute");
}

void expand_macro(FetchMacro m, std::vector<FetchAtt>& atts) {
    // RFC 9051 §6.4.5: ALL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE), FAST = (FLAGS
    // INTERNALDATE RFC822.SIZE), FULL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY).
    auto add = [&atts](FetchItem i) {
        FetchAtt a;
        a.item = i;
        atts.push_back(a);
    };
    add(FetchItem::Flags);
    add(FetchItem::InternalDate);
    add(FetchItem::Rfc822Size);
    if (m != FetchMacro::Fast) {
        add(FetchItem::Envelope);
    }
    if (m == FetchMacro::Full) {
        add(FetchItem::Body);
    }
}

// fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
// fetch-modifier = chgsince-fetch-mod / "VANISHED"  (RFC 7162 §3.1.4, §3.2.6)
//                  / modifier-partial                (RFC 9394 §3.3)
bool parse_fetch_modifiers(Cursor& c, FetchArgs& args) {
    if (!c.open_paren()) {
        return false;
    }
    do {
        if (c.keyword("CHANGEDSINCE")) {
            std::uint64_t v = 0;
            if (!c.sp() || !c.nz_number64(v)) {
                return false;
            }
            args.changed_since = v;
        } else if (c.keyword("VANISHED")) {
            args.vanished = true;
        } else if (c.keyword("PARTIAL")) {
            PartialRange range;
            if (!parse_partial_range(c, range)) {
                return false;
            }
            args.partial = range;
        } else {
            return c.fail("Unknown FETCH modifier");
        }
    } while (c.eat(' '));
    return c.close_paren();
}

}  // namespace

// fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
//         "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
bool parse_section_spec(Cursor& c, Section& s) {
    return parse_section(c, s, false);
}

bool parse_fetch(Cursor& c, FetchArgs& args) {
    if (!c.sp() || !c.sequence_set(args.set) || !c.sp()) {
        return false;
    }
    if (c.keyword("ALL")) {
        args.macro = FetchMacro::All;
    } else if (c.keyword("FAST")) {
        args.macro = FetchMacro::Fast;
    } else if (c.keyword("FULL")) {
        args.macro = FetchMacro::Full;
    }
    if (args.macro != FetchMacro::None) {
        expand_macro(args.macro, args.atts);
    } else if (c.peek() == '(') {
        if (!c.open_paren()) {
            return false;
        }
        do {
            args.atts.emplace_back();
            if (!parse_att(c, args.atts.back())) {
                return false;
            }
        } while (c.eat(' '));
        if (!c.close_paren()) {
            return false;
        }
    } else {
        args.single_att = true;
        args.atts.emplace_back();
        if (!parse_att(c, args.atts.back())) {
            return false;
        }
    }
    if (c.eat(' ')) {
        return parse_fetch_modifiers(c, args);
    }
    return true;
}

// store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags
// store-modifiers = SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"  (RFC 7162 §3.1.3)
// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
bool parse_store(Cursor& c, StoreArgs& args) {
    if (!c.sp() || !c.sequence_set(args.set) || !c.sp()) {
        return false;
    }
    if (c.peek() == '(') {
        if (!c.open_paren()) {
            return false;
        }
        if (!c.keyword("UNCHANGEDSINCE")) {
            return c.fail("Unknown STORE modifier");
        }
        std::uint64_t v = 0;
        if (!c.sp() || !c.number64(v) || !c.close_paren() || !c.sp()) {
            return false;
        }
        args.unchanged_since = v;
    }
    if (c.eat('+')) {
        args.mode = StoreMode::Add;
    } else if (c.eat('-')) {
        args.mode = StoreMode::Remove;
    }
    if (c.keyword("FLAGS.SILENT")) {
        args.silent = true;
    } else if (!c.keyword("FLAGS")) {
        return c.fail("Expected FLAGS");
    }
    if (!c.sp()) {
        return false;
    }
    if (c.peek() == '(') {
        return c.flag_list(args.flags);
    }
    do {
        std::string f;
        if (!c.flag(f)) {
            return false;
        }
        args.flags.push_back(std::move(f));
    } while (c.eat(' '));
    return true;
}

}  // namespace sov::imap::wire::detail
