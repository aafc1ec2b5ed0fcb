#include "smtp/queue/runner.hpp"

#include <gtest/gtest.h>

namespace sov::smtp::queue {
namespace {

// ---- tls_required_no (RFC 8689 §3) ----

TEST(TlsRequiredNo, PlainField) {
    EXPECT_TRUE(tls_required_no("TLS-Required: No\r\nSubject: x\r\n\r\nbody\r\n"));
    EXPECT_TRUE(tls_required_no("Subject: x\r\nTLS-Required: No\r\n\r\n"));
}

TEST(TlsRequiredNo, NameAndValueAnyCaseAndWhitespace) {
    EXPECT_TRUE(tls_required_no("tls-required: no\r\n\r\n"));
    EXPECT_TRUE(tls_required_no("TLS-REQUIRED:NO\r\n\r\n"));
    EXPECT_TRUE(tls_required_no("TLS-Required:\t No \t\r\n\r\n"));
}

TEST(TlsRequiredNo, FoldedValue) {
    EXPECT_TRUE(tls_required_no("TLS-Required:\r\n No\r\n\r\n"));
    EXPECT_TRUE(tls_required_no("TLS-Required: N\r\n o\r\nSubject: x\r\n\r\n"));
}

TEST(TlsRequiredNo, OtherValuesAreNotNo) {
    EXPECT_FALSE(tls_required_no("TLS-Required: Yes\r\n\r\n"));
    EXPECT_FALSE(tls_required_no("TLS-Required: No thanks\r\n\r\n"));
    EXPECT_FALSE(tls_required_no("TLS-Required: No\r\n please\r\n\r\n"));
    EXPECT_FALSE(tls_required_no("TLS-Required:\r\n\r\n"));
}

TEST(TlsRequiredNo, OnlyTheHeaderSectionCounts) {
    EXPECT_FALSE(tls_required_no("Subject: x\r\n\r\nTLS-Required: No\r\n"));
    EXPECT_FALSE(tls_required_no("\r\nTLS-Required: No\r\n"));
    EXPECT_FALSE(tls_required_no("X-TLS-Required: No\r\n\r\n"));
    EXPECT_FALSE(tls_required_no("Subject: TLS-Required: No\r\n\r\n"));
    EXPECT_FALSE(tls_required_no(""));
}

TEST(TlsRequiredNo, BareLineFeedsAndNoFinalLineEnd) {
    EXPECT_TRUE(tls_required_no("Subject: x\nTLS-Required: No\n\nbody"));
    EXPECT_TRUE(tls_required_no("TLS-Required: No"));
    EXPECT_FALSE(tls_required_no("TLS-Required: N"));
}

// ---- dsn_envelope (RFC 8689 §5, RFC 3461 §6.2) ----

MessageEnvelope original_envelope() {
    return MessageEnvelope{
        .sender = "alice@example.org",
        .envid = "abc",
        .ret_headers = true,
        .smtputf8 = true,
        .eight_bit = true,
        .requiretls = false,
        .auth = "alice",
    };
}

TEST(DsnEnvelope, FromTheNullSender) {
    const auto e = dsn_envelope(original_envelope());
    EXPECT_EQ(e.sender, "");
    EXPECT_EQ(e.envid, "");
    EXPECT_FALSE(e.ret_headers);
    EXPECT_EQ(e.auth, "");
    EXPECT_TRUE(e.smtputf8);
    EXPECT_TRUE(e.eight_bit);
    EXPECT_FALSE(e.requiretls);
}

TEST(DsnEnvelope, RequireTlsCarriedOver) {
    auto original = original_envelope();
    original.requiretls = true;
    EXPECT_TRUE(dsn_envelope(original).requiretls);
    // A relayed message (forwarded, an alias) bounces the same way: the flag travels with the
    // message in its envelope, whoever queued it.
    original.auth.clear();
    original.smtputf8 = false;
    original.eight_bit = false;
    const auto e = dsn_envelope(original);
    EXPECT_TRUE(e.requiretls);
    EXPECT_FALSE(e.smtputf8);
    EXPECT_EQ(e.sender, "");
}

}  // namespace
}  // namespace sov::smtp::queue
