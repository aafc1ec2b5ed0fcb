#pragma once
// ASCII case for protocol text (header field names, tags, DNS names, media types): only A-Z
// and a-z are folded, whatever the locale (unlike <cctype>), and bytes of UTF-8 pass unchanged.
#include <algorithm>
#include <string>
#include <string_view>

namespace sov::core {

[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

[[nodiscard]] constexpr bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return ascii_lower(x) == ascii_lower(y);
    });
}

/// The value of a hexadecimal digit, either case; -1 for any other octet.
[[nodiscard]] constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/// The octet that the two hexadecimal digits at s[at] and s[at + 1] stand for ("%2F", "=3D"
/// after the escape character), or -1 if two such digits are not there.
[[nodiscard]] constexpr int hex_octet(std::string_view s, std::size_t at) noexcept {
    if (at >= s.size() || s.size() - at < 2) {
        return -1;
    }
    const int hi = hex_value(s[at]);
    const int lo = hex_value(s[at + 1]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

[[nodiscard]] inline std::string ascii_lowercase(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

}  // namespace sov::core
