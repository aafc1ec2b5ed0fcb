#include "smtp/wire/address.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sov::smtp::wire {
namespace {

PathResult fwd(std::string_view s, bool utf8 = false) {
    return parse_path(s, PathKind::Forward, utf8);
}

TEST(Address, SimpleMailbox) {
    const auto r = fwd("<user@example.org> NOTIFY=NEVER");
    ASSERT_EQ(r.status, AddressStatus::Ok);
    EXPECT_EQ(r.path.mailbox.local_part, "user");
    EXPECT_EQ(r.path.mailbox.domain, "example.org");
    EXPECT_EQ(r.rest, " NOTIFY=NEVER");
    EXPECT_EQ(r.path.to_string(), "user@example.org");
}

TEST(Address, NullPathOnlyForReverse) {
    const auto r = parse_path("<>", PathKind::Reverse, false);
    ASSERT_EQ(r.status, AddressStatus::Ok);
    EXPECT_TRUE(r.path.null);
    EXPECT_EQ(r.path.to_string(), "");
    EXPECT_NE(fwd("<>").status, AddressStatus::Ok);
}

TEST(Address, Postmaster) {
    const auto r = fwd("<postMaster>");
    ASSERT_EQ(r.status, AddressStatus::Ok);
    EXPECT_TRUE(r.path.postmaster);
    EXPECT_NE(parse_path("<Postmaster>", PathKind::Reverse, false).status, AddressStatus::Ok);
}

TEST(Address, QuotedLocalPart) {
    const auto r = fwd(R"(<"john \"q\" smith>"@example.org>)");
    ASSERT_EQ(r.status, AddressStatus::Ok);
    EXPECT_EQ(r.path.mailbox.local_part, R"(john "q" smith>)");
    EXPECT_EQ(r.path.to_string(), R"("john \"q\" smith>"@example.org)");
    EXPECT_EQ(fwd(R"(<"a.b"@x>)").path.to_string(), "a.b@x");
}

TEST(Address, SourceRouteIgnored) {
    const auto r = fwd("<@relay1.example,@relay2.example:user@example.org>");
    ASSERT_EQ(r.status, AddressStatus::Ok);
    EXPECT_EQ(r.path.to_string(), "user@example.org");
    EXPECT_NE(fwd("<@relay1.example user@example.org>").status, AddressStatus::Ok);
}

TEST(Address, AddressLiterals) {
    EXPECT_EQ(fwd("<a@[192.0.2.1]>").status, AddressStatus::Ok);
    EXPECT_EQ(fwd("<a@[IPv6:2001:db8::1]>").status, AddressStatus::Ok);
    EXPECT_EQ(fwd("<a@[x-tag:abc]>").status, AddressStatus::Ok);
    EXPECT_NE(fwd("<a@[192.0.2.256]>").status, AddressStatus::Ok);
    EXPECT_NE(fwd("<a@[1.2.3]>").status, AddressStatus::Ok);
    EXPECT_NE(fwd("<a@[IPv6:2001:db8::g]>").status, AddressStatus::Ok);
    EXPECT_NE(fwd("<a@[]>").status, AddressStatus::Ok);
}

TEST(Address, SyntaxErrors) {
    for (const char* bad :
         {"user@example.org",
          "<user@>",
          "<@example.org>",
          "<user>",
          "<us er@x>",
          "<a..b@x>",
          "<.a@x>",
          "<a.@x>",
          "<a@-x.org>",
          "<a@x-.org>",
          "<a@x..org>",
          "<a@x",
          "<\"a@x>",
          "<a@x.org.>",
          "<a\x01@x>"}) {
        EXPECT_EQ(fwd(bad, true).status, AddressStatus::Syntax) << bad;
    }
}

TEST(Address, LengthLimits) {
    // RFC 5321 §4.5.3.1: 64 octets local part, 255 domain, 256 path.
    EXPECT_EQ(fwd("<" + std::string(64, 'a') + "@x.org>").status, AddressStatus::Ok);
    EXPECT_EQ(fwd("<" + std::string(65, 'a') + "@x.org>").status, AddressStatus::LocalTooLong);
    std::string domain;
    while (domain.size() < 240) {
        domain += std::string(9, 'd') + ".";
    }
    domain += "org";
    EXPECT_EQ(fwd("<a@" + domain + ">").status, AddressStatus::Ok);
    EXPECT_EQ(
        fwd("<a@" + std::string(60, 'b') + "." + domain + ">").status, AddressStatus::PathTooLong
    );
}

TEST(Address, Utf8) {
    const std::string addr =
        "<j\xC3\xB6rg@b\xC3\xBC"
        "cher.example>";
    EXPECT_EQ(fwd(addr, false).status, AddressStatus::NeedsUtf8);
    const auto r = fwd(addr, true);
    ASSERT_EQ(r.status, AddressStatus::Ok);
    EXPECT_TRUE(r.path.utf8);
    EXPECT_EQ(fwd("<j\xC3(rg@x>", true).status, AddressStatus::BadUtf8);
    EXPECT_EQ(fwd("<a\xC0\xAF@x>", true).status, AddressStatus::BadUtf8);      // overlong '/'
    EXPECT_EQ(fwd("<a\xED\xA0\x80@x>", true).status, AddressStatus::BadUtf8);  // surrogate
}

TEST(Address, Utf8Validator) {
    EXPECT_TRUE(valid_utf8(""));
    EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80"));
    EXPECT_FALSE(valid_utf8("\xF0\x9F\x98"));
    EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
    EXPECT_FALSE(valid_utf8("\xFF"));
}

TEST(Address, EsmtpParams) {
    std::vector<EsmtpParam> p;
    ASSERT_TRUE(parse_esmtp_params(" SIZE=100  BODY=8BITMIME SMTPUTF8", p));
    ASSERT_EQ(p.size(), 3U);
    EXPECT_EQ(p[0].keyword, "SIZE");
    EXPECT_EQ(p[0].value, "100");
    EXPECT_TRUE(p[0].has_value);
    EXPECT_EQ(p[2].keyword, "SMTPUTF8");
    EXPECT_FALSE(p[2].has_value);
    for (const char* bad : {" =x", " SIZE=", " SIZE==1", " -A=1", " A=b=c", " A\x01"}) {
        std::vector<EsmtpParam> q;
        EXPECT_FALSE(parse_esmtp_params(bad, q)) << bad;
    }
}

TEST(Address, Xtext) {
    std::string out;
    ASSERT_TRUE(xtext_decode("rfc822+3Bjoe+2Bx@example.org", out));
    EXPECT_EQ(out, "rfc822;joe+x@example.org");
    std::string bad;
    EXPECT_FALSE(xtext_decode("a+3", bad));
    EXPECT_FALSE(xtext_decode("a+3b", bad));  // hexchar is upper case only (RFC 3461 §4)
    EXPECT_FALSE(xtext_decode("a=b", bad));
    EXPECT_FALSE(xtext_decode("a b", bad));
    const std::string raw = "a+b=c d\xC3\xA9";
    std::string round;
    ASSERT_TRUE(xtext_decode(xtext_encode(raw), round));
    EXPECT_EQ(round, raw);
}

}  // namespace
}  // namespace sov::smtp::wire
