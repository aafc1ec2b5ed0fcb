#include "mailauth/dkim_key_record.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mailauth/base64.hpp"
#include "mailauth/static_dns.hpp"
#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;

// RFC 8463 §A.2's example key.
constexpr std::string_view kEd25519P = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

std::string rsa_p(unsigned bits = 1024) {
    auto key = PrivateKey::generate(KeyAlgorithm::Rsa, bits);
    EXPECT_TRUE(key);
    return key ? key->public_key_base64() : std::string{};
}

TEST(DkimKeyRecord, ParsesRsaAndEd25519) {
    const auto rsa = parse_key_record("v=DKIM1; k=rsa; p=" + rsa_p());
    ASSERT_EQ(rsa.status, KeyStatus::Ok) << rsa.detail;
    ASSERT_TRUE(rsa.record);
    EXPECT_EQ(rsa.record->algorithm, KeyAlgorithm::Rsa);
    EXPECT_FALSE(rsa.record->testing);
    EXPECT_FALSE(rsa.record->strict_identity);

    const auto ed = parse_key_record("v=DKIM1; k=ed25519; p=" + std::string(kEd25519P));
    ASSERT_EQ(ed.status, KeyStatus::Ok) << ed.detail;
    EXPECT_EQ(ed.record->algorithm, KeyAlgorithm::Ed25519);
    EXPECT_EQ(ed.record->key.algorithm(), KeyAlgorithm::Ed25519);
}

TEST(DkimKeyRecord, KDefaultsToRsaAndVIsOptional) {
    const auto rsa = parse_key_record("p=" + rsa_p());
    ASSERT_EQ(rsa.status, KeyStatus::Ok);
    EXPECT_EQ(rsa.record->algorithm, KeyAlgorithm::Rsa);
    // An Ed25519 key without k=ed25519 is read as RSA and does not parse.
    EXPECT_EQ(parse_key_record("p=" + std::string(kEd25519P)).status, KeyStatus::Syntax);
}

TEST(DkimKeyRecord, VMustBeFirstAndDkim1) {
    const std::string p(kEd25519P);
    EXPECT_EQ(parse_key_record("k=ed25519; v=DKIM1; p=" + p).status, KeyStatus::Syntax);
    EXPECT_EQ(parse_key_record("v=DKIM2; k=ed25519; p=" + p).status, KeyStatus::Syntax);
    EXPECT_EQ(parse_key_record("v=dkim1; k=ed25519; p=" + p).status, KeyStatus::Syntax);
}

TEST(DkimKeyRecord, UnknownKeyTypeIsInapplicable) {
    const auto lookup = parse_key_record("v=DKIM1; k=dsa; p=" + std::string(kEd25519P));
    EXPECT_EQ(lookup.status, KeyStatus::Inapplicable);
    EXPECT_FALSE(lookup.record);
}

TEST(DkimKeyRecord, HashList) {
    const std::string p(kEd25519P);
    EXPECT_EQ(parse_key_record("k=ed25519; h=sha256; p=" + p).status, KeyStatus::Ok);
    EXPECT_EQ(parse_key_record("k=ed25519; h=sha1 : sha256; p=" + p).status, KeyStatus::Ok);
    EXPECT_EQ(parse_key_record("k=ed25519; h=sha1; p=" + p).status, KeyStatus::Inapplicable);
    EXPECT_EQ(parse_key_record("k=ed25519; h=sha512; p=" + p).status, KeyStatus::Inapplicable);
}

TEST(DkimKeyRecord, ServiceTypes) {
    const std::string p(kEd25519P);
    EXPECT_EQ(parse_key_record("k=ed25519; s=*; p=" + p).status, KeyStatus::Ok);
    EXPECT_EQ(parse_key_record("k=ed25519; s=email; p=" + p).status, KeyStatus::Ok);
    EXPECT_EQ(parse_key_record("k=ed25519; s=tlsrpt:email; p=" + p).status, KeyStatus::Ok);
    EXPECT_EQ(parse_key_record("k=ed25519; s=tlsrpt; p=" + p).status, KeyStatus::Inapplicable);
}

TEST(DkimKeyRecord, Flags) {
    const std::string p(kEd25519P);
    auto y = parse_key_record("k=ed25519; t=y; p=" + p);
    ASSERT_EQ(y.status, KeyStatus::Ok);
    EXPECT_TRUE(y.record->testing);
    EXPECT_FALSE(y.record->strict_identity);
    auto s = parse_key_record("k=ed25519; t=s; p=" + p);
    ASSERT_EQ(s.status, KeyStatus::Ok);
    EXPECT_FALSE(s.record->testing);
    EXPECT_TRUE(s.record->strict_identity);
    auto both = parse_key_record("k=ed25519; t=y:s:future; p=" + p);
    ASSERT_EQ(both.status, KeyStatus::Ok);
    EXPECT_TRUE(both.record->testing);
    EXPECT_TRUE(both.record->strict_identity);
}

TEST(DkimKeyRecord, EmptyPIsRevokedMissingPIsSyntax) {
    EXPECT_EQ(parse_key_record("v=DKIM1; k=rsa; p=").status, KeyStatus::Revoked);
    EXPECT_EQ(parse_key_record("v=DKIM1; p= ; n=gone").status, KeyStatus::Revoked);
    EXPECT_EQ(parse_key_record("v=DKIM1; k=rsa").status, KeyStatus::Syntax);
}

TEST(DkimKeyRecord, BadSyntaxAndBadKeys) {
    EXPECT_EQ(parse_key_record("v=DKIM1; p=abc; p=def").status, KeyStatus::Syntax);
    EXPECT_EQ(parse_key_record("not a record").status, KeyStatus::Syntax);
    EXPECT_EQ(parse_key_record("k=rsa; p=!!!!").status, KeyStatus::Syntax);
    EXPECT_EQ(parse_key_record("k=ed25519; p=AAAA").status, KeyStatus::Syntax);
    // Folded base64 is fine (whitespace is ignored in p=).
    std::string folded = "k=ed25519; p=" + std::string(kEd25519P.substr(0, 20)) + " \t " +
                         std::string(kEd25519P.substr(20));
    EXPECT_EQ(parse_key_record(folded).status, KeyStatus::Ok);
}

TEST(DkimKeyRecord, ShortRsaKeyIsInapplicable) {
    // RFC 8301 §3.2: under 1024 bits is never valid. PrivateKey refuses to make one, so
    // generate it with OpenSSL directly.
    EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{512});
    ASSERT_NE(raw, nullptr);
    unsigned char* der = nullptr;
    const int size = i2d_PUBKEY(raw, &der);
    ASSERT_GT(size, 0);
    const std::string kRsa512 =
        base64_encode(std::span<const std::uint8_t>(der, static_cast<std::size_t>(size)));
    OPENSSL_free(der);
    EVP_PKEY_free(raw);
    const auto lookup = parse_key_record("k=rsa; p=" + kRsa512);
    EXPECT_EQ(lookup.status, KeyStatus::Inapplicable) << lookup.detail;
    EXPECT_TRUE(lookup.weak_key);
    EXPECT_EQ(lookup.key_data, kRsa512);
    // Other inapplicable keys are not "weak".
    EXPECT_FALSE(parse_key_record("k=dsa; p=" + std::string(kEd25519P)).weak_key);
}

TEST(DkimKeyRecord, FetchQueriesSelectorDomainkeyDomain) {
    StaticDns dns;
    dns.add_txt("sel._domainkey.example.com", "v=DKIM1; k=ed25519; p=" + std::string(kEd25519P));
    const auto lookup = test::run_awaitable(fetch_key(dns, "sel", "Example.COM"));
    EXPECT_EQ(lookup.status, KeyStatus::Ok);
    EXPECT_EQ(dns.queries(), 1U);
}

TEST(DkimKeyRecord, FetchNxdomainAndNoData) {
    StaticDns dns;
    dns.add_name("empty._domainkey.example.com");
    EXPECT_EQ(
        test::run_awaitable(fetch_key(dns, "missing", "example.com")).status, KeyStatus::NoKey
    );
    EXPECT_EQ(test::run_awaitable(fetch_key(dns, "empty", "example.com")).status, KeyStatus::NoKey);
}

TEST(DkimKeyRecord, FetchTimeoutIsTempFail) {
    StaticDns dns;
    dns.fail("sel._domainkey.example.com", dns::RrType::TXT);
    const auto lookup = test::run_awaitable(fetch_key(dns, "sel", "example.com"));
    EXPECT_EQ(lookup.status, KeyStatus::TempFail);
    EXPECT_FALSE(lookup.record);
}

TEST(DkimKeyRecord, FetchMultipleTxtFirstUsableWins) {
    StaticDns dns;
    dns.add_txt("sel._domainkey.example.com", "v=spf1 -all");
    dns.add_txt("sel._domainkey.example.com", "v=DKIM1; k=ed25519; p=" + std::string(kEd25519P));
    const auto lookup = test::run_awaitable(fetch_key(dns, "sel", "example.com"));
    EXPECT_EQ(lookup.status, KeyStatus::Ok);

    StaticDns revoked;
    revoked.add_txt("sel._domainkey.example.com", "garbage");
    revoked.add_txt("sel._domainkey.example.com", "v=DKIM1; p=");
    EXPECT_EQ(
        test::run_awaitable(fetch_key(revoked, "sel", "example.com")).status, KeyStatus::Revoked
    );

    StaticDns bad;
    bad.add_txt("sel._domainkey.example.com", "garbage");
    bad.add_txt("sel._domainkey.example.com", "k=dsa; p=AAAA");
    EXPECT_EQ(test::run_awaitable(fetch_key(bad, "sel", "example.com")).status, KeyStatus::Syntax);
}

TEST(DkimKeyRecord, FetchRejectsBadNamesWithoutQuerying) {
    StaticDns dns;
    EXPECT_EQ(test::run_awaitable(fetch_key(dns, "", "example.com")).status, KeyStatus::Syntax);
    EXPECT_EQ(test::run_awaitable(fetch_key(dns, "sel", "")).status, KeyStatus::Syntax);
    EXPECT_EQ(test::run_awaitable(fetch_key(dns, "a b", "example.com")).status, KeyStatus::Syntax);
    EXPECT_EQ(test::run_awaitable(fetch_key(dns, "sel", "example..com")).status, KeyStatus::Syntax);
    EXPECT_EQ(
        test::run_awaitable(fetch_key(dns, "sel", "exa\nmple.com")).status, KeyStatus::Syntax
    );
    EXPECT_EQ(
        test::run_awaitable(fetch_key(dns, std::string(64, 'a'), "example.com")).status,
        KeyStatus::Syntax
    );
    EXPECT_EQ(dns.queries(), 0U);
    // Dotted selectors are sub-domains (§3.1).
    dns.add_txt("a.b._domainkey.example.com", "k=ed25519; p=" + std::string(kEd25519P));
    EXPECT_EQ(test::run_awaitable(fetch_key(dns, "a.b", "example.com")).status, KeyStatus::Ok);
}

}  // namespace
}  // namespace sov::mailauth
