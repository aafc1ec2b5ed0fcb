#include "mailauth/spf_macro.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "mailauth/static_dns.hpp"
#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;

// RFC 7208 §7.4: "The <sender> is strong-bad@email.example.com. The IPv4 SMTP client IP is
// 192.0.2.3. The IPv6 SMTP client IP is 2001:db8::cb01. The PTR domain name of the client IP is
// mx.example.org."
MacroValues rfc_values(const char* ip = "192.0.2.3") {
    MacroValues v;
    v.sender = "strong-bad@email.example.com";
    v.local_part = "strong-bad";
    v.sender_domain = "email.example.com";
    v.domain = "email.example.com";
    v.ip = asio::ip::make_address(ip);
    v.helo = "mx.example.org";
    v.validated_name = "mx.example.org";
    return v;
}

std::string expand(std::string_view text, const MacroValues& values = rfc_values()) {
    const auto out = expand_macros(text, MacroContext::Explanation, values);
    EXPECT_EQ(out.status, MacroStatus::Ok) << text;
    return out.text;
}

TEST(SpfMacro, Rfc7208Section74Letters) {
    EXPECT_EQ(expand("%{s}"), "strong-bad@email.example.com");
    EXPECT_EQ(expand("%{o}"), "email.example.com");
    EXPECT_EQ(expand("%{d}"), "email.example.com");
    EXPECT_EQ(expand("%{d4}"), "email.example.com");
    EXPECT_EQ(expand("%{d3}"), "email.example.com");
    EXPECT_EQ(expand("%{d2}"), "example.com");
    EXPECT_EQ(expand("%{d1}"), "com");
    EXPECT_EQ(expand("%{dr}"), "com.example.email");
    EXPECT_EQ(expand("%{d2r}"), "example.email");
    EXPECT_EQ(expand("%{l}"), "strong-bad");
    EXPECT_EQ(expand("%{l-}"), "strong.bad");
    EXPECT_EQ(expand("%{lr}"), "strong-bad");
    EXPECT_EQ(expand("%{lr-}"), "bad.strong");
    EXPECT_EQ(expand("%{l1r-}"), "strong");
}

TEST(SpfMacro, Rfc7208Section74Strings) {
    EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
    EXPECT_EQ(expand("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
    EXPECT_EQ(
        expand("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"),
        "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"
    );
    EXPECT_EQ(
        expand("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"), "3.2.0.192.in-addr.strong.lp._spf.example.com"
    );
    EXPECT_EQ(
        expand("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net"
    );
    EXPECT_EQ(
        expand("%{ir}.%{v}._spf.%{d2}", rfc_values("2001:db8::cb01")),
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
    );
}

TEST(SpfMacro, SpecialSequencesAndOtherLetters) {
    auto v = rfc_values();
    v.receiver = "mx.sovereign.test";
    v.timestamp = 1700000000;
    EXPECT_EQ(expand("a%%b%_c%-d"), "a%b c%20d");
    EXPECT_EQ(
        expand("%{p} %{h} %{c} %{r} %{t}", v),
        "mx.example.org mx.example.org 192.0.2.3 "
        "mx.sovereign.test 1700000000"
    );
    v.receiver.clear();
    EXPECT_EQ(expand("%{r}", v), "unknown");  // §7.3: "the word 'unknown' SHOULD be substituted"
    EXPECT_EQ(expand("%{c}", rfc_values("2001:DB8::CB01")), "2001:db8::cb01");
    EXPECT_EQ(expand("%{v}", rfc_values("2001:db8::cb01")), "ip6");
    // Delimiters: several at once, and empty parts are kept (§7.3).
    v.local_part = "foo-bar+zip+quux";
    EXPECT_EQ(expand("%{l2r+-}", v), "bar.foo");
    v.local_part = "a..b";
    EXPECT_EQ(expand("%{l}.%{lr}", v), "a..b.b..a");
    // Upper-case letters and the "R" transformer in upper case.
    EXPECT_EQ(expand("%{D2R}"), "example.email");
}

TEST(SpfMacro, UpperCaseLettersAreUrlEscaped) {
    auto v = rfc_values();
    v.local_part = "~jack&jill=up-a_b3.c";
    // §7.3 with RFC 3986 unreserved: ALPHA DIGIT - . _ ~ stay, the rest is %XX.
    EXPECT_EQ(expand("%{L}", v), "~jack%26jill%3Dup-a_b3.c");
    v.helo = "%%";
    EXPECT_EQ(expand("%{H}", v), "%25%25");
    v.sender = "a b@c";
    EXPECT_EQ(expand("%{S}", v), "a%20b%40c");
}

TEST(SpfMacro, DigitTransformer) {
    EXPECT_EQ(expand("%{d127}"), "email.example.com");  // §7.3: at least 127 supported
    EXPECT_EQ(expand("%{d99999999999999999999}"), "email.example.com");
    EXPECT_EQ(
        check_macro_string("%{d0}.example.com", MacroContext::DomainSpec), MacroStatus::ZeroDigits
    );
    EXPECT_EQ(
        check_macro_string("%{d00}.example.com", MacroContext::DomainSpec), MacroStatus::ZeroDigits
    );
}

TEST(SpfMacro, SyntaxErrors) {
    struct Row {
        const char* text;
        MacroContext context;
        MacroStatus status;
    };
    const Row rows[] = {
        {"%(ir).sbl.example.org", MacroContext::DomainSpec, MacroStatus::BadPercent},
        {"foo%.sbl.example.com", MacroContext::DomainSpec, MacroStatus::BadPercent},
        {"foo%", MacroContext::Explanation, MacroStatus::BadPercent},
        {"%{a}.example.com", MacroContext::DomainSpec, MacroStatus::BadLetter},
        {"%{x}", MacroContext::Explanation, MacroStatus::BadLetter},
        {"%{1}", MacroContext::Explanation, MacroStatus::BadLetter},
        {"%{r}.example.com", MacroContext::DomainSpec, MacroStatus::ExplanationOnly},
        {"%{c}.example.com", MacroContext::DomainSpec, MacroStatus::ExplanationOnly},
        {"%{T}.example.com", MacroContext::DomainSpec, MacroStatus::ExplanationOnly},
        {"%{d", MacroContext::Explanation, MacroStatus::Unterminated},
        {"%{", MacroContext::Explanation, MacroStatus::Unterminated},
        {"%{d2x}", MacroContext::Explanation, MacroStatus::Unterminated},
        {"%{d r}", MacroContext::Explanation, MacroStatus::Unterminated},
        {"a b.example.com", MacroContext::DomainSpec, MacroStatus::BadCharacter},
        {"a\tb", MacroContext::Explanation, MacroStatus::BadCharacter},
        {"caf\xC3\xA9", MacroContext::Explanation, MacroStatus::BadCharacter},
        {"", MacroContext::DomainSpec, MacroStatus::Empty},
        // §7.1 domain-end = ( "." toplabel [ "." ] ) / macro-expand
        {"foo-bar", MacroContext::DomainSpec, MacroStatus::BadDomainEnd},
        {"museum", MacroContext::DomainSpec, MacroStatus::BadDomainEnd},
        {"museum.", MacroContext::DomainSpec, MacroStatus::BadDomainEnd},
        {"abc.123", MacroContext::DomainSpec, MacroStatus::BadDomainEnd},
        {"111.222.33.44", MacroContext::DomainSpec, MacroStatus::BadDomainEnd},
        {"example.-com", MacroContext::DomainSpec, MacroStatus::BadDomainEnd},
        {"example.com-", MacroContext::DomainSpec, MacroStatus::BadDomainEnd},
        {"example.com:8080", MacroContext::DomainSpec, MacroStatus::BadDomainEnd},
        {"example.com..", MacroContext::DomainSpec, MacroStatus::BadDomainEnd},
        {"%{d}.", MacroContext::DomainSpec, MacroStatus::BadDomainEnd},
    };
    for (const auto& row : rows) {
        EXPECT_EQ(check_macro_string(row.text, row.context), row.status) << row.text;
    }
    EXPECT_EQ(
        expand_macros("%{x}", MacroContext::Explanation, rfc_values()).status,
        MacroStatus::BadLetter
    );
}

TEST(SpfMacro, ValidDomainSpecs) {
    for (const char* spec : {
             "example.com",
             "example.com.",
             ".com",
             "foo:bar/baz.example.com",
             "mail.example...com",
             "foo.example.xn--zckzah",
             "a.b-1",
             "%{d}",
             "%{ir}.%{v}._spf.%{d2}",
             "_spf.%{d}",
             "macro%%percent%_%_space%-url-space.example.com",
             "x%%",
             "%{p}.should.example.com",
         }) {
        EXPECT_EQ(check_macro_string(spec, MacroContext::DomainSpec), MacroStatus::Ok) << spec;
    }
    // An unknown modifier may use any letter and need not end in a domain-end.
    EXPECT_EQ(check_macro_string("pass", MacroContext::Modifier), MacroStatus::Ok);
    EXPECT_EQ(check_macro_string("%{r}+", MacroContext::Modifier), MacroStatus::Ok);
    EXPECT_EQ(check_macro_string("", MacroContext::Modifier), MacroStatus::Ok);
    EXPECT_EQ(check_macro_string("two  spaces", MacroContext::Explanation), MacroStatus::Ok);
}

TEST(SpfMacro, UsesPMacro) {
    EXPECT_TRUE(uses_p_macro("%{p}.example.com"));
    EXPECT_TRUE(uses_p_macro("connect from %{P2r}"));
    EXPECT_FALSE(uses_p_macro("%%{p}"));
    EXPECT_FALSE(uses_p_macro("%{d}.example.com"));
}

TEST(SpfMacro, TruncationTo253Octets) {
    // §7.3: labels are removed on the left until the name fits.
    std::string name = "foobar";
    for (int i = 0; i < 8; ++i) {
        name += ".somewhat.long.exp.example.com";
    }
    name += ".example.com";
    ASSERT_EQ(name.size(), 258U);
    const auto truncated = truncate_domain(name);
    EXPECT_EQ(truncated.size(), 251U);
    EXPECT_EQ(truncated, name.substr(7));
    EXPECT_EQ(truncate_domain("example.com."), "example.com");
    const std::string long_label(300, 'a');
    EXPECT_EQ(truncate_domain(long_label), long_label);  // nothing to remove: stays unusable
    EXPECT_FALSE(is_queryable_name(truncate_domain(long_label)));
}

TEST(SpfMacro, QueryableNames) {
    EXPECT_TRUE(is_queryable_name("example.com"));
    EXPECT_TRUE(is_queryable_name("foo:bar/baz.example.com"));
    EXPECT_TRUE(is_queryable_name(std::string(63, 'a') + ".com"));
    EXPECT_FALSE(is_queryable_name(std::string(64, 'a') + ".com"));
    EXPECT_FALSE(is_queryable_name("mail.example...com"));
    EXPECT_FALSE(is_queryable_name(".com"));
    EXPECT_FALSE(is_queryable_name("example.com."));
    EXPECT_FALSE(is_queryable_name(""));
    std::string long_name;
    while (long_name.size() < 254) {
        long_name += "abcdefghi.";
    }
    EXPECT_FALSE(is_queryable_name(long_name.substr(0, 254)));
}

TEST(SpfMacro, DotFormatAndWithin) {
    EXPECT_EQ(ip_dot_format(asio::ip::make_address("192.0.2.3")), "192.0.2.3");
    EXPECT_EQ(
        ip_dot_format(asio::ip::make_address("CAFE:BABE::1")),
        "c.a.f.e.b.a.b.e.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1"
    );
    EXPECT_TRUE(is_within("mail.example.com", "example.com"));
    EXPECT_TRUE(is_within("Mail.Example.COM.", "example.com"));
    EXPECT_TRUE(is_within("example.com", "EXAMPLE.com"));
    EXPECT_FALSE(is_within("mail.bad-example.com", "example.com"));  // §5.5's example
    EXPECT_FALSE(is_within("com", "example.com"));
    EXPECT_FALSE(is_within("example.com", ""));
}

TEST(SpfMacro, ValidatedNamesAndPChoice) {
    StaticDns dns;
    const auto ip = asio::ip::make_address("192.0.2.42");
    dns.add_ptr(ip, "mx.example.org");
    dns.add_ptr(ip, "forged.example.net");     // does not point back
    dns.add_ptr(ip, "mx.email.example.com.");  // a subdomain of <domain>
    dns.add_a("mx.example.org", ip);
    dns.add_a("forged.example.net", asio::ip::make_address("198.51.100.1"));
    dns.add_a("mx.email.example.com", ip);
    const auto names = test::run_awaitable(validated_names(dns, ip, 10));
    EXPECT_FALSE(names.ptr_failed);
    EXPECT_FALSE(names.ptr_void);
    ASSERT_EQ(names.names.size(), 2U);
    EXPECT_EQ(names.names[0], "mx.example.org");
    EXPECT_EQ(names.names[1], "mx.email.example.com");
    // §7.3: <domain> itself, else a subdomain of it, else any.
    EXPECT_EQ(choose_p_name(names, "email.example.com"), "mx.email.example.com");
    EXPECT_EQ(choose_p_name(names, "mx.example.org"), "mx.example.org");
    EXPECT_EQ(choose_p_name(names, "other.test"), "mx.example.org");
    EXPECT_EQ(choose_p_name(ValidatedNames{}, "other.test"), "unknown");

    // Only the first `max_names` PTR names are looked at (§4.6.4).
    const auto limited = test::run_awaitable(validated_names(dns, ip, 1));
    ASSERT_EQ(limited.names.size(), 1U);

    dns.fail(dns::reverse_name(asio::ip::make_address("192.0.2.7")), dns::RrType::PTR);
    EXPECT_TRUE(test::run_awaitable(validated_names(dns, asio::ip::make_address("192.0.2.7"), 10))
                    .ptr_failed);
    EXPECT_TRUE(
        test::run_awaitable(validated_names(dns, asio::ip::make_address("192.0.2.8"), 10)).ptr_void
    );
}

TEST(SpfMacro, ValidatedNamesSkipsAddressLookupErrors) {
    StaticDns dns;
    const auto ip = asio::ip::make_address("2001:db8::1");
    dns.add_ptr(ip, "broken.example.org");
    dns.add_ptr(ip, "good.example.org");
    dns.fail("broken.example.org", dns::RrType::AAAA);
    dns.add_aaaa("good.example.org", ip);
    const auto names = test::run_awaitable(validated_names(dns, ip, 10));
    ASSERT_EQ(names.names.size(), 1U);  // §5.5: the name with the error is skipped
    EXPECT_EQ(names.names[0], "good.example.org");
}

}  // namespace
}  // namespace sov::mailauth
