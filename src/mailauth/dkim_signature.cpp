#include "mailauth/dkim_signature.hpp"

#include <algorithm>
#include <limits>

#include "core/ascii.hpp"
#include "mailauth/base64.hpp"
#include "mailauth/dkim_tags.hpp"

namespace sov::mailauth {

namespace {

bool is_fws(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim_fws(std::string_view s) noexcept {
    while (!s.empty() && is_fws(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_fws(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// §3.5 domain-name / selector: sub-domain labels of letters, digits, '-' (and '_', which
// real selectors and some d= values use), at most 253 octets.
bool is_domain(std::string_view name) noexcept {
    if (name.empty() || name.size() > 253) {
        return false;
    }
    std::size_t label = 0;
    for (const char c : name) {
        if (c == '.') {
            if (label == 0) {
                return false;
            }
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
                   c == '_') {
            if (++label > 63) {
                return false;
            }
        } else {
            return false;
        }
    }
    return label != 0;
}

// 1*n DIGIT (t=, x=: 1*12DIGIT; l=: 1*76DIGIT). A value past uint64 saturates: as an l= it is
// longer than any body, as a time it is past any expiry.
std::optional<std::uint64_t> parse_digits(std::string_view s, std::size_t max_digits) noexcept {
    if (s.empty() || s.size() > max_digits) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    for (const char c : s) {
        if (!is_digit(c)) {
            return std::nullopt;
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            value = std::numeric_limits<std::uint64_t>::max();
        } else {
            value = value * 10 + digit;
        }
    }
    return value;
}

// §2.11 dkim-quoted-printable (i= and z=): "=XX" is an octet, FWS is ignored.
std::optional<std::string> decode_dkim_qp(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (is_fws(c)) {
            continue;
        }
        if (c == '=') {
            const int octet = core::hex_octet(s, i + 1);
            if (octet < 0) {
                return std::nullopt;
            }
            out += static_cast<char>(octet);
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

// The [offset, size) of the b= value (between '=' and the next ';' or the end) in a tag-list.
std::optional<std::pair<std::size_t, std::size_t>> find_b_value(std::string_view list) noexcept {
    std::size_t pos = 0;
    while (pos <= list.size()) {
        std::size_t end = list.find(';', pos);
        if (end == std::string_view::npos) {
            end = list.size();
        }
        const auto tag = list.substr(pos, end - pos);
        if (const auto eq = tag.find('='); eq != std::string_view::npos) {
            if (trim_fws(tag.substr(0, eq)) == "b") {
                return std::pair{pos + eq + 1, end - (pos + eq + 1)};
            }
        }
        pos = end + 1;
    }
    return std::nullopt;
}

SignatureParse fail(SignatureStatus status, std::string reason) {
    SignatureParse out;
    out.status = status;
    out.reason = std::move(reason);
    return out;
}

}  // namespace

std::string_view to_string(SignatureAlgorithm algorithm) noexcept {
    switch (algorithm) {
        case SignatureAlgorithm::RsaSha1:
            return "rsa-sha1";
        case SignatureAlgorithm::RsaSha256:
            return "rsa-sha256";
        case SignatureAlgorithm::Ed25519Sha256:
            return "ed25519-sha256";
    }
    return "?";
}

KeyAlgorithm key_algorithm_of(SignatureAlgorithm algorithm) noexcept {
    return algorithm == SignatureAlgorithm::Ed25519Sha256 ? KeyAlgorithm::Ed25519
                                                          : KeyAlgorithm::Rsa;
}

std::string_view to_string(SignatureStatus status) noexcept {
    switch (status) {
        case SignatureStatus::Ok:
            return "ok";
        case SignatureStatus::TooLong:
            return "signature too long";
        case SignatureStatus::Syntax:
            return "signature syntax error";
        case SignatureStatus::MissingTag:
            return "signature missing required tag";
        case SignatureStatus::IncompatibleVersion:
            return "incompatible version";
        case SignatureStatus::UnknownAlgorithm:
            return "unsupported algorithm";
        case SignatureStatus::UnknownCanon:
            return "unsupported canonicalization";
        case SignatureStatus::UnsupportedQuery:
            return "unsupported query method";
        case SignatureStatus::FromNotSigned:
            return "From field not signed";
        case SignatureStatus::DomainMismatch:
            return "domain mismatch";
        case SignatureStatus::BadExpiration:
            return "x= before t=";
    }
    return "?";
}

SignatureParse parse_dkim_signature(
    std::string_view value, const SignatureLimits& limits
) noexcept {
    if (value.size() > limits.max_octets) {
        return fail(SignatureStatus::TooLong, "signature too long");
    }
    const auto tags = TagList::parse(value, TagLimits{limits.max_octets});
    if (!tags.ok()) {
        return fail(SignatureStatus::Syntax, std::string(to_string(tags.status())));
    }
    // §6.1.1: the required tags; v= is checked first so a future version is reported as such.
    for (const std::string_view name : {"v", "a", "b", "bh", "d", "h", "s"}) {
        if (!tags.find(name)) {
            return fail(SignatureStatus::MissingTag, "missing " + std::string(name) + "= tag");
        }
    }
    if (*tags.find("v") != "1") {
        return fail(SignatureStatus::IncompatibleVersion, "incompatible version");
    }

    SignatureParse out;
    auto& sig = out.signature;

    // §3.5 a=: sig-a-tag-k "-" sig-a-tag-h; RFC 8463 §3 adds ed25519-sha256.
    const auto a = core::ascii_lowercase(*tags.find("a"));
    if (a == "rsa-sha256") {
        sig.algorithm = SignatureAlgorithm::RsaSha256;
    } else if (a == "ed25519-sha256") {
        sig.algorithm = SignatureAlgorithm::Ed25519Sha256;
    } else if (a == "rsa-sha1") {
        sig.algorithm = SignatureAlgorithm::RsaSha1;
    } else {
        return fail(SignatureStatus::UnknownAlgorithm, "unsupported algorithm");
    }

    sig.b_base64 = strip_fws(*tags.find("b"));
    auto b = base64_decode(sig.b_base64);
    if (!b || b->empty()) {
        return fail(SignatureStatus::Syntax, "bad b= value");
    }
    sig.b = std::move(*b);
    auto bh = base64_decode(strip_fws(*tags.find("bh")));
    if (!bh || bh->empty()) {
        return fail(SignatureStatus::Syntax, "bad bh= value");
    }
    sig.bh = std::move(*bh);
    if (const auto span = find_b_value(value)) {
        sig.b_offset = span->first;
        sig.b_size = span->second;
    }

    // §3.5 c=: header[/body], each "simple" or "relaxed"; "relaxed" alone is relaxed/simple.
    if (const auto c = tags.find("c")) {
        const auto slash = c->find('/');
        const auto header = canon_from_string(c->substr(0, slash));
        const auto body = slash == std::string_view::npos ? std::optional<Canon>(Canon::Simple)
                                                          : canon_from_string(c->substr(slash + 1));
        if (!header || !body) {
            return fail(SignatureStatus::UnknownCanon, "unsupported c= value");
        }
        sig.header_canon = *header;
        sig.body_canon = *body;
    }

    const auto d = *tags.find("d");
    if (!is_domain(d)) {
        return fail(SignatureStatus::Syntax, "bad d= value");
    }
    sig.domain = core::ascii_lowercase(d);
    const auto s = *tags.find("s");
    if (!is_domain(s)) {
        return fail(SignatureStatus::Syntax, "bad s= value");
    }
    sig.selector = std::string(s);

    // §3.5 h=: hdr-name *( [FWS] ":" [FWS] hdr-name ); field names are printable ASCII but ':'.
    std::string_view h = *tags.find("h");
    bool from_signed = false;
    while (true) {
        const auto colon = h.find(':');
        const auto name = trim_fws(h.substr(0, colon));
        if (name.empty() ||
            !std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7F; })) {
            return fail(SignatureStatus::Syntax, "bad h= value");
        }
        if (sig.headers.size() == limits.max_headers) {
            return fail(SignatureStatus::Syntax, "too many h= entries");
        }
        from_signed = from_signed || core::ascii_iequals(name, "from");
        sig.headers.emplace_back(name);
        if (colon == std::string_view::npos) {
            break;
        }
        h.remove_prefix(colon + 1);
    }
    if (!from_signed) {
        return fail(SignatureStatus::FromNotSigned, "From field not signed");  // §6.1.1
    }

    // §3.5 i=: [Local-part] "@" domain-name, dkim-quoted-printable. §6.1.1: absent means "@d",
    // and the domain must be d= or a subdomain of it.
    if (const auto i = tags.find("i")) {
        auto identity = decode_dkim_qp(*i);
        const auto at = identity ? identity->rfind('@') : std::string::npos;
        if (!identity || at == std::string::npos || !is_domain(identity->substr(at + 1))) {
            return fail(SignatureStatus::Syntax, "bad i= value");
        }
        sig.identity_domain = core::ascii_lowercase(identity->substr(at + 1));
        sig.identity = std::move(*identity);
        sig.identity_given = true;
        const bool same = sig.identity_domain == sig.domain;
        const bool sub =
            sig.identity_domain.size() > sig.domain.size() &&
            sig.identity_domain.ends_with(sig.domain) &&
            sig.identity_domain[sig.identity_domain.size() - sig.domain.size() - 1] == '.';
        if (!same && !sub) {
            return fail(SignatureStatus::DomainMismatch, "i= not within d=");
        }
    } else {
        sig.identity = "@" + sig.domain;
        sig.identity_domain = sig.domain;
    }

    // §3.5 l=: 1*76DIGIT.
    if (const auto l = tags.find("l")) {
        sig.body_length = parse_digits(*l, 76);
        if (!sig.body_length) {
            return fail(SignatureStatus::Syntax, "bad l= value");
        }
    }

    // §3.5 q=: a colon-separated list of methods; "dns/txt" is the only one defined.
    if (const auto q = tags.find("q")) {
        bool dns_txt = false;
        std::string_view list = *q;
        while (true) {
            const auto colon = list.find(':');
            dns_txt = dns_txt || core::ascii_iequals(trim_fws(list.substr(0, colon)), "dns/txt");
            if (colon == std::string_view::npos) {
                break;
            }
            list.remove_prefix(colon + 1);
        }
        if (!dns_txt) {
            return fail(SignatureStatus::UnsupportedQuery, "unsupported q= value");
        }
    }

    // §3.5 t=, x=: 1*12DIGIT seconds since the epoch; x= MUST be greater than t=.
    if (const auto t = tags.find("t")) {
        const auto value_t = parse_digits(*t, 12);
        if (!value_t) {
            return fail(SignatureStatus::Syntax, "bad t= value");
        }
        sig.timestamp = static_cast<std::int64_t>(*value_t);
    }
    if (const auto x = tags.find("x")) {
        const auto value_x = parse_digits(*x, 12);
        if (!value_x) {
            return fail(SignatureStatus::Syntax, "bad x= value");
        }
        sig.expiration = static_cast<std::int64_t>(*value_x);
        if (sig.timestamp && *sig.expiration < *sig.timestamp) {
            return fail(SignatureStatus::BadExpiration, "x= before t=");
        }
    }

    if (const auto z = tags.find("z")) {
        sig.copied_headers = std::string(*z);
    }
    out.status = SignatureStatus::Ok;
    return out;
}

std::string remove_b_value(std::string_view raw_field) {
    const auto colon = raw_field.find(':');
    if (colon == std::string_view::npos) {
        return std::string(raw_field);
    }
    const auto value = raw_field.substr(colon + 1);
    const auto span = find_b_value(value);
    if (!span) {
        return std::string(raw_field);
    }
    std::string out(raw_field.substr(0, colon + 1 + span->first));
    out += value.substr(span->first + span->second);
    return out;
}

}  // namespace sov::mailauth
