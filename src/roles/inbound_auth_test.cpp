#include "roles/inbound_auth.hpp"

#include <gtest/gtest.h>

#include "mailauth/dkim_sign.hpp"
#include "mailauth/static_dns.hpp"
#include "support/run_awaitable.hpp"

namespace sov::roles {
namespace {

constexpr std::string_view kField = "Authentication-Results: mx.example.org; none\r\n";

TEST(WithAuthenticationResults, GoesBelowOurTraceFieldsAndReplacesForgeries) {
    const std::string message =
        "Return-Path: <a@example.com>\r\n"
        "Received: from client.example.com\r\n"
        "\tby mx.example.org; Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        "Authentication-Results: mx.example.org; dkim=pass header.d=bank.example\r\n"
        "Received: from elsewhere\r\n"
        "Subject: hi\r\n"
        "\r\n"
        "Authentication-Results: mx.example.org; body\r\n";
    EXPECT_EQ(
        with_authentication_results(message, kField, "mx.example.org"),
        "Return-Path: <a@example.com>\r\n"
        "Received: from client.example.com\r\n"
        "\tby mx.example.org; Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        "Authentication-Results: mx.example.org; none\r\n"
        "Received: from elsewhere\r\n"
        "Subject: hi\r\n"
        "\r\n"
        "Authentication-Results: mx.example.org; body\r\n"
    );
}

TEST(WithAuthenticationResults, WithoutTraceFieldsGoesOnTop) {
    EXPECT_EQ(
        with_authentication_results("Subject: x\r\n\r\nbody", kField, "mx.example.org"),
        std::string(kField) + "Subject: x\r\n\r\nbody"
    );
}

}  // namespace
}  // namespace sov::roles

// ------------------------------------------------------------------------------ the whole check

namespace sov::roles {
namespace {

namespace asio = boost::asio;
namespace ma = sov::mailauth;

smtp::server::SessionInfo session_from(std::string ip) {
    return {
        .id = "t1",
        .client_ip = std::move(ip),
        .helo = "mx.sender.example",
        .tls = false,
        .auth_identity = "",
        .protocol = smtp::wire::Protocol::Smtp,
    };
}

smtp::wire::Envelope envelope_from(std::string local, std::string domain) {
    smtp::wire::Envelope e;
    e.reverse_path.mailbox = {std::move(local), std::move(domain)};
    return e;
}

struct Fixture {
    ma::StaticDns dns;
    std::optional<ma::Signer> signer;

    Fixture() {
        dns.add_txt("sender.example", "v=spf1 ip4:192.0.2.1 -all");
        dns.add_txt("_dmarc.sender.example", "v=DMARC1; p=reject");
        auto key = ma::PrivateKey::generate(ma::KeyAlgorithm::Ed25519);
        EXPECT_TRUE(key);
        dns.add_txt("sel._domainkey.sender.example", key->dns_record());
        std::vector<ma::SigningKey> keys;
        keys.push_back({.selector = "sel", .key = std::move(*key)});
        signer.emplace("sender.example", std::move(keys));
    }

    std::string signed_message(const std::string& message) {
        auto fields = signer->sign(message);
        EXPECT_TRUE(fields);
        return *fields + message;
    }

    AuthVerdict check(
        std::string ip,
        std::string message,
        core::DmarcEnforcement enforcement = core::DmarcEnforcement::Record,
        boost::asio::thread_pool* pool = nullptr
    ) {
        InboundAuthenticator auth(
            dns,
            {.authserv_id = "mx.example.org",
             .hostname = "mx.example.org",
             .dmarc_enforcement = enforcement,
             .pool = pool}
        );
        return test::run_awaitable(auth.evaluate(
            session_from(std::move(ip)),
            envelope_from("alice", "sender.example"),
            std::move(message)
        ));
    }
};

const std::string kMessage =
    "From: Alice <alice@sender.example>\r\nTo: bob@example.org\r\nSubject: hi\r\n"
    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nHello.\r\n";

const ma::AuthResult& only(const AuthVerdict& v, std::string_view method) {
    const ma::AuthResult* found = nullptr;
    for (const auto& r : v.results) {
        if (r.method == method) {
            EXPECT_EQ(found, nullptr) << "one " << method << " result";
            found = &r;
        }
    }
    EXPECT_NE(found, nullptr) << method;
    return *found;
}

TEST(InboundAuthenticator, AuthorisedAndSignedPassesEverything) {
    Fixture f;
    const auto v = f.check("192.0.2.1", f.signed_message(kMessage));
    EXPECT_EQ(only(v, "spf").result, "pass");
    EXPECT_EQ(only(v, "dkim").result, "pass");
    EXPECT_EQ(only(v, "dmarc").result, "pass");
    EXPECT_EQ(only(v, "arc").result, "none");
    EXPECT_FALSE(v.refusal);
    EXPECT_TRUE(v.header.starts_with("Authentication-Results: mx.example.org;\r\n\tspf=pass "))
        << v.header;
}

TEST(InboundAuthenticator, SignaturesVerifiedOnTheWorkerPool) {
    Fixture f;
    boost::asio::thread_pool pool(1);
    const auto good =
        f.check("192.0.2.1", f.signed_message(kMessage), core::DmarcEnforcement::Record, &pool);
    EXPECT_EQ(only(good, "dkim").result, "pass");
    auto tampered = f.signed_message(kMessage);
    tampered.replace(tampered.find("Hello."), 6, "Hullo.");
    const auto bad = f.check("192.0.2.1", tampered, core::DmarcEnforcement::Record, &pool);
    EXPECT_EQ(only(bad, "dkim").result, "fail");
    pool.join();
}

TEST(InboundAuthenticator, SpoofedUnsignedFailsDmarcAndIsRefusedOnlyWhenEnforcing) {
    Fixture f;
    const auto recorded = f.check("198.51.100.7", kMessage);
    EXPECT_EQ(only(recorded, "spf").result, "fail");
    EXPECT_EQ(only(recorded, "dkim").result, "none");
    EXPECT_EQ(only(recorded, "dmarc").result, "fail");
    EXPECT_FALSE(recorded.refusal);

    const auto enforced = f.check("198.51.100.7", kMessage, core::DmarcEnforcement::Reject);
    ASSERT_TRUE(enforced.refusal);
    EXPECT_EQ(enforced.refusal->code, 550);
    EXPECT_EQ(enforced.refusal->enhanced, "5.7.1");
}

// SIGHUP (roles/server.cpp): the next message is checked with the new settings, and its
// verdict says which authserv-id its header names (local delivery and ARC seals use that one).
TEST(InboundAuthenticator, ReloadAppliesToTheNextMessage) {
    Fixture f;
    InboundAuthenticator auth(
        f.dns,
        {.authserv_id = "mx.example.org",
         .hostname = "mx.example.org",
         .dmarc_enforcement = core::DmarcEnforcement::Record,
         .pool = nullptr}
    );
    const auto evaluate = [&] {
        return test::run_awaitable(auth.evaluate(
            session_from("198.51.100.7"), envelope_from("alice", "sender.example"), kMessage
        ));
    };
    const auto before = evaluate();
    EXPECT_FALSE(before.refusal);
    EXPECT_EQ(before.authserv_id, "mx.example.org");
    auth.reload(
        {.authserv_id = "auth.example.org",
         .hostname = "mx.example.org",
         .dmarc_enforcement = core::DmarcEnforcement::Reject,
         .pool = nullptr}
    );
    const auto after = evaluate();
    ASSERT_TRUE(after.refusal);
    EXPECT_EQ(after.refusal->code, 550);
    EXPECT_EQ(after.authserv_id, "auth.example.org");
    EXPECT_TRUE(after.header.starts_with("Authentication-Results: auth.example.org;"))
        << after.header;
}

TEST(InboundAuthenticator, SignatureAlonePassesDmarcFromAnywhere) {
    Fixture f;
    const auto v = f.check("198.51.100.7", f.signed_message(kMessage));
    EXPECT_EQ(only(v, "spf").result, "fail");
    EXPECT_EQ(only(v, "dmarc").result, "pass");
}

TEST(InboundAuthenticator, DnsFailureIsTemporaryNotFail) {
    Fixture f;
    f.dns.fail("sender.example", dns::RrType::TXT);
    f.dns.fail("_dmarc.sender.example", dns::RrType::TXT);
    const auto v = f.check("192.0.2.1", kMessage, core::DmarcEnforcement::Reject);
    EXPECT_EQ(only(v, "spf").result, "temperror");
    EXPECT_EQ(only(v, "dmarc").result, "temperror");
    EXPECT_FALSE(v.refusal) << "never reject on a DNS failure";
}

}  // namespace
}  // namespace sov::roles
