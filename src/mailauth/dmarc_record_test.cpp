#include "mailauth/dmarc_record.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sov::mailauth {
namespace {

DmarcRecord parse_ok(std::string_view text) {
    const auto parsed = parse_dmarc_record(text);
    EXPECT_EQ(parsed.status, DmarcRecordParse::Status::Ok) << text;
    return parsed.record;
}

TEST(DmarcRecord, Rfc9989AppendixBExamples) {
    // B.2.1 (the zone file's two strings concatenated, §4.5).
    auto rec = parse_ok("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com");
    EXPECT_EQ(rec.p, DmarcPolicy::None);
    ASSERT_EQ(rec.rua.size(), 1U);
    EXPECT_EQ(rec.rua[0].uri, "mailto:dmarc-feedback@example.com");
    EXPECT_EQ(rec.rua[0].scheme, "mailto");
    EXPECT_EQ(rec.rua[0].address, "dmarc-feedback@example.com");
    EXPECT_FALSE(rec.testing);
    EXPECT_EQ(rec.adkim, DmarcAlignment::Relaxed);
    EXPECT_EQ(rec.aspf, DmarcAlignment::Relaxed);
    EXPECT_EQ(rec.psd, DmarcPsd::Unknown);
    EXPECT_FALSE(rec.has_ruf);

    // B.2.5: two rua URIs, t=y.
    rec = parse_ok(
        "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
        "mailto:tld-test@thirdparty.example.net; t=y"
    );
    EXPECT_EQ(rec.p, DmarcPolicy::Quarantine);
    EXPECT_TRUE(rec.testing);
    EXPECT_EQ(
        rec.rua_mailto(),
        (std::vector<std::string>{"dmarc-feedback@example.com", "tld-test@thirdparty.example.net"})
    );

    // B.3.1
    rec = parse_ok("v=DMARC1; p=reject; aspf=r;\r\n rua=mailto:dmarc-feedback@example.com");
    EXPECT_EQ(rec.p, DmarcPolicy::Reject);
}

TEST(DmarcRecord, AllTags) {
    const auto rec = parse_ok(
        "v=DMARC1;p=reject;sp=quarantine;np=none;psd=n;t=n;adkim=s;aspf=s;"
        "rua=mailto:a@example.com!10m, https://reports.example.com/dmarc;"
        "ruf=mailto:f@example.com;fo=1:d:s;rf=afrf;ri=3600;future=whatever;"
    );
    EXPECT_EQ(rec.p, DmarcPolicy::Reject);
    EXPECT_EQ(rec.sp, DmarcPolicy::Quarantine);
    EXPECT_EQ(rec.np, DmarcPolicy::None);
    EXPECT_TRUE(rec.policy_valid());
    EXPECT_EQ(rec.psd, DmarcPsd::No);
    EXPECT_FALSE(rec.testing);
    EXPECT_EQ(rec.adkim, DmarcAlignment::Strict);
    EXPECT_EQ(rec.aspf, DmarcAlignment::Strict);
    ASSERT_EQ(rec.rua.size(), 2U);
    EXPECT_EQ(rec.rua[0].uri, "mailto:a@example.com");
    EXPECT_EQ(rec.rua[0].max_size, 10ULL << 20U);
    EXPECT_EQ(rec.rua[1].scheme, "https");
    EXPECT_FALSE(rec.rua[1].is_usable_mailto());  // kept, but not a destination we send to
    EXPECT_EQ(rec.rua_mailto(), std::vector<std::string>{"a@example.com"});
    ASSERT_EQ(rec.ruf.size(), 1U);
    EXPECT_EQ(
        rec.fo,
        (DmarcFailureOptions{.all_fail = false, .any_fail = true, .dkim = true, .spf = true})
    );
}

TEST(DmarcRecord, VersionMustComeFirstAndBeExact) {
    using S = DmarcRecordParse::Status;
    EXPECT_EQ(parse_dmarc_record("p=reject; v=DMARC1").status, S::NotDmarc);
    EXPECT_EQ(parse_dmarc_record("v=dmarc1; p=reject").status, S::NotDmarc);  // case-sensitive
    EXPECT_EQ(parse_dmarc_record("v=DMARC2; p=reject").status, S::NotDmarc);
    EXPECT_EQ(parse_dmarc_record("v=DMARC1p=reject").status, S::NotDmarc);
    EXPECT_EQ(parse_dmarc_record("v=spf1 -all").status, S::NotDmarc);
    EXPECT_EQ(parse_dmarc_record("").status, S::NotDmarc);
    EXPECT_EQ(parse_dmarc_record("; v=DMARC1").status, S::NotDmarc);
    // The tag name is ABNF "v", case-insensitive; WSP around "=" and ";" is allowed (§4.8).
    EXPECT_EQ(parse_dmarc_record("V = DMARC1 ; p = reject ;").status, S::Ok);
    EXPECT_EQ(parse_dmarc_record("v=DMARC1").status, S::Ok);
    EXPECT_EQ(parse_dmarc_record("v=DMARC1;").status, S::Ok);
}

TEST(DmarcRecord, DefaultsWhenTagsAbsent) {
    const auto rec = parse_ok("v=DMARC1");
    EXPECT_FALSE(rec.p.has_value());  // treated as p=none by the evaluator (§4.7 p)
    EXPECT_FALSE(rec.p_invalid);
    EXPECT_TRUE(rec.policy_valid());
    EXPECT_FALSE(rec.has_rua);
    EXPECT_EQ(rec.fo, DmarcFailureOptions{});
    EXPECT_TRUE(rec.fo.all_fail);
}

TEST(DmarcRecord, InvalidPolicyValuesAreVisible) {
    auto rec = parse_ok("v=DMARC1; p=rejected; rua=mailto:r@example.com");
    EXPECT_FALSE(rec.p.has_value());
    EXPECT_TRUE(rec.p_invalid);
    EXPECT_FALSE(rec.policy_valid());
    EXPECT_EQ(rec.rua.size(), 1U);

    rec = parse_ok("v=DMARC1; p=reject; sp=maybe");
    EXPECT_EQ(rec.p, DmarcPolicy::Reject);
    EXPECT_TRUE(rec.sp_invalid);
    EXPECT_FALSE(rec.policy_valid());

    rec = parse_ok("v=DMARC1; p=reject; np=");
    EXPECT_TRUE(rec.np_invalid);

    rec = parse_ok("v=DMARC1; p=REJECT; sp=Quarantine");  // ABNF literals: any case
    EXPECT_EQ(rec.p, DmarcPolicy::Reject);
    EXPECT_EQ(rec.sp, DmarcPolicy::Quarantine);
}

TEST(DmarcRecord, SyntaxErrorsFallBackToDefaults) {
    const auto rec = parse_ok(
        "v=DMARC1; p=quarantine; adkim=x; aspf=; psd=maybe; t=perhaps; fo=0:1; garbage; =x; "
        "1tag=2; p=none"
    );
    EXPECT_EQ(rec.p, DmarcPolicy::Quarantine);  // the first p counts
    EXPECT_EQ(rec.adkim, DmarcAlignment::Relaxed);
    EXPECT_EQ(rec.aspf, DmarcAlignment::Relaxed);
    EXPECT_EQ(rec.psd, DmarcPsd::Unknown);
    EXPECT_FALSE(rec.testing);
    EXPECT_EQ(rec.fo, DmarcFailureOptions{});  // "0" and "1" are mutually exclusive
}

TEST(DmarcRecord, PctIsReadAsTheTTag) {
    // RFC 9989 Appendix A.6: pct=0 ~ t=y, pct=100 (and any other value) ~ t=n.
    EXPECT_TRUE(parse_ok("v=DMARC1; p=reject; pct=0").testing);
    EXPECT_FALSE(parse_ok("v=DMARC1; p=reject; pct=100").testing);
    EXPECT_FALSE(parse_ok("v=DMARC1; p=reject; pct=50").testing);
    EXPECT_FALSE(parse_ok("v=DMARC1; p=reject; pct=abc").testing);
    EXPECT_FALSE(parse_ok("v=DMARC1; p=reject; pct=1000").testing);
    // A valid t tag wins over pct; an invalid one does not.
    EXPECT_FALSE(parse_ok("v=DMARC1; p=reject; t=n; pct=0").testing);
    EXPECT_TRUE(parse_ok("v=DMARC1; p=reject; pct=100; t=y").testing);
    EXPECT_TRUE(parse_ok("v=DMARC1; p=reject; t=x; pct=0").testing);
}

TEST(DmarcRecord, FailureOptions) {
    EXPECT_EQ(
        parse_ok("v=DMARC1; fo=d").fo, (DmarcFailureOptions{.all_fail = false, .dkim = true})
    );
    EXPECT_EQ(
        parse_ok("v=DMARC1; fo=s:0").fo, (DmarcFailureOptions{.all_fail = true, .spf = true})
    );
    EXPECT_EQ(parse_ok("v=DMARC1; fo=d:d").fo, DmarcFailureOptions{});
    EXPECT_EQ(parse_ok("v=DMARC1; fo=x").fo, DmarcFailureOptions{});
}

TEST(DmarcRecord, ReportUris) {
    auto uri = parse_dmarc_uri("mailto:reports@example.com");
    ASSERT_TRUE(uri);
    EXPECT_EQ(uri->address, "reports@example.com");
    EXPECT_FALSE(uri->max_size);

    uri = parse_dmarc_uri("MAILTO:Re%70orts@Example.com?subject=x!1k");
    ASSERT_TRUE(uri);
    EXPECT_EQ(uri->scheme, "mailto");
    EXPECT_EQ(uri->address, "Reports@Example.com");
    EXPECT_EQ(uri->max_size, 1024U);

    EXPECT_EQ(parse_dmarc_uri("mailto:a@example.com!20")->max_size, 20U);
    EXPECT_EQ(parse_dmarc_uri("mailto:a@example.com!2T")->max_size, 2ULL << 40U);

    EXPECT_FALSE(parse_dmarc_uri("reports@example.com"));       // no scheme
    EXPECT_FALSE(parse_dmarc_uri("mailto:"));                   // nothing after it
    EXPECT_FALSE(parse_dmarc_uri("1mailto:a@example.com"));     // scheme starts with ALPHA
    EXPECT_FALSE(parse_dmarc_uri("mailto:a b@example.com"));    // space
    EXPECT_FALSE(parse_dmarc_uri("mailto:a@example.com!"));     // empty size
    EXPECT_FALSE(parse_dmarc_uri("mailto:a@example.com!10x"));  // bad unit
    EXPECT_FALSE(parse_dmarc_uri("mailto:a@example.com!99999999999999999999"));  // overflow
    EXPECT_FALSE(parse_dmarc_uri("mailto:a@example.com!20000000t"));             // overflow
    EXPECT_FALSE(parse_dmarc_uri("mailto:a%4@example.com"));       // bad percent-encoding
    EXPECT_FALSE(parse_dmarc_uri("mailto:a@\xc3\xa9xample.com"));  // not a URI character

    // Valid URIs that are not usable mailto destinations.
    uri = parse_dmarc_uri("mailto:no-domain");
    ASSERT_TRUE(uri);
    EXPECT_FALSE(uri->is_usable_mailto());
    uri = parse_dmarc_uri("mailto:a@x.example%2Cb@y.example");
    ASSERT_TRUE(uri);
    EXPECT_FALSE(uri->is_usable_mailto());
}

TEST(DmarcRecord, UriListKeepsValidOnesAndIsBounded) {
    auto rec = parse_ok("v=DMARC1; rua=bogus, mailto:ok@example.com ,  mailto:x y@example.com");
    EXPECT_TRUE(rec.has_rua);
    ASSERT_EQ(rec.rua.size(), 1U);
    EXPECT_EQ(rec.rua[0].address, "ok@example.com");

    rec = parse_ok("v=DMARC1; rua=nothing-valid");
    EXPECT_TRUE(rec.has_rua);
    EXPECT_TRUE(rec.rua.empty());

    std::string many = "v=DMARC1; rua=";
    for (int i = 0; i < 50; ++i) {
        many += "mailto:r" + std::to_string(i) + "@example.com,";
    }
    rec = parse_ok(many);
    EXPECT_EQ(rec.rua.size(), kMaxReportUris);
}

TEST(DmarcRecord, SizeLimitAndBadBytes) {
    std::string big = "v=DMARC1; p=reject; x=" + std::string(5000, 'a');
    EXPECT_EQ(parse_dmarc_record(big).status, DmarcRecordParse::Status::TooLong);
    EXPECT_EQ(parse_dmarc_record(big, {.max_octets = 6000}).status, DmarcRecordParse::Status::Ok);
    // Not DMARC at all: NotDmarc even when large (so it is not counted as a DMARC record).
    EXPECT_EQ(
        parse_dmarc_record("v=spf1 " + std::string(5000, 'a')).status,
        DmarcRecordParse::Status::NotDmarc
    );
    // A control character or NUL in a value makes that tag a syntax error.
    const std::string nul("v=DMARC1; p=re\0ject; adkim=s", 28);
    const auto rec = parse_ok(nul);
    EXPECT_TRUE(rec.p_invalid);
    EXPECT_EQ(rec.adkim, DmarcAlignment::Strict);
}

TEST(DmarcRecord, EverySplitPointOfARecordParsesWithoutCrashing) {
    const std::string text =
        "v=DMARC1; p=reject; sp=none; np=quarantine; rua=mailto:a@example.com!1m; fo=1; t=y";
    for (std::size_t i = 0; i <= text.size(); ++i) {
        (void)parse_dmarc_record(text.substr(0, i));
        (void)parse_dmarc_record(text.substr(i));
    }
    EXPECT_EQ(parse_ok(text).np, DmarcPolicy::Quarantine);
}

TEST(DmarcRecord, ToString) {
    EXPECT_EQ(to_string(DmarcPolicy::Quarantine), "quarantine");
    EXPECT_EQ(to_string(DmarcAlignment::Strict), "s");
    EXPECT_EQ(to_string(DmarcPsd::Yes), "y");
    EXPECT_EQ(to_string(DmarcRecordParse::Status::NotDmarc), "not a DMARC record");
}

}  // namespace
}  // namespace sov::mailauth
