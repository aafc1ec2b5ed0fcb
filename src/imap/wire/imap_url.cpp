// RFC 5092 IMAP URLs of a message or message part (see imap_url.hpp).
#include "imap/wire/imap_url.hpp"

#include <charconv>
#include <limits>

#include "core/ascii.hpp"
#include "imap/wire/chars.hpp"
#include "imap/wire/detail/cursor.hpp"
#include "imap/wire/detail/grammar.hpp"
#include "imap/wire/limits.hpp"

namespace sov::imap::wire {
namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept {
    if (s.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (ascii_upper(s[i]) != prefix[i]) {
            return false;
        }
    }
    return true;
}

/// RFC 3986 §2.1 percent-decoding; nullopt on a malformed escape or a decoded control octet.
std::optional<std::string> percent_decoded(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            const int octet = core::hex_octet(s, i + 1);
            if (octet < 0) {
                return std::nullopt;
            }
            c = static_cast<char>(octet);
            i += 2;
        }
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return std::nullopt;
        }
        out += c;
    }
    return out;
}

template <class Number>
bool number_of(std::string_view s, Number& out) noexcept {
    if (s.empty() || s.front() < '0' || s.front() > '9') {
        return false;
    }
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

/// section-spec, percent-decoded, through the FETCH grammar (BODY[<section-spec>]).
bool section_of(std::string_view encoded, Section& out) {
    const auto spec = percent_decoded(encoded);
    if (!spec || spec->empty()) {  // enc-section = 1*bchar
        return false;
    }
    const std::string text = "[" + *spec + "]";
    const ParserLimits limits;
    const ParserOptions options;
    detail::Cursor c(text, {}, limits, options);
    return detail::parse_section_spec(c, out) && c.at_end();
}

/// partial-range = number ["." nz-number]
bool partial_of(std::string_view s, Partial& out) noexcept {
    const auto dot = s.find('.');
    if (!number_of(s.substr(0, dot), out.offset)) {
        return false;
    }
    if (dot == std::string_view::npos) {
        out.length = std::numeric_limits<std::uint64_t>::max();
        return true;
    }
    return number_of(s.substr(dot + 1), out.length) && out.length > 0;
}

}  // namespace

std::optional<MessagePartUrl> parse_message_part_url(std::string_view url) {
    if (url.empty() || url.size() > kMaxImapUrl || url.find("//") != std::string_view::npos ||
        url.find('?') != std::string_view::npos) {
        return std::nullopt;  // a scheme or server (imap://...), or a message list's search
    }
    MessagePartUrl out;
    std::string_view rest = url;
    if (rest.front() != ';') {
        // imailbox-ref "/" ...: the mailbox runs to the first "/;" (its own levels are
        // separated by "/", but no level starts with ";": RFC 5092 bchar excludes it).
        if (rest.front() == '/') {
            rest.remove_prefix(1);
        }
        const auto end = rest.find("/;");
        if (end == std::string_view::npos || end == 0) {
            return std::nullopt;
        }
        std::string_view ref = rest.substr(0, end);
        rest.remove_prefix(end + 1);
        if (const auto semi = ref.find(';'); semi != std::string_view::npos) {
            std::uint32_t validity = 0;
            if (!starts_with_nocase(ref.substr(semi), ";UIDVALIDITY=") ||
                !number_of(ref.substr(semi + 13), validity) || validity == 0) {
                return std::nullopt;
            }
            out.uid_validity = validity;
            ref = ref.substr(0, semi);
        }
        auto name = percent_decoded(ref);
        if (!name || name->empty() || !is_valid_utf8(*name)) {
            return std::nullopt;
        }
        out.mailbox = std::move(*name);
    }
    // ";UID=n" ["/;SECTION=..."] ["/;PARTIAL=..."], nothing else (no URLAUTH).
    bool uid = false;
    bool section = false;
    bool partial = false;
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string_view part = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (slash != std::string_view::npos && rest.empty()) {
            return std::nullopt;  // a trailing "/"
        }
        if (!uid && starts_with_nocase(part, ";UID=")) {
            uid = number_of(part.substr(5), out.uid) && out.uid > 0;
            if (!uid) {
                return std::nullopt;
            }
        } else if (uid && !section && !partial && starts_with_nocase(part, ";SECTION=")) {
            section = section_of(part.substr(9), out.section);
            if (!section) {
                return std::nullopt;
            }
        } else if (uid && !partial && starts_with_nocase(part, ";PARTIAL=")) {
            Partial p;
            partial = partial_of(part.substr(9), p);
            if (!partial) {
                return std::nullopt;
            }
            out.partial = p;
        } else {
            return std::nullopt;
        }
    }
    if (!uid) {
        return std::nullopt;
    }
    return out;
}

}  // namespace sov::imap::wire
