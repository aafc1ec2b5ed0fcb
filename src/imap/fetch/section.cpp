// BODY[section]<partial> and RFC822, RFC822.HEADER, RFC822.TEXT (RFC 9051 §6.4.5, §6.4.5.1,
// §7.5.2; RFC 3501 §6.4.5).
#include <array>
#include <charconv>
#include <optional>
#include <string>

#include "imap/fetch/detail/content.hpp"
#include "imap/wire/chars.hpp"

namespace sov::imap::fetch::detail {
namespace {

// header-fld-name = astring (RFC 9051 §9), echoed so that the client finds the name it sent.
// "]" is an ASTRING-CHAR but would end the section for a naive reader, so it is quoted too.
void append_field_name(std::string& out, std::string_view f) {
    bool atom = !f.empty();
    bool quotable = true;
    for (const char c : f) {
        atom = atom && wire::is_atom_char(c);
        quotable = quotable && wire::is_quoted_text_char(c);
    }
    if (atom) {
        out += f;
        return;
    }
    if (quotable) {
        out += '"';
        for (const char c : f) {
            if (wire::is_quoted_special(c)) {
                out += '\\';
            }
            out += c;
        }
        out += '"';
        return;
    }
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), f.size());
    out += '{';
    out.append(buf.data(), r.ptr);
    out += "}\r\n";
    out += f;
}

bool field_listed(std::string_view name, const std::vector<std::string>& fields) noexcept {
    for (const auto& f : fields) {
        if (wire::iequals(name, f)) {  // "ASCII-range case insensitive" (RFC 9051 §6.4.5.1)
            return true;
        }
    }
    return false;
}

// HEADER.FIELDS / HEADER.FIELDS.NOT: the fields of `header` (a raw header block) whose name is
// (or, with `exclude`, is not) listed, each with its original folded lines, then the blank
// line. RFC 9051 §6.4.5: "Subsetting does not exclude the [RFC-5322] delimiting blank line
// ... the blank line is included in all header fetches, except in the case of a message which
// has no body and no blank line": a header block without one gets none (Dovecot adds one to
// such a top-level header, but not to an encapsulated one). A line without a colon is no
// field name's match: it is kept by HEADER.FIELDS.NOT only.
void filter_header(
    std::string_view header, const std::vector<std::string>& fields, bool exclude, std::string& out
) {
    const auto line_end = [&header](std::size_t p) {
        const std::size_t nl = header.find('\n', p);
        return nl == std::string_view::npos ? header.size() : nl + 1;
    };
    std::size_t p = 0;
    bool blank_line = false;
    while (p < header.size()) {
        const std::size_t e = line_end(p);
        std::size_t content_end = e;
        if (content_end > p && header[content_end - 1] == '\n') {
            --content_end;
        }
        if (content_end > p && header[content_end - 1] == '\r') {
            --content_end;
        }
        if (content_end == p) {
            blank_line = e > p;  // RFC 5322 §2.1: the empty line ends the header section
            break;
        }
        // RFC 5322 §2.2.3: lines starting with WSP continue the field.
        const std::size_t start = p;
        p = e;
        while (p < header.size() && (header[p] == ' ' || header[p] == '\t')) {
            p = line_end(p);
        }
        const std::string_view field = header.substr(start, p - start);
        const std::size_t colon = field.find(':');
        bool keep = exclude;
        if (colon != std::string_view::npos) {
            std::string_view name = field.substr(0, colon);
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
                name.remove_suffix(1);  // RFC 5322 §4.5.1 obs: WSP before the colon
            }
            keep = field_listed(name, fields) != exclude;
        }
        if (keep) {
            out += field;
            if (field.back() != '\n') {
                out += "\r\n";  // the header ended at the end of the message
            }
        }
    }
    if (blank_line) {
        out += "\r\n";
    }
}

// The text the section designates. A section that does not exist (no such part, or
// HEADER/TEXT of a part that is not MESSAGE/RFC822, which RFC 9051 §6.4.5.1 only defines for
// those) is nullopt: FETCH answers it with the empty string. RFC 9051 has no rule for this
// case; "" is what Dovecot answers (and body section data is an nstring either way, §9
// msg-att-static), so clients cope with it and the FETCH response stays complete. `subset`
// holds a HEADER.FIELDS[.NOT] selection, which the returned text then points into.
std::optional<Text> section_text(
    const wire::Section& section,
    const mime::MessageStructure& s,
    std::string_view bytes,
    std::string& subset
) {
    if (is_whole_message(section)) {
        return Text{bytes, false};  // the bytes alone, whatever `s` holds (needs_structure)
    }
    const auto node = resolve_part(s, section.part);
    if (!node) {
        return std::nullopt;
    }
    if (section.text == wire::SectionText::None) {
        // BODY[n] is the body of part n (for MESSAGE/RFC822 the whole encapsulated message,
        // header included).
        const mime::Part& p = s.parts[*node];
        return slice(bytes, p.body_offset, p.end_offset);
    }
    if (section.text == wire::SectionText::Mime) {
        // The MIME header of the part. For part 1 of a non-multipart message, the part is the
        // message and its MIME header is the message header (as in Dovecot).
        if (section.part.empty()) {
            return std::nullopt;
        }
        const mime::Part& p = s.parts[*node];
        return slice(bytes, p.header_offset, p.body_offset);
    }
    // HEADER, HEADER.FIELDS[.NOT], TEXT: of the message, or of the message encapsulated in a
    // MESSAGE/RFC822 part.
    std::uint32_t root = *node;
    if (!section.part.empty()) {
        const mime::Part& p = s.parts[*node];
        root = p.is_message() && p.first_child < s.parts.size() ? p.first_child : mime::kNoIndex;
    }
    if (root == mime::kNoIndex) {
        return std::nullopt;
    }
    const mime::Part& r = s.parts[root];
    if (section.text == wire::SectionText::Text) {
        return slice(bytes, r.body_offset, r.end_offset);
    }
    const Text header = slice(bytes, r.header_offset, r.body_offset);
    if (section.text == wire::SectionText::Header) {
        return header;
    }
    subset.clear();
    filter_header(
        header.bytes, section.fields, section.text == wire::SectionText::HeaderFieldsNot, subset
    );
    return Text{subset, false};
}

}  // namespace

// RFC 9051 §6.4.5.1: "Every message has at least one part number. Messages that do not use
// MIME, and MIME messages that are not multipart and have no encapsulated message within them,
// only have a part 1." Multipart children are numbered from 1; a MESSAGE/RFC822 part's numbers
// continue into the encapsulated message: N.1 is its body's first part, or its body when that
// is not multipart. As in Dovecot, "1" of any non-multipart entity is the entity itself, so
// "2.1" of a text part is part 2 (lenient; nothing deeper exists to confuse it with).
std::optional<std::uint32_t> resolve_part(
    const mime::MessageStructure& s, std::span<const std::uint32_t> numbers
) noexcept {
    if (s.parts.empty()) {
        return std::nullopt;
    }
    std::uint32_t index = 0;
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        const mime::Part* p = &s.parts[index];
        if (i > 0 && p->is_message()) {
            // The numbers after a MESSAGE/RFC822 part's own number address its message.
            index = p->first_child;
            if (index >= s.parts.size()) {
                return std::nullopt;
            }
            p = &s.parts[index];
        }
        const std::uint32_t n = numbers[i];
        if (p->is_multipart()) {
            std::uint32_t c = p->first_child;
            for (std::uint32_t k = 1; k < n && c != mime::kNoIndex && c < s.parts.size(); ++k) {
                c = s.parts[c].next_sibling;
            }
            if (n == 0 || c == mime::kNoIndex || c >= s.parts.size()) {
                return std::nullopt;
            }
            index = c;
        } else if (n != 1) {
            return std::nullopt;
        }
    }
    return index;
}

void append_section_spec(std::string& out, const wire::Section& section) {
    std::array<char, 16> buf{};
    for (std::size_t i = 0; i < section.part.size(); ++i) {
        if (i > 0) {
            out += '.';
        }
        const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), section.part[i]);
        out.append(buf.data(), r.ptr);
    }
    if (section.text == wire::SectionText::None) {
        return;
    }
    if (!section.part.empty()) {
        out += '.';
    }
    switch (section.text) {
        case wire::SectionText::None:
            break;
        case wire::SectionText::Header:
            out += "HEADER";
            break;
        case wire::SectionText::HeaderFields:
        case wire::SectionText::HeaderFieldsNot:
            out += section.text == wire::SectionText::HeaderFields ? "HEADER.FIELDS ("
                                                                   : "HEADER.FIELDS.NOT (";
            for (std::size_t i = 0; i < section.fields.size(); ++i) {
                if (i > 0) {
                    out += ' ';
                }
                append_field_name(out, section.fields[i]);
            }
            out += ')';
            break;
        case wire::SectionText::Text:
            out += "TEXT";
            break;
        case wire::SectionText::Mime:
            out += "MIME";
            break;
    }
}

void append_partial_origin(std::string& out, const std::optional<wire::Partial>& partial) {
    if (!partial) {
        return;
    }
    // RFC 9051 §7.5.2: BODY[<section>]<<origin octet>>, only when the client asked for a
    // partial, and then always (even at 0, even when nothing was truncated).
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), partial->offset);
    out += '<';
    out.append(buf.data(), r.ptr);
    out += '>';
}

void write_body_section(
    wire::ResponseWriter& w,
    std::string_view item,
    const wire::Section& section,
    const std::optional<wire::Partial>& partial,
    const mime::MessageStructure& s,
    std::string_view bytes
) {
    // Thunderbird and others fetch BODY.PEEK[HEADER.FIELDS (...)] for whole mailboxes: the name
    // and the header subset reuse per-thread buffers.
    thread_local std::string name;
    thread_local std::string subset;
    name.clear();
    name += item;
    if (item == "BODY") {
        name += '[';
        append_section_spec(name, section);
        name += ']';
        append_partial_origin(name, partial);
    }
    w.atom(name);

    const auto text = section_text(section, s, bytes, subset);
    if (!text) {
        w.string("");
        return;
    }
    const TextScan scan = scan_text(*text);
    const std::uint64_t total = text->bytes.size() + scan.bare_lf;
    const auto [from, to] = window(total, partial);
    write_normalized_literal(w, *text, scan, from, to);
    release_if_large(subset);
}

}  // namespace sov::imap::fetch::detail

namespace sov::imap::fetch {

std::optional<std::string> body_section_octets(
    const wire::Section& section,
    const std::optional<wire::Partial>& partial,
    const mime::MessageStructure& s,
    std::string_view bytes
) {
    std::string subset;
    const auto text = detail::section_text(section, s, bytes, subset);
    if (!text) {
        return std::nullopt;
    }
    const auto scan = detail::scan_text(*text);
    const auto [from, to] = detail::window(text->bytes.size() + scan.bare_lf, partial);
    std::string out;
    detail::append_normalized(*text, from, to, out);
    return out;
}

}  // namespace sov::imap::fetch
