#include "mailauth/dkim_signature.hpp"

#include <limits>

#include <gtest/gtest.h>

namespace sov::mailauth {
namespace {

constexpr std::string_view kB = "dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==";
constexpr std::string_view kBh = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";

std::string sig(std::string_view extra, std::string_view h = "from:to:subject") {
    return "v=1; a=rsa-sha256; d=example.com; s=sel; h=" + std::string(h) +
           "; bh=" + std::string(kBh) + "; " + std::string(extra) + (extra.empty() ? "" : "; ") +
           "b=" + std::string(kB);
}

TEST(DkimSignature, ParsesRequiredTagsAndDefaults) {
    const auto p = parse_dkim_signature(sig(""));
    ASSERT_EQ(p.status, SignatureStatus::Ok) << p.reason;
    const auto& s = p.signature;
    EXPECT_EQ(s.algorithm, SignatureAlgorithm::RsaSha256);
    EXPECT_EQ(s.domain, "example.com");
    EXPECT_EQ(s.selector, "sel");
    EXPECT_EQ(s.header_canon, Canon::Simple);  // §3.5 c= default simple/simple
    EXPECT_EQ(s.body_canon, Canon::Simple);
    ASSERT_EQ(s.headers.size(), 3U);
    EXPECT_EQ(s.headers[2], "subject");
    EXPECT_EQ(s.identity, "@example.com");  // §6.1.1: no i= means "@d"
    EXPECT_FALSE(s.identity_given);
    EXPECT_EQ(s.bh.size(), 32U);
    EXPECT_EQ(s.b_base64, kB);
    EXPECT_FALSE(s.body_length);
    EXPECT_FALSE(s.timestamp);
    EXPECT_FALSE(s.expiration);
}

TEST(DkimSignature, AllTags) {
    const std::string value =
        "v=1; a=ed25519-sha256; c=relaxed/simple; d=Example.COM; s=brisbane;\r\n h=From : To;"
        " i=joe=40football.example.com; l=120; q=dns/txt; t=1528637909; x=1528637999;"
        " z=From:foo@example.com; bh=" +
        std::string(kBh) + "; b=" + std::string(kB.substr(0, 10)) + "\r\n\t" +
        std::string(kB.substr(10));
    const auto p = parse_dkim_signature(value);
    ASSERT_EQ(p.status, SignatureStatus::Ok) << p.reason;
    const auto& s = p.signature;
    EXPECT_EQ(s.algorithm, SignatureAlgorithm::Ed25519Sha256);
    EXPECT_EQ(s.header_canon, Canon::Relaxed);
    EXPECT_EQ(s.body_canon, Canon::Simple);
    EXPECT_EQ(s.domain, "example.com");
    ASSERT_EQ(s.headers.size(), 2U);
    EXPECT_EQ(s.headers[0], "From");
    EXPECT_EQ(s.headers[1], "To");
    EXPECT_EQ(s.identity, "joe@football.example.com");
    EXPECT_EQ(s.identity_domain, "football.example.com");
    EXPECT_EQ(s.body_length, 120U);
    EXPECT_EQ(s.timestamp, 1528637909);
    EXPECT_EQ(s.expiration, 1528637999);
    EXPECT_EQ(s.copied_headers, "From:foo@example.com");
    EXPECT_EQ(s.b_base64, kB);  // FWS removed
    EXPECT_EQ(
        value.substr(s.b_offset),
        std::string(kB.substr(0, 10)) + "\r\n\t" + std::string(kB.substr(10))
    );
    EXPECT_EQ(s.b_offset + s.b_size, value.size());
}

TEST(DkimSignature, RelaxedAloneMeansRelaxedSimple) {
    const auto p = parse_dkim_signature(sig("c=relaxed"));
    ASSERT_EQ(p.status, SignatureStatus::Ok);
    EXPECT_EQ(p.signature.header_canon, Canon::Relaxed);
    EXPECT_EQ(p.signature.body_canon, Canon::Simple);
    EXPECT_EQ(parse_dkim_signature(sig("c=simple/future")).status, SignatureStatus::UnknownCanon);
    EXPECT_EQ(parse_dkim_signature(sig("c=foobar")).status, SignatureStatus::UnknownCanon);
    EXPECT_EQ(parse_dkim_signature(sig("c=/relaxed")).status, SignatureStatus::UnknownCanon);
}

TEST(DkimSignature, MissingRequiredTags) {
    for (const std::string_view tag : {"v=1; ", "a=rsa-sha256; ", "d=example.com; ", "s=sel; "}) {
        std::string value = sig("");
        value.erase(value.find(tag), tag.size());
        EXPECT_EQ(parse_dkim_signature(value).status, SignatureStatus::MissingTag) << tag;
    }
    std::string no_b = sig("");
    no_b.erase(no_b.find("; b="));
    EXPECT_EQ(parse_dkim_signature(no_b).status, SignatureStatus::MissingTag);
    std::string no_h = sig("");
    no_h.erase(no_h.find("h="), std::string_view("h=from:to:subject; ").size());
    EXPECT_EQ(parse_dkim_signature(no_h).status, SignatureStatus::MissingTag);
}

TEST(DkimSignature, VersionAndAlgorithm) {
    std::string v5 = sig("");
    v5.replace(0, 3, "v=5");
    EXPECT_EQ(parse_dkim_signature(v5).status, SignatureStatus::IncompatibleVersion);
    std::string md5 = sig("");
    md5.replace(md5.find("rsa-sha256"), 10, "rsa-md5");
    EXPECT_EQ(parse_dkim_signature(md5).status, SignatureStatus::UnknownAlgorithm);
    std::string sha1 = sig("");
    sha1.replace(sha1.find("rsa-sha256"), 10, "RSA-SHA1");
    const auto p = parse_dkim_signature(sha1);
    ASSERT_EQ(p.status, SignatureStatus::Ok);
    EXPECT_EQ(p.signature.algorithm, SignatureAlgorithm::RsaSha1);
    EXPECT_EQ(key_algorithm_of(SignatureAlgorithm::Ed25519Sha256), KeyAlgorithm::Ed25519);
}

TEST(DkimSignature, FromMustBeSigned) {
    EXPECT_EQ(parse_dkim_signature(sig("", "to:subject")).status, SignatureStatus::FromNotSigned);
    EXPECT_EQ(parse_dkim_signature(sig("", "FROM")).status, SignatureStatus::Ok);
    EXPECT_EQ(parse_dkim_signature(sig("", "from::to")).status, SignatureStatus::Syntax);
    EXPECT_EQ(parse_dkim_signature(sig("", "from:")).status, SignatureStatus::Syntax);
}

TEST(DkimSignature, IdentityMustBeWithinDomain) {
    EXPECT_EQ(parse_dkim_signature(sig("i=@example.com")).status, SignatureStatus::Ok);
    EXPECT_EQ(parse_dkim_signature(sig("i=user@mail.Example.com")).status, SignatureStatus::Ok);
    EXPECT_EQ(
        parse_dkim_signature(sig("i=jon@example.org")).status, SignatureStatus::DomainMismatch
    );
    // "badexample.com" is not a subdomain of "example.com".
    EXPECT_EQ(
        parse_dkim_signature(sig("i=@badexample.com")).status, SignatureStatus::DomainMismatch
    );
    EXPECT_EQ(parse_dkim_signature(sig("i=nobody")).status, SignatureStatus::Syntax);
    EXPECT_EQ(parse_dkim_signature(sig("i=a@")).status, SignatureStatus::Syntax);
    EXPECT_EQ(parse_dkim_signature(sig("i=a=4")).status, SignatureStatus::Syntax);
    // dkim-quoted-printable (§2.11)
    const auto qp = parse_dkim_signature(sig("i=jlong@example=2Ecom"));
    ASSERT_EQ(qp.status, SignatureStatus::Ok);
    EXPECT_EQ(qp.signature.identity, "jlong@example.com");
}

TEST(DkimSignature, Timestamps) {
    EXPECT_EQ(parse_dkim_signature(sig("t=100; x=200")).status, SignatureStatus::Ok);
    EXPECT_EQ(parse_dkim_signature(sig("t=100; x=100")).status, SignatureStatus::Ok);
    EXPECT_EQ(parse_dkim_signature(sig("t=200; x=100")).status, SignatureStatus::BadExpiration);
    EXPECT_EQ(parse_dkim_signature(sig("x=abc")).status, SignatureStatus::Syntax);
    EXPECT_EQ(parse_dkim_signature(sig("t=-1")).status, SignatureStatus::Syntax);
    EXPECT_EQ(parse_dkim_signature(sig("t=1234567890123")).status, SignatureStatus::Syntax);
}

TEST(DkimSignature, BodyLength) {
    EXPECT_EQ(parse_dkim_signature(sig("l=0")).signature.body_length, 0U);
    EXPECT_EQ(parse_dkim_signature(sig("l=x")).status, SignatureStatus::Syntax);
    EXPECT_EQ(parse_dkim_signature(sig("l=")).status, SignatureStatus::Syntax);
    // Huge values saturate instead of wrapping (§3.5 informative note on l=).
    const auto huge = parse_dkim_signature(sig("l=" + std::string(70, '9')));
    ASSERT_EQ(huge.status, SignatureStatus::Ok);
    EXPECT_EQ(huge.signature.body_length, std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(
        parse_dkim_signature(sig("l=" + std::string(77, '1'))).status, SignatureStatus::Syntax
    );
}

TEST(DkimSignature, QueryMethods) {
    EXPECT_EQ(parse_dkim_signature(sig("q=dns/txt")).status, SignatureStatus::Ok);
    EXPECT_EQ(parse_dkim_signature(sig("q=http:dns/txt")).status, SignatureStatus::Ok);
    EXPECT_EQ(parse_dkim_signature(sig("q=http")).status, SignatureStatus::UnsupportedQuery);
    EXPECT_EQ(parse_dkim_signature(sig("q=dns/special")).status, SignatureStatus::UnsupportedQuery);
}

TEST(DkimSignature, BadValuesAndTagLists) {
    EXPECT_EQ(parse_dkim_signature("").status, SignatureStatus::MissingTag);
    EXPECT_EQ(parse_dkim_signature("v=1; v=1").status, SignatureStatus::Syntax);
    EXPECT_EQ(parse_dkim_signature("garbage").status, SignatureStatus::Syntax);
    std::string bad_b = sig("");
    bad_b += "!";
    EXPECT_EQ(parse_dkim_signature(bad_b).status, SignatureStatus::Syntax);
    EXPECT_EQ(parse_dkim_signature(sig("d=ex ample.com")).status, SignatureStatus::Syntax);
    std::string bad_d = sig("");
    bad_d.replace(bad_d.find("example.com"), 11, "example..com");
    EXPECT_EQ(parse_dkim_signature(bad_d).status, SignatureStatus::Syntax);
    // Unknown tags are ignored (§3.2).
    EXPECT_EQ(parse_dkim_signature(sig("foo=bar")).status, SignatureStatus::Ok);
}

TEST(DkimSignature, Limits) {
    SignatureLimits small;
    small.max_octets = 64;
    EXPECT_EQ(parse_dkim_signature(sig(""), small).status, SignatureStatus::TooLong);
    SignatureLimits few;
    few.max_headers = 2;
    EXPECT_EQ(parse_dkim_signature(sig(""), few).status, SignatureStatus::Syntax);
    EXPECT_EQ(to_string(SignatureStatus::FromNotSigned), "From field not signed");
}

TEST(DkimSignature, EveryPrefixIsHandled) {
    // Split-point style: no prefix of a valid value crashes or is misread as the whole.
    const std::string value = sig("i=@example.com; t=1; x=2; l=5; c=relaxed/relaxed");
    for (std::size_t n = 0; n < value.size(); ++n) {
        (void)parse_dkim_signature(std::string_view(value).substr(0, n));
    }
    EXPECT_EQ(parse_dkim_signature(value).status, SignatureStatus::Ok);
}

TEST(DkimSignature, RemoveBValue) {
    // §3.7: the b= value and the whitespace around it go; "b=" stays.
    EXPECT_EQ(
        remove_b_value("DKIM-Signature: v=1; b=abc\r\n def; bh=xyz; d=x"),
        "DKIM-Signature: v=1; b=; bh=xyz; d=x"
    );
    EXPECT_EQ(
        remove_b_value("DKIM-Signature: v=1; bh=xyz;\r\n\tb = abc\r\n def "),
        "DKIM-Signature: v=1; bh=xyz;\r\n\tb ="
    );
    EXPECT_EQ(remove_b_value("ARC-Seal: i=1; b=sig; cv=none"), "ARC-Seal: i=1; b=; cv=none");
    EXPECT_EQ(remove_b_value("X: bh=abc; d=x"), "X: bh=abc; d=x");
    EXPECT_EQ(remove_b_value("no colon"), "no colon");
    EXPECT_EQ(remove_b_value("X: b="), "X: b=");
}

}  // namespace
}  // namespace sov::mailauth
