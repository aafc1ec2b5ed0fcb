#include "mailauth/auth_results.hpp"

#include <gtest/gtest.h>

namespace sov::mailauth {
namespace {

TEST(AuthResults, FormatsOneResinfoPerLine) {
    const std::vector<AuthResult> results{
        {.method = "spf",
         .result = "pass",
         .reason = "",
         .properties = {{"smtp.mailfrom", "alice@example.com"}, {"smtp.helo", "mail.example.com"}}},
        {.method = "dkim",
         .result = "fail",
         .reason = "body hash did not verify",
         .properties = {{"header.d", "example.com"}, {"header.b", "ab/C+d="}}},
        {.method = "dmarc",
         .result = "pass",
         .reason = "",
         .properties = {{"header.from", "example.com"}}},
    };
    EXPECT_EQ(
        format_authentication_results("mx.example.org", results),
        "Authentication-Results: mx.example.org;\r\n"
        "\tspf=pass smtp.mailfrom=alice@example.com smtp.helo=mail.example.com;\r\n"
        "\tdkim=fail reason=\"body hash did not verify\" header.d=example.com "
        "header.b=\"ab/C+d=\";\r\n"
        "\tdmarc=pass header.from=example.com\r\n"
    );
}

TEST(AuthResults, NoResultsIsNone) {
    EXPECT_EQ(
        format_authentication_results("mx.example.org", {}),
        "Authentication-Results: mx.example.org; none\r\n"
    );
}

TEST(AuthResults, HostileValuesAreQuotedWithoutLineBreaks) {
    const std::vector<AuthResult> results{
        {.method = "spf",
         .result = "fail",
         .reason = "a \"quote\"\r\nInjected: yes",
         .properties = {{"smtp.mailfrom", "we ird@exa;mple.com"}}},
    };
    const auto field = format_authentication_results("mx.example.org", results);
    EXPECT_EQ(field.find("\r\nInjected"), std::string::npos);
    EXPECT_NE(field.find("reason=\"a \\\"quote\\\"Injected: yes\""), std::string::npos) << field;
    EXPECT_NE(field.find("smtp.mailfrom=\"we ird@exa;mple.com\""), std::string::npos) << field;
}

TEST(AuthResults, AuthservIdSkipsCommentsAndReadsQuotedStrings) {
    EXPECT_EQ(authserv_id_of(" mx.example.org; spf=pass"), "mx.example.org");
    EXPECT_EQ(authserv_id_of(" (a (nested) comment)\r\n mx.example.org 1; none"), "mx.example.org");
    EXPECT_EQ(authserv_id_of(" \"mx.example.org\"; none"), "mx.example.org");
    EXPECT_EQ(authserv_id_of(" (unterminated"), std::nullopt);
    EXPECT_EQ(authserv_id_of(" ;spf=pass"), std::nullopt);
    EXPECT_EQ(authserv_id_of(""), std::nullopt);
}

TEST(AuthResults, RemovesOnlyFieldsClaimingOurId) {
    const std::string message =
        "Received: from a by b\r\n"
        "Authentication-Results: MX.example.org;\r\n"
        "\tdkim=pass header.d=bank.example\r\n"
        "authentication-results : other.example; spf=pass\r\n"
        "ARC-Authentication-Results: i=1; mx.example.org; spf=pass\r\n"
        "Authentication-Results: (forged) mx.example.org; dmarc=pass\r\n"
        "Subject: hi\r\n"
        "\r\n"
        "Authentication-Results: mx.example.org; body text stays\r\n";
    std::size_t removed = 0;
    EXPECT_EQ(
        remove_authentication_results(message, "mx.example.org", &removed),
        "Received: from a by b\r\n"
        "authentication-results : other.example; spf=pass\r\n"
        "ARC-Authentication-Results: i=1; mx.example.org; spf=pass\r\n"
        "Subject: hi\r\n"
        "\r\n"
        "Authentication-Results: mx.example.org; body text stays\r\n"
    );
    EXPECT_EQ(removed, 2U);
}

TEST(AuthResults, MessageWithoutBodyOrOurFieldsIsUnchanged) {
    const std::string message = "Subject: x\r\nFrom: a@b.c\r\n";
    std::size_t removed = 9;
    EXPECT_EQ(remove_authentication_results(message, "mx.example.org", &removed), message);
    EXPECT_EQ(removed, 0U);
}

}  // namespace
}  // namespace sov::mailauth
