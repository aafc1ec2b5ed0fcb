#include "mailauth/arc_verify.hpp"

#include <string>

#include <gtest/gtest.h>

#include "mailauth/arc_seal.hpp"
#include "mailauth/static_dns.hpp"
#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;

const PrivateKey& ed_key() {
    static const PrivateKey key = *PrivateKey::generate(KeyAlgorithm::Ed25519);
    return key;
}

const PrivateKey& rsa_key() {
    static const PrivateKey key = *PrivateKey::generate(KeyAlgorithm::Rsa, 1024);
    return key;
}

constexpr std::string_view kMessage =
    "From: alice@origin.example\r\n"
    "To: bob@fwd.example\r\n"
    "Subject: test\r\n"
    "\r\n"
    "body\r\n";

// Seals `message` as `domain` with selector "k" (the key is *not* published here).
std::string seal(
    std::string message,
    ArcCv cv,
    const PrivateKey& key = ed_key(),
    std::string domain = "fwd.example"
) {
    auto sealed = arc_seal(
        message,
        {.domain = domain,
         .key = {"k", key},
         .authentication_results = domain + "; dkim=pass",
         .chain = cv,
         .timestamp = 1700000000}
    );
    EXPECT_TRUE(sealed);
    return *sealed + message;
}

TEST(ArcVerify, NoChainIsNone) {
    StaticDns dns;
    const auto outcome = test::run_awaitable(verify_arc(dns, kMessage));
    EXPECT_EQ(outcome.cv, ArcCv::None);
    EXPECT_EQ(outcome.instance, 0);
    EXPECT_TRUE(outcome.reason.empty());
    EXPECT_EQ(dns.queries(), 0U);
    EXPECT_EQ(test::run_awaitable(verify_arc(dns, "")).cv, ArcCv::None);
    EXPECT_EQ(test::run_awaitable(verify_arc(dns, "\r\nbody only\r\n")).cv, ArcCv::None);
}

TEST(ArcVerify, PassAndKeyCache) {
    StaticDns dns;
    dns.add_txt("k._domainkey.fwd.example", ed_key().dns_record());
    const std::string two = seal(seal(std::string(kMessage), ArcCv::None), ArcCv::Pass);
    const auto before = dns.queries();
    const auto outcome = test::run_awaitable(verify_arc(dns, two));
    EXPECT_EQ(outcome.cv, ArcCv::Pass) << outcome.reason;
    EXPECT_EQ(outcome.instance, 2);
    EXPECT_EQ(outcome.oldest_pass, 0);
    EXPECT_EQ(outcome.domain, "fwd.example");
    EXPECT_EQ(outcome.selector, "k");
    // Two AMS and two AS under one key: one lookup.
    EXPECT_EQ(dns.queries() - before, 1U);
}

TEST(ArcVerify, MissingKeyFails) {
    StaticDns dns;
    const auto outcome =
        test::run_awaitable(verify_arc(dns, seal(std::string(kMessage), ArcCv::None)));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "ams.1 no key for signature");
    EXPECT_FALSE(outcome.temporary);
    EXPECT_EQ(outcome.instance, 1);
}

TEST(ArcVerify, DnsFailureIsAPermanentFailMarkedTemporary) {
    // §5.2.1: all failures are permanent; the flag lets the operator see why.
    StaticDns dns;
    dns.fail("k._domainkey.fwd.example", dns::RrType::TXT);
    const auto outcome =
        test::run_awaitable(verify_arc(dns, seal(std::string(kMessage), ArcCv::None)));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_TRUE(outcome.temporary);
}

TEST(ArcVerify, KeyOfAnotherAlgorithmFails) {
    StaticDns dns;
    dns.add_txt("k._domainkey.fwd.example", rsa_key().dns_record());
    const auto outcome =
        test::run_awaitable(verify_arc(dns, seal(std::string(kMessage), ArcCv::None)));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "ams.1 key algorithm differs from a=");
}

TEST(ArcVerify, WrongKeyFails) {
    StaticDns dns;
    const auto other = *PrivateKey::generate(KeyAlgorithm::Ed25519);
    dns.add_txt("k._domainkey.fwd.example", other.dns_record());
    const auto outcome =
        test::run_awaitable(verify_arc(dns, seal(std::string(kMessage), ArcCv::None)));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "ams.1 signature does not verify");
}

TEST(ArcVerify, CvValuesMustFollowTheChain) {
    // §5.2 step 3.C: cv=none at i=1, cv=pass above; checked before any signature.
    StaticDns dns;
    const std::string set1 =
        "ARC-Seal: i=1; a=rsa-sha256; cv=pass; d=x.example; s=s; b=Zg==\r\n"
        "ARC-Message-Signature: i=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=Zg==; b=Zg==\r\n"
        "ARC-Authentication-Results: i=1; x.example; none\r\n";
    auto outcome = test::run_awaitable(verify_arc(dns, set1 + std::string(kMessage)));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "as.1 cv=pass (expected none)");
    EXPECT_EQ(dns.queries(), 0U);

    std::string none_at_2 = seal(std::string(kMessage), ArcCv::None);
    none_at_2 = seal(none_at_2, ArcCv::Pass);
    none_at_2.replace(none_at_2.find("cv=pass"), 7, "cv=none");
    outcome = test::run_awaitable(verify_arc(dns, none_at_2));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "as.2 cv=none (expected pass)");
}

TEST(ArcVerify, MalformedFieldsFail) {
    StaticDns dns;
    dns.add_txt("k._domainkey.fwd.example", ed_key().dns_record());
    const std::string good = seal(std::string(kMessage), ArcCv::None);

    std::string aar = good;
    aar.replace(aar.find("i=1; fwd.example;"), 17, "i=1; ;");
    auto outcome = test::run_awaitable(verify_arc(dns, aar));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "aar.1 syntax error");

    std::string seal_h = good;
    seal_h.replace(seal_h.find("ARC-Seal: i=1;"), 14, "ARC-Seal: i=1; h=from;");
    outcome = test::run_awaitable(verify_arc(dns, seal_h));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "as.1 forbidden tag h");
}

TEST(ArcVerify, ExpiredAmsFailsOnlyWhenAsked) {
    StaticDns dns;
    dns.add_txt("k._domainkey.fwd.example", ed_key().dns_record());
    std::string message = seal(std::string(kMessage), ArcCv::None);
    message.replace(
        message.find("ARC-Message-Signature: i=1;"), 27, "ARC-Message-Signature: i=1; x=1000;"
    );
    auto outcome = test::run_awaitable(verify_arc(dns, message, {.now = 2000}));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "ams.1 expired");
    // Without a clock the x= is not looked at; the inserted tag breaks the signature though.
    outcome = test::run_awaitable(verify_arc(dns, message));
    EXPECT_EQ(outcome.reason, "ams.1 signature does not verify");
}

TEST(ArcVerify, OldestPassIsOptional) {
    StaticDns dns;
    dns.add_txt("k._domainkey.fwd.example", ed_key().dns_record());
    std::string message = seal(std::string(kMessage), ArcCv::None);
    // An intermediary that changes the subject after validating, then seals.
    message.replace(message.find("Subject: test"), 13, "Subject: [x] test");
    message = seal(message, ArcCv::Pass);

    auto outcome = test::run_awaitable(verify_arc(dns, message));
    EXPECT_EQ(outcome.cv, ArcCv::Pass) << outcome.reason;
    EXPECT_EQ(outcome.oldest_pass, 2);
    outcome = test::run_awaitable(verify_arc(dns, message, {.compute_oldest_pass = false}));
    EXPECT_EQ(outcome.cv, ArcCv::Pass);
    EXPECT_EQ(outcome.oldest_pass, 0);
}

TEST(ArcVerify, SealsOfDifferentDomains) {
    StaticDns dns;
    dns.add_txt("k._domainkey.one.example", rsa_key().dns_record());
    dns.add_txt("k._domainkey.two.example", ed_key().dns_record());
    std::string message = seal(std::string(kMessage), ArcCv::None, rsa_key(), "one.example");
    message = seal(message, ArcCv::Pass, ed_key(), "two.example");
    const auto outcome = test::run_awaitable(verify_arc(dns, message));
    EXPECT_EQ(outcome.cv, ArcCv::Pass) << outcome.reason;
    EXPECT_EQ(outcome.domain, "two.example");

    // Revoking the first key breaks AS(1) and so the chain.
    StaticDns revoked;
    revoked.add_txt("k._domainkey.one.example", "v=DKIM1; k=rsa; p=");
    revoked.add_txt("k._domainkey.two.example", ed_key().dns_record());
    const auto broken = test::run_awaitable(verify_arc(revoked, message));
    EXPECT_EQ(broken.cv, ArcCv::Fail);
    EXPECT_EQ(broken.reason, "as.1 key revoked");
}

}  // namespace
}  // namespace sov::mailauth
