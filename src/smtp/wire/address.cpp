#include "smtp/wire/address.hpp"

#include <array>
#include <cstdint>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace sov::smtp::wire {
namespace {

bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
bool is_let_dig(char c) noexcept {
    return is_alpha(c) || is_digit(c);
}
bool is_non_ascii(char c) noexcept {
    return static_cast<unsigned char>(c) >= 0x80;
}

// RFC 5322 §3.2.3 atext (RFC 5321 §4.1.2 Atom uses it).
bool is_atext(char c) noexcept {
    if (is_let_dig(c)) {
        return true;
    }
    constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
    return kSpecials.find(c) != std::string_view::npos;
}

// RFC 5321 §4.1.2 qtextSMTP = %d32-33 / %d35-91 / %d93-126
bool is_qtext(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u == 32 || u == 33 || (u >= 35 && u <= 91) || (u >= 93 && u <= 126);
}

// Scans a Dot-string (Atom *("." Atom)) starting at text[i]; returns the end or npos.
std::size_t scan_dot_string(std::string_view text, std::size_t i, bool utf8) noexcept {
    bool need_atom = true;
    while (i < text.size()) {
        const char c = text[i];
        if (is_atext(c) || (utf8 && is_non_ascii(c))) {  // RFC 6531 §3.3 atext =/ UTF8-non-ascii
            need_atom = false;
        } else if (c == '.' && !need_atom) {
            need_atom = true;
        } else {
            break;
        }
        ++i;
    }
    return need_atom ? std::string_view::npos : i;
}

// Scans a Domain (sub-domain *("." sub-domain)); returns the end or npos.
std::size_t scan_domain(std::string_view text, std::size_t i, bool utf8) noexcept {
    for (;;) {
        // sub-domain = Let-dig [Ldh-str]; Ldh-str ends in Let-dig (RFC 5321 §4.1.2);
        // RFC 6531 §3.3: sub-domain =/ U-label (checked for UTF-8 validity by the caller).
        const std::size_t start = i;
        char last = '-';
        while (i < text.size()) {
            const char c = text[i];
            if (is_let_dig(c) || (utf8 && is_non_ascii(c))) {
                last = 'a';
            } else if (c == '-' && i != start) {
                last = '-';
            } else {
                break;
            }
            ++i;
        }
        if (i == start || last == '-') {
            return std::string_view::npos;
        }
        if (i < text.size() && text[i] == '.') {
            ++i;
            continue;
        }
        return i;
    }
}

bool valid_ipv4(std::string_view s) noexcept {
    // RFC 5321 §4.1.3: Snum 3("."  Snum), Snum = 1*3DIGIT representing 0-255.
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        std::size_t digits = 0;
        int value = 0;
        while (i < s.size() && is_digit(s[i]) && digits < 4) {
            value = value * 10 + (s[i] - '0');
            ++digits;
            ++i;
        }
        if (digits == 0 || digits > 3 || value > 255) {
            return false;
        }
        ++parts;
        if (i == s.size()) {
            return parts == 4;
        }
        if (s[i] != '.' || parts == 4) {
            return false;
        }
        ++i;
    }
}

bool valid_ipv6(std::string_view s) noexcept {
    if (s.size() >= INET6_ADDRSTRLEN) {
        return false;
    }
    std::array<char, INET6_ADDRSTRLEN> buf{};
    s.copy(buf.data(), s.size());
    in6_addr addr{};
    return inet_pton(AF_INET6, buf.data(), &addr) == 1;
}

// address-literal = "[" ( IPv4 / "IPv6:" IPv6 / Standardized-tag ":" 1*dcontent ) "]"
std::size_t scan_address_literal(std::string_view text, std::size_t i) noexcept {
    const auto close = text.find(']', i);
    if (close == std::string_view::npos) {
        return close;
    }
    const auto inner = text.substr(i + 1, close - i - 1);
    const auto colon = inner.find(':');
    if (colon == std::string_view::npos) {
        return valid_ipv4(inner) ? close + 1 : std::string_view::npos;
    }
    const auto tag = inner.substr(0, colon);
    const auto rest = inner.substr(colon + 1);
    if (iequals(tag, "IPv6")) {
        return valid_ipv6(rest) ? close + 1 : std::string_view::npos;
    }
    // General-address-literal: Standardized-tag = Ldh-str, dcontent = %d33-90 / %d94-126
    if (tag.empty() || !is_let_dig(tag.back())) {
        return std::string_view::npos;
    }
    for (const char c : tag) {
        if (!is_let_dig(c) && c != '-') {
            return std::string_view::npos;
        }
    }
    if (rest.empty()) {
        return std::string_view::npos;
    }
    for (const char c : rest) {
        const auto u = static_cast<unsigned char>(c);
        if (!((u >= 33 && u <= 90) || (u >= 94 && u <= 126))) {
            return std::string_view::npos;
        }
    }
    return close + 1;
}

bool needs_quoting(std::string_view local) noexcept {
    if (local.empty()) {
        return true;
    }
    return scan_dot_string(local, 0, true) != local.size();
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;  // RFC 3461 §4: hexchar uses upper case only
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'a' && x <= 'z') {
            x = static_cast<char>(x - 32);
        }
        if (y >= 'a' && y <= 'z') {
            y = static_cast<char>(y - 32);
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

bool valid_utf8(std::string_view bytes) noexcept {
    std::size_t i = 0;
    while (i < bytes.size()) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t n = 0;
        std::uint32_t cp = 0;
        std::uint32_t min = 0;
        if ((c & 0xE0U) == 0xC0U) {
            n = 1;
            cp = c & 0x1FU;
            min = 0x80;
        } else if ((c & 0xF0U) == 0xE0U) {
            n = 2;
            cp = c & 0x0FU;
            min = 0x800;
        } else if ((c & 0xF8U) == 0xF0U) {
            n = 3;
            cp = c & 0x07U;
            min = 0x10000;
        } else {
            return false;
        }
        if (i + n >= bytes.size()) {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(bytes[i + k]);
            if ((cc & 0xC0U) != 0x80U) {
                return false;
            }
            cp = (cp << 6U) | (cc & 0x3FU);
        }
        // RFC 3629 §3: no overlong forms, no surrogates, nothing above U+10FFFF.
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

std::string Mailbox::to_string() const {
    std::string out;
    if (needs_quoting(local_part)) {
        out += '"';
        for (const char c : local_part) {
            if (c == '"' || c == '\\') {
                out += '\\';  // quoted-pairSMTP
            }
            out += c;
        }
        out += '"';
    } else {
        out += local_part;
    }
    if (!domain.empty()) {
        out += '@';
        out += domain;
    }
    return out;
}

std::string Path::to_string() const {
    if (null) {
        return {};
    }
    if (postmaster) {
        return mailbox.local_part;
    }
    return mailbox.to_string();
}

PathResult parse_path(std::string_view text, PathKind kind, bool allow_utf8) noexcept {
    PathResult r;
    if (text.empty() || text.front() != '<') {
        return r;
    }
    const auto close = [&]() -> std::size_t {
        // Find the '>' that ends the path, skipping quoted strings (a quoted local part may
        // contain '>').
        bool quoted = false;
        for (std::size_t i = 1; i < text.size(); ++i) {
            const char c = text[i];
            if (quoted && c == '\\') {
                ++i;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && c == '>') {
                return i;
            }
        }
        return std::string_view::npos;
    }();
    if (close == std::string_view::npos) {
        return r;
    }
    const auto inner = text.substr(1, close - 1);
    r.rest = text.substr(close + 1);
    if (close + 1 > kMaxPath) {
        r.status = AddressStatus::PathTooLong;  // §4.5.3.1.3
        return r;
    }
    bool non_ascii = false;
    for (const char c : inner) {
        if (is_non_ascii(c)) {
            non_ascii = true;
        } else if (static_cast<unsigned char>(c) < 32 || c == 127) {
            return r;  // controls are never part of a path
        }
    }
    if (non_ascii) {
        if (!valid_utf8(inner)) {
            r.status = AddressStatus::BadUtf8;
            return r;
        }
        if (!allow_utf8) {
            r.status = AddressStatus::NeedsUtf8;  // RFC 6531 §3.4: needs MAIL ... SMTPUTF8
            return r;
        }
        r.path.utf8 = true;
    }
    if (inner.empty()) {
        if (kind == PathKind::Reverse) {
            r.path.null = true;  // RFC 5321 §4.5.5 null reverse-path
            r.status = AddressStatus::Ok;
        }
        return r;
    }
    // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain is always accepted as a recipient.
    if (kind == PathKind::Forward && iequals(inner, "Postmaster")) {
        r.path.postmaster = true;
        r.path.mailbox.local_part = std::string(inner);
        r.status = AddressStatus::Ok;
        return r;
    }
    std::size_t i = 0;
    // A-d-l ":" (source route): RFC 5321 §4.1.1.3 and Appendix C say servers SHOULD accept
    // and ignore it.
    if (inner.front() == '@') {
        for (;;) {
            if (i >= inner.size() || inner[i] != '@') {
                return r;
            }
            const auto end = scan_domain(inner, i + 1, allow_utf8);
            if (end == std::string_view::npos || end >= inner.size()) {
                return r;
            }
            i = end;
            if (inner[i] == ',') {
                ++i;
                continue;
            }
            if (inner[i] != ':') {
                return r;
            }
            ++i;
            break;
        }
    }
    // Local-part = Dot-string / Quoted-string
    std::string local;
    if (i < inner.size() && inner[i] == '"') {
        ++i;
        bool closed = false;
        while (i < inner.size()) {
            const char c = inner[i];
            if (c == '"') {
                closed = true;
                ++i;
                break;
            }
            if (c == '\\') {
                // quoted-pairSMTP = %d92 %d32-126
                if (i + 1 >= inner.size()) {
                    return r;
                }
                const auto n = static_cast<unsigned char>(inner[i + 1]);
                if (n < 32 || n > 126) {
                    return r;
                }
                local += inner[i + 1];
                i += 2;
                continue;
            }
            if (!is_qtext(c) && !(allow_utf8 && is_non_ascii(c))) {
                return r;
            }
            local += c;
            ++i;
        }
        if (!closed) {
            return r;
        }
    } else {
        const auto end = scan_dot_string(inner, i, allow_utf8);
        if (end == std::string_view::npos) {
            return r;
        }
        local.assign(inner.substr(i, end - i));
        i = end;
    }
    if (i >= inner.size() || inner[i] != '@') {
        return r;
    }
    ++i;
    std::size_t end = std::string_view::npos;
    if (i < inner.size() && inner[i] == '[') {
        end = scan_address_literal(inner, i);
    } else {
        end = scan_domain(inner, i, allow_utf8);
    }
    if (end != inner.size()) {
        return r;
    }
    const auto domain = inner.substr(i);
    // §4.5.3.1.1: the limit is on the wire form of the local part (with quotes).
    const auto local_wire = inner.substr(0, inner.rfind('@', i - 1));
    if (local.size() > kMaxLocalPart || local_wire.size() > kMaxLocalPart + 2) {
        r.status = AddressStatus::LocalTooLong;
        return r;
    }
    if (domain.size() > kMaxDomain) {
        r.status = AddressStatus::DomainTooLong;  // §4.5.3.1.2
        return r;
    }
    r.path.mailbox.local_part = std::move(local);
    r.path.mailbox.domain = std::string(domain);
    r.status = AddressStatus::Ok;
    return r;
}

bool parse_esmtp_params(std::string_view text, std::vector<EsmtpParam>& out) noexcept {
    std::size_t i = 0;
    for (;;) {
        while (i < text.size() && text[i] == ' ') {
            ++i;
        }
        if (i == text.size()) {
            return true;
        }
        // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
        const std::size_t k = i;
        if (!is_let_dig(text[i])) {
            return false;
        }
        while (i < text.size() && (is_let_dig(text[i]) || text[i] == '-')) {
            ++i;
        }
        EsmtpParam p;
        p.keyword = text.substr(k, i - k);
        if (i < text.size() && text[i] == '=') {
            ++i;
            // esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531 §3.3 adds UTF8-non-ascii
            const std::size_t v = i;
            while (i < text.size()) {
                const auto u = static_cast<unsigned char>(text[i]);
                if ((u >= 33 && u <= 126 && u != '=') || u >= 0x80) {
                    ++i;
                } else {
                    break;
                }
            }
            if (i == v) {
                return false;
            }
            p.value = text.substr(v, i - v);
            if (!valid_utf8(p.value)) {
                return false;
            }
            p.has_value = true;
        }
        if (i < text.size() && text[i] != ' ') {
            return false;
        }
        out.push_back(p);
    }
}

bool xtext_decode(std::string_view text, std::string& out) noexcept {
    // RFC 3461 §4: xtext = *( xchar / hexchar ); xchar = "!".."~" except "+" and "=";
    // hexchar = "+" 2(%x30-39 / %x41-46)
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        if (u == '+') {
            if (i + 2 >= text.size()) {
                return false;
            }
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (u >= 33 && u <= 126 && u != '=') {
            out += static_cast<char>(u);
        } else {
            return false;
        }
    }
    return true;
}

std::string xtext_encode(std::string_view bytes) {
    constexpr std::string_view kHex = "0123456789ABCDEF";
    std::string out;
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 33 && u <= 126 && u != '+' && u != '=') {
            out += c;
        } else {
            out += '+';
            out += kHex[u >> 4U];
            out += kHex[u & 0xFU];
        }
    }
    return out;
}

}  // namespace sov::smtp::wire
