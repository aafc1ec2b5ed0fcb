#include "accounts/address.hpp"

#include <string>

#include <gtest/gtest.h>

#include "accounts/errors.hpp"

namespace sov::accounts {
namespace {

using namespace std::string_literals;

TEST(NormalizeDomain, IdnUnicodeAndAsciiFormsAreTheSameDomain) {
    for (const char* input :
         {"Bücher.example",
          "BÜCHER.EXAMPLE",
          "xn--bcher-kva.example",
          "XN--BCHER-KVA.Example",
          "bu\xcc\x88"
          "cher.example" /* NFD: u + combining diaeresis */,
          "bücher.example."}) {
        auto d = normalize_domain(input);
        ASSERT_TRUE(d) << input;
        EXPECT_EQ(d->ascii, "xn--bcher-kva.example") << input;
        EXPECT_EQ(d->display, "bücher.example") << input;
    }
}

TEST(NormalizeDomain, AsciiIsLowercased) {
    auto d = normalize_domain("Mail.EXAMPLE.com");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->ascii, "mail.example.com");
    EXPECT_EQ(d->display, "mail.example.com");
}

TEST(NormalizeDomain, NonTransitionalKeepsSharpS) {
    auto d = normalize_domain("faß.de");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->ascii, "xn--fa-hia.de");  // transitional processing would give "fass.de"
}

TEST(NormalizeDomain, RejectsInvalidNames) {
    for (const std::string& input :
         {""s,
          "."s,
          "a..b"s,
          "-a.example"s,
          "a-.example"s,
          "a_b.example"s,
          "a b.example"s,
          "exa%mple.com"s,
          "xn--zz.example"s,
          "ab--c.example"s,
          "[192.0.2.1]"s,
          "192.0.2.1"s,
          "ex\xff.com"s,
          "ex\0ample.com"s,
          "example.com.."s,
          "a/b.example"s,
          std::string(64, 'a') + ".com",
          std::string(250, 'a') + ".example"s,
          "example.com\r\n"s}) {
        auto d = normalize_domain(input);
        ASSERT_FALSE(d) << input;
        EXPECT_EQ(d.error(), Errc::InvalidDomain) << input;
    }
}

// libidn2 lets these A-labels through; what they decode to, IDNA2008 disallows, and UTS #46
// maps to other (non-LDH) text: `⑶⑾⑸⒂` to `(3)(11)(5)(15)`, `a＿b` to `a_b`.
TEST(NormalizeDomain, RejectsALabelsOfDisallowedULabels) {
    for (const char* input :
         {"xn--bsherr.example",
          "XN--BSHERR.example",
          "xn--bsHerr.exa1le",
          "mail.xn--ab-5y3n.example"}) {
        auto d = normalize_domain(input);
        ASSERT_FALSE(d) << input << " -> " << d->ascii << " / " << d->display;
        EXPECT_EQ(d.error(), Errc::InvalidDomain) << input;
    }
}

TEST(NormalizeDomain, LongestLabelAccepted) {
    auto d = normalize_domain(std::string(63, 'a') + ".example");
    EXPECT_TRUE(d);
}

TEST(SafeLocalPart, AcceptsConservativeSet) {
    for (const char* ok : {"a", "john.smith", "j_s", "j-s", "j+tag", "A1", "x.y.z"}) {
        EXPECT_TRUE(is_safe_local_part(ok)) << ok;
    }
    EXPECT_TRUE(is_safe_local_part(std::string(64, 'a')));
}

TEST(SafeLocalPart, RejectsUnsafe) {
    for (const std::string& bad :
         {""s,
          "../x"s,
          "a/b"s,
          ".hidden"s,
          "a\0b"s,
          "."s,
          ".."s,
          "a..b"s,
          "a."s,
          "-rf"s,
          "a b"s,
          "a\\b"s,
          "a\nb"s,
          "bücher"s,
          "a@b"s,
          "\"q\""s,
          std::string(65, 'a')}) {
        EXPECT_FALSE(is_safe_local_part(bad)) << bad;
    }
}

TEST(SafeAccountName, RequiresSafeLocalAndCanonicalDomain) {
    EXPECT_TRUE(is_safe_account_name("john@example.com"));
    EXPECT_TRUE(is_safe_account_name("john@xn--bcher-kva.example"));
    for (const std::string& bad :
         {""s,
          "john"s,
          "@example.com"s,
          "../x@example.com"s,
          "a/b@example.com"s,
          ".hidden@example.com"s,
          "a\0b@example.com"s,
          "john@Example.com"s,
          "john@bücher.example"s,
          "john@example.com/.."s,
          "john@a@example.com"s,
          "john@"s,
          "john@.."s,
          std::string(64, 'a') + "@" + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
              std::string(63, 'd')}) {
        EXPECT_FALSE(is_safe_account_name(bad)) << bad;
    }
}

TEST(SmtpLocalPart, DotStringAndQuotedString) {
    EXPECT_TRUE(is_valid_smtp_local_part("J.Smith"));
    EXPECT_TRUE(is_valid_smtp_local_part("o'brien+x=y"));
    EXPECT_TRUE(is_valid_smtp_local_part("\"john smith\""));
    EXPECT_TRUE(is_valid_smtp_local_part("\"a\\\"b\""));
    EXPECT_TRUE(is_valid_smtp_local_part("用户"));  // RFC 6531
    EXPECT_FALSE(is_valid_smtp_local_part("a..b"));
    EXPECT_FALSE(is_valid_smtp_local_part("a b"));
    EXPECT_FALSE(is_valid_smtp_local_part("\"unterminated"));
    EXPECT_FALSE(is_valid_smtp_local_part("\"a\"b\""));
    EXPECT_FALSE(is_valid_smtp_local_part("\"a\\\""));
    EXPECT_FALSE(is_valid_smtp_local_part("a\xff"));
    EXPECT_FALSE(is_valid_smtp_local_part(std::string("a\0b", 3)));
}

TEST(SplitAddress, LastAtAndUnquoting) {
    auto p = split_address("\"John\"@Example.COM");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->local, "John");
    EXPECT_EQ(p->domain, "Example.COM");
    EXPECT_TRUE(p->quoted);

    auto q = split_address("\"a@b\\\"c\"@x.example");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->local, "a@b\"c");
    EXPECT_EQ(q->domain, "x.example");

    EXPECT_FALSE(split_address("no-at-sign"));
    EXPECT_FALSE(split_address("\"bad\"quote\"@x"));
    EXPECT_FALSE(split_address(std::string(300, 'a') + "@x.example"));
}

TEST(NormalizeLocalAddress, LowercasesLocalKeepsDisplay) {
    auto a = normalize_local_address("John.Smith@Bücher.Example");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->canonical(), "john.smith@xn--bcher-kva.example");
    EXPECT_EQ(a->display(), "John.Smith@bücher.example");
    EXPECT_TRUE(is_safe_account_name(a->canonical()));
}

TEST(NormalizeLocalAddress, RejectsUnsafeLocalParts) {
    for (const std::string& bad :
         {"../x@example.com"s,
          "a/b@example.com"s,
          ".hidden@example.com"s,
          "a\0b@example.com"s,
          "@example.com"s,
          "bücher@example.com"s}) {
        auto a = normalize_local_address(bad);
        ASSERT_FALSE(a) << bad;
        EXPECT_EQ(a.error(), Errc::InvalidAddress) << bad;
    }
    EXPECT_EQ(normalize_local_address("x@bad_domain").error(), Errc::InvalidDomain);
}

TEST(NormalizeExternalAddress, KeepsLocalPartVerbatim) {
    auto a = normalize_external_address("Fred.Bloggs@Bücher.EXAMPLE");
    ASSERT_TRUE(a);
    EXPECT_EQ(*a, "Fred.Bloggs@xn--bcher-kva.example");
    auto q = normalize_external_address("\"odd one\"@example.org");
    ASSERT_TRUE(q);
    EXPECT_EQ(*q, "\"odd one\"@example.org");
    EXPECT_FALSE(normalize_external_address("a b@example.org"));
    EXPECT_FALSE(normalize_external_address("user@"));
}

TEST(Subaddress, BaseBeforeFirstSeparator) {
    EXPECT_EQ(subaddress_base("user+tag", '+'), "user");
    EXPECT_EQ(subaddress_base("user+a+b", '+'), "user");
    EXPECT_EQ(subaddress_base("user", '+'), "");
    EXPECT_EQ(subaddress_base("+tag", '+'), "");
    EXPECT_EQ(subaddress_base("user-tag", '-'), "user");
}

TEST(Errors, CategoryHasMessages) {
    const std::error_code ec = Errc::InvalidDomain;
    EXPECT_EQ(ec.category().name(), std::string("sov.accounts"));
    EXPECT_EQ(ec.message(), "invalid domain name");
    EXPECT_NE(std::error_code(Errc::Storage).message(), "unknown error");
}

}  // namespace
}  // namespace sov::accounts
