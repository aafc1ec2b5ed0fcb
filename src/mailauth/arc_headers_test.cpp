#include "mailauth/arc_headers.hpp"

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace sov::mailauth {
namespace {

constexpr std::string_view kAms =
    "ARC-Message-Signature: i=2; a=rsa-sha256; c=relaxed/simple; d=example.org;\r\n"
    "  s=sel; t=12345; h=From : to::Subject;\r\n"
    "  bh=KWSe46TZKCcDbH4klJPo+tjk5LWJnVRlP5pvjXFZYLQ=;\r\n"
    "  b=abc\r\n  def=";

constexpr std::string_view kSeal =
    "ARC-Seal: a=ed25519-sha256; b=AAAA; cv=pass; d=example.org; i=2; s=sel; t=99";

TEST(ArcHeaders, FieldKindIgnoresCase) {
    EXPECT_EQ(arc_field_kind("arc-seal"), ArcFieldKind::Seal);
    EXPECT_EQ(arc_field_kind("ARC-MESSAGE-SIGNATURE"), ArcFieldKind::MessageSignature);
    EXPECT_EQ(arc_field_kind("Arc-Authentication-Results"), ArcFieldKind::AuthenticationResults);
    EXPECT_FALSE(arc_field_kind("Authentication-Results"));
    EXPECT_FALSE(arc_field_kind("ARC-Seal2"));
}

TEST(ArcHeaders, AuthenticationResults) {
    auto aar = parse_arc_authentication_results(
        "ARC-Authentication-Results: (c) i = 7 ; mx.example.org;\r\n spf=pass smtp.mfrom=a@b.c"
    );
    ASSERT_EQ(aar.status, ArcFieldStatus::Ok);
    EXPECT_EQ(aar.instance, 7);
    EXPECT_EQ(aar.authserv_id, "mx.example.org");
    EXPECT_EQ(aar.payload, "mx.example.org;\r\n spf=pass smtp.mfrom=a@b.c");

    aar =
        parse_arc_authentication_results("ARC-Authentication-Results: i=1; \"quoted id\" 1; none");
    ASSERT_EQ(aar.status, ArcFieldStatus::Ok);
    EXPECT_EQ(aar.authserv_id, "quoted id");
}

TEST(ArcHeaders, AuthenticationResultsNeedsInstancePrefix) {
    // §4.1.1: arc-info = instance [CFWS] ";" authres-payload.
    for (const char* value : {
             " mx.example.org; i=1; spf=pass",  // not prefixed
             " i=1 mx.example.org; spf=pass",   // no ';'
             " i=0; mx.example.org",            // below 1
             " i=51; mx.example.org",           // above 50 (§4.2.1)
             " i=; mx.example.org",
             " i=x; mx.example.org",
             " i=100; mx.example.org",
             " I=1; mx.example.org",
         }) {
        SCOPED_TRACE(value);
        const auto raw = fmt::format("ARC-Authentication-Results:{}", value);
        EXPECT_EQ(parse_arc_authentication_results(raw).status, ArcFieldStatus::BadInstance);
    }
    EXPECT_EQ(
        parse_arc_authentication_results("ARC-Authentication-Results: i=1; ").status,
        ArcFieldStatus::Syntax
    );
    EXPECT_EQ(
        parse_arc_authentication_results("Authentication-Results: i=1; x").status,
        ArcFieldStatus::NotArcField
    );
    const std::string huge = "ARC-Authentication-Results: i=1; " + std::string(20000, 'a');
    EXPECT_EQ(parse_arc_authentication_results(huge).status, ArcFieldStatus::TooLong);
}

TEST(ArcHeaders, MessageSignature) {
    const auto ams = parse_arc_message_signature(kAms);
    ASSERT_EQ(ams.status, ArcFieldStatus::Ok) << to_string(ams.status) << " " << ams.detail;
    EXPECT_EQ(ams.instance, 2);
    EXPECT_EQ(ams.algorithm, KeyAlgorithm::Rsa);
    EXPECT_EQ(ams.header_canon, Canon::Relaxed);
    EXPECT_EQ(ams.body_canon, Canon::Simple);
    EXPECT_EQ(ams.domain, "example.org");
    EXPECT_EQ(ams.selector, "sel");
    EXPECT_EQ(ams.timestamp, 12345U);
    ASSERT_EQ(ams.signed_headers.size(), 3U);  // the empty entry names nothing
    EXPECT_EQ(ams.signed_headers[0], "From");
    EXPECT_EQ(ams.signed_headers[1], "to");
    EXPECT_EQ(ams.signed_headers[2], "Subject");
    EXPECT_EQ(ams.signature, "abc\r\n  def=");
    EXPECT_FALSE(ams.expiration);
}

TEST(ArcHeaders, MessageSignatureDefaultsAndOptionalTags) {
    const auto ams = parse_arc_message_signature(
        "ARC-Message-Signature: v=1; i=1; a=ed25519-sha256; d=d.example; s=s; h=; bh=x; b=y; "
        "x=20; l=0; zz=unknown"
    );
    ASSERT_EQ(ams.status, ArcFieldStatus::Ok);
    EXPECT_EQ(ams.header_canon, Canon::Simple);  // RFC 6376 §3.5 default
    EXPECT_EQ(ams.body_canon, Canon::Simple);
    EXPECT_EQ(ams.algorithm, KeyAlgorithm::Ed25519);
    EXPECT_TRUE(ams.signed_headers.empty());
    EXPECT_EQ(ams.expiration, 20U);
    EXPECT_EQ(ams.body_length, 0U);
    EXPECT_FALSE(ams.timestamp);

    const auto relaxed_header = parse_arc_message_signature(
        "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed; d=d.example; s=s; h=from; bh=x; b=y"
    );
    ASSERT_EQ(relaxed_header.status, ArcFieldStatus::Ok);
    EXPECT_EQ(relaxed_header.header_canon, Canon::Relaxed);
    EXPECT_EQ(relaxed_header.body_canon, Canon::Simple);
}

TEST(ArcHeaders, MessageSignatureErrors) {
    const std::string base = "i=1; a=rsa-sha256; d=d.example; s=s; h=from; bh=x; b=y";
    struct Case {
        std::string value;
        ArcFieldStatus status;
    };
    const Case cases[] = {
        {"a=rsa-sha256; d=d.example; s=s; h=from; bh=x; b=y", ArcFieldStatus::BadInstance},
        {"i=1; d=d.example; s=s; h=from; bh=x; b=y", ArcFieldStatus::MissingTag},
        {"i=1; a=rsa-sha1; d=d.example; s=s; h=from; bh=x; b=y", ArcFieldStatus::UnknownAlgorithm},
        {"i=1; a=; d=d.example; s=s; h=from; bh=x; b=y", ArcFieldStatus::UnknownAlgorithm},
        {"i=1; a=rsa-sha256; d=d.example; s=s; h=from; b=y", ArcFieldStatus::MissingTag},
        {"i=1; a=rsa-sha256; d=d.example; s=s; h=from; bh=; b=y", ArcFieldStatus::BadValue},
        {"i=1; a=rsa-sha256; d=d.example; s=s; h=from; bh=x; b=", ArcFieldStatus::BadValue},
        {"i=1; a=rsa-sha256; d=d.example; s=s; bh=x; b=y", ArcFieldStatus::MissingTag},
        {"i=1; a=rsa-sha256; d=example...; s=s; h=from; bh=x; b=y", ArcFieldStatus::BadValue},
        {"i=1; a=rsa-sha256; d=d.example; s=; h=from; bh=x; b=y", ArcFieldStatus::BadValue},
        {base + "; c=", ArcFieldStatus::BadValue},
        {base + "; c=fancy/simple", ArcFieldStatus::BadValue},
        {base + "; t=", ArcFieldStatus::BadValue},
        {base + "; t=12a", ArcFieldStatus::BadValue},
        {base + "; x=-1", ArcFieldStatus::BadValue},
        {base + "; a=rsa-sha256", ArcFieldStatus::DuplicateTag},
        {base + ";; t=1", ArcFieldStatus::Syntax},
        {base + "; _=1", ArcFieldStatus::Syntax},
        {"i=1; a=rsa-sha256; d=d.example; s=s; h=from:ARC-Seal; bh=x; b=y",
         ArcFieldStatus::ForbiddenTag},  // §4.1.2
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(
            parse_arc_message_signature("ARC-Message-Signature: " + c.value).status, c.status
        );
    }
    EXPECT_EQ(parse_arc_message_signature(kSeal).status, ArcFieldStatus::NotArcField);
}

TEST(ArcHeaders, Seal) {
    const auto seal = parse_arc_seal(kSeal);
    ASSERT_EQ(seal.status, ArcFieldStatus::Ok);
    EXPECT_EQ(seal.instance, 2);  // i= anywhere in the tag-list
    EXPECT_EQ(seal.algorithm, KeyAlgorithm::Ed25519);
    EXPECT_EQ(seal.cv, ArcCv::Pass);
    EXPECT_EQ(seal.domain, "example.org");
    EXPECT_EQ(seal.selector, "sel");
    EXPECT_EQ(seal.timestamp, 99U);
    EXPECT_EQ(seal.signature, "AAAA");

    const auto no_t = parse_arc_seal("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.y; s=s; b=Zg==");
    ASSERT_EQ(no_t.status, ArcFieldStatus::Ok);
    EXPECT_EQ(no_t.cv, ArcCv::None);
    EXPECT_FALSE(no_t.timestamp);
}

TEST(ArcHeaders, SealErrors) {
    struct Case {
        std::string_view value;
        ArcFieldStatus status;
    };
    const Case cases[] = {
        {"i=1; a=rsa-sha256; cv=none; d=x.y; s=s; b=Zg==; h=from", ArcFieldStatus::ForbiddenTag},
        {"i=1; a=rsa-sha256; d=x.y; s=s; b=Zg==", ArcFieldStatus::MissingTag},
        {"i=1; a=rsa-sha256; cv=; d=x.y; s=s; b=Zg==", ArcFieldStatus::BadValue},
        {"i=1; a=rsa-sha256; cv=maybe; d=x.y; s=s; b=Zg==", ArcFieldStatus::BadValue},
        {"i=1; a=rsa-sha256; cv=none; s=s; b=Zg==", ArcFieldStatus::MissingTag},
        {"i=1; a=rsa-sha256; cv=none; d=x.y; b=Zg==", ArcFieldStatus::MissingTag},
        {"i=1; a=rsa-sha256; cv=none; d=x.y; s=s", ArcFieldStatus::MissingTag},
        {"i=1; a=rsa-sha256; cv=none; d=x.y; s=s; b=Zg==; t=", ArcFieldStatus::BadValue},
        {"i=0; a=rsa-sha256; cv=none; d=x.y; s=s; b=Zg==", ArcFieldStatus::BadInstance},
        {"i=1; i=1; a=rsa-sha256; cv=none; d=x.y; s=s; b=Zg==", ArcFieldStatus::DuplicateTag},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(parse_arc_seal(fmt::format("ARC-Seal: {}", c.value)).status, c.status);
    }
}

TEST(ArcHeaders, Instance) {
    EXPECT_EQ(arc_instance(ArcFieldKind::Seal, kSeal), 2);
    EXPECT_EQ(arc_instance(ArcFieldKind::MessageSignature, kAms), 2);
    EXPECT_EQ(
        arc_instance(ArcFieldKind::AuthenticationResults, "ARC-Authentication-Results: i=3; x"), 3
    );
    EXPECT_FALSE(arc_instance(ArcFieldKind::Seal, "ARC-Seal: a=b"));
    EXPECT_FALSE(arc_instance(ArcFieldKind::Seal, "ARC-Seal: i=1;;"));
    EXPECT_FALSE(arc_instance(ArcFieldKind::Seal, "ARC-Seal i=1"));
}

std::string arc_set(int i) {
    return fmt::format(
        "ARC-Seal: i={0}; a=rsa-sha256; cv=none; d=x.y; s=s; b=Zg==\r\n"
        "ARC-Message-Signature: i={0}; a=rsa-sha256; d=x.y; s=s; h=from; bh=x; b=y\r\n"
        "ARC-Authentication-Results: i={0}; mx.x.y; none\r\n",
        i
    );
}

ArcChain chain_of(const std::string& header) {
    static std::string storage;  // the chain's views point into it
    storage = header + "From: a@x.y\r\n\r\nbody\r\n";
    const auto split = split_message(storage);
    EXPECT_EQ(split.status, SplitMessage::Status::Ok);
    return collect_arc_chain(split.fields);
}

TEST(ArcHeaders, CollectChain) {
    EXPECT_EQ(chain_of("").status, ArcChain::Status::None);

    const auto chain = chain_of(arc_set(2) + "Received: x\r\n" + arc_set(1));
    ASSERT_EQ(chain.status, ArcChain::Status::Ok);
    EXPECT_EQ(chain.max_instance, 2);
    ASSERT_EQ(chain.sets.size(), 2U);
    EXPECT_TRUE(chain.sets[0].seal.raw.starts_with("ARC-Seal: i=1"));
    EXPECT_TRUE(chain.sets[1].ams.raw.starts_with("ARC-Message-Signature: i=2"));
    EXPECT_TRUE(chain.sets[1].aar.raw.starts_with("ARC-Authentication-Results: i=2"));
    ASSERT_TRUE(chain.latest_seal);
    EXPECT_TRUE(chain.latest_seal->raw.starts_with("ARC-Seal: i=2"));
}

TEST(ArcHeaders, CollectChainStructureErrors) {
    // §5.2 step 3.A: one of each per instance.
    EXPECT_EQ(
        chain_of(arc_set(1) + "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.y; s=s; b=Zg==\r\n")
            .status,
        ArcChain::Status::DuplicateField
    );
    std::string missing = arc_set(1);
    missing.erase(0, missing.find("ARC-Message"));
    EXPECT_EQ(chain_of(missing).status, ArcChain::Status::MissingField);
    // §5.2 step 3.B: 1..N without gaps.
    EXPECT_EQ(chain_of(arc_set(1) + arc_set(3)).status, ArcChain::Status::Gap);
    EXPECT_EQ(chain_of(arc_set(2)).status, ArcChain::Status::Gap);
    EXPECT_EQ(
        chain_of(arc_set(1) + "ARC-Seal: a=rsa-sha256; cv=none\r\n").status,
        ArcChain::Status::BadInstance
    );
    // §5.2 step 1: more than 50 sets.
    const auto over = chain_of(arc_set(1) + "ARC-Seal: i=51; a=rsa-sha256\r\n");
    EXPECT_EQ(over.status, ArcChain::Status::TooManySets);
    std::string many;
    for (int i = 1; i <= 51; ++i) {
        many += arc_set(i <= 50 ? i : 1);
    }
    EXPECT_EQ(chain_of(many).status, ArcChain::Status::TooManyFields);

    std::string fifty;
    for (int i = 50; i >= 1; --i) {
        fifty += arc_set(i);
    }
    const auto full = chain_of(fifty);
    EXPECT_EQ(full.status, ArcChain::Status::Ok);
    EXPECT_EQ(full.max_instance, 50);
}

TEST(ArcHeaders, LatestSealEvenWhenStructureBreaks) {
    // §5.2 step 2 needs the newest AS's cv even when the rest is malformed.
    const auto chain = chain_of(arc_set(3) + arc_set(1));
    EXPECT_EQ(chain.status, ArcChain::Status::Gap);
    EXPECT_EQ(chain.max_instance, 3);
    ASSERT_TRUE(chain.latest_seal);
    EXPECT_TRUE(chain.latest_seal->raw.starts_with("ARC-Seal: i=3"));
}

TEST(ArcHeaders, DomainSyntax) {
    EXPECT_TRUE(is_arc_domain("example.org"));
    EXPECT_TRUE(is_arc_domain("arc-20160816"));
    EXPECT_TRUE(is_arc_domain("_s.x-y.example"));
    EXPECT_TRUE(
        is_arc_domain("b\xC3\xBC"
                      "cher.example")
    );  // U-labels, §4.1.4
    EXPECT_FALSE(is_arc_domain(""));
    EXPECT_FALSE(is_arc_domain("example..org"));
    EXPECT_FALSE(is_arc_domain("example.org."));
    EXPECT_FALSE(is_arc_domain(".example"));
    EXPECT_FALSE(is_arc_domain("exa mple.org"));
    EXPECT_FALSE(is_arc_domain(std::string(64, 'a') + ".org"));
    EXPECT_TRUE(is_arc_domain(std::string(63, 'a') + ".org"));
}

TEST(ArcHeaders, CvKeywords) {
    EXPECT_EQ(to_string(ArcCv::None), "none");
    EXPECT_EQ(to_string(ArcCv::Pass), "pass");
    EXPECT_EQ(to_string(ArcCv::Fail), "fail");
}

}  // namespace
}  // namespace sov::mailauth
