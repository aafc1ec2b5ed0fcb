// IMAP PREVIEW text (RFC 8970 §3.3): see preview.hpp.
#include "mime/preview.hpp"

#include <algorithm>
#include <cstdint>

#include "core/ascii.hpp"
#include "core/utf8.hpp"
#include "mime/text.hpp"

namespace sov::mime {
namespace {

// Bytes of the chosen part's body that are decoded: enough for 200 characters after the
// longest usual HTML head (style sheets of newsletters), and bounded for a huge text part.
constexpr std::uint64_t kMaxPartBytes = 64 * 1024;

// A cut that leaves this many characters or fewer of a word is moved back to the word's start.
constexpr std::size_t kWordSlack = 30;

const Part* first_text_part(const MessageStructure& s, std::string_view subtype) {
    for (const auto& p : s.parts) {
        const bool leaf = !p.is_multipart() && !p.is_message();
        if (leaf && p.content_type.type == "text" && p.content_type.subtype == subtype &&
            p.disposition.type != "attachment") {
            return &p;
        }
    }
    return nullptr;
}

// The decoded text of the part's first kMaxPartBytes.
std::string decoded_start(std::string_view message, const Part& part) {
    if (part.body_offset >= message.size()) {
        return {};
    }
    Part start = part;
    const std::uint64_t limit =
        std::min<std::uint64_t>(part.body_offset + kMaxPartBytes, message.size());
    if (start.end_offset > limit) {
        // Cut after a line end: no base64 quantum, quoted-printable escape or character of a
        // charset in which LF is one byte is split there.
        const auto lf = message.rfind('\n', limit - 1);
        start.end_offset = lf != std::string_view::npos && lf >= part.body_offset ? lf + 1 : limit;
    }
    std::string out;
    append_decoded_text(message, start, out);
    return out;
}

// Where an HTML document's <body> starts (its <head> has the <title>, which says what the
// subject does); 0 without one.
std::size_t body_start(std::string_view html) {
    for (std::size_t at = html.find('<'); at != std::string_view::npos;
         at = html.find('<', at + 1)) {
        if (core::ascii_iequals(html.substr(at + 1, 4), "body")) {
            return at;
        }
    }
    return 0;
}

bool is_space(char32_t cp) {
    return cp < 0x20 || cp == ' ' || cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x3000;
}

// Characters that show nothing: DEL, C1 controls, and the zero-width characters newsletters
// pad their hidden "preheader" with.
bool is_invisible(char32_t cp) {
    return cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x034F ||
           (cp >= 0x200B && cp <= 0x200F) || cp == 0x2060 || cp == 0xFEFF;
}

// The lines of `text` that are not quoted, up to a signature separator, as one line with
// single spaces; at most max_chars characters.
std::string condense(std::string_view text, std::size_t max_chars) {
    std::string out;
    std::size_t chars = 0;
    std::size_t last_space = std::string::npos;  // byte offset of the last space written
    std::size_t chars_at_space = 0;
    bool pending_space = false;
    bool cut = false;
    std::size_t pos = 0;
    while (pos < text.size() && !cut) {
        auto eol = text.find('\n', pos);
        if (eol == std::string_view::npos) {
            eol = text.size();
        }
        std::string_view line = text.substr(pos, eol - pos);
        pos = eol + 1;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line == "-- ") {
            break;  // what follows is the signature (RFC 3676 §4.3)
        }
        const auto first = line.find_first_not_of(" \t");
        if (first != std::string_view::npos && line[first] == '>') {
            continue;  // a quoted line of the message replied to
        }
        for (std::size_t i = 0; i < line.size();) {
            char32_t cp = 0;
            const std::size_t len = core::decode_utf8(line, i, cp);
            i += len == 0 ? 1 : len;
            cp = len == 0 ? 0xFFFD : cp;  // decoded text is UTF-8; this keeps the output so
            if (is_invisible(cp)) {
                continue;
            }
            if (is_space(cp)) {
                pending_space = !out.empty();
                continue;
            }
            if (chars + (pending_space ? 1 : 0) >= max_chars) {
                cut = true;
                break;
            }
            if (pending_space) {
                last_space = out.size();
                chars_at_space = chars;
                out.push_back(' ');
                ++chars;
                pending_space = false;
            }
            core::append_utf8(out, cp);
            ++chars;
        }
        pending_space = !out.empty();
    }
    if (cut && last_space != std::string::npos && chars - chars_at_space <= kWordSlack) {
        out.resize(last_space);  // not half a word
    }
    return out;
}

}  // namespace

std::string preview_text(
    std::string_view message, const MessageStructure& s, std::size_t max_chars
) {
    std::string preview;
    if (const Part* plain = first_text_part(s, "plain")) {
        preview = condense(decoded_start(message, *plain), max_chars);
    }
    // An empty plain part (multipart/alternative from some clients) says less than the HTML.
    if (const Part* html = preview.empty() ? first_text_part(s, "html") : nullptr) {
        const std::string markup = decoded_start(message, *html);
        std::string text;
        append_html_text(std::string_view(markup).substr(body_start(markup)), text);
        preview = condense(text, max_chars);
    }
    return preview;
}

}  // namespace sov::mime
