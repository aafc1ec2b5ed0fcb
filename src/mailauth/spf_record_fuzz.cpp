// Fuzzes the SPF record parser (RFC 7208 §4.5, §4.6, §12) and the macro language (§7).
// Properties checked:
// - a rejected record exposes no terms; an accepted one has CIDR lengths in range, targets that
//   are valid domain-specs, and re-parses to the same terms from the texts it kept;
// - a string accepted as a macro-string expands (with fixed inputs) without error, in every
//   context it is valid for, and an expanded domain name truncates to at most 253 octets unless
//   it has no dot left to cut at (§7.3);
// - check_host() over an in-memory zone holding the input as the record finishes, with a result
//   keyword and printable ASCII detail strings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "fuzz_check.hpp"
#include "mailauth/spf_check.hpp"
#include "mailauth/spf_macro.hpp"
#include "mailauth/spf_record.hpp"
#include "mailauth/static_dns.hpp"

namespace {

namespace ma = sov::mailauth;
namespace asio = boost::asio;

using sov::fuzz::check;

bool printable(std::string_view s) {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7E) {
            return false;
        }
    }
    return true;
}

void check_record(std::string_view input) {
    const auto parsed = ma::parse_spf_record(input);
    if (!parsed.ok()) {
        check(parsed.record.mechanisms.empty() && !parsed.record.redirect && !parsed.record.exp);
        return;
    }
    std::string again = "v=spf1";
    for (const auto& m : parsed.record.mechanisms) {
        check(m.cidr4 <= 32 && m.cidr6 <= 128);
        check(
            m.domain_spec.empty() ||
            ma::check_macro_string(m.domain_spec, ma::MacroContext::DomainSpec) ==
                ma::MacroStatus::Ok
        );
        again += " " + m.text;
    }
    if (parsed.record.redirect) {
        again += " redirect=" + *parsed.record.redirect;
    }
    if (parsed.record.exp) {
        again += " exp=" + *parsed.record.exp;
    }
    for (const auto& u : parsed.record.unknown_modifiers) {
        again += " " + u.name + "=" + u.value;
    }
    const auto reparsed =
        ma::parse_spf_record(again, {.max_octets = again.size(), .max_terms = 1000});
    check(reparsed.ok());
    check(reparsed.record.mechanisms.size() == parsed.record.mechanisms.size());
    for (std::size_t i = 0; i < parsed.record.mechanisms.size(); ++i) {
        const auto& a = parsed.record.mechanisms[i];
        const auto& b = reparsed.record.mechanisms[i];
        check(a.kind == b.kind && a.qualifier == b.qualifier && a.domain_spec == b.domain_spec);
        check(a.cidr4 == b.cidr4 && a.cidr6 == b.cidr6 && a.network == b.network);
    }
    check(reparsed.record.redirect == parsed.record.redirect);
    check(reparsed.record.exp == parsed.record.exp);
}

void check_macros(std::string_view input) {
    ma::MacroValues values;
    values.sender = "strong-bad@email.example.com";
    values.local_part = "strong-bad";
    values.sender_domain = "email.example.com";
    values.domain = "email.example.com";
    values.ip = asio::ip::make_address("2001:db8::cb01");
    values.helo = "mx.example.org";
    values.receiver = "mx.receiver.test";
    values.timestamp = 1700000000;
    for (const auto context :
         {ma::MacroContext::DomainSpec, ma::MacroContext::Explanation, ma::MacroContext::Modifier
         }) {
        const auto status = ma::check_macro_string(input, context);
        const auto expanded = ma::expand_macros(input, context, values);
        check(expanded.status == status);
        if (status != ma::MacroStatus::Ok) {
            check(expanded.text.empty());
            continue;
        }
        if (context == ma::MacroContext::DomainSpec) {
            const auto name = ma::truncate_domain(expanded.text);
            check(name.size() <= 253 || name.find('.') == std::string::npos);
        }
    }
    (void)ma::uses_p_macro(input);
}

void check_evaluation(std::string_view input) {
    ma::StaticDns dns;
    dns.add_txt("example.com", std::string(input));
    dns.add_txt("inc.example.com", "v=spf1 ip4:192.0.2.0/24 include:example.com -all");
    dns.add_a("example.com", asio::ip::make_address("192.0.2.10"));
    dns.add_mx("example.com", 10, "mx.example.com");
    dns.add_a("mx.example.com", asio::ip::make_address("192.0.2.20"));
    dns.add_ptr(asio::ip::make_address("192.0.2.3"), "mx.example.com");
    dns.add_txt("exp.example.com", "%{i} is not %{d}, see %{S} %{r} %{t} %{c}");
    asio::io_context io;
    auto future = asio::co_spawn(
        io,
        ma::check_mail_from(
            dns, asio::ip::make_address("192.0.2.3"), "mx.example.org", "user@example.com", "r.test"
        ),
        asio::use_future
    );
    io.run();
    const auto outcome = future.get();
    check(!ma::to_string(outcome.result).empty());
    check(printable(outcome.explanation) && printable(outcome.problem));
    check(printable(outcome.mechanism));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_record(input);
    check_macros(input);
    if (size <= 4096) {
        check_evaluation(input);
    }
    return 0;
}
