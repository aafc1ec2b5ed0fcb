#include "tls/tlsrpt_record.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tls/errors.hpp"

namespace sov::tls {
namespace {

std::error_code error_of(std::string_view txt) {
    const auto r = parse_tlsrpt_record(txt);
    return r ? std::error_code{} : r.error();
}

TEST(TlsRptRecord, Rfc8460Examples) {
    // RFC 8460 §3.1.1 / Appendix A.1
    const auto mail = parse_tlsrpt_record("v=TLSRPTv1;rua=mailto:reports@example.com");
    ASSERT_TRUE(mail) << mail.error().message();
    ASSERT_EQ(mail->rua.size(), 1U);
    EXPECT_EQ(mail->rua[0].scheme, UriScheme::Mailto);
    EXPECT_EQ(mail->rua[0].uri, "mailto:reports@example.com");
    // RFC 8460 §3.1.2 / Appendix A.2 (the zone-file line continuation removed)
    const auto https =
        parse_tlsrpt_record("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt");
    ASSERT_TRUE(https) << https.error().message();
    ASSERT_EQ(https->rua.size(), 1U);
    EXPECT_EQ(https->rua[0].scheme, UriScheme::Https);
    EXPECT_EQ(https->rua[0].uri, "https://reporting.example.com/v1/tlsrpt");
}

TEST(TlsRptRecord, UriList) {
    const auto r = parse_tlsrpt_record(
        "v=TLSRPTv1; rua=mailto:a@example.com , HTTPS://r.example/x?y=1&z=%2C,\tMailTo:b@c.example;"
        " ext=1;"
    );
    ASSERT_TRUE(r) << r.error().message();
    const std::vector<ReportUri> expected{
        {UriScheme::Mailto, "mailto:a@example.com"},
        {UriScheme::Https, "HTTPS://r.example/x?y=1&z=%2C"},
        {UriScheme::Mailto, "MailTo:b@c.example"},
    };
    EXPECT_EQ(r->rua, expected);
    EXPECT_EQ(r->extensions, (std::vector<RecordExtension>{{"ext", "1"}}));
    EXPECT_EQ(r->unsupported_uris, 0U);
}

TEST(TlsRptRecord, UnsupportedSchemesAreSkipped) {
    const auto r = parse_tlsrpt_record("v=TLSRPTv1; rua=http://r.example/,mailto:a@b.example");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->rua.size(), 1U);
    EXPECT_EQ(r->unsupported_uris, 1U);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=http://r.example/"), Errc::NoSupportedUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=ftp://r.example/,urn:x:y"), Errc::NoSupportedUri);
}

TEST(TlsRptRecord, BadUris) {
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=mailto:a@b.example!x"), Errc::BadUri);  // "!" encoded
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=mailto:a b@example.com"), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=mailto:reports"), Errc::BadUri);  // no "@"
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=mailto:"), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=mailto:?subject=x"), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=https:/r.example/"), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=https:///path"), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=https://:443/"), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=https://[/"), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=https://r.example/%zz"), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=https://r.example/%2"), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=https://r.example/\"x\""), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=https://r.example/caf\xc3\xa9"), Errc::BadUri);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=reports@example.com"), Errc::BadUri);  // no scheme
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=1x:y"), Errc::BadUri);
    EXPECT_TRUE(parse_tlsrpt_record("v=TLSRPTv1; rua=https://[2001:db8::1]:8443/r"));
    EXPECT_TRUE(parse_tlsrpt_record("v=TLSRPTv1; rua=https://u:p@r.example:8443/r#f"));
}

TEST(TlsRptRecord, ListSyntax) {
    EXPECT_EQ(error_of("v=TLSRPTv1; rua="), Errc::Syntax);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=;"), Errc::Syntax);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua= mailto:a@b.example"), Errc::Syntax);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=mailto:a@b.example,,mailto:c@d.example"), Errc::Syntax);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=mailto:a@b.example,"), Errc::Syntax);
    EXPECT_TRUE(parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@b.example ;"));
}

TEST(TlsRptRecord, VersionAndRequiredFields) {
    EXPECT_EQ(error_of("rua=mailto:a@b.example; v=TLSRPTv1"), Errc::BadVersion);
    EXPECT_EQ(error_of("v=tlsrptv1; rua=mailto:a@b.example"), Errc::BadVersion);
    EXPECT_EQ(error_of("v=TLSRPTv10; rua=mailto:a@b.example"), Errc::BadVersion);
    EXPECT_EQ(error_of("v=TLSRPTv1"), Errc::MissingField);
    EXPECT_EQ(error_of("v=TLSRPTv1; ext=x"), Errc::MissingField);
    EXPECT_EQ(error_of("v=TLSRPTv1; RUA=mailto:a@b.example"), Errc::MissingField);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=mailto:a@b.example; bad"), Errc::Syntax);
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=mailto:a@b.example; x=\xc3\xa9"), Errc::Syntax);
    EXPECT_EQ(error_of(std::string("v=TLSRPTv1; rua=mailto:a@b.example\0", 35)), Errc::BadUri);
}

TEST(TlsRptRecord, DuplicateRuaKeepsTheFirst) {
    const auto r = parse_tlsrpt_record(
        "v=TLSRPTv1; rua=mailto:first@example.com; rua=https://second.example/; v=TLSRPTv2"
    );
    ASSERT_TRUE(r);
    ASSERT_EQ(r->rua.size(), 1U);
    EXPECT_EQ(r->rua[0].uri, "mailto:first@example.com");
    EXPECT_TRUE(r->extensions.empty());
    // The ignored duplicate must still be well-formed.
    EXPECT_EQ(error_of("v=TLSRPTv1; rua=mailto:a@b.example; rua=bad uri"), Errc::BadUri);
}

TEST(SelectTlsRptRecord, ExactlyOneCandidate) {
    const std::vector<std::string> one{"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@b.example"};
    EXPECT_TRUE(select_tlsrpt_record(one));
    const std::vector<std::string> two{
        "v=TLSRPTv1; rua=mailto:a@b.example", "v=TLSRPTv1 ;rua=mailto:c@d.example"
    };
    EXPECT_EQ(select_tlsrpt_record(two).error(), Errc::MultipleRecords);
    EXPECT_EQ(select_tlsrpt_record({}).error(), Errc::NoRecord);
    EXPECT_EQ(select_tlsrpt_record({"v=TLSRPTv1"}).error(), Errc::NoRecord);
    EXPECT_EQ(select_tlsrpt_record({"v=TLSRPTv1; rua=x"}).error(), Errc::BadUri);
}

TEST(MailtoRecipients, DecodesAndSplits) {
    const auto one = mailto_recipients({UriScheme::Mailto, "mailto:tls%2Breports@example.com"});
    ASSERT_TRUE(one);
    EXPECT_EQ(*one, (std::vector<std::string>{"tls+reports@example.com"}));
    const auto two = mailto_recipients(
        {UriScheme::Mailto, "MAILTO:a@example.com%2cb@example.org?subject=TLS%20report"}
    );
    ASSERT_TRUE(two);
    EXPECT_EQ(*two, (std::vector<std::string>{"a@example.com", "b@example.org"}));
    EXPECT_FALSE(mailto_recipients({UriScheme::Https, "https://x.example/"}));
    EXPECT_FALSE(mailto_recipients({UriScheme::Mailto, "mailto:a%0D%0A@x.example"}));
    EXPECT_FALSE(mailto_recipients({UriScheme::Mailto, "mailto:a%40"}));
    EXPECT_FALSE(mailto_recipients({UriScheme::Mailto, "mailto:%3Ca@x.example%3E"}));
}

}  // namespace
}  // namespace sov::tls
