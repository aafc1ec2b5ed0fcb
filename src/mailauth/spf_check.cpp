#include "mailauth/spf_check.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "mailauth/spf_macro.hpp"
#include "mailauth/spf_record.hpp"
#include "mime/header.hpp"

namespace sov::mailauth {

namespace asio = boost::asio;

namespace {

// §6.2 lets us bound the explanation; an SMTP reply line has room for about this much.
constexpr std::size_t kMaxExplanation = 400;
constexpr std::size_t kMaxProblem = 200;

// Detail strings go into SMTP replies and Authentication-Results: printable ASCII only.
std::string printable(std::string_view text, std::size_t max) {
    std::string out;
    for (const char c : text.substr(0, max)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u >= 0x20 && u < 0x7F) ? c : '?';
    }
    return out;
}

std::string strip_dot(std::string_view name) {
    if (!name.empty() && name.back() == '.') {
        name.remove_suffix(1);
    }
    return std::string(name);
}

// §4.3: a <domain> that is malformed or not a multi-label name gives "none". An address literal
// ("[192.0.2.1]") or a bare address is not a domain name (RFC 3696 §2: a TLD is not all-numeric).
bool is_checkable_domain(std::string_view domain) {
    if (!is_queryable_name(domain) || domain.find('.') == std::string_view::npos) {
        return false;
    }
    const bool printable_ascii = std::all_of(domain.begin(), domain.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7F && c != '[' && c != ']';
    });
    if (!printable_ascii) {
        return false;
    }
    const auto top = domain.substr(domain.rfind('.') + 1);
    return !std::all_of(top.begin(), top.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool in_network(const asio::ip::address& ip, const asio::ip::address& network, unsigned prefix) {
    if (ip.is_v4() != network.is_v4()) {
        return false;
    }
    if (ip.is_v4()) {
        const auto mask = prefix == 0 ? 0U : ~0U << (32 - prefix);
        return (ip.to_v4().to_uint() & mask) == (network.to_v4().to_uint() & mask);
    }
    const auto a = ip.to_v6().to_bytes();
    const auto b = network.to_v6().to_bytes();
    for (std::size_t i = 0; i < a.size() && prefix > 0; ++i) {
        const unsigned bits = std::min(prefix, 8U);
        const auto mask = static_cast<unsigned char>(0xFF00U >> bits);
        if ((a[i] & mask) != (b[i] & mask)) {
            return false;
        }
        prefix -= bits;
    }
    return true;
}

SpfResult result_of(SpfQualifier qualifier) noexcept {
    switch (qualifier) {
        case SpfQualifier::Pass:
            return SpfResult::Pass;
        case SpfQualifier::Fail:
            return SpfResult::Fail;
        case SpfQualifier::SoftFail:
            return SpfResult::SoftFail;
        case SpfQualifier::Neutral:
            return SpfResult::Neutral;
    }
    return SpfResult::Neutral;
}

SpfOutcome error(SpfResult result, std::string_view problem) {
    return SpfOutcome{result, {}, {}, printable(problem, kMaxProblem)};
}

enum class Match {
    No,
    Yes,
    Exception,
};

struct MechanismResult {
    Match match = Match::No;
    SpfOutcome exception;
};

MechanismResult raise(SpfResult result, std::string_view problem) {
    return MechanismResult{Match::Exception, error(result, problem)};
}

// One check_host() evaluation including its recursions: the §4.6.4 counters are global to it
// (§4.1: "tracked as a single global limit for all evaluations").
class Evaluator {
public:
    Evaluator(DnsSource& dns, SpfLimits limits, MacroValues values)
        : dns_(dns), limits_(limits), base_(std::move(values)) {}

    asio::awaitable<SpfOutcome> check(std::string domain);

private:
    asio::awaitable<MechanismResult> evaluate(const SpfMechanism& mechanism, MacroValues values);
    asio::awaitable<std::optional<std::string>> target(std::string spec, MacroValues values);
    asio::awaitable<std::string> explanation(std::string spec, MacroValues values);
    asio::awaitable<const ValidatedNames*> ptr_names();

    // §4.6.4: at most 10 terms that cause DNS lookups; exceeding it is a permerror.
    bool count_dns_term() noexcept { return ++dns_terms_ <= limits_.dns_mechanisms; }
    // §4.6.4: at most 2 void lookups.
    bool count_void() noexcept { return ++voids_ <= limits_.void_lookups; }
    std::string too_many_terms() const {
        return "more than " + std::to_string(limits_.dns_mechanisms) + " DNS-querying terms";
    }
    std::string too_many_voids() const {
        return "more than " + std::to_string(limits_.void_lookups) + " void lookups";
    }

    DnsSource& dns_;
    SpfLimits limits_;
    MacroValues base_;
    unsigned dns_terms_ = 0;
    unsigned voids_ = 0;
    std::optional<ValidatedNames> ptr_cache_;  // §5.5 for <ip>: the same for every term
};

asio::awaitable<const ValidatedNames*> Evaluator::ptr_names() {
    if (!ptr_cache_) {
        ptr_cache_ = co_await validated_names(dns_, base_.ip, limits_.ptr_names);
    }
    co_return &*ptr_cache_;
}

// §4.8: the domain-spec expanded (§7) into <target-name>, or the current <domain> when there is
// none. An expansion that is not a usable DNS name (empty label, label over 63 octets) is
// nullopt: §4.8 leaves it undefined; we treat it as "no match" for mechanisms, as the
// conformance suite prefers, and as a permerror where §6.1 says so (redirect).
asio::awaitable<std::optional<std::string>> Evaluator::target(
    std::string spec, MacroValues values
) {
    if (spec.empty()) {
        co_return values.domain;
    }
    if (uses_p_macro(spec)) {
        const auto* names = co_await ptr_names();
        values.validated_name = choose_p_name(*names, values.domain);
    }
    const auto expanded = expand_macros(spec, MacroContext::DomainSpec, values);
    if (expanded.status != MacroStatus::Ok) {
        co_return std::nullopt;
    }
    auto name = truncate_domain(expanded.text);  // §7.3: 253 octets
    if (!is_queryable_name(name)) {
        co_return std::nullopt;
    }
    co_return name;
}

// §6.2: any problem (DNS error, no record, several records, bad explain-string) means "proceed as
// if no exp modifier was given": an empty explanation.
asio::awaitable<std::string> Evaluator::explanation(std::string spec, MacroValues values) {
    const auto name = co_await target(std::move(spec), values);
    if (!name) {
        co_return std::string();
    }
    const auto txt = co_await dns_.txt(*name);
    if (!txt || txt->nxdomain || txt->records.size() != 1) {
        co_return std::string();
    }
    const auto& text = txt->records.front();
    if (uses_p_macro(text)) {
        const auto* names = co_await ptr_names();
        values.validated_name = choose_p_name(*names, values.domain);
    }
    // §6.2: the explanation "MUST be limited to [US-ASCII]"; the explain-string syntax already
    // refuses other bytes in the record, printable() catches them in macro values.
    const auto expanded = expand_macros(text, MacroContext::Explanation, values);
    if (expanded.status != MacroStatus::Ok) {
        co_return std::string();
    }
    co_return printable(expanded.text, kMaxExplanation);
}

asio::awaitable<MechanismResult> Evaluator::evaluate(
    const SpfMechanism& mechanism, MacroValues values
) {
    const auto& ip = base_.ip;
    switch (mechanism.kind) {
        case SpfMechanismKind::All:
            co_return MechanismResult{Match::Yes, {}};
        case SpfMechanismKind::Ip4:
            co_return MechanismResult{
                ip.is_v4() && in_network(ip, mechanism.network, mechanism.cidr4) ? Match::Yes
                                                                                 : Match::No,
                {}
            };
        case SpfMechanismKind::Ip6:
            co_return MechanismResult{
                ip.is_v6() && in_network(ip, mechanism.network, mechanism.cidr6) ? Match::Yes
                                                                                 : Match::No,
                {}
            };
        default:
            break;
    }
    if (!count_dns_term()) {
        co_return raise(SpfResult::PermError, too_many_terms());
    }
    const auto name = co_await target(mechanism.domain_spec, values);
    if (mechanism.kind == SpfMechanismKind::Include) {
        if (!name) {
            co_return raise(SpfResult::PermError, "include target is not a domain name");
        }
        auto inner = co_await check(*name);
        // §5.2 table.
        switch (inner.result) {
            case SpfResult::Pass:
                co_return MechanismResult{Match::Yes, {}};
            case SpfResult::Fail:
            case SpfResult::SoftFail:
            case SpfResult::Neutral:
                co_return MechanismResult{Match::No, {}};
            case SpfResult::TempError:
            case SpfResult::PermError:
                co_return MechanismResult{Match::Exception, std::move(inner)};
            case SpfResult::None:
                co_return raise(SpfResult::PermError, "include of " + *name + ": no SPF record");
        }
    }
    if (!name) {
        co_return MechanismResult{Match::No, {}};
    }
    switch (mechanism.kind) {
        case SpfMechanismKind::A: {  // §5.3
            const auto addresses = co_await lookup_addresses(dns_, *name, ip.is_v4());
            if (!addresses) {
                co_return raise(SpfResult::TempError, "DNS error looking up " + *name);
            }
            if (addresses->records.empty() && !count_void()) {
                co_return raise(SpfResult::PermError, too_many_voids());
            }
            const auto prefix = ip.is_v4() ? mechanism.cidr4 : mechanism.cidr6;
            for (const auto& address : addresses->records) {
                if (in_network(ip, address, prefix)) {
                    co_return MechanismResult{Match::Yes, {}};
                }
            }
            co_return MechanismResult{Match::No, {}};
        }
        case SpfMechanismKind::Mx: {  // §5.4
            const auto mx = co_await dns_.mx(*name);
            if (!mx) {
                co_return raise(SpfResult::TempError, "DNS error looking up MX of " + *name);
            }
            if (mx->records.empty() && !count_void()) {
                co_return raise(SpfResult::PermError, too_many_voids());
            }
            // §4.6.4: each MX record must not lead to more than 10 address lookups; over the
            // limit "the mx mechanism MUST produce a permerror result".
            if (mx->records.size() > limits_.mx_names) {
                co_return raise(
                    SpfResult::PermError,
                    "more than " + std::to_string(limits_.mx_names) + " MX records for " + *name
                );
            }
            const auto prefix = ip.is_v4() ? mechanism.cidr4 : mechanism.cidr6;
            for (const auto& record : mx->records) {
                const auto exchange = strip_dot(record.exchange);
                if (!is_queryable_name(exchange)) {
                    continue;  // the null MX (RFC 7505) and unusable names match nothing
                }
                // §5.4: no implicit MX; only the names the MX records give.
                const auto addresses = co_await lookup_addresses(dns_, exchange, ip.is_v4());
                if (!addresses) {
                    co_return raise(SpfResult::TempError, "DNS error looking up " + exchange);
                }
                for (const auto& address : addresses->records) {
                    if (in_network(ip, address, prefix)) {
                        co_return MechanismResult{Match::Yes, {}};
                    }
                }
            }
            co_return MechanismResult{Match::No, {}};
        }
        case SpfMechanismKind::Ptr: {  // §5.5
            const auto* names = co_await ptr_names();
            if (names->ptr_void && !count_void()) {
                co_return raise(SpfResult::PermError, too_many_voids());
            }
            // A PTR lookup error, or no validated name: no match. A validated name matches when
            // it is the target or a subdomain of it, as §5.5's first paragraph says (the bullet
            // list after it reverses the roles; the openspf suite's ptr cases follow the former).
            for (const auto& validated : names->names) {
                if (is_within(validated, *name)) {
                    co_return MechanismResult{Match::Yes, {}};
                }
            }
            co_return MechanismResult{Match::No, {}};
        }
        case SpfMechanismKind::Exists: {  // §5.7: an A lookup even for IPv6 clients
            const auto addresses = co_await dns_.a(*name);
            if (!addresses) {
                co_return raise(SpfResult::TempError, "DNS error looking up " + *name);
            }
            if (addresses->records.empty()) {
                if (!count_void()) {
                    co_return raise(SpfResult::PermError, too_many_voids());
                }
                co_return MechanismResult{Match::No, {}};
            }
            co_return MechanismResult{Match::Yes, {}};
        }
        default:
            break;
    }
    co_return MechanismResult{Match::No, {}};
}

asio::awaitable<SpfOutcome> Evaluator::check(std::string domain) {
    domain = strip_dot(domain);
    if (!is_checkable_domain(domain)) {
        co_return error(SpfResult::None, "not a valid domain name: " + domain);  // §4.3
    }
    // §4.4: TXT only; an error (SERVFAIL, timeout) is a temperror, NXDOMAIN is "none" (§4.3).
    const auto txt = co_await dns_.txt(domain);
    if (!txt) {
        co_return error(SpfResult::TempError, "DNS error looking up TXT of " + domain);
    }
    if (txt->nxdomain) {
        co_return error(SpfResult::None, "no such domain: " + domain);
    }
    // §4.5: keep the records that begin with "v=spf1"; none is "none", several a permerror.
    const std::string* selected = nullptr;
    for (const auto& record : txt->records) {
        if (!is_spf_record(record)) {
            continue;
        }
        if (selected != nullptr) {
            co_return error(SpfResult::PermError, "several SPF records at " + domain);
        }
        selected = &record;
    }
    if (selected == nullptr) {
        co_return error(SpfResult::None, "no SPF record at " + domain);
    }
    const auto parsed = parse_spf_record(*selected);
    if (!parsed.ok()) {
        std::string problem = std::string(to_string(parsed.status));
        if (!parsed.term.empty()) {
            problem += ": " + parsed.term;
        }
        co_return error(SpfResult::PermError, problem);
    }
    MacroValues values = base_;
    values.domain = domain;
    for (const auto& mechanism : parsed.record.mechanisms) {
        auto outcome = co_await evaluate(mechanism, values);
        if (outcome.match == Match::Exception) {
            co_return std::move(outcome.exception);
        }
        if (outcome.match == Match::Yes) {
            SpfOutcome out;
            out.result = result_of(mechanism.qualifier);
            out.mechanism = printable(mechanism.text, kMaxProblem);
            // §4.6.2, §6.2: the explanation of this record, never an included one.
            if (out.result == SpfResult::Fail && parsed.record.exp) {
                out.explanation = co_await explanation(*parsed.record.exp, values);
            }
            co_return out;
        }
    }
    // §6.1: redirect applies when nothing matched (with an "all" something always matches).
    if (parsed.record.redirect) {
        if (!count_dns_term()) {
            co_return error(SpfResult::PermError, too_many_terms());
        }
        const auto name = co_await target(*parsed.record.redirect, values);
        if (!name) {
            co_return error(SpfResult::PermError, "redirect target is not a domain name");
        }
        auto inner = co_await check(*name);
        if (inner.result == SpfResult::None) {
            co_return error(SpfResult::PermError, "redirect to " + *name + ": no SPF record");
        }
        co_return inner;  // with the target's own exp (§6.2), never ours
    }
    SpfOutcome out;
    out.result = SpfResult::Neutral;  // §4.7
    out.mechanism = "default";
    co_return out;
}

asio::ip::address unmap(const asio::ip::address& ip) {
    // §5: an IPv4-mapped IPv6 address "MUST still be considered an IPv4 address".
    if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
    }
    return ip;
}

}  // namespace

std::string_view to_string(SpfResult result) noexcept {
    switch (result) {
        case SpfResult::None:
            return "none";
        case SpfResult::Neutral:
            return "neutral";
        case SpfResult::Pass:
            return "pass";
        case SpfResult::Fail:
            return "fail";
        case SpfResult::SoftFail:
            return "softfail";
        case SpfResult::TempError:
            return "temperror";
        case SpfResult::PermError:
            return "permerror";
    }
    return "none";
}

asio::awaitable<SpfOutcome> check_host(DnsSource& dns, SpfRequest request, SpfLimits limits) {
    MacroValues values;
    values.ip = unmap(request.ip);
    // §4.3: "If the <sender> has no local-part, substitute the string 'postmaster'".
    const auto at = request.sender.rfind('@');
    if (at == std::string::npos) {
        values.local_part = "postmaster";
        values.sender_domain = request.sender.empty() ? request.domain : request.sender;
    } else {
        values.local_part = request.sender.substr(0, at);
        values.sender_domain = request.sender.substr(at + 1);
        if (values.local_part.empty()) {
            values.local_part = "postmaster";
        }
    }
    values.sender = values.local_part + "@" + values.sender_domain;
    values.helo = std::move(request.helo);
    values.receiver = std::move(request.receiver);
    values.timestamp = core::unix_seconds(core::now());
    Evaluator evaluator(dns, limits, std::move(values));
    co_return co_await evaluator.check(std::move(request.domain));
}

asio::awaitable<SpfOutcome> check_mail_from(
    DnsSource& dns,
    asio::ip::address ip,
    std::string helo,
    std::string mail_from,
    std::string receiver
) {
    SpfRequest request;
    request.ip = ip;
    if (mail_from.empty()) {
        // §2.4: a null reverse-path is checked as postmaster@<HELO identity>.
        request.domain = helo;
        request.sender = "postmaster@" + helo;
    } else {
        const auto at = mail_from.rfind('@');
        request.domain = at == std::string::npos ? mail_from : mail_from.substr(at + 1);
        request.sender = std::move(mail_from);
    }
    request.helo = std::move(helo);
    request.receiver = std::move(receiver);
    co_return co_await check_host(dns, std::move(request));
}

asio::awaitable<SpfOutcome> check_helo(
    DnsSource& dns, asio::ip::address ip, std::string helo, std::string receiver
) {
    // §2.3: the HELO identity is checked with <sender> = postmaster@<helo>.
    SpfRequest request;
    request.ip = ip;
    request.domain = helo;
    request.sender = "postmaster@" + helo;
    request.helo = std::move(helo);
    request.receiver = std::move(receiver);
    co_return co_await check_host(dns, std::move(request));
}

}  // namespace sov::mailauth
