#include "mime/mutf7.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/utf8.hpp"

namespace sov::mime {
namespace {

// RFC 3501 §5.1.3: modified BASE64 uses "," in place of "/".
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int base64_value(char c) noexcept {
    const auto pos = kAlphabet.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// Next code point of UTF-8 text; false on malformed input (overlong, surrogate, > U+10FFFF).
bool next_utf8(std::string_view s, std::size_t& i, char32_t& cp) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    int len = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
        cp = b0;
        ++i;
        return true;
    }
    if ((b0 & 0xE0) == 0xC0) {
        len = 2;
        cp = b0 & 0x1F;
        min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3;
        cp = b0 & 0x0F;
        min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4;
        cp = b0 & 0x07;
        min = 0x10000;
    } else {
        return false;
    }
    if (i + static_cast<std::size_t>(len) > s.size()) {
        return false;
    }
    for (int k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((b & 0xC0) != 0x80) {
            return false;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return false;
    }
    i += static_cast<std::size_t>(len);
    return true;
}

// Decodes one shifted run (between '&' and '-') into UTF-16 units, then to UTF-8.
bool decode_run(std::string_view run, std::string& out, Mutf7Decode mode) {
    std::vector<std::uint16_t> units;
    std::uint32_t bits = 0;
    int nbits = 0;
    for (char c : run) {
        const int v = base64_value(c);
        if (v < 0) {
            return false;
        }
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        nbits += 6;
        if (nbits >= 16) {
            nbits -= 16;
            units.push_back(static_cast<std::uint16_t>((bits >> nbits) & 0xFFFF));
        }
    }
    // Leftover bits are padding and must be zero (RFC 2152 via RFC 3501 §5.1.3).
    if (nbits >= 6 || (bits & ((1U << nbits) - 1)) != 0 || units.empty()) {
        return false;
    }
    const bool only_printable_ascii = std::all_of(units.begin(), units.end(), [](std::uint16_t u) {
        return u >= 0x20 && u <= 0x7e;
    });
    if (mode == Mutf7Decode::Strict && only_printable_ascii) {
        return false;
    }
    for (std::size_t i = 0; i < units.size(); ++i) {
        char32_t cp = units[i];
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 1 >= units.size() || units[i + 1] < 0xDC00 || units[i + 1] > 0xDFFF) {
                return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (units[i + 1] - 0xDC00);
            ++i;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
        }
        if (cp == 0) {
            return false;
        }
        core::append_utf8(out, cp);
    }
    return true;
}

void encode_run(const std::vector<std::uint16_t>& units, std::string& out) {
    out += '&';
    std::uint32_t bits = 0;
    int nbits = 0;
    for (std::uint16_t u : units) {
        bits = (bits << 16) | u;
        nbits += 16;
        while (nbits >= 6) {
            nbits -= 6;
            out += kAlphabet[(bits >> nbits) & 0x3F];
        }
        bits &= (1U << nbits) - 1;
    }
    if (nbits > 0) {
        out += kAlphabet[(bits << (6 - nbits)) & 0x3F];
    }
    out += '-';
}

}  // namespace

std::optional<std::string> mutf7_decode(std::string_view text, Mutf7Decode mode) noexcept {
    try {
        std::string out;
        std::size_t i = 0;
        while (i < text.size()) {
            const char c = text[i];
            if (c < 0x20 || c > 0x7e) {
                return std::nullopt;  // 8-bit or control bytes never appear in modified UTF-7
            }
            if (c != '&') {
                out += c;
                ++i;
                continue;
            }
            const auto end = text.find('-', i + 1);
            if (end == std::string_view::npos) {
                return std::nullopt;
            }
            if (end == i + 1) {
                out += '&';  // "&-" is a literal '&'
            } else if (!decode_run(text.substr(i + 1, end - i - 1), out, mode)) {
                return std::nullopt;
            }
            i = end + 1;
        }
        return out;
    } catch (const std::bad_alloc&) {
        return std::nullopt;
    }
}

std::optional<std::string> mutf7_encode(std::string_view utf8, std::string_view also_encode) {
    std::string out;
    std::vector<std::uint16_t> run;
    std::size_t i = 0;
    while (i < utf8.size()) {
        char32_t cp = 0;
        // NUL is UTF-8 but no name can hold it, and decode rejects "&AAA-": refuse it here too,
        // so that every encoding decodes back.
        if (!next_utf8(utf8, i, cp) || cp == 0) {
            return std::nullopt;
        }
        const bool direct = cp >= 0x20 && cp <= 0x7e &&
                            also_encode.find(static_cast<char>(cp)) == std::string_view::npos;
        if (direct) {
            if (!run.empty()) {
                encode_run(run, out);
                run.clear();
            }
            if (cp == '&') {
                out += "&-";
            } else {
                out += static_cast<char>(cp);
            }
            continue;
        }
        if (cp >= 0x10000) {
            const char32_t v = cp - 0x10000;
            run.push_back(static_cast<std::uint16_t>(0xD800 + (v >> 10)));
            run.push_back(static_cast<std::uint16_t>(0xDC00 + (v & 0x3FF)));
        } else {
            run.push_back(static_cast<std::uint16_t>(cp));
        }
    }
    if (!run.empty()) {
        encode_run(run, out);
    }
    return out;
}

}  // namespace sov::mime
