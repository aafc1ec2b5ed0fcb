#include "mailauth/spf_record.hpp"

#include <algorithm>

#include "mailauth/spf_macro.hpp"
#include "mime/header.hpp"

namespace sov::mailauth {

namespace {

constexpr bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// §4.6.1 name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
bool is_modifier_name(std::string_view name) noexcept {
    if (name.empty() || !is_alpha(name.front())) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.';
    });
}

// §5.6 ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT), ip6-cidr-length likewise with up to
// three digits; the value ranges are 0-32 and 0-128.
std::optional<unsigned> parse_cidr(std::string_view digits, unsigned max) noexcept {
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits.front() == '0')) {
        return std::nullopt;
    }
    unsigned value = 0;
    for (const char c : digits) {
        if (!is_digit(c)) {
            return std::nullopt;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > max) {
        return std::nullopt;
    }
    return value;
}

// §5.6 ip4-network = qnum "." qnum "." qnum "." qnum, no leading zeros.
std::optional<boost::asio::ip::address_v4> parse_ip4_network(std::string_view text) noexcept {
    boost::asio::ip::address_v4::bytes_type bytes{};
    std::size_t part = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i != text.size() && text[i] != '.') {
            continue;
        }
        if (part == 4) {
            return std::nullopt;
        }
        const auto digits = text.substr(start, i - start);
        const auto value = parse_cidr(digits, 255);
        if (!value) {
            return std::nullopt;
        }
        bytes[part++] = static_cast<unsigned char>(*value);
        start = i + 1;
    }
    if (part != 4) {
        return std::nullopt;
    }
    return boost::asio::ip::address_v4(bytes);
}

std::size_t trailing_digits(std::string_view s) noexcept {
    std::size_t i = s.size();
    while (i > 0 && is_digit(s[i - 1])) {
        --i;
    }
    return i;
}

// §5.3, §5.4 dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], taken off the end
// of the argument; what remains is [ ":" domain-spec ].
SpfParseStatus split_dual_cidr(std::string_view& rest, SpfMechanism& mechanism) noexcept {
    std::size_t d = trailing_digits(rest);
    if (d < rest.size() && d >= 2 && rest[d - 1] == '/' && rest[d - 2] == '/') {
        const auto cidr = parse_cidr(rest.substr(d), 128);
        if (!cidr) {
            return SpfParseStatus::BadCidr;
        }
        mechanism.cidr6 = *cidr;
        rest = rest.substr(0, d - 2);
        d = trailing_digits(rest);
    }
    if (d < rest.size() && d >= 1 && rest[d - 1] == '/') {
        const auto cidr = parse_cidr(rest.substr(d), 32);
        if (!cidr) {
            return SpfParseStatus::BadCidr;
        }
        mechanism.cidr4 = *cidr;
        rest = rest.substr(0, d - 1);
    }
    return SpfParseStatus::Ok;
}

SpfParseStatus check_domain_spec(std::string_view spec) noexcept {
    return check_macro_string(spec, MacroContext::DomainSpec) == MacroStatus::Ok
               ? SpfParseStatus::Ok
               : SpfParseStatus::BadDomainSpec;
}

// ":" domain-spec, required or optional.
SpfParseStatus parse_target(
    std::string_view rest, bool required, SpfMechanism& mechanism
) noexcept {
    if (rest.empty()) {
        return required ? SpfParseStatus::BadArgument : SpfParseStatus::Ok;
    }
    if (rest.front() != ':') {
        return SpfParseStatus::BadArgument;
    }
    rest.remove_prefix(1);
    if (const auto status = check_domain_spec(rest); status != SpfParseStatus::Ok) {
        return status;
    }
    mechanism.domain_spec = std::string(rest);
    return SpfParseStatus::Ok;
}

SpfParseStatus parse_network(std::string_view rest, SpfMechanism& mechanism) noexcept {
    if (rest.empty() || rest.front() != ':') {
        return SpfParseStatus::BadArgument;
    }
    rest.remove_prefix(1);
    const auto slash = rest.find('/');
    const auto network = rest.substr(0, slash);
    const bool v4 = mechanism.kind == SpfMechanismKind::Ip4;
    if (slash != std::string_view::npos) {
        const auto cidr = parse_cidr(rest.substr(slash + 1), v4 ? 32 : 128);
        if (!cidr) {
            return SpfParseStatus::BadCidr;
        }
        (v4 ? mechanism.cidr4 : mechanism.cidr6) = *cidr;
    }
    if (v4) {
        const auto address = parse_ip4_network(network);
        if (!address) {
            return SpfParseStatus::BadNetwork;
        }
        mechanism.network = *address;
        return SpfParseStatus::Ok;
    }
    // ip6-network per RFC 4291 §2.2: hex groups, "::", an embedded dotted quad; no zone index.
    if (network.empty() ||
        network.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
        return SpfParseStatus::BadNetwork;
    }
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address_v6(std::string(network), ec);
    if (ec) {
        return SpfParseStatus::BadNetwork;
    }
    mechanism.network = address;
    return SpfParseStatus::Ok;
}

struct MechanismName {
    std::string_view name;
    SpfMechanismKind kind;
};

constexpr MechanismName kMechanisms[] = {
    {"all", SpfMechanismKind::All},
    {"include", SpfMechanismKind::Include},
    {"a", SpfMechanismKind::A},
    {"mx", SpfMechanismKind::Mx},
    {"ptr", SpfMechanismKind::Ptr},
    {"ip4", SpfMechanismKind::Ip4},
    {"ip6", SpfMechanismKind::Ip6},
    {"exists", SpfMechanismKind::Exists},
};

SpfParseStatus parse_mechanism(std::string_view term, SpfRecord& record) {
    SpfMechanism mechanism;
    mechanism.text = std::string(term);
    std::string_view body = term;
    switch (body.front()) {
        case '+':
            mechanism.qualifier = SpfQualifier::Pass;
            body.remove_prefix(1);
            break;
        case '-':
            mechanism.qualifier = SpfQualifier::Fail;
            body.remove_prefix(1);
            break;
        case '~':
            mechanism.qualifier = SpfQualifier::SoftFail;
            body.remove_prefix(1);
            break;
        case '?':
            mechanism.qualifier = SpfQualifier::Neutral;
            body.remove_prefix(1);
            break;
        default:
            break;
    }
    const auto name_end = std::min(body.find_first_of(":/"), body.size());
    const auto name = body.substr(0, name_end);
    std::string_view rest = body.substr(name_end);
    // §4.6.1: mechanism names are case-insensitive.
    const auto* known = std::find_if(std::begin(kMechanisms), std::end(kMechanisms), [&](auto& m) {
        return mime::iequals(m.name, name);
    });
    if (known == std::end(kMechanisms)) {
        return SpfParseStatus::UnknownMechanism;
    }
    mechanism.kind = known->kind;
    SpfParseStatus status = SpfParseStatus::Ok;
    switch (mechanism.kind) {
        case SpfMechanismKind::All:  // §5.1 all = "all"
            status = rest.empty() ? SpfParseStatus::Ok : SpfParseStatus::BadArgument;
            break;
        case SpfMechanismKind::Include:  // §5.2 "include" ":" domain-spec
        case SpfMechanismKind::Exists:   // §5.7 "exists" ":" domain-spec
            status = parse_target(rest, true, mechanism);
            break;
        case SpfMechanismKind::A:  // §5.3, §5.4 [ ":" domain-spec ] [ dual-cidr-length ]
        case SpfMechanismKind::Mx:
            status = split_dual_cidr(rest, mechanism);
            if (status == SpfParseStatus::Ok) {
                status = parse_target(rest, false, mechanism);
            }
            break;
        case SpfMechanismKind::Ptr:  // §5.5 "ptr" [ ":" domain-spec ]
            status = parse_target(rest, false, mechanism);
            break;
        case SpfMechanismKind::Ip4:  // §5.6
        case SpfMechanismKind::Ip6:
            status = parse_network(rest, mechanism);
            break;
    }
    if (status == SpfParseStatus::Ok) {
        record.mechanisms.push_back(std::move(mechanism));
    }
    return status;
}

SpfParseStatus parse_modifier(std::string_view name, std::string_view value, SpfRecord& record) {
    if (!is_modifier_name(name)) {
        return SpfParseStatus::BadModifierName;
    }
    // §6: redirect and exp "MUST NOT appear in a record more than once each". A known name is
    // never an unknown-modifier, so "exp=-all" is a syntax error, not an ignored term.
    const bool redirect = mime::iequals(name, "redirect");
    if (redirect || mime::iequals(name, "exp")) {
        auto& slot = redirect ? record.redirect : record.exp;
        if (slot) {
            return SpfParseStatus::DuplicateModifier;
        }
        if (const auto status = check_domain_spec(value); status != SpfParseStatus::Ok) {
            return status;
        }
        slot = std::string(value);
        return SpfParseStatus::Ok;
    }
    // unknown-modifier = name "=" macro-string: ignored, but its syntax must be right.
    if (check_macro_string(value, MacroContext::Modifier) != MacroStatus::Ok) {
        return SpfParseStatus::BadDomainSpec;
    }
    record.unknown_modifiers.push_back({std::string(name), std::string(value)});
    return SpfParseStatus::Ok;
}

SpfParseStatus parse_term(std::string_view term, SpfRecord& record) {
    // §4.6.1: a modifier has "=" immediately after the name, before any ":" or "/".
    const auto mark = term.find_first_of("=:/");
    if (mark != std::string_view::npos && term[mark] == '=') {
        return parse_modifier(term.substr(0, mark), term.substr(mark + 1), record);
    }
    return parse_mechanism(term, record);
}

}  // namespace

bool SpfRecord::has_all() const noexcept {
    return std::any_of(mechanisms.begin(), mechanisms.end(), [](const SpfMechanism& m) {
        return m.kind == SpfMechanismKind::All;
    });
}

std::string_view to_string(SpfParseStatus status) noexcept {
    switch (status) {
        case SpfParseStatus::Ok:
            return "ok";
        case SpfParseStatus::NotSpf:
            return "not an SPF record";
        case SpfParseStatus::TooLong:
            return "record too long";
        case SpfParseStatus::TooManyTerms:
            return "too many terms";
        case SpfParseStatus::BadCharacter:
            return "invalid character in record";
        case SpfParseStatus::UnknownMechanism:
            return "unknown mechanism";
        case SpfParseStatus::BadModifierName:
            return "invalid modifier name";
        case SpfParseStatus::BadArgument:
            return "invalid mechanism argument";
        case SpfParseStatus::BadDomainSpec:
            return "invalid domain-spec or macro";
        case SpfParseStatus::BadNetwork:
            return "invalid IP network";
        case SpfParseStatus::BadCidr:
            return "invalid CIDR length";
        case SpfParseStatus::DuplicateModifier:
            return "duplicate redirect or exp";
    }
    return "unknown";
}

bool is_spf_record(std::string_view txt) noexcept {
    // §4.5: "v=spf1" exactly (ABNF literals are case-insensitive), then SP or the end.
    return txt.size() >= 6 && mime::iequals(txt.substr(0, 6), "v=spf1") &&
           (txt.size() == 6 || txt[6] == ' ');
}

SpfParseResult parse_spf_record(std::string_view text, const SpfRecordLimits& limits) noexcept {
    SpfParseResult out;
    const auto fail = [&out](SpfParseStatus status) {
        out.status = status;
        out.record = SpfRecord{};  // a rejected record exposes no terms
        return std::move(out);
    };
    if (text.size() > limits.max_octets) {
        return fail(SpfParseStatus::TooLong);
    }
    if (!is_spf_record(text)) {
        return fail(SpfParseStatus::NotSpf);
    }
    std::size_t terms = 0;
    std::size_t pos = 6;
    while (pos < text.size()) {
        if (text[pos] == ' ') {  // terms = *( 1*SP ( directive / modifier ) ), record ends *SP
            ++pos;
            continue;
        }
        const auto end = std::min(text.find(' ', pos), text.size());
        const auto term = text.substr(pos, end - pos);
        pos = end;
        // §3.1 / §4.6.1: printable US-ASCII only; terms are separated by SP, not by any other
        // white space or control character.
        const bool ascii = std::all_of(term.begin(), term.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u > 0x20 && u < 0x7F;
        });
        if (!ascii) {
            return fail(SpfParseStatus::BadCharacter);  // the term is not echoed: not printable
        }
        out.term = std::string(term);
        if (++terms > limits.max_terms) {
            return fail(SpfParseStatus::TooManyTerms);
        }
        if (const auto status = parse_term(term, out.record); status != SpfParseStatus::Ok) {
            return fail(status);
        }
    }
    out.term.clear();
    out.status = SpfParseStatus::Ok;
    return out;
}

}  // namespace sov::mailauth
