#include "mailauth/dkim_sign.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/clock.hpp"
#include "mailauth/base64.hpp"
#include "mailauth/dkim_store.hpp"
#include "mailauth/dkim_tags.hpp"
#include "mailauth/errors.hpp"
#include "support/temp_dir.hpp"

namespace sov::mailauth {
namespace {

constexpr std::string_view kMessage =
    "From: Alice <alice@example.test>\r\n"
    "To: bob@example.org,\r\n"
    "\tcarol@example.org\r\n"
    "Subject:   Hello   there  \r\n"
    "Date: Sun, 29 Nov 2026 07:00:00 +0000\r\n"
    "Message-ID: <1@example.test>\r\n"
    "Received: from somewhere\r\n"
    "X-Unsigned: yes\r\n"
    "\r\n"
    "Body line one  \r\n"
    "\r\n"
    "Body line three\r\n"
    "\r\n\r\n";

struct Keys {
    PrivateKey rsa;
    PrivateKey ed;
};

const Keys& keys() {
    static const Keys kKeys{
        *PrivateKey::generate(KeyAlgorithm::Rsa, 1024), *PrivateKey::generate(KeyAlgorithm::Ed25519)
    };
    return kKeys;
}

Signer make_signer(SignOptions options = {}) {
    return Signer("Example.TEST", {{"s-rsa", keys().rsa}, {"s-ed", keys().ed}}, options);
}

// An independent check with OpenSSL: rebuild the signed data by the RFC 6376 §3.7 / §5.4 rules
// (header fields of h= bottom-up, then the signature field with b= emptied, no final CRLF) and
// verify b= over it, hashing the body ourselves for bh=.
::testing::AssertionResult verifies(
    std::string_view signed_message, std::size_t index, const PrivateKey& key
) {
    const auto split = split_message(signed_message);
    if (split.status != SplitMessage::Status::Ok) {
        return ::testing::AssertionFailure() << "split";
    }
    std::vector<const HeaderField*> sigs;
    for (const auto& f : split.fields) {
        if (f.name == "DKIM-Signature") {
            sigs.push_back(&f);
        }
    }
    if (index >= sigs.size()) {
        return ::testing::AssertionFailure() << "no signature " << index;
    }
    const auto raw = sigs[index]->raw;
    const auto tags = TagList::parse(raw.substr(raw.find(':') + 1));
    if (!tags.ok()) {
        return ::testing::AssertionFailure() << "tags: " << to_string(tags.status());
    }
    const auto c = std::string(*tags.find("c"));
    const auto header_canon = *canon_from_string(c.substr(0, c.find('/')));
    const auto body_canon = *canon_from_string(c.substr(c.find('/') + 1));
    const auto bh = base64_encode(body_hash(body_canon, signed_message.substr(split.body_offset)));
    if (strip_fws(*tags.find("bh")) != bh) {
        return ::testing::AssertionFailure() << "bh mismatch";
    }
    std::vector<std::string> names;
    const std::string h = strip_fws(*tags.find("h"));
    for (std::size_t pos = 0; pos <= h.size();) {
        const auto colon = h.find(':', pos);
        names.push_back(h.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos)
        );
        if (colon == std::string::npos) {
            break;
        }
        pos = colon + 1;
    }
    const auto b_value = *tags.find("b");
    const auto b_pos = static_cast<std::size_t>(b_value.data() - raw.data());
    const std::string emptied =
        std::string(raw.substr(0, b_pos)) + std::string(raw.substr(b_pos + b_value.size()));
    const std::string data = canonical_header_data(header_canon, split.fields, names) +
                             canonicalize_header(header_canon, emptied);
    const auto sig = base64_decode(strip_fws(b_value));
    if (!sig) {
        return ::testing::AssertionFailure() << "b= not base64";
    }
    const auto p = base64_decode(key.public_key_base64());
    EVP_PKEY* pub = nullptr;
    if (key.algorithm() == KeyAlgorithm::Rsa) {
        const unsigned char* in = p->data();
        pub = d2i_PUBKEY(nullptr, &in, static_cast<long>(p->size()));
    } else {
        pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, p->data(), p->size());
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    int ok = 0;
    if (key.algorithm() == KeyAlgorithm::Rsa) {
        ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub) == 1 &&
             EVP_DigestVerify(
                 ctx,
                 sig->data(),
                 sig->size(),
                 reinterpret_cast<const unsigned char*>(data.data()),
                 data.size()
             ) == 1;
    } else {
        // RFC 8463 §3: Ed25519 over the SHA-256 of the data.
        const auto digest = sha256(data);
        ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pub) == 1 &&
             EVP_DigestVerify(ctx, sig->data(), sig->size(), digest.data(), digest.size()) == 1;
    }
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pub);
    return ok ? ::testing::AssertionSuccess() : ::testing::AssertionFailure() << "bad signature";
}

class DkimSign : public ::testing::Test {
protected:
    void SetUp() override {
        core::pin_clock_for_test(core::WallTime(std::chrono::seconds(1'795'000'000)));
    }
    void TearDown() override { core::pin_clock_for_test({}); }
};

TEST_F(DkimSign, BothSignaturesVerify) {
    auto fields = make_signer().sign(kMessage);
    ASSERT_TRUE(fields) << fields.error().message();
    const std::string signed_message = *fields + std::string(kMessage);
    EXPECT_TRUE(verifies(signed_message, 0, keys().rsa));
    EXPECT_TRUE(verifies(signed_message, 1, keys().ed));
    EXPECT_FALSE(verifies(signed_message, 0, keys().ed));
}

TEST_F(DkimSign, ReusedContextsKeepSigningAcrossMessagesAndThreads) {
    // Each key's OpenSSL signing context is set up once and reused, pooled between threads, and
    // the header buffers are per thread: every signature must still verify, from any thread,
    // through copies of the Signer too.
    const Signer signer = make_signer();
    const Signer copy = signer;  // NOLINT(performance-unnecessary-copy-initialization)
    const std::vector<std::string> messages = {
        std::string(kMessage),
        "From: a@example.test\r\n\r\nx\r\n",
        "From: b@example.test\r\nSubject: a longer subject, to change the header size\r\n"
        "To: c@example.org\r\n\r\n",
    };
    for (int round = 0; round < 3; ++round) {
        for (const auto& m : messages) {
            auto fields = signer.sign(m);
            ASSERT_TRUE(fields) << fields.error().message();
            EXPECT_TRUE(verifies(*fields + m, 0, keys().rsa)) << round;
            EXPECT_TRUE(verifies(*fields + m, 1, keys().ed)) << round;
        }
    }
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 10; ++i) {
                const auto& m = messages[static_cast<std::size_t>(t + i) % messages.size()];
                auto fields = (t % 2 == 0 ? signer : copy).sign(m);
                if (fields && verifies(*fields + m, 0, keys().rsa) &&
                    verifies(*fields + m, 1, keys().ed)) {
                    ++good;
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(good.load(), 40);
}

TEST_F(DkimSign, TagsAndFolding) {
    auto fields = make_signer().sign(kMessage);
    ASSERT_TRUE(fields);
    const std::string_view text = *fields;
    EXPECT_TRUE(
        text.starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test;")
    );
    EXPECT_NE(text.find("a=ed25519-sha256;"), std::string_view::npos);
    EXPECT_NE(text.find("t=1795000000;"), std::string_view::npos);
    EXPECT_EQ(text.find("x="), std::string_view::npos);
    EXPECT_EQ(text.find("l="), std::string_view::npos);
    std::size_t lines = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        const auto end = text.find("\r\n", pos);
        ASSERT_NE(end, std::string_view::npos);
        EXPECT_LE(end - pos, 78U) << text.substr(pos, end - pos);
        pos = end + 2;
        ++lines;
    }
    EXPECT_GT(lines, 4U);
}

TEST_F(DkimSign, HeaderListSignsPresentFieldsAndOversigns) {
    const auto split = split_message(kMessage);
    const auto names = signed_header_names(split.fields, true);
    auto count = [&](std::string_view n) { return std::count(names.begin(), names.end(), n); };
    EXPECT_EQ(count("from"), 2);
    EXPECT_EQ(count("to"), 2);
    EXPECT_EQ(count("subject"), 2);
    EXPECT_EQ(count("cc"), 1);        // absent, but a later Cc must break the signature
    EXPECT_EQ(count("reply-to"), 1);  // likewise
    EXPECT_EQ(count("received"), 0);
    EXPECT_EQ(count("x-unsigned"), 0);
    EXPECT_EQ(count("list-id"), 0);  // absent and not oversigned
    const auto plain = signed_header_names(split.fields, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), "from"), 1);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), "cc"), 0);
}

TEST_F(DkimSign, AddedHeadersBreakOversignedSignature) {
    auto fields = make_signer().sign(kMessage);
    ASSERT_TRUE(fields);
    const std::string with_cc = *fields + "Cc: mallory@example.net\r\n" + std::string(kMessage);
    EXPECT_FALSE(verifies(with_cc, 0, keys().rsa));
    const std::string with_subject = *fields + "Subject: Pay now\r\n" + std::string(kMessage);
    EXPECT_FALSE(verifies(with_subject, 1, keys().ed));
    // An unsigned field may be added (relays add Received).
    const std::string with_received = *fields + "Received: by relay\r\n" + std::string(kMessage);
    EXPECT_TRUE(verifies(with_received, 0, keys().rsa));
}

TEST_F(DkimSign, RelaxedSurvivesRefoldingButNotBodyChanges) {
    auto fields = make_signer().sign(kMessage);
    ASSERT_TRUE(fields);
    std::string refolded(kMessage);
    refolded.replace(refolded.find("Subject:   Hello   there  "), 26, "Subject: Hello\r\n there");
    EXPECT_TRUE(verifies(*fields + refolded, 0, keys().rsa));
    std::string altered(kMessage);
    altered.replace(altered.find("one"), 3, "two");
    EXPECT_FALSE(verifies(*fields + altered, 0, keys().rsa));
}

TEST_F(DkimSign, SimpleCanonicalisationAndExpiry) {
    SignOptions options;
    options.header_canon = Canon::Simple;
    options.body_canon = Canon::Simple;
    options.expire_after = std::chrono::hours(24);
    auto fields = make_signer(options).sign(kMessage);
    ASSERT_TRUE(fields);
    EXPECT_NE(fields->find("c=simple/simple;"), std::string::npos);
    EXPECT_NE(fields->find("x=1795086400;"), std::string::npos);
    const std::string signed_message = *fields + std::string(kMessage);
    EXPECT_TRUE(verifies(signed_message, 0, keys().rsa));
    EXPECT_TRUE(verifies(signed_message, 1, keys().ed));
}

TEST_F(DkimSign, TrickyMessages) {
    const std::string_view messages[] = {
        "From: a@example.test\r\n\r\n",  // empty body
        "From: a@example.test\r\n",      // no body at all
        "From: a@example.test\r\nSubject: x\r\n\r\nno final crlf",
        "From: a@example.test\r\nTo: b\r\nTo: c\r\n\r\nduplicate To\r\n",
        "From: a@example.test\r\nSubject: \xc3\xa4\r\n\r\n8bit \xff\xfe body\r\n",
        "From:a@example.test\r\nX:\r\n\r\n \t \r\n\r\n",
    };
    for (const auto message : messages) {
        auto fields = make_signer().sign(message);
        ASSERT_TRUE(fields) << message;
        const std::string signed_message = *fields + std::string(message);
        EXPECT_TRUE(verifies(signed_message, 0, keys().rsa)) << message;
        EXPECT_TRUE(verifies(signed_message, 1, keys().ed)) << message;
    }
}

TEST_F(DkimSign, Errors) {
    EXPECT_EQ(make_signer().sign("To: b\r\n\r\nbody\r\n").error(), Errc::NoFromField);
    EXPECT_EQ(make_signer().sign("From: a\r\nbroken\r\n\r\n").error(), Errc::BadMessage);
}

TEST_F(DkimSign, KeyringSignsHostedDomainsOnly) {
    test::TempDir dir;
    const auto dkim_dir = dir.path() / "dkim";
    auto store = KeyStore::open(dkim_dir, "example.test");
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->create_initial(core::now(), {.rsa = true, .ed25519 = true, .rsa_bits = 1024})
    );
    // A stray directory with an unsafe name is ignored, not an error.
    std::filesystem::create_directories(dkim_dir / "Not_Canonical");
    auto ring = Keyring::load(dkim_dir);
    ASSERT_TRUE(ring) << ring.error().message();
    EXPECT_EQ(ring->domains(), std::vector<std::string>{"example.test"});
    auto none = ring->sign("other.test", kMessage);
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, "");
    auto fields = ring->sign("EXAMPLE.test", kMessage);
    ASSERT_TRUE(fields);
    const std::string signed_message = *fields + std::string(kMessage);
    const auto active = store->with_state(SelectorState::Active);
    ASSERT_EQ(active.size(), 2U);
    EXPECT_TRUE(verifies(signed_message, 0, *store->load_key(active[0])));
    EXPECT_TRUE(verifies(signed_message, 1, *store->load_key(active[1])));
    EXPECT_NE(fields->find("s=" + active[0].selector + ";"), std::string::npos);

    auto empty = Keyring::load(dir.path() / "missing");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->domains().empty());
}

}  // namespace
}  // namespace sov::mailauth
