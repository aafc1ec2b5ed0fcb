#include "imap/fetch/detail/emitter.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "imap/wire/chars.hpp"

namespace sov::imap::fetch::detail {
namespace {

bool has_8bit(std::string_view s) noexcept {
    for (const char c : s) {
        if (static_cast<unsigned char>(c) >= 0x80) {
            return true;
        }
    }
    return false;
}

void append_base64(std::string_view in, std::string& out) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const auto v = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16U) |
                       (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8U) |
                       static_cast<unsigned char>(in[i + 2]);
        out += kAlphabet[(v >> 18U) & 63U];
        out += kAlphabet[(v >> 12U) & 63U];
        out += kAlphabet[(v >> 6U) & 63U];
        out += kAlphabet[v & 63U];
    }
    const std::size_t rest = in.size() - i;
    if (rest == 0) {
        return;
    }
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16U;
    if (rest == 2) {
        v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8U;
    }
    out += kAlphabet[(v >> 18U) & 63U];
    out += kAlphabet[(v >> 12U) & 63U];
    out += rest == 2 ? kAlphabet[(v >> 6U) & 63U] : '=';
    out += '=';
}

// RFC 2047 §2: an encoded-word is at most 75 characters; "=?utf-8?b?" + "?=" leave 63 for
// base64, i.e. 45 input octets. Words are cut at UTF-8 character boundaries (§5 rule 3: each
// encoded-word must be self-contained) and separated by SP, which decoders drop (§6.2).
void encode_rfc2047(std::string_view utf8, std::string& out) {
    constexpr std::size_t kMaxChunk = 45;
    std::size_t i = 0;
    while (i < utf8.size()) {
        std::size_t end = i;
        while (end < utf8.size()) {
            std::size_t n = 1;
            if (static_cast<unsigned char>(utf8[end]) >= 0x80) {
                n = wire::utf8_sequence_length(utf8, end);
                n = n == 0 ? 1 : n;
            }
            if (end + n - i > kMaxChunk) {
                break;
            }
            end += n;
        }
        if (end == i) {
            end = i + 1;  // unreachable for valid UTF-8; guarantees progress
        }
        if (i > 0) {
            out += ' ';
        }
        out += "=?utf-8?b?";
        append_base64(utf8.substr(i, end - i), out);
        out += "?=";
        i = end;
    }
}

// RFC 2231 §7: attribute-char = <any (US-ASCII) CHAR except SPACE, CTLs, "*", "'", "%", or
// tspecials>; everything else is %-encoded.
bool is_attribute_char(char c) noexcept {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        return true;
    }
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '&':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

void encode_rfc2231(std::string_view utf8, std::string_view language, std::string& out) {
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    out += "utf-8'";
    out += language;
    out += '\'';
    for (const char c : utf8) {
        if (is_attribute_char(c)) {
            out += c;
        } else {
            const auto u = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[u >> 4U];
            out += kHex[u & 15U];
        }
    }
}

}  // namespace

void Emitter::separate() {
    if (need_space_) {
        out_ += ' ';
    }
    need_space_ = true;
}

void Emitter::open() {
    separate();
    out_ += '(';
    need_space_ = false;
}

void Emitter::open_adjacent() {
    out_ += '(';
    need_space_ = false;
}

void Emitter::close() {
    out_ += ')';
    need_space_ = true;
}

void Emitter::nil() {
    atom("NIL");
}

void Emitter::number(std::uint64_t n) {
    separate();
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), n);
    out_.append(buf.data(), r.ptr);
}

void Emitter::atom(std::string_view token) {
    if (need_space_) {
        const std::size_t at = out_.size();
        out_.resize(at + 1 + token.size());
        out_[at] = ' ';
        token.copy(out_.data() + at + 1, token.size());
    } else {
        out_ += token;
    }
    need_space_ = true;
}

namespace {

// Per-octet classes for the one-pass scan of append_string().
constexpr std::uint8_t kNotPlain = 1;  // NUL, CR, LF, 8-bit: ResponseWriter decides the form
constexpr std::uint8_t kSpecial = 2;   // quoted-special: needs a backslash when quoted

constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> t{};
    for (std::size_t i = 0; i < t.size(); ++i) {
        const char c = static_cast<char>(i);
        if (i == 0 || i >= 0x80 || c == '\r' || c == '\n') {
            t[i] |= kNotPlain;
        }
        if (wire::is_quoted_special(c)) {
            t[i] |= kSpecial;
        }
    }
    return t;
}

constexpr std::array<std::uint8_t, 256> kClasses = make_classes();

// Appends `s` ASCII-upper-cased (and with NUL as 0x80 when `nul_to_80`) without per-octet
// capacity checks.
void append_transformed(std::string& out, std::string_view s, bool upper, bool nul_to_80) {
    const std::size_t at = out.size();
    out.resize(at + s.size());
    char* d = out.data() + at;
    for (const char c : s) {
        char v = upper ? wire::ascii_upper(c) : c;
        if (nul_to_80 && v == '\0') {
            v = '\x80';
        }
        *d++ = v;
    }
}

}  // namespace

void Emitter::append_string(std::string_view s, bool upper) {
    // One pass decides the form for the common case (short 7-bit text) and finds whether any
    // quoted-special needs a backslash; the rest asks the writer.
    std::uint8_t classes = 0;
    for (const char c : s) {
        classes |= kClasses[static_cast<unsigned char>(c)];
    }
    bool quoted = false;
    if ((classes & kNotPlain) == 0 && s.size() <= plain_quoted_up_to_) {
        quoted = true;
    } else {
        quoted = w_.string_form(s) == wire::ResponseWriter::StringForm::Quoted;
        if (quoted && (classes & kNotPlain) == 0) {
            // For 7-bit text without CR/LF/NUL the writer's choice depends on the length only
            // (WriterOptions::max_quoted): remember how long such a string may be.
            plain_quoted_up_to_ = std::max(plain_quoted_up_to_, s.size());
        }
    }
    if (quoted && (classes & kSpecial) == 0) {
        // The common case, written in one step: [SP] DQUOTE text DQUOTE.
        const std::size_t at = out_.size();
        const std::size_t sp = need_space_ ? 1 : 0;
        out_.resize(at + sp + s.size() + 2);
        char* d = out_.data() + at;
        if (sp != 0) {
            *d++ = ' ';
        }
        *d++ = '"';
        if (upper) {
            for (const char c : s) {
                *d++ = wire::ascii_upper(c);
            }
        } else {
            std::memcpy(d, s.data(), s.size());
            d += s.size();
        }
        *d = '"';
        need_space_ = true;
        return;
    }
    separate();
    if (quoted) {
        out_ += '"';
        for (const char c : s) {
            if (wire::is_quoted_special(c)) {
                out_ += '\\';
            }
            out_ += upper ? wire::ascii_upper(c) : c;
        }
        out_ += '"';
        return;
    }
    // literal = "{" number64 "}" CRLF *CHAR8 (RFC 9051 §9): CHAR8 excludes NUL, which becomes
    // 0x80 as Dovecot does (a header value with NUL is broken anyway).
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), s.size());
    out_ += '{';
    out_.append(buf.data(), r.ptr);
    out_ += "}\r\n";
    append_transformed(out_, s, upper, true);
}

void Emitter::string(std::string_view s) {
    append_string(s, false);
}

void Emitter::nstring(std::string_view s) {
    if (s.empty()) {
        nil();
    } else {
        append_string(s, false);
    }
}

void Emitter::upper_string(std::string_view s) {
    append_string(s, true);
}

void Emitter::display_name(std::string_view s) {
    if (s.empty()) {
        nil();
        return;
    }
    if (has_8bit(s) && w_.string_form(s) == wire::ResponseWriter::StringForm::Literal &&
        wire::is_valid_utf8(s)) {
        tmp_.clear();
        encode_rfc2047(s, tmp_);
        append_string(tmp_, false);
        return;
    }
    append_string(s, false);
}

void Emitter::parameter(const mime::Parameter& p) {
    if (has_8bit(p.value) && w_.string_form(p.value) == wire::ResponseWriter::StringForm::Literal) {
        tmp_.clear();
        tmp_ += p.name;
        tmp_ += '*';
        append_string(tmp_, true);
        tmp_.clear();
        encode_rfc2231(p.value, p.language, tmp_);
        append_string(tmp_, false);
        return;
    }
    append_string(p.name, true);
    append_string(p.value, false);
}

}  // namespace sov::imap::fetch::detail
