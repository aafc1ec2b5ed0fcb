#include "mailauth/spf_record.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;

TEST(SpfRecord, VersionSection) {
    EXPECT_TRUE(is_spf_record("v=spf1"));
    EXPECT_TRUE(is_spf_record("v=spf1 -all"));
    EXPECT_TRUE(is_spf_record("V=SpF1 ~all"));  // ABNF literals are case-insensitive
    EXPECT_FALSE(is_spf_record("v=spf10"));     // §4.5's example
    EXPECT_FALSE(is_spf_record("v=spf1mx"));
    EXPECT_FALSE(is_spf_record("v=spf1\tmx"));
    EXPECT_FALSE(is_spf_record(" v=spf1"));
    EXPECT_FALSE(is_spf_record("v=spf"));
    EXPECT_FALSE(is_spf_record("spf2.0/pra"));
    EXPECT_EQ(parse_spf_record("v=spf2 -all").status, SpfParseStatus::NotSpf);
}

TEST(SpfRecord, EveryMechanismAndModifier) {
    const auto parsed = parse_spf_record(
        "v=spf1 +all include:_spf.example.com -a ~a:mail.%{d}/24//64 ?mx mx:example.org/30 ptr "
        "PTR:example.com ip4:192.0.2.0/24 ip6:2001:DB8::/32 exists:%{ir}.bl.example.net "
        "redirect=_spf.example.com exp=explain._spf.%{d} x-vendor=%{r}+ MX//0"
    );
    ASSERT_TRUE(parsed.ok()) << to_string(parsed.status) << " " << parsed.term;
    const auto& r = parsed.record;
    ASSERT_EQ(r.mechanisms.size(), 12U);
    EXPECT_EQ(r.mechanisms[0].kind, SpfMechanismKind::All);
    EXPECT_EQ(r.mechanisms[0].qualifier, SpfQualifier::Pass);
    EXPECT_EQ(r.mechanisms[0].text, "+all");
    EXPECT_EQ(r.mechanisms[1].kind, SpfMechanismKind::Include);
    EXPECT_EQ(r.mechanisms[1].domain_spec, "_spf.example.com");
    EXPECT_EQ(r.mechanisms[2].kind, SpfMechanismKind::A);
    EXPECT_EQ(r.mechanisms[2].qualifier, SpfQualifier::Fail);
    EXPECT_EQ(r.mechanisms[2].domain_spec, "");
    EXPECT_EQ(r.mechanisms[2].cidr4, 32U);
    EXPECT_EQ(r.mechanisms[2].cidr6, 128U);
    EXPECT_EQ(r.mechanisms[3].qualifier, SpfQualifier::SoftFail);
    EXPECT_EQ(r.mechanisms[3].domain_spec, "mail.%{d}");
    EXPECT_EQ(r.mechanisms[3].cidr4, 24U);
    EXPECT_EQ(r.mechanisms[3].cidr6, 64U);
    EXPECT_EQ(r.mechanisms[4].kind, SpfMechanismKind::Mx);
    EXPECT_EQ(r.mechanisms[4].qualifier, SpfQualifier::Neutral);
    EXPECT_EQ(r.mechanisms[5].domain_spec, "example.org");
    EXPECT_EQ(r.mechanisms[5].cidr4, 30U);
    EXPECT_EQ(r.mechanisms[6].kind, SpfMechanismKind::Ptr);
    EXPECT_EQ(r.mechanisms[7].kind, SpfMechanismKind::Ptr);  // names are case-insensitive
    EXPECT_EQ(r.mechanisms[7].domain_spec, "example.com");
    EXPECT_EQ(r.mechanisms[8].kind, SpfMechanismKind::Ip4);
    EXPECT_EQ(r.mechanisms[8].network, asio::ip::make_address("192.0.2.0"));
    EXPECT_EQ(r.mechanisms[8].cidr4, 24U);
    EXPECT_EQ(r.mechanisms[9].kind, SpfMechanismKind::Ip6);
    EXPECT_EQ(r.mechanisms[9].network, asio::ip::make_address("2001:db8::"));
    EXPECT_EQ(r.mechanisms[9].cidr6, 32U);
    EXPECT_EQ(r.mechanisms[10].kind, SpfMechanismKind::Exists);
    EXPECT_EQ(r.mechanisms[10].domain_spec, "%{ir}.bl.example.net");
    EXPECT_EQ(r.mechanisms[11].kind, SpfMechanismKind::Mx);
    EXPECT_EQ(r.mechanisms[11].cidr4, 32U);
    EXPECT_EQ(r.mechanisms[11].cidr6, 0U);
    EXPECT_EQ(r.redirect, "_spf.example.com");
    EXPECT_EQ(r.exp, "explain._spf.%{d}");
    ASSERT_EQ(r.unknown_modifiers.size(), 1U);
    EXPECT_EQ(r.unknown_modifiers[0].name, "x-vendor");
    EXPECT_EQ(r.unknown_modifiers[0].value, "%{r}+");
    EXPECT_TRUE(r.has_all());
}

TEST(SpfRecord, SpacingAndEmptyRecords) {
    const auto empty = parse_spf_record("v=spf1");
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty.record.mechanisms.empty());
    EXPECT_FALSE(empty.record.has_all());
    const auto spaced = parse_spf_record("v=spf1   a  -all   ");  // 1*SP, trailing *SP
    ASSERT_TRUE(spaced.ok());
    EXPECT_EQ(spaced.record.mechanisms.size(), 2U);
    EXPECT_TRUE(parse_spf_record("v=spf1 default=pass").ok());  // unknown modifiers are ignored
    EXPECT_TRUE(parse_spf_record("v=spf1 default=+").ok());
    EXPECT_TRUE(parse_spf_record("v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all").ok());
    EXPECT_TRUE(parse_spf_record("v=spf1 ip6:::1.1.1.1/0 ip6:::FFFF:1.2.3.4").ok());
    EXPECT_TRUE(parse_spf_record("v=spf1 a:foo:bar/baz.example.com").ok());
    EXPECT_TRUE(parse_spf_record("v=spf1 ip4:0.0.0.0/0 ip4:255.255.255.255/32").ok());
}

TEST(SpfRecord, SyntaxErrors) {
    struct Row {
        const char* record;
        SpfParseStatus status;
    };
    const Row rows[] = {
        {"v=spf1 ip4:1.2.3.4 -all moo", SpfParseStatus::UnknownMechanism},
        {"v=spf1 -all.", SpfParseStatus::UnknownMechanism},
        {"v=spf1 redirect:t2.example.com", SpfParseStatus::UnknownMechanism},
        {"v=spf1 moo.cow/far_out=man:dog/cat", SpfParseStatus::UnknownMechanism},
        {"v=spf1 moo.cow:far_out=man:dog/cat", SpfParseStatus::UnknownMechanism},
        {"v=spf1 1up=foo", SpfParseStatus::BadModifierName},
        {"v=spf1 =all", SpfParseStatus::BadModifierName},
        {"v=spf1 -redirect=example.com", SpfParseStatus::BadModifierName},
        {"v=spf1 -all:foobar", SpfParseStatus::BadArgument},
        {"v=spf1 -all/8", SpfParseStatus::BadArgument},
        {"v=spf1 include", SpfParseStatus::BadArgument},
        {"v=spf1 exists", SpfParseStatus::BadArgument},
        {"v=spf1 ip4", SpfParseStatus::BadArgument},
        {"v=spf1 -all ip6", SpfParseStatus::BadArgument},
        {"v=spf1 ptr/0 -all", SpfParseStatus::BadArgument},
        {"v=spf1 a/24/64 -all", SpfParseStatus::BadCidr},
        {"v=spf1 a/24/8 -all", SpfParseStatus::BadArgument},
        {"v=spf1 include:", SpfParseStatus::BadDomainSpec},
        {"v=spf1 a:", SpfParseStatus::BadDomainSpec},
        {"v=spf1 mx: -all", SpfParseStatus::BadDomainSpec},
        {"v=spf1 ptr:", SpfParseStatus::BadDomainSpec},
        {"v=spf1 exists:", SpfParseStatus::BadDomainSpec},
        {"v=spf1 include:ip5.example.com/24", SpfParseStatus::BadDomainSpec},
        {"v=spf1 exists:mail.example.com/24", SpfParseStatus::BadDomainSpec},
        {"v=spf1 a:foo-bar -all", SpfParseStatus::BadDomainSpec},
        {"v=spf1 a:111.222.33.44", SpfParseStatus::BadDomainSpec},
        {"v=spf1 a:example.com:8080", SpfParseStatus::BadDomainSpec},
        {"v=spf1 -exists:%(ir).sbl.example.com ?all", SpfParseStatus::BadDomainSpec},
        {"v=spf1 a:%{a}.example.com", SpfParseStatus::BadDomainSpec},
        {"v=spf1 -all exp=%{r}.example.com", SpfParseStatus::BadDomainSpec},
        {"v=spf1 -all foo=%abc", SpfParseStatus::BadDomainSpec},
        {"v=spf1 exp= -all", SpfParseStatus::BadDomainSpec},
        {"v=spf1 exp=-all", SpfParseStatus::BadDomainSpec},
        {"v=spf1 redirect=-all ?all", SpfParseStatus::BadDomainSpec},
        {"v=spf1 ?all redirect=", SpfParseStatus::BadDomainSpec},
        {"v=spf1 a//33 a/33", SpfParseStatus::BadCidr},
        {"v=spf1 a//129", SpfParseStatus::BadCidr},
        {"v=spf1 mx/33", SpfParseStatus::BadCidr},
        {"v=spf1 ip4:1.2.3.4/33", SpfParseStatus::BadCidr},
        {"v=spf1 ip4:1.2.3.4/032", SpfParseStatus::BadCidr},
        {"v=spf1 ip4:1.2.3.4//32", SpfParseStatus::BadCidr},
        {"v=spf1 ip4:1.2.3.4/", SpfParseStatus::BadCidr},
        {"v=spf1 ip6:::1.1.1.1/129", SpfParseStatus::BadCidr},
        {"v=spf1 ip6:::1.1.1.1//33", SpfParseStatus::BadCidr},
        {"v=spf1 ip4:1.2.3", SpfParseStatus::BadNetwork},
        {"v=spf1 ip4:1.2.3.4:8080", SpfParseStatus::BadNetwork},
        {"v=spf1 ip4:01.2.3.4", SpfParseStatus::BadNetwork},
        {"v=spf1 ip4:256.2.3.4", SpfParseStatus::BadNetwork},
        {"v=spf1 ip4:1.2.3.4.5", SpfParseStatus::BadNetwork},
        {"v=spf1 ip4:example.com", SpfParseStatus::BadNetwork},
        {"v=spf1 ip6::CAFE::BABE", SpfParseStatus::BadNetwork},
        {"v=spf1 ip6:fe80::1%eth0", SpfParseStatus::BadNetwork},
        {"v=spf1 ip6:", SpfParseStatus::BadNetwork},
        {"v=spf1 exp=a.example.com -all exp=b.example.com", SpfParseStatus::DuplicateModifier},
        {"v=spf1 redirect=a.example.com -all REDIRECT=a.example.com",
         SpfParseStatus::DuplicateModifier},
        {"v=spf1 a:ctrl.example.com\rptr -all", SpfParseStatus::BadCharacter},
        {"v=spf1 ip4:192.0.2.5\n include:x.example.com", SpfParseStatus::BadCharacter},
        {"v=spf1 a:\xEF\xBB\xBFgarbage.example.net -all", SpfParseStatus::BadCharacter},
    };
    for (const auto& row : rows) {
        const auto parsed = parse_spf_record(row.record);
        EXPECT_EQ(parsed.status, row.status) << row.record << ": " << to_string(parsed.status);
        EXPECT_TRUE(parsed.record.mechanisms.empty()) << row.record;
    }
    const std::string with_nul("v=spf1 a:foo.example.com\0", 25);
    EXPECT_EQ(parse_spf_record(with_nul).status, SpfParseStatus::BadCharacter);
    // The offending term is reported for the permerror detail.
    EXPECT_EQ(parse_spf_record("v=spf1 a mx moo -all").term, "moo");
}

TEST(SpfRecord, Limits) {
    std::string record = "v=spf1";
    while (record.size() < 5000) {
        record += " ip4:192.0.2.1";
    }
    EXPECT_EQ(parse_spf_record(record).status, SpfParseStatus::TooLong);
    EXPECT_EQ(
        parse_spf_record(record, {.max_octets = 10000, .max_terms = 10000}).status,
        SpfParseStatus::Ok
    );
    EXPECT_EQ(
        parse_spf_record(record, {.max_octets = 10000, .max_terms = 100}).status,
        SpfParseStatus::TooManyTerms
    );
    EXPECT_EQ(
        parse_spf_record("v=spf1 a a a", {.max_octets = 100, .max_terms = 3}).status,
        SpfParseStatus::Ok
    );
    EXPECT_EQ(
        parse_spf_record("v=spf1 a a a a", {.max_octets = 100, .max_terms = 3}).status,
        SpfParseStatus::TooManyTerms
    );
}

TEST(SpfRecord, StatusNames) {
    EXPECT_EQ(to_string(SpfParseStatus::DuplicateModifier), "duplicate redirect or exp");
    EXPECT_EQ(to_string(SpfParseStatus::Ok), "ok");
}

}  // namespace
}  // namespace sov::mailauth
