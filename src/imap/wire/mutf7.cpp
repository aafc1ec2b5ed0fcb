#include "imap/wire/mutf7.hpp"

#include <cstdint>
#include <vector>

#include "imap/wire/chars.hpp"

namespace sov::imap::wire {
namespace {

// RFC 3501 §5.1.3: modified BASE64 uses "," instead of "/".
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64_value(char c) noexcept {
    const auto pos = kAlphabet.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0U | (cp >> 6U));
        out += static_cast<char>(0x80U | (cp & 0x3FU));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0U | (cp >> 12U));
        out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
        out += static_cast<char>(0x80U | (cp & 0x3FU));
    } else {
        out += static_cast<char>(0xF0U | (cp >> 18U));
        out += static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU));
        out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
        out += static_cast<char>(0x80U | (cp & 0x3FU));
    }
}

// Decodes one shifted run (between "&" and "-") of modified base64 UTF-16BE.
bool decode_shift(std::string_view run, std::string& out) {
    std::uint32_t bits = 0;
    unsigned nbits = 0;
    std::vector<std::uint16_t> units;
    for (const char c : run) {
        const int v = b64_value(c);
        if (v < 0) {
            return false;
        }
        bits = (bits << 6U) | static_cast<std::uint32_t>(v);
        nbits += 6;
        if (nbits >= 16) {
            nbits -= 16;
            units.push_back(static_cast<std::uint16_t>((bits >> nbits) & 0xFFFFU));
        }
    }
    // Leftover bits must be fewer than 6 and zero (RFC 2152 §"Rule 2", as applied by 3501).
    if (nbits >= 6 || (bits & ((1U << nbits) - 1U)) != 0 || units.empty()) {
        return false;
    }
    bool all_printable = true;
    for (std::size_t i = 0; i < units.size(); ++i) {
        std::uint32_t cp = units[i];
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 1 >= units.size() || units[i + 1] < 0xDC00 || units[i + 1] > 0xDFFF) {
                return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10U) + (units[i + 1] - 0xDC00U);
            ++i;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
        }
        if (cp < 0x20 || cp > 0x7E) {
            all_printable = false;
        }
        append_utf8(out, cp);
    }
    return !all_printable;
}

}  // namespace

std::optional<std::string> mutf7_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7E) {
            return std::nullopt;
        }
        if (c != '&') {
            out += c;
            continue;
        }
        const auto end = text.find('-', i + 1);
        if (end == std::string_view::npos) {
            return std::nullopt;
        }
        if (end == i + 1) {
            out += '&';  // "&-" is "&"
        } else if (!decode_shift(text.substr(i + 1, end - i - 1), out)) {
            return std::nullopt;
        }
        i = end;
    }
    return out;
}

std::optional<std::string> mutf7_encode(std::string_view utf8) {
    if (!is_valid_utf8(utf8)) {
        return std::nullopt;
    }
    std::string out;
    std::vector<std::uint16_t> units;
    auto flush = [&] {
        if (units.empty()) {
            return;
        }
        out += '&';
        std::uint32_t bits = 0;
        unsigned nbits = 0;
        for (const auto unit : units) {
            bits = (bits << 16U) | unit;
            nbits += 16;
            while (nbits >= 6) {
                nbits -= 6;
                out += kAlphabet[(bits >> nbits) & 0x3FU];
            }
        }
        if (nbits > 0) {
            out += kAlphabet[(bits << (6 - nbits)) & 0x3FU];
        }
        out += '-';
        units.clear();
    };
    for (std::size_t i = 0; i < utf8.size();) {
        const auto b0 = static_cast<unsigned char>(utf8[i]);
        if (b0 >= 0x20 && b0 <= 0x7E) {
            flush();
            out += utf8[i] == '&' ? std::string_view("&-") : utf8.substr(i, 1);
            ++i;
            continue;
        }
        std::uint32_t cp = 0;
        std::size_t len = 1;
        if (b0 < 0x80) {
            cp = b0;
        } else {
            len = utf8_sequence_length(utf8, i);
            cp = b0 & (len == 2 ? 0x1FU : len == 3 ? 0x0FU : 0x07U);
            for (std::size_t k = 1; k < len; ++k) {
                cp = (cp << 6U) | (static_cast<unsigned char>(utf8[i + k]) & 0x3FU);
            }
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            units.push_back(static_cast<std::uint16_t>(0xD800U + (cp >> 10U)));
            units.push_back(static_cast<std::uint16_t>(0xDC00U + (cp & 0x3FFU)));
        } else {
            units.push_back(static_cast<std::uint16_t>(cp));
        }
        i += len;
    }
    flush();
    return out;
}

}  // namespace sov::imap::wire
