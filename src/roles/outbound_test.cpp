#include "roles/outbound.hpp"

#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "mailauth/arc_verify.hpp"
#include "mailauth/static_dns.hpp"
#include "roles/outbound_setup.hpp"
#include "support/run_awaitable.hpp"

namespace sov::roles {
namespace {

constexpr std::int64_t kNow = 1'750'000'000;
constexpr const char* kDate = "Date: Sun, 15 Jun 2025 15:06:40 +0000\r\n";
constexpr const char* kHost = "mail.example.org";

// "Message-ID: <24 random chars@host>\r\n" at `pos`; returns the id's length or 0.
std::size_t message_id_at(const std::string& text, std::size_t pos) {
    static const std::regex kId(R"(^Message-ID: <[0-9a-z]{24}@mail\.example\.org>\r\n)");
    std::smatch m;
    const std::string rest = text.substr(pos);
    if (!std::regex_search(rest, m, kId, std::regex_constants::match_continuous)) {
        return 0;
    }
    return static_cast<std::size_t>(m.length(0));
}

// Checks `out` == prefix + Date? + Message-ID? + suffix.
void expect_added(
    const std::string& out, std::string_view prefix, bool date, bool id, std::string_view suffix
) {
    ASSERT_TRUE(out.starts_with(prefix)) << out;
    std::size_t pos = prefix.size();
    if (date) {
        ASSERT_EQ(out.substr(pos, std::string_view(kDate).size()), kDate) << out;
        pos += std::string_view(kDate).size();
    }
    if (id) {
        const auto n = message_id_at(out, pos);
        ASSERT_GT(n, 0u) << out;
        pos += n;
    }
    EXPECT_EQ(out.substr(pos), suffix) << out;
}

TEST(AddMissingFields, AddsBothAtTheEndOfTheHeader) {
    const auto out =
        add_missing_fields("From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n", kHost, kNow);
    expect_added(out, "From: a@example.org\r\nSubject: hi\r\n", true, true, "\r\nbody\r\n");
}

TEST(AddMissingFields, KeepsMessageWithBoth) {
    const std::string message =
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\nSubject: s\r\n\r\nb\r\n";
    EXPECT_EQ(add_missing_fields(message, kHost, kNow), message);
}

TEST(AddMissingFields, NamesAreCaseInsensitive) {
    const std::string message = "DATE: whenever\r\nMessage-Id: <x@y>\r\n\r\nb\r\n";
    EXPECT_EQ(add_missing_fields(message, kHost, kNow), message);
    const std::string lower = "message-id: <x@y>\r\ndate: whenever\r\n\r\n";
    EXPECT_EQ(add_missing_fields(lower, kHost, kNow), lower);
}

TEST(AddMissingFields, OnlyTheMissingOne) {
    auto out = add_missing_fields("Date: d\r\nSubject: s\r\n\r\nb\r\n", kHost, kNow);
    expect_added(out, "Date: d\r\nSubject: s\r\n", false, true, "\r\nb\r\n");
    out = add_missing_fields("Message-ID: <x@y>\r\n\r\nb\r\n", kHost, kNow);
    expect_added(out, "Message-ID: <x@y>\r\n", true, false, "\r\nb\r\n");
}

TEST(AddMissingFields, EmptyBody) {
    const auto out = add_missing_fields("Subject: s\r\n\r\n", kHost, kNow);
    expect_added(out, "Subject: s\r\n", true, true, "\r\n");
}

TEST(AddMissingFields, NoEmptyLine) {
    // The whole message is header.
    auto out = add_missing_fields("Subject: s\r\n", kHost, kNow);
    expect_added(out, "Subject: s\r\n", true, true, "");
    // ... and it need not end with CRLF.
    out = add_missing_fields("Subject: s", kHost, kNow);
    expect_added(out, "Subject: s\r\n", true, true, "");
}

TEST(AddMissingFields, EmptyMessageAndEmptyHeader) {
    auto out = add_missing_fields("", kHost, kNow);
    expect_added(out, "", true, true, "");
    out = add_missing_fields("\r\nbody only\r\n", kHost, kNow);
    expect_added(out, "", true, true, "\r\nbody only\r\n");
}

TEST(AddMissingFields, ContinuationLinesAreNotFields) {
    // RFC 5322 §2.2.3: a line starting with WSP continues the previous field.
    const std::string header = "Subject: one\r\n Date: folded text\r\n\tMessage-ID: <folded@x>\r\n";
    const auto out = add_missing_fields(header + "\r\nbody\r\n", kHost, kNow);
    expect_added(out, header, true, true, "\r\nbody\r\n");
}

TEST(AddMissingFields, BodyLinesAreNotFields) {
    const auto out =
        add_missing_fields("Subject: s\r\n\r\nDate: x\r\nMessage-ID: <b@x>\r\n", kHost, kNow);
    expect_added(out, "Subject: s\r\n", true, true, "\r\nDate: x\r\nMessage-ID: <b@x>\r\n");
}

TEST(AddMissingFields, SimilarNamesAreNotTheField) {
    const std::string header =
        "Dated: x\r\nDate-Sent: x\r\nResent-Date: x\r\nX-Date: x\r\nMessage-IDs: x\r\n"
        "Resent-Message-ID: <r@x>\r\nDate\r\n";
    const auto out = add_missing_fields(header + "\r\nb\r\n", kHost, kNow);
    expect_added(out, header, true, true, "\r\nb\r\n");
}

TEST(AddMissingFields, ObsoleteSpaceBeforeColonCounts) {
    // RFC 5322 §4.5 (obs-optional etc.): WSP may precede the colon; such a field is still the
    // Date field, and a second one would make the message invalid (§3.6: exactly one).
    const std::string message =
        "Date : Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID\t: <x@y>\r\n\r\nb\r\n";
    EXPECT_EQ(add_missing_fields(message, kHost, kNow), message);
}

TEST(AddMissingFields, MessageIdUsesHostnameAndIsUnique) {
    const auto a = add_missing_fields("Date: d\r\n\r\n", "relay.example.net", kNow);
    const auto b = add_missing_fields("Date: d\r\n\r\n", "relay.example.net", kNow);
    static const std::regex kId(R"(Message-ID: <[0-9a-z]{24}@relay\.example\.net>\r\n)");
    EXPECT_TRUE(std::regex_search(a, kId)) << a;
    EXPECT_TRUE(std::regex_search(b, kId)) << b;
    EXPECT_NE(a, b);
}

TEST(AddMissingFields, DateUsesTheGivenTime) {
    const auto out = add_missing_fields("Message-ID: <x@y>\r\n\r\n", kHost, 0);
    EXPECT_NE(out.find("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace sov::roles

namespace sov::roles {
namespace {

namespace ma = sov::mailauth;

constexpr std::string_view kForwarded =
    "Received: from a.example by mx.example.test; Sun, 15 Jun 2025 15:06:40 +0000\r\n"
    "Authentication-Results: mx.example.test;\r\n"
    "\tspf=pass smtp.mailfrom=a@origin.example;\r\n"
    "\tdkim=none;\r\n"
    "\tarc=none\r\n"
    "Authentication-Results: mx.example.test; dmarc=none\r\n"
    "Authentication-Results: evil.example; spf=pass\r\n"
    "Received: from b.example by a.example; Sun, 15 Jun 2025 15:06:39 +0000\r\n"
    "From: Alice <a@origin.example>\r\n"
    "To: team@example.test\r\n"
    "Subject: forwarded\r\n"
    "\r\n"
    "Hello\r\n";

TEST(ReceivedCount, CountsHeaderFieldsOnly) {
    EXPECT_EQ(received_count(kForwarded), 2u);
    EXPECT_EQ(received_count("Subject: x\r\n\r\nReceived: in the body\r\n"), 0u);
    std::string looping;
    for (std::size_t i = 0; i <= kMaxReceived; ++i) {
        looping += "Received: from x by y;\r\n\tMon, 1 Jan 2024 00:00:00 +0000\r\n";
    }
    looping += "RECEIVED : obsolete spacing\r\nX-Received: not one\r\n\r\nbody\r\n";
    EXPECT_EQ(received_count(looping), kMaxReceived + 2);
}

const ma::Keyring& keyring() {
    static const ma::Keyring ring = [] {
        ma::Keyring k;
        k.add(ma::Signer(
            "example.test",
            {{"ed", *ma::PrivateKey::generate(ma::KeyAlgorithm::Ed25519)},
             {"rsa", *ma::PrivateKey::generate(ma::KeyAlgorithm::Rsa, 2048)}}
        ));
        return k;
    }();
    return ring;
}

ArcSealer test_sealer() {
    return
        [](std::string_view domain, std::string_view message, std::string_view aar, ma::ArcCv chain
        ) { return arc_seal_for(keyring(), domain, message, aar, chain); };
}

TEST(SealForwarded, SealsWithTheAliasDomainsRsaKeyAndOurResults) {
    const ForwardSeal seal{.domain = "Example.TEST", .authserv_id = "mx.example.test"};
    const auto set = seal_forwarded(test_sealer(), seal, kForwarded, "t1");
    ASSERT_FALSE(set.empty());
    // i=1, cv=none, d= the alias domain, its rsa-sha256 key (the one ARC verifiers know).
    EXPECT_TRUE(set.starts_with("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.test; s=rsa;"))
        << set;
    // The AAR is our results only, every one of them (evil.example's claim is not ours).
    const auto aar = set.substr(set.find("ARC-Authentication-Results:"));
    EXPECT_EQ(
        aar,
        "ARC-Authentication-Results: i=1; mx.example.test; spf=pass smtp.mailfrom=a@origin.example;"
        "\r\n dkim=none;\r\n arc=none;\r\n dmarc=none\r\n"
    );

    // The sealed copy validates: publish the key and run our verifier over it.
    ma::StaticDns dns;
    dns.add_txt(
        "rsa._domainkey.example.test", keyring().find("example.test")->keys()[1].key.dns_record()
    );
    const std::string sealed = set + std::string(kForwarded);
    const auto outcome = test::run_awaitable(ma::verify_arc(dns, sealed));
    EXPECT_EQ(outcome.cv, ma::ArcCv::Pass) << outcome.reason;
    EXPECT_EQ(outcome.instance, 1);
}

TEST(SealForwarded, UnsealedWithoutKeyOrResults) {
    // No key for the domain.
    EXPECT_EQ(
        seal_forwarded(
            test_sealer(),
            {.domain = "other.test", .authserv_id = "mx.example.test"},
            kForwarded,
            "t2"
        ),
        ""
    );
    // No Authentication-Results of ours: there is nothing to attest.
    EXPECT_EQ(
        seal_forwarded(
            test_sealer(),
            {.domain = "example.test", .authserv_id = "mx.other.test"},
            kForwarded,
            "t3"
        ),
        ""
    );
    // No sealer configured.
    EXPECT_EQ(
        seal_forwarded(
            {}, {.domain = "example.test", .authserv_id = "mx.example.test"}, kForwarded, "t4"
        ),
        ""
    );
}

TEST(SealForwarded, ClaimedPassOnAMessageWithoutChainIsNotSealed) {
    // cv= must describe the chain as received (RFC 8617 §5.1 step 4.C): "pass" without any
    // ARC set is refused by the sealer, and the copy goes out unsealed rather than lying.
    const ForwardSeal seal{
        .domain = "example.test", .authserv_id = "mx.example.test", .chain = ma::ArcCv::Pass
    };
    EXPECT_EQ(seal_forwarded(test_sealer(), seal, kForwarded, "t5"), "");
}

}  // namespace
}  // namespace sov::roles
