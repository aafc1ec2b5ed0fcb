#include "tls/tlsrpt_record.hpp"

#include <algorithm>
#include <cstddef>

#include "tls/detail/txt_fields.hpp"
#include "tls/errors.hpp"

namespace sov::tls {
namespace {

using detail::is_wsp;
using detail::skip_wsp;

// RFC 8460 §3: tlsrpt-version = %s"v=TLSRPTv1" (case-sensitive, RFC 7405).
constexpr std::string_view kVersion = "v=TLSRPTv1";

bool is_alpha(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

int hex_value(char c) noexcept {
    if (is_digit(c)) {
        return c - '0';
    }
    return (c >= 'a' ? c - 'a' : c - 'A') + 10;
}

char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

// RFC 3986 §2: unreserved / reserved characters, and "%" for pct-encoded. RFC 8460 §3 removes
// "," "!" and ";", which "MUST be encoded" in a tlsrpt-uri.
bool is_uri_char(char c) noexcept {
    if (is_alpha(c) || is_digit(c)) {
        return true;
    }
    constexpr std::string_view kOthers = "-._~:/?#[]@$&'()*+=%";
    return kOthers.find(c) != std::string_view::npos;
}

enum class UriCheck {
    Mailto,
    Https,
    Unsupported,
    Bad,
};

UriCheck check_uri(std::string_view uri) noexcept {
    // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), case-insensitive.
    const std::size_t colon = uri.find(':');
    if (colon == std::string_view::npos || colon == 0 || !is_alpha(uri.front())) {
        return UriCheck::Bad;
    }
    const std::string_view scheme = uri.substr(0, colon);
    if (!std::all_of(scheme.begin(), scheme.end(), [](char c) {
            return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
        })) {
        return UriCheck::Bad;
    }
    const std::string_view rest = uri.substr(colon + 1);
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (!is_uri_char(rest[i])) {
            return UriCheck::Bad;
        }
        // pct-encoded = "%" HEXDIG HEXDIG
        if (rest[i] == '%' &&
            (i + 2 >= rest.size() || !is_hex(rest[i + 1]) || !is_hex(rest[i + 2]))) {
            return UriCheck::Bad;
        }
    }
    if (iequals(scheme, "https")) {
        // RFC 3986 §3.2: hier-part = "//" authority path-abempty; we need a host to POST to.
        if (!rest.starts_with("//")) {
            return UriCheck::Bad;
        }
        std::string_view authority = rest.substr(2);
        authority = authority.substr(0, authority.find_first_of("/?#"));
        if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
            authority.remove_prefix(at + 1);  // userinfo
        }
        std::string_view host;
        if (authority.starts_with('[')) {  // IP-literal = "[" ( IPv6address / IPvFuture ) "]"
            const std::size_t close = authority.find(']');
            host = close == std::string_view::npos ? "" : authority.substr(1, close - 1);
        } else {
            host = authority.substr(0, authority.find(':'));  // host [ ":" port ]
        }
        return host.empty() ? UriCheck::Bad : UriCheck::Https;
    }
    if (iequals(scheme, "mailto")) {
        return UriCheck::Mailto;
    }
    return UriCheck::Unsupported;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Adds the URIs of one rua value (tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)) to `record`, or only
// checks them when `keep` is false (a repeated rua, ignored).
Errc add_uris(std::string_view list, TlsRptRecord& record, bool keep) {
    while (true) {
        const std::size_t comma = list.find(',');
        std::string_view uri = list.substr(0, comma);
        while (!uri.empty() && is_wsp(uri.back())) {
            uri.remove_suffix(1);
        }
        if (uri.empty() || is_wsp(uri.front())) {
            return Errc::Syntax;  // "rua=", ",," or whitespace right after "rua="
        }
        const UriCheck check = check_uri(uri);
        if (check == UriCheck::Bad) {
            return Errc::BadUri;
        }
        if (keep && check == UriCheck::Unsupported) {
            ++record.unsupported_uris;
        } else if (keep) {
            ReportUri entry{
                check == UriCheck::Mailto ? UriScheme::Mailto : UriScheme::Https, std::string(uri)
            };
            if (entry.scheme == UriScheme::Mailto && !mailto_recipients(entry)) {
                return Errc::BadUri;
            }
            record.rua.push_back(std::move(entry));
        }
        if (comma == std::string_view::npos) {
            return Errc::Ok;
        }
        list.remove_prefix(skip_wsp(list, comma + 1));
    }
}

}  // namespace

Result<TlsRptRecord> parse_tlsrpt_record(std::string_view txt) noexcept {
    if (!txt.starts_with(kVersion)) {
        return Errc::BadVersion;
    }
    std::size_t i = kVersion.size();
    if (i < txt.size() && !is_wsp(txt[i]) && txt[i] != ';') {
        return Errc::BadVersion;  // "v=TLSRPTv10"
    }
    TlsRptRecord record;
    bool have_rua = false;
    // tlsrpt-record = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
    // field-delim   = *WSP ";" *WSP
    while (true) {
        i = skip_wsp(txt, i);
        if (i == txt.size()) {
            break;  // lenient: WSP after the last field without a ";"
        }
        if (txt[i] != ';') {
            return Errc::Syntax;
        }
        i = skip_wsp(txt, i + 1);
        if (i == txt.size()) {
            break;
        }
        const std::size_t eq = txt.find('=', i);
        if (eq == std::string_view::npos) {
            return Errc::Syntax;
        }
        const std::string_view name = txt.substr(i, eq - i);
        if (!is_txt_ext_name(name)) {
            return Errc::Syntax;
        }
        if (name == "rua") {
            // tlsrpt-rua = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri); a URI holds no ";"
            // (it "MUST be encoded"), so the value runs to the next ";".
            const std::size_t end = std::min(txt.find(';', eq + 1), txt.size());
            if (const Errc e = add_uris(txt.substr(eq + 1, end - eq - 1), record, !have_rua);
                e != Errc::Ok) {
                return e;
            }
            have_rua = true;
            i = end;
            continue;
        }
        std::size_t end = eq + 1;
        while (end < txt.size() && txt[end] != ';' && !is_wsp(txt[end])) {
            ++end;
        }
        const std::string_view value = txt.substr(eq + 1, end - eq - 1);
        i = end;
        if (!is_txt_ext_value(value)) {
            return Errc::Syntax;
        }
        if (name != "v") {  // a repeated version is a repeated field: ignored
            // §3: "unknown fields SHALL be ignored"; kept for logging.
            record.extensions.push_back({std::string(name), std::string(value)});
        }
    }
    if (!have_rua) {
        return Errc::MissingField;  // "the tlsrpt-rua record is required" (§3 ABNF comment)
    }
    if (record.rua.empty()) {
        return Errc::NoSupportedUri;
    }
    return record;
}

Result<TlsRptRecord> select_tlsrpt_record(const std::vector<std::string>& txts) noexcept {
    // §3: "records that do not begin with "v=TLSRPTv1;" are discarded. If the number of
    // resulting records is not one, senders MUST assume the recipient domain does not implement
    // TLSRPT."
    return detail::select_single_record(txts, kVersion, [](const std::string& txt) {
        return parse_tlsrpt_record(txt);
    });
}

Result<std::vector<std::string>> mailto_recipients(const ReportUri& uri) {
    constexpr std::string_view kScheme = "mailto:";
    std::string_view to = uri.uri;
    if (uri.scheme != UriScheme::Mailto || to.size() < kScheme.size() ||
        !iequals(to.substr(0, kScheme.size()), kScheme)) {
        return Errc::BadUri;
    }
    to = to.substr(kScheme.size());
    to = to.substr(0, to.find('?'));  // RFC 6068 §2: mailtoURI = "mailto:" [ to ] [ hfields ]
    const std::string decoded = percent_decode(to);
    std::vector<std::string> out;
    std::string_view rest = decoded;
    while (true) {
        const std::size_t comma = rest.find(',');
        const std::string_view addr = rest.substr(0, comma);
        const std::size_t at = addr.rfind('@');
        const bool clean = std::none_of(addr.begin(), addr.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u <= 0x20 || u == 0x7f || c == '<' || c == '>';
        });
        if (!clean || at == std::string_view::npos || at == 0 || at + 1 == addr.size()) {
            return Errc::BadUri;
        }
        out.emplace_back(addr);
        if (comma == std::string_view::npos) {
            return out;
        }
        rest.remove_prefix(comma + 1);
    }
}

}  // namespace sov::tls
