#include "mailauth/dkim_key.hpp"

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/errors.hpp"
#include "mailauth/base64.hpp"
#include "mailauth/dkim_tags.hpp"
#include "mailauth/errors.hpp"
#include "support/temp_dir.hpp"

namespace sov::mailauth {
namespace {

TEST(DkimKey, Ed25519RecordHoldsTheRawKey) {
    auto key = PrivateKey::generate(KeyAlgorithm::Ed25519);
    ASSERT_TRUE(key);
    const auto record = key->dns_record();
    const auto tags = TagList::parse(record);
    ASSERT_TRUE(tags.ok());
    EXPECT_EQ(tags[0].name, "v");
    EXPECT_EQ(tags.find("k"), "ed25519");
    // RFC 8463 §4.2: 32 raw octets, i.e. 44 base64 characters, not a 44-octet SPKI.
    const auto raw = base64_decode(*tags.find("p"));
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->size(), 32U);
}

TEST(DkimKey, RsaRecordHoldsSubjectPublicKeyInfo) {
    auto key = PrivateKey::generate(KeyAlgorithm::Rsa, 1024);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->bits(), 1024U);
    const auto record = key->dns_record();  // TagList views point into it
    const auto tags = TagList::parse(record);
    ASSERT_TRUE(tags.ok());
    EXPECT_EQ(tags.find("k"), "rsa");
    const auto der = base64_decode(*tags.find("p"));
    ASSERT_TRUE(der);
    const unsigned char* in = der->data();
    EVP_PKEY* pub = d2i_PUBKEY(nullptr, &in, static_cast<long>(der->size()));
    ASSERT_NE(pub, nullptr);
    EXPECT_EQ(EVP_PKEY_get_base_id(pub), EVP_PKEY_RSA);
    EVP_PKEY_free(pub);
}

TEST(DkimKey, RsaSizeLimits) {
    EXPECT_EQ(PrivateKey::generate(KeyAlgorithm::Rsa, 512).error(), Errc::UnsupportedKey);
    EXPECT_EQ(PrivateKey::generate(KeyAlgorithm::Rsa, 8192).error(), Errc::UnsupportedKey);
}

TEST(DkimKey, SignAndVerifyDigest) {
    for (const auto algorithm : {KeyAlgorithm::Rsa, KeyAlgorithm::Ed25519}) {
        auto key = PrivateKey::generate(algorithm, 1024);
        ASSERT_TRUE(key);
        auto pub = PublicKey::from_record(key->dns_record());
        ASSERT_TRUE(pub) << pub.error().message();
        const auto digest = sha256("header data");
        auto sig = key->sign_digest(digest);
        ASSERT_TRUE(sig);
        const std::span<const std::uint8_t> bytes(
            reinterpret_cast<const std::uint8_t*>(sig->data()), sig->size()
        );
        EXPECT_TRUE(pub->verify_digest(digest, bytes)) << to_string(algorithm);
        EXPECT_FALSE(pub->verify_digest(sha256("other data"), bytes)) << to_string(algorithm);
    }
}

// Signing contexts are pooled and reused (dkim_key.cpp): every reuse, from several threads and
// through copies of the key, must still sign the digest it is given.
TEST(DkimKey, ReusedSigningContextsAcrossThreadsAndCopies) {
    for (const auto algorithm : {KeyAlgorithm::Rsa, KeyAlgorithm::Ed25519}) {
        auto key = PrivateKey::generate(algorithm, 1024);
        ASSERT_TRUE(key);
        auto pub = PublicKey::from_record(key->dns_record());
        ASSERT_TRUE(pub);
        const PrivateKey copy = *key;
        std::atomic<int> verified{0};
        std::atomic<int> deterministic{0};
        constexpr int kThreads = 4;
        constexpr int kRounds = 25;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kRounds; ++i) {
                    const auto digest = sha256("header " + std::to_string(t * kRounds + i));
                    const auto first = (t % 2 == 0 ? *key : copy).sign_digest(digest);
                    const auto second = (t % 2 == 0 ? copy : *key).sign_digest(digest);
                    if (!first || !second) {
                        continue;
                    }
                    // RSASSA-PKCS1-v1_5 and Ed25519 are both deterministic.
                    deterministic += *first == *second ? 1 : 0;
                    const std::span<const std::uint8_t> bytes(
                        reinterpret_cast<const std::uint8_t*>(first->data()), first->size()
                    );
                    verified += pub->verify_digest(digest, bytes) ? 1 : 0;
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        EXPECT_EQ(verified.load(), kThreads * kRounds) << to_string(algorithm);
        EXPECT_EQ(deterministic.load(), kThreads * kRounds) << to_string(algorithm);
    }
}

TEST(DkimKey, RsaSignatureIsPkcs1Sha256OverTheData) {
    // The digest interface must equal a plain EVP_DigestSign(SHA-256) over the data, which is
    // what RFC 6376 §3.3.1 and every verifier compute.
    auto key = PrivateKey::generate(KeyAlgorithm::Rsa, 1024);
    ASSERT_TRUE(key);
    auto sig = key->sign_digest(sha256("payload"));
    ASSERT_TRUE(sig);
    const auto p = base64_decode(key->public_key_base64());
    const unsigned char* in = p->data();
    EVP_PKEY* pub = d2i_PUBKEY(nullptr, &in, static_cast<long>(p->size()));
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub), 1);
    EXPECT_EQ(
        EVP_DigestVerify(
            ctx,
            reinterpret_cast<const unsigned char*>(sig->data()),
            sig->size(),
            reinterpret_cast<const unsigned char*>("payload"),
            7
        ),
        1
    );
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pub);
}

TEST(DkimKey, SaveIsPrivateAndNeverOverwrites) {
    test::TempDir dir;
    auto key = PrivateKey::generate(KeyAlgorithm::Ed25519);
    ASSERT_TRUE(key);
    const auto path = dir.path() / "k.pem";
    ASSERT_TRUE(key->save(path));
    struct stat st{};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    EXPECT_EQ(key->save(path).error(), core::Errc::Exists);
    auto loaded = PrivateKey::load(path);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->algorithm(), KeyAlgorithm::Ed25519);
    EXPECT_EQ(loaded->public_key_base64(), key->public_key_base64());
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "k.pem.tmp"));
    EXPECT_EQ(PrivateKey::load(dir.path() / "missing.pem").error(), core::Errc::NotFound);
    EXPECT_EQ(PrivateKey::from_pem("not a key").error(), Errc::BadKey);
}

TEST(DkimKey, PublicKeyRecordErrors) {
    auto key = PrivateKey::generate(KeyAlgorithm::Ed25519);
    ASSERT_TRUE(key);
    const auto p = key->public_key_base64();
    EXPECT_TRUE(PublicKey::from_record("k=ed25519; p=" + p));
    EXPECT_EQ(PublicKey::from_record("v=DKIM1; k=ed25519; p=").error(), Errc::BadKey);  // revoked
    EXPECT_EQ(PublicKey::from_record("k=ed25519; v=DKIM1; p=" + p).error(), Errc::BadKey);
    EXPECT_EQ(PublicKey::from_record("v=DKIM2; k=ed25519; p=" + p).error(), Errc::BadKey);
    EXPECT_EQ(PublicKey::from_record("k=dsa; p=" + p).error(), Errc::UnsupportedKey);
    EXPECT_EQ(PublicKey::from_record("k=rsa; p=" + p).error(), Errc::BadKey);
    EXPECT_EQ(PublicKey::from_record("k=ed25519; p=AAAA").error(), Errc::BadKey);
    EXPECT_EQ(PublicKey::from_record("k=ed25519; p=" + p + "; p=" + p).error(), Errc::BadKey);
    // Folded p= values in multi-string TXT records are joined and FWS-stripped.
    EXPECT_TRUE(PublicKey::from_record("k=ed25519; p=" + p.substr(0, 10) + " \t" + p.substr(10)));
}

TEST(DkimKey, Base64) {
    EXPECT_EQ(base64_encode(std::string_view("")), "");
    EXPECT_EQ(base64_encode(std::string_view("f")), "Zg==");
    EXPECT_EQ(base64_encode(std::string_view("foobar")), "Zm9vYmFy");
    const auto decoded = base64_decode("Zm9vYg==");
    ASSERT_TRUE(decoded);
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), "foob");
    EXPECT_FALSE(base64_decode("Zm9"));
    EXPECT_FALSE(base64_decode("Zm9v YmFy"));
    EXPECT_FALSE(base64_decode("Zm=v"));
}

// A distinct, valid-looking Ed25519 p= value per `n` (any 32 octets decode as a public key).
std::string raw_ed25519_p(std::uint32_t n) {
    std::array<std::uint8_t, 32> raw{};
    raw.fill(0xA5);
    for (int i = 0; i < 4; ++i) {
        raw[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
    }
    return base64_encode(raw);
}

TEST(DkimKey, PublicKeyCacheServesRepeatedRecords) {
    auto key = PrivateKey::generate(KeyAlgorithm::Rsa, 1024);
    ASSERT_TRUE(key);
    const auto p = key->public_key_base64();
    const auto before = public_key_cache_stats();
    auto first = PublicKey::from_base64(KeyAlgorithm::Rsa, p);
    ASSERT_TRUE(first);
    const auto after_first = public_key_cache_stats();
    EXPECT_EQ(after_first.misses, before.misses + 1);
    EXPECT_EQ(after_first.hits, before.hits);
    auto second = PublicKey::from_record("v=DKIM1; k=rsa; p=" + p);
    ASSERT_TRUE(second);
    EXPECT_EQ(public_key_cache_stats().hits, after_first.hits + 1);
    const auto digest = sha256("header data");
    const auto sig = key->sign_digest(digest);
    ASSERT_TRUE(sig);
    const std::span<const std::uint8_t> bytes(
        reinterpret_cast<const std::uint8_t*>(sig->data()), sig->size()
    );
    // The same key (and its reused verification context) after a failure, and again.
    EXPECT_TRUE(second->verify_digest(digest, bytes));
    EXPECT_FALSE(second->verify_digest(sha256("other"), bytes));
    EXPECT_FALSE(first->verify_digest(digest, bytes.first(bytes.size() - 1)));
    EXPECT_TRUE(first->verify_digest(digest, bytes));
    // The algorithm is part of the cache key: the same text as another algorithm is decoded anew
    // (and refused: an RSA SPKI is not a 32-octet Ed25519 key).
    EXPECT_EQ(PublicKey::from_base64(KeyAlgorithm::Ed25519, p).error(), Errc::BadKey);
    // Errors are not cached: they are found again every time.
    const auto bad_before = public_key_cache_stats();
    EXPECT_EQ(PublicKey::from_base64(KeyAlgorithm::Rsa, "AAAA").error(), Errc::BadKey);
    EXPECT_EQ(PublicKey::from_base64(KeyAlgorithm::Rsa, "AAAA").error(), Errc::BadKey);
    EXPECT_EQ(public_key_cache_stats().misses, bad_before.misses + 2);
    EXPECT_EQ(public_key_cache_stats().hits, bad_before.hits);
}

TEST(DkimKey, PublicKeyCacheIsBoundedLru) {
    constexpr std::uint32_t kBase = 0x10000;
    auto decode = [](std::uint32_t n) {
        return PublicKey::from_base64(KeyAlgorithm::Ed25519, raw_ed25519_p(kBase + n)).has_value();
    };
    // 0 and 1, then enough keys to fill the cache exactly; 0 is used again, so when one more
    // key arrives, 1 is the least recently used and goes.
    for (std::uint32_t n = 0; n < kPublicKeyCacheSize; ++n) {
        ASSERT_TRUE(decode(n));
    }
    EXPECT_EQ(public_key_cache_stats().size, kPublicKeyCacheSize);
    auto hits = public_key_cache_stats().hits;
    ASSERT_TRUE(decode(0));
    EXPECT_EQ(public_key_cache_stats().hits, ++hits);
    ASSERT_TRUE(decode(kPublicKeyCacheSize));  // evicts 1
    EXPECT_EQ(public_key_cache_stats().size, kPublicKeyCacheSize);
    EXPECT_EQ(public_key_cache_stats().hits, hits);
    ASSERT_TRUE(decode(0));
    EXPECT_EQ(public_key_cache_stats().hits, ++hits);
    const auto misses = public_key_cache_stats().misses;
    ASSERT_TRUE(decode(1));
    EXPECT_EQ(public_key_cache_stats().misses, misses + 1);
    EXPECT_EQ(public_key_cache_stats().hits, hits);
}

// Verification runs on the worker pool: many threads decode (mostly from the cache) and verify
// with the same keys at once. Meant to be run under TSan as well.
TEST(DkimKey, PublicKeyCacheAcrossThreads) {
    auto rsa = PrivateKey::generate(KeyAlgorithm::Rsa, 1024);
    auto ed = PrivateKey::generate(KeyAlgorithm::Ed25519);
    ASSERT_TRUE(rsa && ed);
    const auto digest = sha256("header data");
    const auto rsa_sig = *rsa->sign_digest(digest);
    const auto ed_sig = *ed->sign_digest(digest);
    std::atomic<int> verified{0};
    std::vector<std::thread> threads;
    constexpr int kThreads = 4;
    constexpr int kRounds = 200;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRounds; ++i) {
                const bool use_rsa = (i + t) % 2 == 0;
                const auto& sig = use_rsa ? rsa_sig : ed_sig;
                auto pub = PublicKey::from_record((use_rsa ? rsa : ed)->dns_record());
                // Unrelated keys pass through the cache meanwhile and push entries out.
                (void)PublicKey::from_base64(
                    KeyAlgorithm::Ed25519, raw_ed25519_p(0x20000 + static_cast<std::uint32_t>(i))
                );
                const std::span<const std::uint8_t> bytes(
                    reinterpret_cast<const std::uint8_t*>(sig.data()), sig.size()
                );
                if (pub && pub->verify_digest(digest, bytes)) {
                    ++verified;
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(verified.load(), kThreads * kRounds);
}

}  // namespace
}  // namespace sov::mailauth
