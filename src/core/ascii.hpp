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

[[nodiscard]] inline std::string ascii_lowercase(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

}  // namespace sov::core
