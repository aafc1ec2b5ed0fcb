#include "mime/content_type.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "core/ascii.hpp"
#include "mime/encoded_word.hpp"
#include "mime/header.hpp"

namespace sov::mime {
namespace {

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Skips whitespace and (nested) RFC 5322 §3.2.2 comments.
std::size_t skip_cfws(std::string_view s, std::size_t i) noexcept {
    while (i < s.size()) {
        if (is_space(s[i])) {
            ++i;
        } else if (s[i] == '(') {
            int depth = 0;
            while (i < s.size()) {
                if (s[i] == '\\') {
                    i += 2;
                    continue;
                }
                if (s[i] == '(') {
                    ++depth;
                } else if (s[i] == ')' && --depth == 0) {
                    ++i;
                    break;
                }
                ++i;
            }
        } else {
            break;
        }
    }
    return std::min(i, s.size());
}

// A MIME token ends at whitespace, a comment, ';' or (for the type) '/'.
std::size_t token_end(std::string_view s, std::size_t i, bool stop_at_slash, bool stop_at_eq) {
    while (i < s.size()) {
        const char c = s[i];
        if (is_space(c) || c == ';' || c == '(' || (stop_at_slash && c == '/') ||
            (stop_at_eq && c == '=') || c == '"') {
            break;
        }
        ++i;
    }
    return i;
}

// RFC 2231 §4: %XX octets.
void percent_decode(std::string_view in, std::string& out) {
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (const int octet = in[i] == '%' ? core::hex_octet(in, i + 1) : -1; octet >= 0) {
            out.push_back(static_cast<char>(octet));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
}

struct RawParam {
    std::string name;  // lowercased base name
    std::uint32_t section = 0;
    bool continued = false;  // name*N form
    bool extended = false;   // trailing '*': charset'lang'%XX
    bool quoted = false;
    std::string value;
    std::size_t order = 0;
};

// Reads one value (quoted-string or token run up to ';'), i at its first char.
std::size_t read_value(std::string_view s, std::size_t i, std::string& value, bool& quoted) {
    quoted = false;
    if (i < s.size() && s[i] == '"') {
        quoted = true;
        ++i;
        while (i < s.size() && s[i] != '"') {
            if (s[i] == '\\' && i + 1 < s.size()) {
                value.push_back(s[i + 1]);
                i += 2;
                continue;
            }
            // RFC 5322 §2.2.3: folds inside quoted strings are unfolded by removing the CRLF.
            if (s[i] != '\r' && s[i] != '\n') {
                value.push_back(s[i]);
            }
            ++i;
        }
        if (i < s.size()) {
            ++i;  // closing quote; an unterminated quote runs to the end (Dovecot)
        }
        return i;
    }
    // Unquoted: a token. Broken mailers put unquoted encoded-words separated by spaces here, so
    // a value starting with "=?" runs to ';' (comments removed, outer whitespace trimmed).
    const std::size_t start = value.size();
    if (s.substr(i, 2) != "=?") {
        const std::size_t end = token_end(s, i, false, false);
        value.append(s.substr(i, end - i));
        return end;
    }
    while (i < s.size() && s[i] != ';') {
        if (s[i] == '(') {
            i = skip_cfws(s, i);
            continue;
        }
        if (s[i] != '\r' && s[i] != '\n') {
            value.push_back(s[i]);
        }
        ++i;
    }
    while (value.size() > start && is_space(value.back())) {
        value.pop_back();
    }
    return i;
}

// Splits "name*3*" into base name, section and flags. Returns false for an invalid name.
bool split_name(std::string_view raw, RawParam& p) {
    const std::size_t star = raw.find('*');
    if (star == 0) {
        return false;
    }
    if (star == std::string_view::npos) {
        p.name = to_lower(raw);
        return true;
    }
    p.name = to_lower(raw.substr(0, star));
    std::string_view rest = raw.substr(star + 1);
    if (rest.empty()) {
        p.extended = true;  // name*=charset'lang'value
        return true;
    }
    const char* first = rest.data();
    const char* last = rest.data() + rest.size();
    std::uint32_t section = 0;
    auto [ptr, ec] = std::from_chars(first, last, section);
    if (ec != std::errc{} || ptr == first) {
        return false;
    }
    p.continued = true;
    p.section = section;
    if (ptr == last) {
        return true;
    }
    if (*ptr == '*' && ptr + 1 == last) {
        p.extended = true;
        return true;
    }
    return false;
}

void decode_plain_value(std::string_view v, std::string& out) {
    if (v.find("=?") == std::string_view::npos) {
        out.append(v);
        return;
    }
    decode_encoded_words(v, out, EncodedWordMode::Parameter);
}

}  // namespace

const std::string* ContentType::param(std::string_view name) const noexcept {
    for (const auto& p : params) {
        if (p.name == name) {
            return &p.value;
        }
    }
    return nullptr;
}

void parse_parameters(std::string_view s, std::vector<Parameter>& out) {
    std::vector<RawParam> raw;
    std::size_t i = 0;
    while (i < s.size()) {
        // Each parameter follows a ';' (RFC 2045 §5.1); a missing ';' after the subtype
        // ("multipart/mixed\n\tboundary=x", seen in the wild) is tolerated like Dovecot.
        i = skip_cfws(s, i);
        while (i < s.size() && s[i] == ';') {
            i = skip_cfws(s, i + 1);
        }
        if (i >= s.size()) {
            break;
        }
        const std::size_t name_end = token_end(s, i, false, true);
        const std::string_view name = s.substr(i, name_end - i);
        i = skip_cfws(s, name_end);
        if (i >= s.size() || s[i] != '=' || name.empty()) {
            // Not a parameter: skip to the next ';'.
            const std::size_t semi = s.find(';', std::max(i, name_end + (name.empty() ? 1 : 0)));
            if (semi == std::string_view::npos) {
                break;
            }
            i = semi;
            continue;
        }
        i = skip_cfws(s, i + 1);
        RawParam p;
        i = read_value(s, i, p.value, p.quoted);
        if (!split_name(name, p) || p.name.empty() || (p.value.empty() && !p.quoted)) {
            continue;
        }
        p.order = raw.size();
        raw.push_back(std::move(p));
    }

    // Simple parameters first, in order; then continuations joined (RFC 2231 §3), each at the
    // position of its first section.
    std::vector<bool> used(raw.size(), false);
    for (std::size_t k = 0; k < raw.size(); ++k) {
        if (used[k]) {
            continue;
        }
        RawParam& p = raw[k];
        Parameter result;
        result.name = p.name;
        if (!p.continued) {
            used[k] = true;
            if (p.extended) {
                // RFC 2231 §4: charset'language'percent-encoded
                const auto q1 = p.value.find('\'');
                const auto q2 = q1 == std::string::npos ? q1 : p.value.find('\'', q1 + 1);
                if (q2 == std::string::npos) {
                    std::string bytes;
                    percent_decode(p.value, bytes);
                    result.value = std::move(bytes);
                } else {
                    std::string bytes;
                    percent_decode(std::string_view(p.value).substr(q2 + 1), bytes);
                    result.language = p.value.substr(q1 + 1, q2 - q1 - 1);
                    if (!charset_to_utf8(p.value.substr(0, q1), bytes, result.value)) {
                        result.value = std::move(bytes);
                    }
                }
            } else {
                decode_plain_value(p.value, result.value);
            }
        } else {
            std::vector<std::size_t> sections;
            for (std::size_t m = k; m < raw.size(); ++m) {
                if (!used[m] && raw[m].continued && raw[m].name == p.name) {
                    used[m] = true;
                    sections.push_back(m);
                }
            }
            std::stable_sort(sections.begin(), sections.end(), [&](std::size_t a, std::size_t b) {
                return raw[a].section < raw[b].section;
            });
            std::string charset;
            std::string bytes;
            bool any_extended = false;
            for (std::size_t n = 0; n < sections.size(); ++n) {
                const RawParam& sec = raw[sections[n]];
                std::string_view v = sec.value;
                if (sec.extended) {
                    any_extended = true;
                    // RFC 2231 §4.1: only the first section carries charset'language'.
                    if (n == 0 && sec.section == 0) {
                        const auto q1 = v.find('\'');
                        const auto q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
                        if (q2 != std::string_view::npos) {
                            charset = std::string(v.substr(0, q1));
                            result.language = std::string(v.substr(q1 + 1, q2 - q1 - 1));
                            v = v.substr(q2 + 1);
                        }
                    }
                    percent_decode(v, bytes);
                } else {
                    bytes.append(v);
                }
            }
            if (!any_extended || charset.empty() ||
                !charset_to_utf8(charset, bytes, result.value)) {
                result.value.clear();
                decode_plain_value(bytes, result.value);
            }
        }
        out.push_back(std::move(result));
    }
}

bool parse_content_type(std::string_view s, ContentType& out) {
    out.type.clear();
    out.subtype.clear();
    out.params.clear();
    std::size_t i = skip_cfws(s, 0);
    std::size_t end = token_end(s, i, true, false);
    if (end == i) {
        return false;  // no type: "/plain", ";charset=x", ""
    }
    append_lower(out.type, s.substr(i, end - i));
    i = skip_cfws(s, end);
    if (i < s.size() && s[i] == '/') {
        i = skip_cfws(s, i + 1);
        end = token_end(s, i, false, false);
        append_lower(out.subtype, s.substr(i, end - i));
        i = end;
    }
    parse_parameters(s.substr(i), out.params);
    return true;
}

}  // namespace sov::mime
