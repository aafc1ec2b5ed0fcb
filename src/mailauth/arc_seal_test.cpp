#include "mailauth/arc_seal.hpp"

#include <functional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "mailauth/arc_verify.hpp"
#include "mailauth/errors.hpp"
#include "mailauth/static_dns.hpp"
#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;

const PrivateKey& rsa_key() {
    static const PrivateKey key = *PrivateKey::generate(KeyAlgorithm::Rsa, 2048);
    return key;
}

const PrivateKey& ed_key() {
    static const PrivateKey key = *PrivateKey::generate(KeyAlgorithm::Ed25519);
    return key;
}

constexpr std::string_view kMessage =
    "DKIM-Signature: v=1; a=rsa-sha256; d=origin.example; s=x; h=from; bh=x; b=y\r\n"
    "From: Alice <alice@origin.example>\r\n"
    "To: list@lists.example\r\n"
    "Subject: hello\r\n"
    "Date: Thu, 14 Jan 2015 15:00:01 -0800\r\n"
    "Message-ID: <1@origin.example>\r\n"
    "\r\n"
    "Hello,  world \r\n"
    "\r\n";

struct Hop {
    std::string domain;
    std::string selector;
    const PrivateKey* key;
};

// Publishes the hop's key and returns the request to seal with it.
ArcSealRequest request_for(const Hop& hop, StaticDns& dns, ArcCv chain) {
    dns.add_txt(hop.selector + "._domainkey." + hop.domain, hop.key->dns_record());
    return ArcSealRequest{
        .domain = hop.domain,
        .key = {hop.selector, *hop.key},
        .authentication_results = hop.domain + "; spf=pass smtp.mailfrom=origin.example",
        .chain = chain,
        .timestamp = 1700000000,
    };
}

// One forwarding hop: validate what arrived, maybe modify it (a mailing list), seal with the
// cv found on arrival, prepend the set.
std::string forward(
    std::string message,
    const Hop& hop,
    StaticDns& dns,
    const std::function<void(std::string&)>& modify = {}
) {
    const auto received = test::run_awaitable(verify_arc(dns, message));
    if (modify) {
        modify(message);
    }
    auto sealed = arc_seal(message, request_for(hop, dns, received.cv));
    EXPECT_TRUE(sealed) << sealed.error().message();
    return *sealed + message;
}

TEST(ArcSeal, ProducesThreeFieldsInRfcOrder) {
    StaticDns dns;
    const auto request = request_for({"fwd.example", "arc1", &rsa_key()}, dns, ArcCv::None);
    const auto sealed = arc_seal(kMessage, request);
    ASSERT_TRUE(sealed) << sealed.error().message();
    const std::string message = *sealed + std::string(kMessage);
    const auto split = split_message(message);
    ASSERT_EQ(split.status, SplitMessage::Status::Ok);
    ASSERT_GE(split.fields.size(), 3U);
    EXPECT_EQ(split.fields[0].name, "ARC-Seal");
    EXPECT_EQ(split.fields[1].name, "ARC-Message-Signature");
    EXPECT_EQ(split.fields[2].name, "ARC-Authentication-Results");
    EXPECT_TRUE(split.fields[0].raw.starts_with("ARC-Seal: i=1; a=rsa-sha256; cv=none;"));
    EXPECT_TRUE(split.fields[1].raw.starts_with("ARC-Message-Signature: i=1; a=rsa-sha256;"));
    EXPECT_EQ(
        split.fields[2].raw,
        "ARC-Authentication-Results: i=1; fwd.example; spf=pass smtp.mailfrom=origin.example"
    );

    const auto ams = parse_arc_message_signature(split.fields[1].raw);
    ASSERT_EQ(ams.status, ArcFieldStatus::Ok);
    EXPECT_EQ(ams.header_canon, Canon::Relaxed);
    EXPECT_EQ(ams.body_canon, Canon::Relaxed);
    EXPECT_EQ(ams.timestamp, 1700000000U);
    // §4.1.2: DKIM-Signature signed; ARC fields and Authentication-Results never.
    const std::vector<std::string_view> expected = {
        "from", "subject", "date", "to", "message-id", "dkim-signature"
    };
    EXPECT_EQ(ams.signed_headers, expected);

    // AS and AMS folded at 78 columns (the AAR payload is the caller's, folded as given).
    std::istringstream lines(sealed->substr(0, sealed->find("ARC-Authentication-Results")));
    for (std::string line; std::getline(lines, line);) {
        EXPECT_LE(line.size(), 79U) << line;  // + the CR
    }
}

TEST(ArcSeal, DeterministicForATimestamp) {
    StaticDns dns;
    const auto request = request_for({"fwd.example", "ed", &ed_key()}, dns, ArcCv::None);
    const auto a = arc_seal(kMessage, request);
    const auto b = arc_seal(kMessage, request);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, *b);
    auto later = request;
    later.timestamp = 1700000001;
    EXPECT_NE(*a, *arc_seal(kMessage, later));
}

TEST(ArcSeal, RoundTripOneHop) {
    StaticDns dns;
    for (const auto* key : {&rsa_key(), &ed_key()}) {
        const std::string selector(to_string(key->algorithm()));
        const std::string sealed =
            forward(std::string(kMessage), {"fwd.example", selector, key}, dns);
        const auto outcome = test::run_awaitable(verify_arc(dns, sealed));
        EXPECT_EQ(outcome.cv, ArcCv::Pass) << outcome.reason;
        EXPECT_EQ(outcome.instance, 1);
        EXPECT_EQ(outcome.oldest_pass, 0);
        EXPECT_EQ(outcome.domain, "fwd.example");
        EXPECT_EQ(outcome.selector, selector);
    }
}

TEST(ArcSeal, RoundTripTwoHopsWithModification) {
    StaticDns dns;
    std::string message = forward(std::string(kMessage), {"one.example", "rsa", &rsa_key()}, dns);
    // The second intermediary validates, then rewrites the subject (a mailing list tag) and
    // seals: AMS(1) no longer validates, the chain still does (§5.2 step 5 does not affect it).
    message = forward(message, {"two.example", "ed", &ed_key()}, dns, [](std::string& m) {
        m.replace(m.find("Subject: hello"), 14, "Subject: [list] hello");
    });

    const auto outcome = test::run_awaitable(verify_arc(dns, message));
    EXPECT_EQ(outcome.cv, ArcCv::Pass) << outcome.reason;
    EXPECT_EQ(outcome.instance, 2);
    EXPECT_EQ(outcome.oldest_pass, 2);
    EXPECT_EQ(outcome.domain, "two.example");
    EXPECT_NE(message.find("ARC-Seal: i=2; a=ed25519-sha256; cv=pass;"), std::string::npos);

    // A third hop that changes nothing: every AMS from 2 up validates.
    message = forward(message, {"three.example", "rsa", &rsa_key()}, dns);
    const auto third = test::run_awaitable(verify_arc(dns, message));
    EXPECT_EQ(third.cv, ArcCv::Pass) << third.reason;
    EXPECT_EQ(third.instance, 3);
    EXPECT_EQ(third.oldest_pass, 2);
}

TEST(ArcSeal, TamperingBreaksTheChain) {
    StaticDns dns;
    std::string message = forward(std::string(kMessage), {"one.example", "k", &rsa_key()}, dns);
    message = forward(message, {"two.example", "k", &rsa_key()}, dns);
    ASSERT_EQ(test::run_awaitable(verify_arc(dns, message)).cv, ArcCv::Pass);

    // The body: the newest AMS fails (§5.2 step 4).
    std::string body = message;
    body.replace(body.find("Hello"), 5, "Howdy");
    auto outcome = test::run_awaitable(verify_arc(dns, body));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "ams.2 body hash mismatch");

    // The first AAR: AS(1) and AS(2) cover it (§5.1.1).
    std::string aar = message;
    aar.replace(aar.find("i=1; one.example; spf=pass"), 26, "i=1; one.example; spf=fail");
    outcome = test::run_awaitable(verify_arc(dns, aar));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "as.2 signature does not verify");

    // A signed header: the newest AMS fails.
    std::string from = message;
    from.replace(from.find("From: Alice"), 11, "From: Mallory");
    EXPECT_EQ(test::run_awaitable(verify_arc(dns, from)).cv, ArcCv::Fail);

    // Removing one field of the newest set breaks the structure (§5.2 step 3.A).
    std::string no_aar = message;
    const auto aar2 = no_aar.find("ARC-Authentication-Results: i=2");
    no_aar.erase(aar2, no_aar.find("\r\n", aar2) + 2 - aar2);
    outcome = test::run_awaitable(verify_arc(dns, no_aar));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "ARC set without one of its three fields");

    // Removing the whole newest set leaves the first hop's message, which validates: ARC cannot
    // prevent that, the stripped custodian is simply no longer claimed.
    const auto first =
        test::run_awaitable(verify_arc(dns, message.substr(message.find("ARC-Seal: i=1"))));
    EXPECT_EQ(first.cv, ArcCv::Pass) << first.reason;
    EXPECT_EQ(first.instance, 1);
}

TEST(ArcSeal, SimpleCanonicalisationRoundTrip) {
    // With c=simple/simple the exact bytes of the AMS around b= matter (RFC 6376 §3.4.1).
    StaticDns dns;
    auto request = request_for({"fwd.example", "s", &rsa_key()}, dns, ArcCv::None);
    request.header_canon = Canon::Simple;
    request.body_canon = Canon::Simple;
    for (auto order : {ArcTagOrder::Rfc, ArcTagOrder::Alphabetical}) {
        request.tag_order = order;
        const auto sealed = arc_seal(kMessage, request);
        ASSERT_TRUE(sealed);
        const auto outcome = test::run_awaitable(verify_arc(dns, *sealed + std::string(kMessage)));
        EXPECT_EQ(outcome.cv, ArcCv::Pass) << outcome.reason;
    }
}

TEST(ArcSeal, AlphabeticalOrder) {
    StaticDns dns;
    auto request = request_for({"fwd.example", "s", &ed_key()}, dns, ArcCv::None);
    request.tag_order = ArcTagOrder::Alphabetical;
    const auto sealed = arc_seal(kMessage, request);
    ASSERT_TRUE(sealed);
    EXPECT_TRUE(sealed->starts_with("ARC-Seal: a=ed25519-sha256; b="));
    EXPECT_NE(
        sealed->find("cv=none; d=fwd.example; i=1; s=s; t=1700000000\r\n"), std::string::npos
    );
}

TEST(ArcSeal, FailedChainGetsASealOverTheNewSetOnly) {
    StaticDns dns;
    std::string message = forward(std::string(kMessage), {"one.example", "k", &ed_key()}, dns);
    message.replace(message.find("Hello"), 5, "Howdy");  // breaks AMS(1)
    ASSERT_EQ(test::run_awaitable(verify_arc(dns, message)).cv, ArcCv::Fail);
    message = forward(message, {"two.example", "k", &ed_key()}, dns);
    EXPECT_NE(message.find("ARC-Seal: i=2; a=ed25519-sha256; cv=fail;"), std::string::npos);

    // The chain stays failed (§5.2 step 2), with no lookups spent on it. (That the new AS
    // covers its own set alone, §5.1.2, is checked bit for bit by the suite's i1_base_fail.)
    const auto before = dns.queries();
    const auto outcome = test::run_awaitable(verify_arc(dns, message));
    EXPECT_EQ(outcome.cv, ArcCv::Fail);
    EXPECT_EQ(outcome.reason, "as.2 cv=fail");
    EXPECT_EQ(dns.queries(), before);

    // §5.1 step 2: nothing more is added to a chain marked failed.
    const auto again =
        arc_seal(message, request_for({"three.example", "k", &ed_key()}, dns, ArcCv::Fail));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, "");
}

TEST(ArcSeal, StopsAtFiftySets) {
    StaticDns dns;
    // Fifty hops that each found the chain passing (validated once, at the end).
    std::string message(kMessage);
    for (int i = 0; i < 50; ++i) {
        const auto cv = i == 0 ? ArcCv::None : ArcCv::Pass;
        auto sealed = arc_seal(message, request_for({"hop.example", "k", &ed_key()}, dns, cv));
        ASSERT_TRUE(sealed);
        message = *sealed + message;
    }
    const auto outcome = test::run_awaitable(verify_arc(dns, message));
    EXPECT_EQ(outcome.cv, ArcCv::Pass) << outcome.reason;
    EXPECT_EQ(outcome.instance, 50);
    const auto sealed =
        arc_seal(message, request_for({"hop.example", "k", &ed_key()}, dns, ArcCv::Pass));
    ASSERT_TRUE(sealed);
    EXPECT_EQ(*sealed, "");
}

TEST(ArcSeal, RejectsBadRequests) {
    StaticDns dns;
    auto request = request_for({"fwd.example", "s", &ed_key()}, dns, ArcCv::None);

    // A payload that would end the field and start another.
    request.authentication_results = "fwd.example; spf=pass\r\nX-Injected: yes";
    EXPECT_EQ(arc_seal(kMessage, request).error(), make_error_code(Errc::BadMessage));
    request.authentication_results = "fwd.example; spf=pass\nX: y";
    EXPECT_EQ(arc_seal(kMessage, request).error(), make_error_code(Errc::BadMessage));
    request.authentication_results = "  ";
    EXPECT_EQ(arc_seal(kMessage, request).error(), make_error_code(Errc::BadMessage));
    // Folding is fine.
    request.authentication_results = "fwd.example;\r\n\tspf=pass";
    EXPECT_TRUE(arc_seal(kMessage, request));

    // cv=pass claimed for a message without a chain, cv=none for one with a chain.
    request.chain = ArcCv::Pass;
    EXPECT_EQ(arc_seal(kMessage, request).error(), make_error_code(Errc::BadMessage));
    const std::string sealed = forward(std::string(kMessage), {"one.example", "k", &ed_key()}, dns);
    request.chain = ArcCv::None;
    EXPECT_EQ(arc_seal(sealed, request).error(), make_error_code(Errc::BadMessage));

    request.chain = ArcCv::None;
    EXPECT_EQ(
        arc_seal("no colon here\r\n\r\n", request).error(), make_error_code(Errc::BadMessage)
    );
}

TEST(ArcSeal, CallerHeaderListDropsArcAndAuthenticationResults) {
    StaticDns dns;
    auto request = request_for({"fwd.example", "s", &ed_key()}, dns, ArcCv::None);
    request.signed_headers = {"From", "ARC-Seal", "Authentication-Results", "Subject"};
    const auto sealed = arc_seal(kMessage, request);
    ASSERT_TRUE(sealed);
    EXPECT_NE(sealed->find("h=from:subject;"), std::string::npos) << *sealed;
}

TEST(ArcSeal, MergeAuthenticationResults) {
    const std::string message =
        "Authentication-Results: mx.example; arc=none;\r\n  spf=pass smtp.mfrom=a@b.c\r\n"
        "Authentication-Results: other.example; dkim=fail\r\n"
        "Authentication-Results: MX.example; dkim=pass (1024-bit; key) header.i=@b.c\r\n"
        "Authentication-Results: mx.example; none\r\n"
        "Authentication-Results: mx.example 1; dmarc=pass reason=\"a;b\"\r\n"
        "From: a@b.c\r\n\r\n";
    EXPECT_EQ(
        merge_authentication_results(message, "mx.example"),
        "mx.example; arc=none;\r\n spf=pass smtp.mfrom=a@b.c;\r\n dkim=pass (1024-bit; key) "
        "header.i=@b.c;\r\n dmarc=pass reason=\"a;b\""
    );
    EXPECT_EQ(merge_authentication_results(message, "nobody.example"), "");
}

}  // namespace
}  // namespace sov::mailauth
