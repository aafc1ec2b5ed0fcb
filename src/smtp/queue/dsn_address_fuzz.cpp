// queue::dsn_address_field (a DSN's Final-/Original-Recipient value, RFC 3464 §2.3.2, RFC 6533
// §3) on arbitrary bytes: the first byte picks the report kind and the address type, the rest is
// the address. Properties that hold for any input:
// - the value is one line: no CR, LF or NUL (it is written into a header-like field);
// - in a global report, a "utf-8" address's \x{HEX} escapes are decoded: an address escaped
//   here (every code point above U+007E as \x{HEX}) comes back as the original UTF-8;
// - an address without escapes, line breaks and NUL, of at most 900 bytes, is kept as it is.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "fuzz_check.hpp"
#include "smtp/queue/dsn.hpp"

namespace {

using sov::fuzz::check;

// The code points of valid UTF-8 (false if it is not), each above U+007E written as \x{HEX}.
bool escape_unitext(std::string_view s, std::string& out) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80            ? 1
                        : (c >> 5U) == 0x6  ? 2
                        : (c >> 4U) == 0xe  ? 3
                        : (c >> 3U) == 0x1e ? 4
                                            : 0;
        if (n == 0 || i + n > s.size()) {
            return false;
        }
        char32_t cp = n == 1 ? c : c & (0x7fU >> n);
        for (std::size_t k = 1; k < n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0U) != 0x80) {
                return false;
            }
            cp = cp << 6U | (cc & 0x3fU);
        }
        const bool overlong =
            (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
        if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0) {
            return false;
        }
        if (cp > 0x7e) {
            out += fmt::format("\\x{{{:X}}}", static_cast<std::uint32_t>(cp));
        } else {
            out += static_cast<char>(cp);
        }
        i += n;
    }
    return true;
}

bool plain(std::string_view s) {
    return s.size() <= 900 &&
           s.find_first_of(std::string_view("\r\n\0\\", 4)) == std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const bool global = (data[0] & 1U) != 0;
    const std::string_view type = (data[0] & 2U) != 0 ? "UTF-8" : "rfc822";
    const std::string_view address(reinterpret_cast<const char*>(data + 1), size - 1);
    namespace q = sov::smtp::queue;

    const std::string value = q::dsn_address_field(type, address, global);
    check(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    if (plain(address)) {
        check(
            value.size() >= address.size() && value.substr(value.size() - address.size()) == address
        );
    }

    std::string escaped;
    if (plain(address) && escape_unitext(address, escaped) && escaped.size() <= 900) {
        check(q::dsn_address_field("utf-8", escaped, true) == "utf-8; " + std::string(address));
    }
    return 0;
}
