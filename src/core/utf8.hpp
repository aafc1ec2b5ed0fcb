#pragma once
// UTF-8 encoding of one code point (RFC 3629 §3), for the decoders that produce text: RFC 2047
// words and charsets (mime/text), modified UTF-7 mailbox names (mime/mutf7), RFC 6533 address
// escapes (smtp/queue/dsn).
#include <array>
#include <cstddef>
#include <string>

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

}  // namespace sov::core
