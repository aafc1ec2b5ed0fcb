#include "mime/text.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "core/utf8.hpp"
#include "mime/address.hpp"
#include "mime/encoded_word.hpp"
#include "mime/header.hpp"
#include "mime/transfer_encoding.hpp"

namespace sov::mime {
namespace {

// ---- UTF-8 ------------------------------------------------------------------------------------

using core::decode_utf8;
using core::is_valid_utf8;

// Cuts `s` to at most `limit` bytes without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, std::size_t limit) {
    if (s.size() <= limit) {
        return;
    }
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0U) == 0x80U) {
        --cut;
    }
    s.resize(cut);
}

// ---- case folding ----------------------------------------------------------------------------

bool even(char32_t c) noexcept {
    return (c & 1U) == 0;
}

// Simple lowercase mapping for the scripts listed in text.hpp (Unicode CaseFolding.txt, status
// C and S entries, restricted to those ranges).
char32_t fold_code_point(char32_t c) noexcept {
    if (c < 0x80) {
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    }
    if (c < 0x100) {  // Latin-1 Supplement
        if (c >= 0xC0 && c <= 0xDE && c != 0xD7) {
            return c + 32;
        }
        return c == 0xB5 ? 0x3BC : c;  // MICRO SIGN folds to GREEK SMALL LETTER MU
    }
    if (c < 0x180) {  // Latin Extended-A
        if (c == 0x130) {
            return 'i';  // LATIN CAPITAL LETTER I WITH DOT ABOVE (simple lowercase)
        }
        if (c == 0x178) {
            return 0xFF;
        }
        if (c == 0x17F) {
            return 's';  // LONG S
        }
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) {
            return even(c) ? c : c + 1;
        }
        if (c == 0x131 || c == 0x138 || c == 0x149) {
            return c;
        }
        return even(c) ? c + 1 : c;
    }
    if (c < 0x250) {  // Latin Extended-B: the regular runs and the digraphs
        switch (c) {
            case 0x1C4:
            case 0x1C5:
                return 0x1C6;
            case 0x1C7:
            case 0x1C8:
                return 0x1C9;
            case 0x1CA:
            case 0x1CB:
                return 0x1CC;
            case 0x1F1:
            case 0x1F2:
                return 0x1F3;
            default:
                break;
        }
        if (c >= 0x1CD && c <= 0x1DC) {
            return even(c) ? c : c + 1;
        }
        if ((c >= 0x1DE && c <= 0x1EF) || (c >= 0x1F8 && c <= 0x21F) ||
            (c >= 0x222 && c <= 0x233) || (c >= 0x246 && c <= 0x24F)) {
            return even(c) ? c + 1 : c;
        }
        return c;
    }
    if (c >= 0x370 && c < 0x400) {  // Greek
        if (c == 0x386) {
            return 0x3AC;
        }
        if (c >= 0x388 && c <= 0x38A) {
            return c + 37;
        }
        if (c == 0x38C) {
            return 0x3CC;
        }
        if (c == 0x38E || c == 0x38F) {
            return c + 63;
        }
        if ((c >= 0x391 && c <= 0x3A1) || (c >= 0x3A3 && c <= 0x3AB)) {
            return c + 32;
        }
        if (c == 0x3C2) {
            return 0x3C3;  // final sigma folds to sigma
        }
        if (c >= 0x3D8 && c <= 0x3EF) {
            return even(c) ? c + 1 : c;
        }
        return c;
    }
    if (c >= 0x400 && c < 0x530) {  // Cyrillic and Cyrillic Supplement
        if (c < 0x410) {
            return c + 80;
        }
        if (c < 0x430) {
            return c + 32;
        }
        if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) ||
            (c >= 0x4D0 && c <= 0x52F)) {
            return even(c) ? c + 1 : c;
        }
        if (c == 0x4C0) {
            return 0x4CF;
        }
        if (c >= 0x4C1 && c <= 0x4CE) {
            return even(c) ? c : c + 1;
        }
        return c;
    }
    if (c >= 0x531 && c <= 0x556) {  // Armenian
        return c + 48;
    }
    if (c >= 0x1E00 && c <= 0x1EFF) {  // Latin Extended Additional
        if (c == 0x1E9E) {
            return 0xDF;  // CAPITAL SHARP S
        }
        if (c <= 0x1E95 || c >= 0x1EA0) {
            return even(c) ? c + 1 : c;
        }
        return c;
    }
    if (c >= 0xFF21 && c <= 0xFF3A) {  // fullwidth Latin capitals
        return c + 32;
    }
    return c;
}

// ---- header blocks -----------------------------------------------------------------------------

std::string_view header_block(std::string_view message, const Part& part) {
    if (part.header_offset >= message.size()) {
        return {};
    }
    const std::uint64_t end = std::min<std::uint64_t>(part.body_offset, message.size());
    return message.substr(part.header_offset, end - part.header_offset);
}

void append_header_lines(std::string_view block, std::string& out) {
    for (const HeaderField& f : header_fields(block)) {
        out.append(f.name);
        out.append(": ");
        out.append(decode_header_value(f.value));
        out.push_back('\n');
    }
}

// ---- HTML --------------------------------------------------------------------------------------

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Tags that end a line of text when rendered: the words on both sides must not run together.
bool is_block_tag(std::string_view name) noexcept {
    static constexpr std::array<std::string_view, 24> kBlock = {
        "br", "p",  "div", "tr",    "td", "th", "li", "ul", "ol",    "h1",     "h2",         "h3",
        "h4", "h5", "h6",  "table", "hr", "dl", "dt", "dd", "title", "center", "blockquote", "pre",
    };
    return std::any_of(kBlock.begin(), kBlock.end(), [&](std::string_view b) {
        return iequals(b, name);
    });
}

// Decodes the character reference at html[i] ('&'); returns the bytes consumed, 0 if none.
std::size_t decode_entity(std::string_view html, std::size_t i, std::string& out) {
    const std::size_t semi = html.find(';', i + 1);
    if (semi == std::string_view::npos || semi - i > 10) {
        return 0;
    }
    const std::string_view name = html.substr(i + 1, semi - i - 1);
    if (name.size() >= 2 && name[0] == '#') {
        const bool hex = name[1] == 'x' || name[1] == 'X';
        std::uint32_t v = 0;
        std::size_t k = hex ? 2 : 1;
        if (k >= name.size()) {
            return 0;
        }
        for (; k < name.size(); ++k) {
            const char ch = name[k];
            std::uint32_t d = 0;
            if (ch >= '0' && ch <= '9') {
                d = static_cast<std::uint32_t>(ch - '0');
            } else if (hex && ch >= 'a' && ch <= 'f') {
                d = static_cast<std::uint32_t>(ch - 'a' + 10);
            } else if (hex && ch >= 'A' && ch <= 'F') {
                d = static_cast<std::uint32_t>(ch - 'A' + 10);
            } else {
                return 0;
            }
            v = v * (hex ? 16U : 10U) + d;
            if (v > 0x10FFFF) {
                return 0;
            }
        }
        if (v == 0 || (v >= 0xD800 && v <= 0xDFFF)) {
            return 0;
        }
        core::append_utf8(out, v);
        return semi - i + 1;
    }
    struct Named {
        std::string_view name;
        std::string_view text;
    };
    // The markup characters, and what newsletters write most as names: typography, and the
    // invisible joiners and soft hyphens that pad hidden text (they become nothing).
    static constexpr std::array<Named, 24> kNamed = {{
        {"amp", "&"},   {"lt", "<"},    {"gt", ">"},    {"quot", "\""},  {"apos", "'"},
        {"nbsp", " "},  {"zwnj", ""},   {"zwj", ""},    {"shy", ""},     {"hellip", "…"},
        {"mdash", "—"}, {"ndash", "–"}, {"lsquo", "‘"}, {"rsquo", "’"},  {"ldquo", "“"},
        {"rdquo", "”"}, {"laquo", "«"}, {"raquo", "»"}, {"copy", "©"},   {"reg", "®"},
        {"trade", "™"}, {"euro", "€"},  {"bull", "•"},  {"middot", "·"},
    }};
    for (const Named& n : kNamed) {
        if (iequals(n.name, name)) {
            out.append(n.text);
            return semi - i + 1;
        }
    }
    return 0;
}

// ---- body walk ---------------------------------------------------------------------------------

class BodyWalker {
public:
    BodyWalker(
        std::string_view message, const MessageStructure& s, std::string& out, std::size_t cap
    )
        : message_(message), s_(s), out_(out), cap_(cap) {}

    void walk(std::uint32_t idx) {
        if (idx >= s_.parts.size() || out_.size() >= cap_) {
            return;
        }
        const Part& p = s_.parts[idx];
        if (p.is_multipart()) {
            for (std::uint32_t c = p.first_child; c != kNoIndex && c < s_.parts.size();
                 c = s_.parts[c].next_sibling) {
                walk(c);
            }
            return;
        }
        if (p.is_message()) {
            // A forwarded message is text of this one: its header (From, Subject, ...) counts.
            if (p.first_child < s_.parts.size()) {
                separate();
                append_header_lines(header_block(message_, s_.parts[p.first_child]), out_);
                walk(p.first_child);
            }
            return;
        }
        if (p.content_type.type != "text") {
            return;  // RFC 9051 §6.4.4: non-text leaves MAY be excluded from matching
        }
        std::string decoded;
        append_decoded_text(limited_body(p), p, decoded);
        separate();
        if (p.content_type.subtype == "html") {
            append_html_text(decoded, out_);
        } else {
            out_.append(decoded);
        }
    }

private:
    void separate() {
        if (!out_.empty() && out_.back() != '\n') {
            out_.push_back('\n');
        }
    }

    // A view of the message whose part body stops near the remaining budget, so a huge part is
    // not decoded in full. Decoding grows at most 3 bytes per input byte ("=XX" shrinks, Latin-1
    // grows to 2), so 3x + slack input is never too little. The cut is at a line end, where
    // base64, quoted-printable and stateful charsets restart cleanly.
    std::string_view limited_body(const Part& p) const {
        const std::size_t remaining = cap_ - out_.size();
        const std::uint64_t end = std::min<std::uint64_t>(p.end_offset, message_.size());
        const std::uint64_t begin = std::min<std::uint64_t>(p.body_offset, end);
        const std::uint64_t want = static_cast<std::uint64_t>(remaining) * 3 + 64;
        if (end - begin <= want) {
            return message_.substr(0, end);
        }
        std::uint64_t cut = begin + want;
        const std::size_t nl = message_.rfind('\n', cut);
        if (nl != std::string_view::npos && nl > begin) {
            cut = nl + 1;
        }
        return message_.substr(0, cut);
    }

    std::string_view message_;
    const MessageStructure& s_;
    std::string& out_;
    std::size_t cap_;
};

}  // namespace

// ---- public ------------------------------------------------------------------------------------

void append_folded(std::string& out, std::string_view utf8) {
    // No mapping in fold_code_point() makes a character's UTF-8 form longer, so the output fits
    // in utf8.size() bytes: write in place and shrink once.
    const std::size_t base = out.size();
    out.resize(base + utf8.size());
    char* w = out.data() + base;
    std::size_t i = 0;
    char32_t cp = 0;
    while (i < utf8.size()) {
        const char ch = utf8[i];
        if (static_cast<unsigned char>(ch) < 0x80) {
            *w++ = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch;
            ++i;
            continue;
        }
        const std::size_t n = decode_utf8(utf8, i, cp);
        if (n == 0) {
            *w++ = ch;  // not UTF-8: kept as it is
            ++i;
            continue;
        }
        const char32_t folded = fold_code_point(cp);
        if (folded == cp) {
            std::memcpy(w, utf8.data() + i, n);
            w += n;
        } else {
            std::array<char, 4> buf{};
            const std::size_t len = core::encode_utf8(folded, buf);
            std::memcpy(w, buf.data(), len);
            w += len;
        }
        i += n;
    }
    out.resize(static_cast<std::size_t>(w - out.data()));
}

std::string fold_case(std::string_view utf8) {
    std::string out;
    append_folded(out, utf8);
    return out;
}

std::string decode_header_value(std::string_view raw) {
    return decode_unstructured(raw);
}

std::vector<HeaderField> header_fields(std::string_view block) {
    std::vector<HeaderField> fields;
    std::size_t pos = 0;
    while (pos < block.size()) {
        std::size_t eol = block.find('\n', pos);
        std::size_t content_end = eol == std::string_view::npos ? block.size() : eol;
        if (content_end > pos && block[content_end - 1] == '\r') {
            --content_end;
        }
        if (content_end == pos) {
            break;  // RFC 5322 §2.1: the empty line ends the header section
        }
        // The field runs until a line that does not start with WSP (RFC 5322 §2.2.3).
        std::size_t field_end = content_end;
        std::size_t next = eol == std::string_view::npos ? block.size() : eol + 1;
        while (next < block.size() && is_wsp(block[next])) {
            eol = block.find('\n', next);
            field_end = eol == std::string_view::npos ? block.size() : eol;
            if (field_end > next && block[field_end - 1] == '\r') {
                --field_end;
            }
            next = eol == std::string_view::npos ? block.size() : eol + 1;
        }
        const std::string_view line = block.substr(pos, field_end - pos);
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos && colon > 0 && !is_wsp(line[0])) {
            std::string_view name = line.substr(0, colon);
            while (!name.empty() && is_wsp(name.back())) {
                name.remove_suffix(1);  // RFC 5322 §4.5: obsolete WSP before the colon
            }
            fields.push_back(HeaderField{name, line.substr(colon + 1)});
        }
        pos = next;
    }
    return fields;
}

std::string header_value(std::string_view message, const Part& part, std::string_view name) {
    for (const HeaderField& f : header_fields(header_block(message, part))) {
        if (iequals(f.name, name)) {
            return unfold(f.value);
        }
    }
    return {};
}

void append_decoded_text(std::string_view message, const Part& part, std::string& out) {
    const std::uint64_t end = std::min<std::uint64_t>(part.end_offset, message.size());
    const std::uint64_t begin = std::min<std::uint64_t>(part.body_offset, end);
    const std::string_view body = message.substr(begin, end - begin);
    std::string bytes;
    decode_transfer_encoding(classify_transfer_encoding(part.transfer_encoding), body, bytes);
    const std::string* charset = part.content_type.param("charset");
    if (charset != nullptr && charset_to_utf8(*charset, bytes, out)) {
        return;
    }
    if (charset == nullptr && is_valid_utf8(bytes)) {
        out.append(bytes);  // no charset: RFC 6532 8-bit UTF-8 is the common case
        return;
    }
    // Unknown charset or invalid input: keep the bytes, reading non-UTF-8 as Latin-1 so the
    // output stays UTF-8 (every byte is a valid Latin-1 character).
    if (is_valid_utf8(bytes)) {
        out.append(bytes);
    } else {
        (void)charset_to_utf8("iso-8859-1", bytes, out);
    }
}

void append_html_text(std::string_view html, std::string& out) {
    std::size_t i = 0;
    while (i < html.size()) {
        const char c = html[i];
        if (c == '&') {
            const std::size_t used = decode_entity(html, i, out);
            if (used > 0) {
                i += used;
            } else {
                out.push_back(c);
                ++i;
            }
            continue;
        }
        if (c != '<') {
            out.push_back(c);
            ++i;
            continue;
        }
        const std::string_view rest = html.substr(i);
        if (rest.substr(0, 4) == "<!--") {
            const std::size_t close = html.find("-->", i + 4);
            i = close == std::string_view::npos ? html.size() : close + 3;
            continue;
        }
        std::size_t k = i + 1;
        if (k < html.size() && html[k] == '/') {
            ++k;
        }
        const std::size_t name_begin = k;
        while (k < html.size() && is_alnum(html[k])) {
            ++k;
        }
        const std::string_view name = html.substr(name_begin, k - name_begin);
        if (name.empty() && name_begin == i + 1 && (k >= html.size() || html[k] != '!')) {
            out.push_back(c);  // a lone '<' in text
            ++i;
            continue;
        }
        const std::size_t gt = html.find('>', k);
        std::size_t after = gt == std::string_view::npos ? html.size() : gt + 1;
        if (html[i + 1] != '/' && (iequals(name, "script") || iequals(name, "style"))) {
            // Their content is code, not text: skip to the closing tag.
            std::size_t p = after;
            const std::string closing = "</" + std::string(name);
            while (p < html.size()) {
                const std::size_t lt = html.find('<', p);
                if (lt == std::string_view::npos) {
                    p = html.size();
                    break;
                }
                if (istarts_with(html.substr(lt), closing)) {
                    const std::size_t end_gt = html.find('>', lt);
                    p = end_gt == std::string_view::npos ? html.size() : end_gt + 1;
                    break;
                }
                p = lt + 1;
            }
            after = p;
        } else if (is_block_tag(name) && !out.empty() && out.back() != '\n') {
            out.push_back('\n');
        }
        i = after;
    }
}

SearchableText searchable_text(
    std::string_view message, const MessageStructure& s, std::size_t max_bytes
) {
    SearchableText text;
    if (s.parts.empty()) {
        return text;
    }
    append_header_lines(header_block(message, s.parts[0]), text.headers);
    truncate_utf8(text.headers, max_bytes);
    const std::size_t cap = max_bytes - text.headers.size();
    if (cap > 0) {
        BodyWalker walker(message, s, text.body, cap);
        walker.walk(0);
        truncate_utf8(text.body, cap);
    }
    return text;
}

SearchableText folded_searchable_text(std::string_view message) {
    const MessageStructure s = parse_message(message);
    const SearchableText text = searchable_text(message, s);
    SearchableText folded;
    append_folded(folded.headers, text.headers);
    append_folded(folded.body, text.body);
    // IMAP SEARCH FROM/TO/CC/BCC compare with the parsed addresses' display form, which is not
    // always a substring of the decoded field (quoted-pairs and comments go, CFWS inside an
    // address goes): it is indexed too, so those searches can take candidates from the index.
    if (!s.envelopes.empty()) {
        const Envelope& e = s.envelopes[0];
        std::string display;
        for (const auto* list : {&e.from_addr, &e.to_addr, &e.cc_addr, &e.bcc_addr}) {
            if (list->empty()) {
                continue;
            }
            display.clear();
            append_address_display(display, *list);
            append_folded(folded.headers, display);
            folded.headers.push_back('\n');
        }
    }
    return folded;
}

}  // namespace sov::mime
