#include "mime/encoded_word.hpp"

#include <iconv.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <string>

#include "core/ascii.hpp"
#include "mime/header.hpp"

namespace sov::mime {
namespace {

constexpr std::array<std::int8_t, 256> make_base64_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) {
        v = -1;
    }
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
        t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    }
    return t;
}

constexpr auto kBase64 = make_base64_table();

bool valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            len = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 2;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 3;
        } else {
            return false;
        }
        if (i + len >= s.size()) {
            return false;
        }
        for (std::size_t k = 1; k <= len; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
                return false;
            }
        }
        i += len + 1;
    }
    return true;
}

void latin1_to_utf8(std::string_view bytes, std::string& out) {
    for (char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x80) {
            out.push_back(ch);
        } else {
            out.push_back(static_cast<char>(0xC0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
        }
    }
}

bool iconv_to_utf8(const std::string& charset, std::string_view bytes, std::string& out) {
    iconv_t cd = iconv_open("UTF-8", charset.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) {  // NOLINT(performance-no-int-to-ptr)
        return false;
    }
    const std::size_t base = out.size();
    std::string input(bytes);
    char* in_ptr = input.data();
    std::size_t in_left = input.size();
    bool ok = true;
    std::array<char, 1024> buf{};
    while (in_left > 0) {
        char* out_ptr = buf.data();
        std::size_t out_left = buf.size();
        const std::size_t rc = iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
        out.append(buf.data(), buf.size() - out_left);
        if (rc == static_cast<std::size_t>(-1) && errno != E2BIG) {
            ok = false;
            break;
        }
    }
    if (ok) {
        char* out_ptr = buf.data();
        std::size_t out_left = buf.size();
        iconv(cd, nullptr, nullptr, &out_ptr, &out_left);  // flush shift state (ISO-2022-JP)
        out.append(buf.data(), buf.size() - out_left);
    }
    iconv_close(cd);
    if (!ok) {
        out.resize(base);
    }
    return ok;
}

void decode_q(std::string_view text, std::string& out) {
    // RFC 2047 §4.2: "_" is SP, "=XX" an octet. Whitespace inside is tolerated and dropped
    // (encoded-words split by folding in the wild).
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '_') {
            out.push_back(' ');
        } else if (c == '=') {
            if (const int octet = core::hex_octet(text, i + 1); octet >= 0) {
                out.push_back(static_cast<char>(octet));
                i += 2;
            } else {
                out.push_back(c);
            }
        } else if (c == '\r' || c == '\n') {
            // A fold inside an encoded-word (broken mailers): drop it and the indentation.
            while (i + 1 < text.size() && (is_wsp(text[i + 1]) || text[i + 1] == '\n')) {
                ++i;
            }
        } else {
            out.push_back(c);
        }
    }
}

// A whitespace run that contains a fold becomes one space (RFC 5322 §2.2.3 unfolding plus the
// usual display collapsing); other runs are kept as they are.
void append_whitespace(std::string_view run, std::string& out) {
    if (run.find_first_of("\r\n") != std::string_view::npos) {
        while (!out.empty() && is_wsp(out.back())) {
            out.pop_back();
        }
        out.push_back(' ');
    } else {
        out.append(run);
    }
}

struct EncodedWord {
    std::size_t end = 0;  // one past "?="
    std::string decoded;  // UTF-8
};

// Tries to read "=?charset?e?text?=" at text[pos] (RFC 2047 §2).
bool read_encoded_word(std::string_view text, std::size_t pos, EncodedWord& ew) {
    if (text.compare(pos, 2, "=?") != 0) {
        return false;
    }
    const std::size_t cs_begin = pos + 2;
    std::size_t i = cs_begin;
    while (i < text.size() && text[i] != '?' && !is_wsp(text[i]) && i - cs_begin < 76) {
        ++i;
    }
    if (i >= text.size() || text[i] != '?' || i == cs_begin) {
        return false;
    }
    const std::string_view charset = text.substr(cs_begin, i - cs_begin);
    if (i + 2 >= text.size() || text[i + 2] != '?') {
        return false;
    }
    const char enc = text[i + 1];
    if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q') {
        return false;
    }
    const std::size_t t_begin = i + 3;
    const std::size_t q = text.find('?', t_begin);
    if (q == std::string_view::npos || q + 1 >= text.size() || text[q + 1] != '=') {
        return false;
    }
    const std::string_view payload = text.substr(t_begin, q - t_begin);
    std::string bytes;
    if (enc == 'B' || enc == 'b') {
        decode_base64(payload, bytes);
    } else {
        decode_q(payload, bytes);
    }
    ew.decoded.clear();
    if (!charset_to_utf8(charset, bytes, ew.decoded)) {
        return false;
    }
    ew.end = q + 2;
    return true;
}

}  // namespace

void decode_base64(std::string_view in, std::string& out) {
    std::uint32_t acc = 0;
    int bits = 0;
    for (char ch : in) {
        if (ch == '=') {
            break;
        }
        const int v = kBase64[static_cast<unsigned char>(ch)];
        if (v < 0) {
            continue;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
}

bool charset_to_utf8(std::string_view charset, std::string_view bytes, std::string& out) {
    // RFC 2231 §5: charset*language
    if (const auto star = charset.find('*'); star != std::string_view::npos) {
        charset = charset.substr(0, star);
    }
    std::string cs = to_lower(trim(charset));
    if (cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii") {
        if (valid_utf8(bytes)) {
            out.append(bytes);
            return true;
        }
        if (cs.empty() || cs[0] != 'u' || cs[1] != 't') {
            // 8-bit bytes labelled ASCII: the de-facto charset is Latin-1.
            latin1_to_utf8(bytes, out);
            return true;
        }
        return false;
    }
    if (cs == "iso-8859-1" || cs == "latin1" || cs == "iso8859-1" || cs == "l1") {
        latin1_to_utf8(bytes, out);
        return true;
    }
    return iconv_to_utf8(cs, bytes, out);
}

void decode_encoded_words(std::string_view text, std::string& out, EncodedWordMode mode) {
    std::size_t i = 0;
    bool last_was_ew = false;
    std::size_t pending_ws_begin = std::string_view::npos;  // whitespace run after an encoded-word
    EncodedWord ew;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '=' && i + 1 < text.size() && text[i + 1] == '?' &&
            read_encoded_word(text, i, ew)) {
            if (last_was_ew && pending_ws_begin != std::string_view::npos) {
                // RFC 2047 §6.2: whitespace between adjacent encoded-words is ignored.
                pending_ws_begin = std::string_view::npos;
            } else if (pending_ws_begin != std::string_view::npos) {
                append_whitespace(text.substr(pending_ws_begin, i - pending_ws_begin), out);
                pending_ws_begin = std::string_view::npos;
            } else if (mode == EncodedWordMode::Text && !last_was_ew && !out.empty() &&
                       !is_wsp(out.back())) {
                out.push_back(' ');
            }
            out.append(ew.decoded);
            i = ew.end;
            last_was_ew = true;
            continue;
        }
        if (is_wsp(c) || c == '\r' || c == '\n') {
            if (pending_ws_begin == std::string_view::npos) {
                pending_ws_begin = i;
            }
            ++i;
            continue;
        }
        if (pending_ws_begin != std::string_view::npos) {
            append_whitespace(text.substr(pending_ws_begin, i - pending_ws_begin), out);
            pending_ws_begin = std::string_view::npos;
        } else if (last_was_ew && mode == EncodedWordMode::Text) {
            out.push_back(' ');
        }
        last_was_ew = false;
        out.push_back(c);
        ++i;
    }
    if (pending_ws_begin != std::string_view::npos) {
        append_whitespace(text.substr(pending_ws_begin), out);
    }
}

}  // namespace sov::mime
