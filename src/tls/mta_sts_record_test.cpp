#include "tls/mta_sts_record.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tls/errors.hpp"

namespace sov::tls {
namespace {

std::error_code error_of(std::string_view txt) {
    const auto r = parse_sts_record(txt);
    return r ? std::error_code{} : r.error();
}

TEST(StsRecord, Rfc8461Example) {
    // RFC 8461 §3.1: _mta-sts.example.com.  IN TXT "v=STSv1; id=20160831085700Z;"
    const auto r = parse_sts_record("v=STSv1; id=20160831085700Z;");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->id, "20160831085700Z");
    EXPECT_TRUE(r->extensions.empty());
}

TEST(StsRecord, DelimitersAndExtensions) {
    const auto r = parse_sts_record("v=STSv1 ;\tid=abc123 ; ext-1.x_y=a:b/c ;foo=BAR");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->id, "abc123");
    const std::vector<RecordExtension> expected{{"ext-1.x_y", "a:b/c"}, {"foo", "BAR"}};
    EXPECT_EQ(r->extensions, expected);
    // No trailing delimiter, and (lenient) trailing whitespace.
    EXPECT_TRUE(parse_sts_record("v=STSv1;id=1"));
    EXPECT_TRUE(parse_sts_record("v=STSv1;id=1  "));
    EXPECT_TRUE(parse_sts_record("v=STSv1;id=1; \t"));
    // Field order after v is not significant (§3.1).
    const auto later = parse_sts_record("v=STSv1; x=1; id=Z9");
    ASSERT_TRUE(later);
    EXPECT_EQ(later->id, "Z9");
}

TEST(StsRecord, VersionMustComeFirstAndMatchExactly) {
    EXPECT_EQ(error_of("id=1; v=STSv1;"), Errc::BadVersion);
    EXPECT_EQ(error_of(" v=STSv1; id=1;"), Errc::BadVersion);
    EXPECT_EQ(error_of("v=stsv1; id=1;"), Errc::BadVersion);  // %s: case-sensitive
    EXPECT_EQ(error_of("v=STSv2; id=1;"), Errc::BadVersion);
    EXPECT_EQ(error_of("v=STSv10; id=1;"), Errc::BadVersion);
    EXPECT_EQ(error_of(""), Errc::BadVersion);
}

TEST(StsRecord, IdRules) {
    EXPECT_EQ(error_of("v=STSv1;"), Errc::MissingField);
    EXPECT_EQ(error_of("v=STSv1"), Errc::MissingField);
    EXPECT_EQ(error_of("v=STSv1; foo=bar;"), Errc::MissingField);
    EXPECT_EQ(error_of("v=STSv1; id=;"), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1; id=2016-08-31;"), Errc::Syntax);  // only ALPHA / DIGIT
    EXPECT_TRUE(parse_sts_record("v=STSv1; id=" + std::string(32, 'a')));
    EXPECT_EQ(error_of("v=STSv1; id=" + std::string(33, 'a')), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1; ID=abc;"), Errc::MissingField);  // %s"id=" is case-sensitive
    EXPECT_TRUE(is_sts_id("20160831085700Z"));
    EXPECT_FALSE(is_sts_id(""));
}

TEST(StsRecord, DuplicateFieldsKeepTheFirst) {
    // RFC 8461 §3.2 (last paragraph) covers TXT records too: later duplicates are ignored.
    const auto r = parse_sts_record("v=STSv1; id=first; id=second; v=STSv2;");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, "first");
    EXPECT_TRUE(r->extensions.empty());
    // An ignored duplicate must still be a valid extension field.
    EXPECT_TRUE(parse_sts_record("v=STSv1; id=a; id=not-alnum-but-ok;"));
    EXPECT_EQ(error_of("v=STSv1; id=a; id=bad=value;"), Errc::Syntax);
}

TEST(StsRecord, MalformedFields) {
    EXPECT_EQ(error_of("v=STSv1; id=abc def;"), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1;; id=abc;"), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1; id=abc;;"), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1; id=abc; novalue"), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1; id=abc; empty="), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1; id=abc; _x=1"), Errc::Syntax);  // name starts alnum
    EXPECT_EQ(error_of("v=STSv1; id=abc; " + std::string(33, 'n') + "=1"), Errc::Syntax);
    EXPECT_TRUE(parse_sts_record("v=STSv1; id=abc; " + std::string(32, 'n') + "=1"));
    EXPECT_EQ(error_of("v=STSv1; id=abc; x=a=b"), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1 id=abc"), Errc::Syntax);
}

TEST(StsRecord, NonAsciiAndControlBytes) {
    // §3.1: "MTA-STS TXT records MUST be US-ASCII".
    EXPECT_EQ(error_of("v=STSv1; id=abc; x=caf\xc3\xa9"), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1; id=ab\xc3\xa9"), Errc::Syntax);
    EXPECT_EQ(error_of(std::string("v=STSv1; id=abc\0;", 17)), Errc::Syntax);
    EXPECT_EQ(error_of(std::string("v=STSv1; id=abc; x=\0", 20)), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1; id=abc\r\n"), Errc::Syntax);
    EXPECT_EQ(error_of("v=STSv1; id=abc; x=\x7f"), Errc::Syntax);
}

TEST(SelectStsRecord, ExactlyOneCandidate) {
    const std::vector<std::string> one{"v=spf1 -all", "v=STSv1; id=1;", "google-site-verification"};
    const auto r = select_sts_record(one);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, "1");

    const std::vector<std::string> two{"v=STSv1; id=1;", "v=STSv1; id=2;"};
    EXPECT_EQ(select_sts_record(two).error(), Errc::MultipleRecords);

    EXPECT_EQ(select_sts_record({}).error(), Errc::NoRecord);
    EXPECT_EQ(select_sts_record({"v=spf1 -all", "v=STSv10; id=1"}).error(), Errc::NoRecord);
    // Not starting with "v=STSv1" *WSP ";": discarded, so it does not count as a second record.
    const std::vector<std::string> with_other{"v=STSv1; id=1;", "x v=STSv1; id=2;", "v=STSv1"};
    EXPECT_TRUE(select_sts_record(with_other));
    // A single candidate that is invalid means no policy as well.
    EXPECT_EQ(select_sts_record({"v=STSv1; id=bad-id;"}).error(), Errc::Syntax);
}

TEST(FormatStsRecord, RoundTrips) {
    const std::string txt = format_sts_record("20240101T000000");
    EXPECT_EQ(txt, "v=STSv1; id=20240101T000000;");
    const auto r = parse_sts_record(txt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, "20240101T000000");
}

TEST(TlsErrors, CategoryHasMessages) {
    const std::error_code ec = Errc::MultipleRecords;
    EXPECT_STREQ(ec.category().name(), "sov.tls");
    EXPECT_EQ(ec.message(), "more than one policy record published");
    EXPECT_EQ(std::error_code(Errc::Invalid).message(), "invalid argument");
}

}  // namespace
}  // namespace sov::tls
