#include "mailauth/spf_check.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "mailauth/static_dns.hpp"
#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;

asio::ip::address ip(const char* text) {
    return asio::ip::make_address(text);
}

SpfOutcome mail_from(StaticDns& dns, const char* client, const char* sender) {
    return test::run_awaitable(
        check_mail_from(dns, ip(client), "mail.client.test", sender, "mx.receiver.test")
    );
}

// RFC 7208 Appendix A: the example zones.
void appendix_a_zone(StaticDns& dns) {
    dns.add_mx("example.com", 10, "mail-a.example.com");
    dns.add_mx("example.com", 20, "mail-b.example.com");
    dns.add_a("example.com", ip("192.0.2.10"));
    dns.add_a("example.com", ip("192.0.2.11"));
    dns.add_a("amy.example.com", ip("192.0.2.65"));
    dns.add_a("bob.example.com", ip("192.0.2.66"));
    dns.add_a("mail-a.example.com", ip("192.0.2.129"));
    dns.add_a("mail-b.example.com", ip("192.0.2.130"));
    dns.add_mx("example.org", 10, "mail-c.example.org");
    dns.add_a("mail-c.example.org", ip("192.0.2.140"));
    dns.add_ptr(ip("192.0.2.10"), "example.com");
    dns.add_ptr(ip("192.0.2.11"), "example.com");
    dns.add_ptr(ip("192.0.2.65"), "amy.example.com");
    dns.add_ptr(ip("192.0.2.66"), "bob.example.com");
    dns.add_ptr(ip("192.0.2.129"), "mail-a.example.com");
    dns.add_ptr(ip("192.0.2.130"), "mail-b.example.com");
    dns.add_ptr(ip("192.0.2.140"), "mail-c.example.org");
    dns.add_ptr(ip("10.0.0.4"), "bob.example.com");  // the rogue reverse zone
}

TEST(SpfCheck, AppendixA1SimpleExamples) {
    struct Row {
        const char* record;
        const char* client;
        SpfResult result;
    };
    const Row rows[] = {
        {"v=spf1 +all", "198.51.100.99", SpfResult::Pass},
        {"v=spf1 a -all", "192.0.2.10", SpfResult::Pass},
        {"v=spf1 a -all", "192.0.2.11", SpfResult::Pass},
        {"v=spf1 a -all", "192.0.2.65", SpfResult::Fail},
        {"v=spf1 a:example.org -all", "192.0.2.10", SpfResult::Fail},
        {"v=spf1 a:example.org -all", "192.0.2.140", SpfResult::Fail},
        {"v=spf1 mx -all", "192.0.2.129", SpfResult::Pass},
        {"v=spf1 mx -all", "192.0.2.130", SpfResult::Pass},
        {"v=spf1 mx -all", "192.0.2.10", SpfResult::Fail},
        {"v=spf1 mx:example.org -all", "192.0.2.140", SpfResult::Pass},
        {"v=spf1 mx:example.org -all", "192.0.2.129", SpfResult::Fail},
        {"v=spf1 mx mx:example.org -all", "192.0.2.129", SpfResult::Pass},
        {"v=spf1 mx mx:example.org -all", "192.0.2.130", SpfResult::Pass},
        {"v=spf1 mx mx:example.org -all", "192.0.2.140", SpfResult::Pass},
        {"v=spf1 mx mx:example.org -all", "192.0.2.65", SpfResult::Fail},
        {"v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.128", SpfResult::Pass},
        {"v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.131", SpfResult::Pass},
        {"v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.143", SpfResult::Pass},
        {"v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.132", SpfResult::Fail},
        {"v=spf1 ptr -all", "192.0.2.65", SpfResult::Pass},
        {"v=spf1 ptr -all", "192.0.2.140", SpfResult::Fail},
        {"v=spf1 ptr -all", "10.0.0.4", SpfResult::Fail},
        {"v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.65", SpfResult::Fail},
        {"v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.129", SpfResult::Pass},
    };
    for (const auto& row : rows) {
        StaticDns dns;
        appendix_a_zone(dns);
        dns.add_txt("example.com", row.record);
        const auto outcome = mail_from(dns, row.client, "user@example.com");
        EXPECT_EQ(outcome.result, row.result)
            << row.record << " from " << row.client << ": " << to_string(outcome.result) << " "
            << outcome.problem;
    }
}

TEST(SpfCheck, AppendixA2MultipleDomains) {
    StaticDns dns;
    appendix_a_zone(dns);
    dns.add_txt("example.com", "v=spf1 mx -all");
    dns.add_txt("example.org", "v=spf1 include:example.com include:example.net -all");
    dns.add_txt("la.example.org", "v=spf1 redirect=example.org");
    for (const char* sender : {"a@example.org", "a@la.example.org"}) {
        const auto pass = mail_from(dns, "192.0.2.129", sender);
        EXPECT_EQ(pass.result, SpfResult::Pass) << sender;
        EXPECT_EQ(pass.mechanism, "include:example.com");
        // Not authorised by example.com, so example.net's record is needed, and it has none:
        // §5.2, an include of a domain without a record is a permerror.
        const auto error = mail_from(dns, "192.0.2.65", sender);
        EXPECT_EQ(error.result, SpfResult::PermError) << sender;
        EXPECT_EQ(error.problem, "include of example.net: no SPF record");
    }
}

TEST(SpfCheck, AppendixA3DnsblStyle) {
    StaticDns dns;
    appendix_a_zone(dns);
    dns.add_txt(
        "example.com",
        "v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all"
    );
    dns.add_txt("mobile-users._spf.example.com", "v=spf1 exists:%{l1r+}.%{d}");
    dns.add_txt("remote-users._spf.example.com", "v=spf1 exists:%{ir}.%{l1r+}.%{d}");
    const auto bl = ip("127.0.0.2");
    dns.add_a("mary.mobile-users._spf.example.com", bl);
    dns.add_a("fred.mobile-users._spf.example.com", bl);
    dns.add_a("15.15.168.192.joel.remote-users._spf.example.com", bl);
    dns.add_a("16.15.168.192.joel.remote-users._spf.example.com", bl);
    EXPECT_EQ(mail_from(dns, "198.51.100.7", "mary@example.com").result, SpfResult::Pass);
    EXPECT_EQ(mail_from(dns, "198.51.100.7", "fred@example.com").result, SpfResult::Pass);
    EXPECT_EQ(mail_from(dns, "192.168.15.15", "joel@example.com").result, SpfResult::Pass);
    EXPECT_EQ(mail_from(dns, "192.168.15.16", "joel@example.com").result, SpfResult::Pass);
    EXPECT_EQ(mail_from(dns, "192.168.15.17", "joel@example.com").result, SpfResult::Fail);
    EXPECT_EQ(mail_from(dns, "198.51.100.7", "bob@example.com").result, SpfResult::Fail);
    EXPECT_EQ(mail_from(dns, "192.0.2.129", "bob@example.com").result, SpfResult::Pass);
}

TEST(SpfCheck, AppendixA4MultipleRequirements) {
    StaticDns dns;
    appendix_a_zone(dns);
    dns.add_txt("example.com", "v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all");
    dns.add_txt("ip4._spf.example.com", "v=spf1 -ip4:192.0.2.0/24 +all");
    dns.add_txt("ptr._spf.example.com", "v=spf1 -ptr +all");
    // Outside 192.0.2.0/24: ip4._spf passes, so "-include" matches.
    const auto outside = mail_from(dns, "10.0.0.4", "user@example.com");
    EXPECT_EQ(outside.result, SpfResult::Fail);
    EXPECT_EQ(outside.mechanism, "-include:ip4._spf.%{d}");
    // Inside the range the second requirement decides. Evaluated as §5.5 and §4.8 define it,
    // "-ptr" in ptr._spf.example.com compares the validated names with <domain> =
    // ptr._spf.example.com, which no host name is within, so that record passes and
    // "-include:ptr._spf.%{d}" matches: the example rejects every host as written.
    const auto inside = mail_from(dns, "192.0.2.65", "user@example.com");
    EXPECT_EQ(inside.result, SpfResult::Fail);
    EXPECT_EQ(inside.mechanism, "-include:ptr._spf.%{d}");
}

TEST(SpfCheck, IdentitiesHeloAndNullReversePath) {
    StaticDns dns;
    dns.add_txt("mail.client.test", "v=spf1 a -all");
    dns.add_a("mail.client.test", ip("192.0.2.1"));
    const auto helo =
        test::run_awaitable(check_helo(dns, ip("192.0.2.1"), "mail.client.test", "mx.test"));
    EXPECT_EQ(helo.result, SpfResult::Pass);
    EXPECT_EQ(helo.mechanism, "a");
    // §2.4: an empty reverse-path is checked as postmaster@<helo>.
    const auto bounce = mail_from(dns, "192.0.2.2", "");
    EXPECT_EQ(bounce.result, SpfResult::Fail);
    // §2.3, §4.3: an address literal or a single label is not a domain: "none", no lookup.
    const auto before = dns.queries();
    for (const char* name : {"[192.0.2.1]", "192.0.2.1", "localhost", "a..b.test", ""}) {
        const auto none = test::run_awaitable(check_helo(dns, ip("192.0.2.1"), name, "mx.test"));
        EXPECT_EQ(none.result, SpfResult::None) << name;
        EXPECT_FALSE(none.problem.empty());
    }
    EXPECT_EQ(dns.queries(), before);
    EXPECT_EQ(mail_from(dns, "192.0.2.1", "user@nowhere.test").result, SpfResult::None);
}

TEST(SpfCheck, ExplanationMacrosAndSources) {
    core::pin_clock_for_test(core::WallTime(std::chrono::seconds(1700000000)));
    StaticDns dns;
    dns.add_txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all exp=why.%{d}");
    dns.add_txt("why.example.com", "%{i} is not allowed for %{s} (%{r} at %{t}, %{c})");
    const auto fail = mail_from(dns, "198.51.100.3", "user@example.com");
    core::pin_clock_for_test({});
    EXPECT_EQ(fail.result, SpfResult::Fail);
    EXPECT_EQ(fail.mechanism, "-all");
    EXPECT_EQ(
        fail.explanation,
        "198.51.100.3 is not allowed for user@example.com (mx.receiver.test at 1700000000, "
        "198.51.100.3)"
    );
    const auto pass = mail_from(dns, "192.0.2.77", "user@example.com");
    EXPECT_EQ(pass.result, SpfResult::Pass);
    EXPECT_EQ(pass.mechanism, "ip4:192.0.2.0/24");
    EXPECT_TRUE(pass.explanation.empty());
}

TEST(SpfCheck, ResultsForEveryQualifierAndDefault) {
    StaticDns dns;
    dns.add_txt("q.test", "v=spf1 ?ip4:192.0.2.1 ~ip4:192.0.2.2 -ip4:192.0.2.3 +ip4:192.0.2.4");
    EXPECT_EQ(mail_from(dns, "192.0.2.1", "a@q.test").result, SpfResult::Neutral);
    EXPECT_EQ(mail_from(dns, "192.0.2.2", "a@q.test").result, SpfResult::SoftFail);
    EXPECT_EQ(mail_from(dns, "192.0.2.3", "a@q.test").result, SpfResult::Fail);
    EXPECT_EQ(mail_from(dns, "192.0.2.4", "a@q.test").result, SpfResult::Pass);
    const auto fallthrough = mail_from(dns, "192.0.2.5", "a@q.test");
    EXPECT_EQ(fallthrough.result, SpfResult::Neutral);  // §4.7
    EXPECT_EQ(fallthrough.mechanism, "default");
}

TEST(SpfCheck, Ipv6AndMappedClients) {
    StaticDns dns;
    dns.add_txt("six.test", "v=spf1 ip6:2001:db8::/32 a//64 ip4:192.0.2.0/24 -all");
    dns.add_aaaa("six.test", ip("2001:db9:1:2::1"));
    EXPECT_EQ(mail_from(dns, "2001:db8::25", "a@six.test").result, SpfResult::Pass);
    EXPECT_EQ(mail_from(dns, "2001:db9:1:2::ff", "a@six.test").result, SpfResult::Pass);
    EXPECT_EQ(mail_from(dns, "2001:db9:1:3::1", "a@six.test").result, SpfResult::Fail);
    // §5: an IPv4-mapped address is IPv4.
    EXPECT_EQ(mail_from(dns, "::ffff:192.0.2.9", "a@six.test").result, SpfResult::Pass);
}

TEST(SpfCheck, ConfigurableLimits) {
    StaticDns dns;
    dns.add_txt("lim.test", "v=spf1 a mx ip4:192.0.2.1 -all");
    dns.add_a("lim.test", ip("198.51.100.1"));
    dns.add_mx("lim.test", 10, "lim.test");
    const SpfRequest request{ip("192.0.2.1"), "lim.test", "a@lim.test", "h.test", "r.test"};
    EXPECT_EQ(test::run_awaitable(check_host(dns, request)).result, SpfResult::Pass);
    const auto over = test::run_awaitable(check_host(dns, request, SpfLimits{.dns_mechanisms = 1}));
    EXPECT_EQ(over.result, SpfResult::PermError);
    EXPECT_EQ(over.problem, "more than 1 DNS-querying terms");

    dns.add_txt("void.test", "v=spf1 a:nx1.void.test ip4:192.0.2.1");
    const SpfRequest void_request{ip("192.0.2.1"), "void.test", "a@void.test", "h.test", ""};
    EXPECT_EQ(test::run_awaitable(check_host(dns, void_request)).result, SpfResult::Pass);
    EXPECT_EQ(
        test::run_awaitable(check_host(dns, void_request, SpfLimits{.void_lookups = 0})).result,
        SpfResult::PermError
    );

    dns.add_txt("mx.test", "v=spf1 mx -all");
    for (int i = 0; i < 3; ++i) {
        dns.add_mx("mx.test", static_cast<std::uint16_t>(i), "mx" + std::to_string(i) + ".mx.test");
    }
    dns.add_a("mx2.mx.test", ip("192.0.2.1"));
    const SpfRequest mx_request{ip("192.0.2.1"), "mx.test", "a@mx.test", "h.test", ""};
    EXPECT_EQ(test::run_awaitable(check_host(dns, mx_request)).result, SpfResult::Pass);
    EXPECT_EQ(
        test::run_awaitable(check_host(dns, mx_request, SpfLimits{.mx_names = 2})).result,
        SpfResult::PermError
    );
}

TEST(SpfCheck, DnsErrorsAreTemporary) {
    StaticDns dns;
    dns.fail("slow.test", dns::RrType::TXT);
    const auto txt = mail_from(dns, "192.0.2.1", "a@slow.test");
    EXPECT_EQ(txt.result, SpfResult::TempError);
    EXPECT_EQ(txt.problem, "DNS error looking up TXT of slow.test");
    dns.add_txt("mxerr.test", "v=spf1 mx -all");
    dns.fail("mxerr.test", dns::RrType::MX);
    EXPECT_EQ(mail_from(dns, "192.0.2.1", "a@mxerr.test").result, SpfResult::TempError);
    // A PTR error only makes "ptr" not match (§5.5).
    dns.add_txt("ptrerr.test", "v=spf1 ptr ?all");
    dns.fail(dns::reverse_name(ip("192.0.2.1")), dns::RrType::PTR);
    EXPECT_EQ(mail_from(dns, "192.0.2.1", "a@ptrerr.test").result, SpfResult::Neutral);
}

TEST(SpfCheck, PtrAnswersAreLookedUpOnce) {
    StaticDns dns;
    dns.add_txt("p.test", "v=spf1 ptr:other.test exists:%{p}.allow.p.test ptr -all");
    dns.add_ptr(ip("192.0.2.5"), "host.p.test");
    dns.add_a("host.p.test", ip("192.0.2.5"));
    const auto outcome = mail_from(dns, "192.0.2.5", "a@p.test");
    EXPECT_EQ(outcome.result, SpfResult::Pass);
    EXPECT_EQ(outcome.mechanism, "ptr");
    // TXT, PTR, A of host.p.test, A of host.p.test.allow.p.test: the §5.5 answer is reused.
    EXPECT_EQ(dns.queries(), 4U);
}

TEST(SpfCheck, ResultKeywords) {
    EXPECT_EQ(to_string(SpfResult::None), "none");
    EXPECT_EQ(to_string(SpfResult::Neutral), "neutral");
    EXPECT_EQ(to_string(SpfResult::Pass), "pass");
    EXPECT_EQ(to_string(SpfResult::Fail), "fail");
    EXPECT_EQ(to_string(SpfResult::SoftFail), "softfail");
    EXPECT_EQ(to_string(SpfResult::TempError), "temperror");
    EXPECT_EQ(to_string(SpfResult::PermError), "permerror");
}

}  // namespace
}  // namespace sov::mailauth
