#pragma once
// Character classes of RFC 9051 §9, shared by the command parser (reader) and the response
// writer, so that what one side calls an atom or a safe quoted string is what the other side
// writes (STYLE.md §3.6: one description serving both).
#include <cstdint>
#include <string_view>

#include "core/utf8.hpp"

namespace sov::imap::wire {

/// CHAR = %x01-7F; CTL = %x00-1F / %x7F.
constexpr bool is_ctl(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
}

/// atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials /
/// resp-specials; ATOM-CHAR = <any CHAR except atom-specials>. 8-bit bytes are not CHAR.
constexpr bool is_atom_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || is_ctl(c)) {
        return false;
    }
    switch (c) {
        case '(':
        case ')':
        case '{':
        case ' ':
        case '%':
        case '*':
        case '"':
        case '\\':
        case ']':
            return false;
        default:
            return true;
    }
}

/// ASTRING-CHAR = ATOM-CHAR / resp-specials
constexpr bool is_astring_char(char c) noexcept {
    return c == ']' || is_atom_char(c);
}

/// tag = 1*<any ASTRING-CHAR except "+">
constexpr bool is_tag_char(char c) noexcept {
    return c != '+' && is_astring_char(c);
}

/// list-char = ATOM-CHAR / list-wildcards / resp-specials
constexpr bool is_list_char(char c) noexcept {
    return c == '%' || c == '*' || is_astring_char(c);
}

/// QUOTED-CHAR in 7-bit form: TEXT-CHAR except quoted-specials, which need a backslash.
constexpr bool is_quoted_text_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x01 && u <= 0x7F && c != '\r' && c != '\n';
}

constexpr bool is_quoted_special(char c) noexcept {
    return c == '"' || c == '\\';
}

/// Length of the UTF-8 sequence starting at text[pos] if it is a well-formed UTF8-2/3/4
/// (RFC 3629 §4), else 0. Used for QUOTED-CHAR =/ UTF8-2 / UTF8-3 / UTF8-4 (RFC 9051 §9).
constexpr std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) noexcept {
    char32_t cp = 0;
    const std::size_t n = core::decode_utf8(text, pos, cp);
    return n >= 2 ? n : 0;
}

using core::is_valid_utf8;

constexpr char ascii_upper(char c) noexcept {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_upper(a[i]) != ascii_upper(b[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace sov::imap::wire
