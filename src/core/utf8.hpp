#pragma once
// UTF-8 (RFC 3629): encoding one code point, for the decoders that produce text (RFC 2047
// words and charsets in mime/text, modified UTF-7 mailbox names in mime/mutf7, RFC 6533
// address escapes in smtp/queue/dsn); decoding and validating, for what must be UTF-8 (IMAP
// quoted strings and mailbox names, SMTPUTF8 addresses, PREVIEW text).
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace sov::core {

/// Writes the UTF-8 form of `cp` (a Unicode scalar value, at most U+10FFFF) to `buf`; returns
/// its length, 1 to 4.
constexpr std::size_t encode_utf8(char32_t cp, std::array<char, 4>& buf) noexcept {
    if (cp < 0x80) {
        buf[0] = static_cast<char>(cp);
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = static_cast<char>(0xC0U | (cp >> 6U));
        buf[1] = static_cast<char>(0x80U | (cp & 0x3FU));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = static_cast<char>(0xE0U | (cp >> 12U));
        buf[1] = static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
        buf[2] = static_cast<char>(0x80U | (cp & 0x3FU));
        return 3;
    }
    buf[0] = static_cast<char>(0xF0U | (cp >> 18U));
    buf[1] = static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU));
    buf[2] = static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
    buf[3] = static_cast<char>(0x80U | (cp & 0x3FU));
    return 4;
}

inline void append_utf8(std::string& out, char32_t cp) {
    std::array<char, 4> buf{};
    out.append(buf.data(), encode_utf8(cp, buf));
}

/// Decodes the code point at s[i] (i < s.size()) into `cp`; returns the sequence's length, 1
/// to 4, or 0 if the bytes there are not well-formed UTF-8 (RFC 3629 §4: overlong forms,
/// surrogates, values past U+10FFFF and truncated sequences are not).
constexpr std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) noexcept {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
        cp = c;
        return 1;
    }
    std::size_t len = 0;
    char32_t min = 0;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1FU;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0FU;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07U;
        min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > s.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < len; ++k) {
        const auto t = static_cast<unsigned char>(s[i + k]);
        if ((t & 0xC0U) != 0x80U) {
            return 0;
        }
        cp = (cp << 6U) | (t & 0x3FU);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

/// Whether all of `s` is well-formed UTF-8.
constexpr bool is_valid_utf8(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        const std::size_t n = decode_utf8(s, i, cp);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

}  // namespace sov::core
