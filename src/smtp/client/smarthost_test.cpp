#include "smtp/client/smarthost.hpp"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "smtp/queue/runner.hpp"
#include "support/temp_dir.hpp"

namespace sov::smtp::client {
namespace {

TEST(Smarthost, MechanismChoicePrefersPlain) {
    EXPECT_EQ(choose_mechanism("LOGIN PLAIN"), SaslChoice::Plain);
    EXPECT_EQ(choose_mechanism("plain"), SaslChoice::Plain);
    EXPECT_EQ(choose_mechanism("CRAM-MD5 LOGIN"), SaslChoice::Login);
    EXPECT_EQ(choose_mechanism("SCRAM-SHA-256 CRAM-MD5"), SaslChoice::None);
    EXPECT_EQ(choose_mechanism("PLAINX LOGINY"), SaslChoice::None);
    EXPECT_EQ(choose_mechanism(""), SaslChoice::None);
}

TEST(Smarthost, PlainResponseIsRfc4616) {
    // RFC 4616 §4 example: "\0tim\0tanstaaftanstaaf".
    EXPECT_EQ(sasl_plain_response("tim", "tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("user@example.org"), "dXNlckBleGFtcGxlLm9yZw==");
}

TEST(Smarthost, PasswordFile) {
    test::TempDir dir;
    const auto path = dir.path() / "relay.pw";
    {
        std::ofstream out(path, std::ios::binary);
        out << "s3cret pass\r\nsecond line ignored\n";
    }
    ::chmod(path.c_str(), 0600);
    std::string warning;
    auto password = read_password_file(path, warning);
    ASSERT_TRUE(password);
    EXPECT_EQ(*password, "s3cret pass");
    EXPECT_TRUE(warning.empty());

    ::chmod(path.c_str(), 0644);
    password = read_password_file(path, warning);
    ASSERT_TRUE(password);
    EXPECT_NE(warning.find("readable by every user"), std::string::npos);

    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
    }
    EXPECT_FALSE(read_password_file(path, warning));
    EXPECT_FALSE(read_password_file(dir.path() / "missing", warning));
}

TEST(Smarthost, NextHopSelection) {
    SmarthostSettings none;
    EXPECT_FALSE(none.enabled());
    EXPECT_EQ(queue::next_hop_key("example.com", false, none), "example.com");
    EXPECT_EQ(queue::next_hop_key("ours.example", true, none), "ours.example");

    SmarthostSettings relay;
    relay.host = "smtp.provider.example";
    ASSERT_TRUE(relay.enabled());
    // Every remote domain shares one key (one connection may carry them all); local stays local.
    EXPECT_EQ(queue::next_hop_key("example.com", false, relay), queue::kSmarthostKey);
    EXPECT_EQ(queue::next_hop_key("example.net", false, relay), queue::kSmarthostKey);
    EXPECT_EQ(queue::next_hop_key("ours.example", true, relay), "ours.example");
}

TEST(RequireTls, TlsRequiredHeader) {
    using queue::tls_required_no;
    EXPECT_TRUE(tls_required_no("From: a@b\r\nTLS-Required: No\r\n\r\nbody\r\n"));
    EXPECT_TRUE(tls_required_no("tls-required:no\r\n\r\n"));
    EXPECT_TRUE(tls_required_no("TLS-Required:\r\n No\r\nSubject: x\r\n\r\n"));  // folded
    EXPECT_FALSE(tls_required_no("TLS-Required: Yes\r\n\r\n"));
    EXPECT_FALSE(tls_required_no("TLS-Required-X: No\r\n\r\n"));
    EXPECT_FALSE(tls_required_no("Subject: x\r\n\r\nTLS-Required: No\r\n"));  // in the body
    EXPECT_FALSE(tls_required_no(""));
}

}  // namespace
}  // namespace sov::smtp::client
