#include "mailauth/spf_macro.hpp"

#include <algorithm>
#include <array>

#include "mime/header.hpp"

namespace sov::mailauth {

namespace asio = boost::asio;

namespace {

// §7.3: "Implementations MUST support at least a value of 127"; larger values mean "all parts".
constexpr unsigned kMaxDigits = 1000;

constexpr bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
constexpr bool is_alnum(char c) noexcept {
    return is_alpha(c) || is_digit(c);
}
constexpr char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// macro-literal = %x21-24 / %x26-7E (§7.1); explain-string adds SP.
constexpr bool is_literal(char c, MacroContext context) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (u == ' ') {
        return context == MacroContext::Explanation;
    }
    return u >= 0x21 && u <= 0x7E && u != '%';
}

// delimiter = "." / "-" / "+" / "," / "/" / "_" / "=" (§7.1)
constexpr bool is_delimiter(char c) noexcept {
    return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

struct Token {
    enum class Kind {
        Literal,
        Macro,
        Percent,   // "%%"
        Space,     // "%_"
        UrlSpace,  // "%-"
    };
    Kind kind = Kind::Literal;
    std::string_view literal;
    char letter = 0;  // lower case
    bool upper = false;
    unsigned digits = 0;  // 0: none given
    bool reverse = false;
    std::string_view delimiters;
};

// One token of a macro-string starting at `pos` (advanced past it). §7.1 macro-expand.
MacroStatus next_token(
    std::string_view text, std::size_t& pos, MacroContext context, Token& out
) noexcept {
    out = Token{};
    if (text[pos] != '%') {
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] != '%') {
            if (!is_literal(text[pos], context)) {
                return MacroStatus::BadCharacter;
            }
            ++pos;
        }
        out.literal = text.substr(start, pos - start);
        return MacroStatus::Ok;
    }
    if (pos + 1 >= text.size()) {
        return MacroStatus::BadPercent;
    }
    const char next = text[pos + 1];
    if (next == '%' || next == '_' || next == '-') {
        out.kind = next == '%' ? Token::Kind::Percent
                               : (next == '_' ? Token::Kind::Space : Token::Kind::UrlSpace);
        pos += 2;
        return MacroStatus::Ok;
    }
    if (next != '{') {
        return MacroStatus::BadPercent;  // §7.3: "%(ir)" is a syntax error
    }
    std::size_t i = pos + 2;
    if (i >= text.size()) {
        return MacroStatus::Unterminated;
    }
    const char raw = text[i];
    const char letter = lower(raw);
    static constexpr std::string_view kLetters = "slodiphcrtv";
    if (kLetters.find(letter) == std::string_view::npos || !is_alpha(raw)) {
        return MacroStatus::BadLetter;
    }
    // §7.2: c, r and t are allowed only in "exp" text.
    if ((letter == 'c' || letter == 'r' || letter == 't') && context == MacroContext::DomainSpec) {
        return MacroStatus::ExplanationOnly;
    }
    out.kind = Token::Kind::Macro;
    out.letter = letter;
    out.upper = raw != letter;
    ++i;
    bool have_digits = false;
    unsigned value = 0;
    while (i < text.size() && is_digit(text[i])) {
        have_digits = true;
        value = std::min(kMaxDigits, value * 10 + static_cast<unsigned>(text[i] - '0'));
        ++i;
    }
    if (have_digits && value == 0) {
        return MacroStatus::ZeroDigits;  // §7.3: "the value MUST be nonzero"
    }
    out.digits = value;
    // ABNF literals are case-insensitive (RFC 5234 §2.3): "R" reverses too.
    if (i < text.size() && lower(text[i]) == 'r') {
        out.reverse = true;
        ++i;
    }
    const std::size_t delimiters = i;
    while (i < text.size() && is_delimiter(text[i])) {
        ++i;
    }
    out.delimiters = text.substr(delimiters, i - delimiters);
    if (i >= text.size() || text[i] != '}') {
        return MacroStatus::Unterminated;
    }
    pos = i + 1;
    return MacroStatus::Ok;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view label) noexcept {
    if (label.empty()) {
        return false;
    }
    bool alpha = false;
    bool dash = false;
    for (const char c : label) {
        if (c == '-') {
            dash = true;
        } else if (is_alpha(c)) {
            alpha = true;
        } else if (!is_digit(c)) {
            return false;
        }
    }
    if (dash) {
        return is_alnum(label.front()) && is_alnum(label.back());
    }
    return alpha;
}

// §7.1 domain-end = ( "." toplabel [ "." ] ) / macro-expand, checked on the last token.
bool is_domain_end(const Token& last) noexcept {
    if (last.kind != Token::Kind::Literal) {
        return true;
    }
    std::string_view tail = last.literal;
    if (!tail.empty() && tail.back() == '.') {
        tail.remove_suffix(1);
    }
    const auto dot = tail.rfind('.');
    if (dot == std::string_view::npos) {
        return false;  // the "." before toplabel cannot come from a macro
    }
    return is_toplabel(tail.substr(dot + 1));
}

std::vector<std::string_view> split(std::string_view value, std::string_view delimiters) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        if (i == value.size() || delimiters.find(value[i]) != std::string_view::npos) {
            parts.push_back(value.substr(start, i - start));
            start = i + 1;
        }
    }
    return parts;
}

// RFC 3986 §2.3 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
void url_escape(std::string_view value, std::string& out) {
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    for (const char c : value) {
        if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            const auto u = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 0x0F];
        }
    }
}

std::string letter_value(char letter, const MacroValues& values) {
    switch (letter) {
        case 's':
            return values.sender;
        case 'l':
            return values.local_part;
        case 'o':
            return values.sender_domain;
        case 'd':
            return values.domain;
        case 'i':
            return ip_dot_format(values.ip);
        case 'p':
            return values.validated_name;
        case 'v':
            return values.ip.is_v4() ? "in-addr" : "ip6";
        case 'h':
            return values.helo;
        case 'c':
            // §7.3: "any of the hexadecimal colon-format addresses" of RFC 4291 §2.2; the
            // compressed lower-case form (RFC 5952) is the readable one.
            return values.ip.to_string();
        case 'r':
            return values.receiver.empty() ? std::string("unknown") : values.receiver;
        case 't':
            return std::to_string(values.timestamp);
        default:
            return {};
    }
}

// §7.3: split on the delimiters (default "."), reverse on "r", keep the right-hand DIGIT parts,
// rejoin with ".".
std::string transform(const Token& token, std::string_view value) {
    if (token.digits == 0 && !token.reverse && token.delimiters.empty()) {
        return std::string(value);
    }
    auto parts = split(value, token.delimiters.empty() ? std::string_view(".") : token.delimiters);
    if (token.reverse) {
        std::reverse(parts.begin(), parts.end());
    }
    std::size_t first = 0;
    if (token.digits != 0 && token.digits < parts.size()) {
        first = parts.size() - token.digits;
    }
    std::string out;
    for (std::size_t i = first; i < parts.size(); ++i) {
        if (i != first) {
            out += '.';
        }
        out += parts[i];
    }
    return out;
}

}  // namespace

std::string_view to_string(MacroStatus status) noexcept {
    switch (status) {
        case MacroStatus::Ok:
            return "ok";
        case MacroStatus::BadCharacter:
            return "invalid character";
        case MacroStatus::BadPercent:
            return "'%' not followed by '{', '%', '_' or '-'";
        case MacroStatus::BadLetter:
            return "unknown macro letter";
        case MacroStatus::ExplanationOnly:
            return "macro letter allowed only in exp text";
        case MacroStatus::ZeroDigits:
            return "zero digit transformer";
        case MacroStatus::Unterminated:
            return "unterminated macro";
        case MacroStatus::BadDomainEnd:
            return "domain-spec does not end in a top label or macro";
        case MacroStatus::Empty:
            return "empty domain-spec";
    }
    return "unknown";
}

MacroStatus check_macro_string(std::string_view text, MacroContext context) noexcept {
    if (text.empty()) {
        return context == MacroContext::DomainSpec ? MacroStatus::Empty : MacroStatus::Ok;
    }
    Token token;
    std::size_t pos = 0;
    while (pos < text.size()) {
        if (const auto status = next_token(text, pos, context, token); status != MacroStatus::Ok) {
            return status;
        }
    }
    if (context == MacroContext::DomainSpec && !is_domain_end(token)) {
        return MacroStatus::BadDomainEnd;
    }
    return MacroStatus::Ok;
}

bool uses_p_macro(std::string_view text) noexcept {
    Token token;
    std::size_t pos = 0;
    while (pos < text.size()) {
        // The most permissive context (SP and every letter allowed): only %{p} matters here.
        if (next_token(text, pos, MacroContext::Explanation, token) != MacroStatus::Ok) {
            return false;
        }
        if (token.kind == Token::Kind::Macro && token.letter == 'p') {
            return true;
        }
    }
    return false;
}

MacroExpansion expand_macros(
    std::string_view text, MacroContext context, const MacroValues& values
) noexcept {
    MacroExpansion out;
    out.status = check_macro_string(text, context);
    if (out.status != MacroStatus::Ok) {
        return out;
    }
    Token token;
    std::size_t pos = 0;
    while (pos < text.size()) {
        (void)next_token(text, pos, context, token);
        switch (token.kind) {
            case Token::Kind::Literal:
                out.text += token.literal;
                break;
            case Token::Kind::Percent:
                out.text += '%';
                break;
            case Token::Kind::Space:
                out.text += ' ';
                break;
            case Token::Kind::UrlSpace:
                out.text += "%20";
                break;
            case Token::Kind::Macro: {
                const auto value = transform(token, letter_value(token.letter, values));
                if (token.upper) {
                    url_escape(value, out.text);  // §7.3: upper-case macros are URL-escaped
                } else {
                    out.text += value;
                }
                break;
            }
        }
    }
    return out;
}

std::string truncate_domain(std::string_view name) noexcept {
    if (!name.empty() && name.back() == '.') {
        name.remove_suffix(1);
    }
    // §7.3: "removing successive domain labels (and their following dots) until the total
    // length does not exceed 253 characters".
    while (name.size() > 253) {
        const auto dot = name.find('.');
        if (dot == std::string_view::npos) {
            break;
        }
        name.remove_prefix(dot + 1);
    }
    return std::string(name);
}

bool is_queryable_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 253) {
        return false;
    }
    std::size_t start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            const std::size_t length = i - start;
            if (length == 0 || length > 63) {
                return false;
            }
            start = i + 1;
        }
    }
    return true;
}

std::string ip_dot_format(const asio::ip::address& ip) {
    if (ip.is_v4()) {
        return ip.to_string();
    }
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    out.reserve(63);
    for (const auto byte : ip.to_v6().to_bytes()) {
        if (!out.empty()) {
            out += '.';
        }
        out += kHex[byte >> 4];
        out += '.';
        out += kHex[byte & 0x0F];
    }
    return out;
}

bool is_within(std::string_view name, std::string_view domain) noexcept {
    if (!name.empty() && name.back() == '.') {
        name.remove_suffix(1);
    }
    if (!domain.empty() && domain.back() == '.') {
        domain.remove_suffix(1);
    }
    if (domain.empty() || name.size() < domain.size()) {
        return false;
    }
    if (!mime::iequals(name.substr(name.size() - domain.size()), domain)) {
        return false;
    }
    return name.size() == domain.size() || name[name.size() - domain.size() - 1] == '.';
}

asio::awaitable<DnsAnswer<asio::ip::address>> lookup_addresses(
    DnsSource& dns, std::string name, bool v4
) {
    if (v4) {
        co_return co_await dns.a(std::move(name));
    }
    co_return co_await dns.aaaa(std::move(name));
}

asio::awaitable<ValidatedNames> validated_names(
    DnsSource& dns, asio::ip::address ip, std::size_t max_names
) {
    ValidatedNames out;
    auto ptr = co_await dns.ptr(ip);
    if (!ptr) {
        out.ptr_failed = true;  // §5.5: a PTR lookup error means "ptr" does not match
        co_return out;
    }
    if (ptr->nxdomain || ptr->records.empty()) {
        out.ptr_void = true;
        co_return out;
    }
    std::size_t tried = 0;
    for (const auto& record : ptr->records) {
        // §4.6.4: "all records other than the first 10 MUST be ignored".
        if (tried++ >= max_names) {
            break;
        }
        std::string name = record;
        if (!name.empty() && name.back() == '.') {
            name.pop_back();
        }
        if (!is_queryable_name(name)) {
            continue;
        }
        auto addresses = co_await lookup_addresses(dns, std::move(name), ip.is_v4());
        if (!addresses) {
            continue;  // §5.5: "that domain name is skipped and the search continues"
        }
        if (std::find(addresses->records.begin(), addresses->records.end(), ip) !=
            addresses->records.end()) {
            std::string validated = record;
            if (validated.back() == '.') {
                validated.pop_back();
            }
            out.names.push_back(std::move(validated));
        }
    }
    co_return out;
}

std::string choose_p_name(const ValidatedNames& names, std::string_view domain) {
    for (const auto& name : names.names) {
        if (mime::iequals(name, domain)) {
            return name;
        }
    }
    for (const auto& name : names.names) {
        if (is_within(name, domain)) {
            return name;
        }
    }
    if (!names.names.empty()) {
        return names.names.front();
    }
    return "unknown";
}

}  // namespace sov::mailauth
