#include "mailauth/dkim_verify.hpp"

#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "mailauth/base64.hpp"
#include "mailauth/dkim_sign.hpp"
#include "mailauth/dkim_signature.hpp"
#include "mailauth/static_dns.hpp"
#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;
using std::chrono::seconds;
using std::chrono::system_clock;

const std::string kMessage =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

// Keys are slow to make (RSA): one set for the whole file.
struct Keys {
    PrivateKey rsa = *PrivateKey::generate(KeyAlgorithm::Rsa, 1024);
    PrivateKey ed = *PrivateKey::generate(KeyAlgorithm::Ed25519);
    PrivateKey other_rsa = *PrivateKey::generate(KeyAlgorithm::Rsa, 1024);
};

const Keys& keys() {
    static const Keys k;
    return k;
}

StaticDns published() {
    StaticDns dns;
    dns.add_txt("rsa._domainkey.example.com", keys().rsa.dns_record());
    dns.add_txt("ed._domainkey.example.com", keys().ed.dns_record());
    return dns;
}

std::vector<DkimVerdict> verify(
    DnsSource& dns, const std::string& message, DkimVerifyOptions options = {}
) {
    return test::run_awaitable(verify_dkim(dns, message, options));
}

std::string signed_by_us(const std::string& message, SignOptions options = {}) {
    Signer signer("example.com", {{"rsa", keys().rsa}, {"ed", keys().ed}}, options);
    auto fields = signer.sign(message);
    EXPECT_TRUE(fields);
    return *fields + message;
}

// A hand-built signature, for the tags our signer never writes (l=, i=, odd h= lists).
struct Custom {
    std::string a = "ed25519-sha256";
    std::string selector = "ed";
    std::string domain = "example.com";
    std::string extra;  // more tags, each ending with "; "
    Canon header_canon = Canon::Relaxed;
    Canon body_canon = Canon::Relaxed;
    std::optional<std::uint64_t> length;
    std::vector<std::string> headers{"from", "subject"};
};

using RawSigner = std::function<std::string(const std::string& header_data)>;

std::string custom_signature(const std::string& message, const RawSigner& sign, const Custom& c) {
    const auto split = split_message(message);
    BodyHasher body(c.body_canon, c.length);
    body.update(std::string_view(message).substr(split.body_offset));
    std::string field = "DKIM-Signature: v=1; a=" + c.a +
                        "; c=" + std::string(to_string(c.header_canon)) + "/" +
                        std::string(to_string(c.body_canon)) + "; d=" + c.domain +
                        "; s=" + c.selector + "; " + c.extra;
    if (c.length) {
        field += "l=" + std::to_string(*c.length) + "; ";
    }
    field += "h=";
    for (std::size_t i = 0; i < c.headers.size(); ++i) {
        field += (i ? ":" : "") + c.headers[i];
    }
    field += "; bh=" + base64_encode(body.finish()) + "; b=";
    const std::string data = canonical_header_data(c.header_canon, split.fields, c.headers) +
                             canonicalize_header(c.header_canon, field);
    return field + base64_encode(sign(data)) + "\r\n";
}

std::string custom_signature(const std::string& message, const PrivateKey& key, const Custom& c) {
    return custom_signature(
        message,
        [&key](const std::string& data) {
            auto sig = key.sign_digest(sha256(data));
            EXPECT_TRUE(sig);
            return sig ? *sig : std::string{};
        },
        c
    );
}

// RSASSA-PKCS1-v1_5 with any digest and any key size, as old signers did (PrivateKey refuses
// both SHA-1 and keys under 1024 bits).
struct RawRsa {
    explicit RawRsa(unsigned bits)
        : key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits))) {}
    ~RawRsa() { EVP_PKEY_free(key); }
    RawRsa(const RawRsa&) = delete;
    RawRsa& operator=(const RawRsa&) = delete;

    std::string record() const {
        unsigned char* der = nullptr;
        const int size = i2d_PUBKEY(key, &der);
        std::string out =
            "v=DKIM1; k=rsa; p=" +
            base64_encode(std::span<const std::uint8_t>(der, static_cast<std::size_t>(size)));
        OPENSSL_free(der);
        return out;
    }

    RawSigner signer(const EVP_MD* md) const {
        return [this, md](const std::string& data) {
            std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
            unsigned int digest_size = 0;
            EVP_Digest(data.data(), data.size(), digest.data(), &digest_size, md, nullptr);
            EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
            std::size_t size = 0;
            EVP_PKEY_sign_init(ctx);
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
            EVP_PKEY_CTX_set_signature_md(ctx, md);
            EVP_PKEY_sign(ctx, nullptr, &size, digest.data(), digest_size);
            std::string sig(size, '\0');
            EVP_PKEY_sign(
                ctx, reinterpret_cast<unsigned char*>(sig.data()), &size, digest.data(), digest_size
            );
            EVP_PKEY_CTX_free(ctx);
            sig.resize(size);
            return sig;
        };
    }

    EVP_PKEY* key;
};

TEST(DkimVerify, RoundTripBothAlgorithmsAndCanonicalisations) {
    auto dns = published();
    for (const auto hc : {Canon::Simple, Canon::Relaxed}) {
        for (const auto bc : {Canon::Simple, Canon::Relaxed}) {
            SignOptions options;
            options.header_canon = hc;
            options.body_canon = bc;
            const auto verdicts = verify(dns, signed_by_us(kMessage, options));
            ASSERT_EQ(verdicts.size(), 2U);
            for (const auto& v : verdicts) {
                EXPECT_EQ(v.result, DkimResult::Pass) << to_string(hc) << "/" << to_string(bc)
                                                      << " " << v.algorithm << ": " << v.reason;
                EXPECT_EQ(v.domain, "example.com");
                EXPECT_EQ(v.identity, "@example.com");
                EXPECT_GE(v.b_prefix.size(), 8U);
                EXPECT_FALSE(v.testing);
            }
            EXPECT_EQ(verdicts[0].algorithm, "rsa-sha256");
            EXPECT_EQ(verdicts[0].selector, "rsa");
            EXPECT_EQ(verdicts[1].algorithm, "ed25519-sha256");
            EXPECT_EQ(verdicts[1].selector, "ed");
        }
    }
}

TEST(DkimVerify, RelaxedSurvivesRefoldingSimpleDoesNot) {
    auto dns = published();
    auto refold = [](std::string m) {
        const auto pos = m.find("Subject: Is dinner ready?");
        m.replace(pos, 25, "Subject:  Is dinner\r\n\tready?");
        return m;
    };
    const auto relaxed = verify(dns, refold(signed_by_us(kMessage)));
    ASSERT_EQ(relaxed.size(), 2U);
    EXPECT_EQ(relaxed[0].result, DkimResult::Pass);
    EXPECT_EQ(relaxed[1].result, DkimResult::Pass);
    SignOptions simple;
    simple.header_canon = Canon::Simple;
    const auto strict = verify(dns, refold(signed_by_us(kMessage, simple)));
    ASSERT_EQ(strict.size(), 2U);
    EXPECT_EQ(strict[0].result, DkimResult::Fail);
    EXPECT_EQ(strict[0].reason, "signature did not verify");
}

TEST(DkimVerify, TamperedHeaderAndBodyFail) {
    auto dns = published();
    std::string header = signed_by_us(kMessage);
    header.replace(header.find("Is dinner ready?"), 16, "Is lunch ready??");
    for (const auto& v : verify(dns, header)) {
        EXPECT_EQ(v.result, DkimResult::Fail);
        EXPECT_EQ(v.reason, "signature did not verify");
    }
    std::string body = signed_by_us(kMessage);
    body.replace(body.find("We lost"), 7, "We won!");
    for (const auto& v : verify(dns, body)) {
        EXPECT_EQ(v.result, DkimResult::Fail);
        EXPECT_EQ(v.reason, "body hash did not verify");
    }
    // An added From above the signed one: the signature covers the bottom instance only, and
    // the signer oversigned From, so the extra instance breaks it (§5.4.2, §8.15).
    std::string extra_from = signed_by_us(kMessage);
    extra_from.insert(extra_from.find("From: Joe"), "From: mallory@evil.example\r\n");
    for (const auto& v : verify(dns, extra_from)) {
        EXPECT_EQ(v.result, DkimResult::Fail);
    }
}

TEST(DkimVerify, WrongKeyFails) {
    StaticDns dns;
    dns.add_txt("rsa._domainkey.example.com", keys().other_rsa.dns_record());
    auto other_ed = PrivateKey::generate(KeyAlgorithm::Ed25519);
    ASSERT_TRUE(other_ed);
    dns.add_txt("ed._domainkey.example.com", other_ed->dns_record());
    const auto verdicts = verify(dns, signed_by_us(kMessage));
    ASSERT_EQ(verdicts.size(), 2U);
    for (const auto& v : verdicts) {
        EXPECT_EQ(v.result, DkimResult::Fail);
        EXPECT_EQ(v.reason, "signature did not verify");
    }
}

TEST(DkimVerify, KeyProblems) {
    const auto message = signed_by_us(kMessage);
    {
        StaticDns dns;  // neither key published
        for (const auto& v : verify(dns, message)) {
            EXPECT_EQ(v.result, DkimResult::PermError);
            EXPECT_EQ(v.reason, "no key for signature");
        }
    }
    {
        StaticDns dns;
        dns.add_txt("rsa._domainkey.example.com", "v=DKIM1; k=rsa; p=");
        dns.fail("ed._domainkey.example.com", dns::RrType::TXT);
        const auto v = verify(dns, message);
        ASSERT_EQ(v.size(), 2U);
        EXPECT_EQ(v[0].result, DkimResult::PermError);
        EXPECT_EQ(v[0].reason, "key revoked");
        EXPECT_EQ(v[1].result, DkimResult::TempError);
    }
    {
        StaticDns dns;  // keys swapped: k= does not fit a=
        dns.add_txt("rsa._domainkey.example.com", keys().ed.dns_record());
        dns.add_txt("ed._domainkey.example.com", keys().rsa.dns_record());
        for (const auto& v : verify(dns, message)) {
            EXPECT_EQ(v.result, DkimResult::PermError);
            EXPECT_EQ(v.reason, "inappropriate key algorithm");
        }
    }
    {
        StaticDns dns;
        dns.add_txt("rsa._domainkey.example.com", "v=DKIM1; p=notbase64!");
        dns.add_txt("ed._domainkey.example.com", "v=DKIM1; k=ed25519; s=tlsrpt; p=AAAA");
        const auto v = verify(dns, message);
        EXPECT_EQ(v[0].result, DkimResult::PermError);
        EXPECT_EQ(v[1].result, DkimResult::PermError);
    }
}

TEST(DkimVerify, TestingFlagIsReported) {
    StaticDns dns;
    dns.add_txt("ed._domainkey.example.com", keys().ed.dns_record() + "; t=y");
    dns.add_txt("rsa._domainkey.example.com", keys().rsa.dns_record());
    const auto v = verify(dns, signed_by_us(kMessage));
    ASSERT_EQ(v.size(), 2U);
    EXPECT_FALSE(v[0].testing);
    EXPECT_TRUE(v[1].testing);
    EXPECT_EQ(v[1].result, DkimResult::Pass);
}

TEST(DkimVerify, StrictIdentityKey) {
    StaticDns dns;
    dns.add_txt("ed._domainkey.example.com", keys().ed.dns_record() + "; t=s");
    Custom sub;
    sub.extra = "i=joe@mail.example.com; ";
    const auto v1 = verify(dns, custom_signature(kMessage, keys().ed, sub) + kMessage);
    ASSERT_EQ(v1.size(), 1U);
    EXPECT_EQ(v1[0].result, DkimResult::PermError);
    EXPECT_EQ(v1[0].identity, "joe@mail.example.com");
    Custom exact;
    exact.extra = "i=joe@example.com; ";
    const auto v2 = verify(dns, custom_signature(kMessage, keys().ed, exact) + kMessage);
    EXPECT_EQ(v2[0].result, DkimResult::Pass) << v2[0].reason;
    // Without t=s a subdomain identity is fine.
    auto open = published();
    EXPECT_EQ(
        verify(open, custom_signature(kMessage, keys().ed, sub) + kMessage)[0].result,
        DkimResult::Pass
    );
}

TEST(DkimVerify, Expiration) {
    auto dns = published();
    SignOptions options;
    options.expire_after = seconds(3600);
    const auto message = signed_by_us(kMessage, options);
    const auto t = parse_dkim_signature(message.substr(15, message.find("\r\nDKIM-Signature") - 15))
                       .signature.timestamp;
    ASSERT_TRUE(t);
    DkimVerifyOptions before;
    before.now = system_clock::time_point(seconds(*t + 60));
    for (const auto& v : verify(dns, message, before)) {
        EXPECT_EQ(v.result, DkimResult::Pass) << v.reason;
    }
    DkimVerifyOptions after;
    after.now = system_clock::time_point(seconds(*t + 3601));
    const auto queries = dns.queries();
    for (const auto& v : verify(dns, message, after)) {
        EXPECT_EQ(v.result, DkimResult::PermError);
        EXPECT_EQ(v.reason, "signature expired");
    }
    EXPECT_EQ(dns.queries(), queries);  // no key needed to know
}

TEST(DkimVerify, BodyLengthPolicy) {
    auto dns = published();
    Custom c;
    const auto canonical =
        canonicalize_body(Canon::Relaxed, kMessage.substr(kMessage.find("\r\n\r\n") + 4));
    c.length = canonical.size();
    const std::string sig = custom_signature(kMessage, keys().ed, c);
    const std::string appended = sig + kMessage + "Buy cheap watches!\r\n";

    auto exact = verify(dns, sig + kMessage);
    ASSERT_EQ(exact.size(), 1U);
    EXPECT_EQ(exact[0].result, DkimResult::Pass);
    EXPECT_EQ(exact[0].body_length, canonical.size());

    EXPECT_EQ(verify(dns, appended)[0].result, DkimResult::Pass);
    DkimVerifyOptions strict;
    strict.accept_body_length = false;
    const auto refused = verify(dns, appended, strict);
    EXPECT_EQ(refused[0].result, DkimResult::Policy);
    EXPECT_EQ(refused[0].reason, "unsigned content after l=");
    // An l= that covers the whole body is fine even then.
    EXPECT_EQ(verify(dns, sig + kMessage, strict)[0].result, DkimResult::Pass);

    // l= larger than the body (§3.5 MUST NOT): the body was truncated.
    Custom longer = c;
    longer.length = canonical.size() + 10;
    const auto truncated = verify(dns, custom_signature(kMessage, keys().ed, longer) + kMessage);
    EXPECT_EQ(truncated[0].result, DkimResult::PermError);
}

TEST(DkimVerify, SeveralSignaturesInMessageOrder) {
    auto dns = published();
    Custom simple;
    simple.header_canon = Canon::Simple;
    simple.body_canon = Canon::Simple;
    Custom broken;
    broken.headers = {"to", "subject"};  // From not signed
    std::string message = custom_signature(kMessage, keys().ed, simple) +
                          custom_signature(kMessage, keys().ed, broken) +
                          "DKIM-Signature: v=1; a=rsa-sha1; d=example.com; s=rsa; h=from; "
                          "bh=AAAA; b=AAAA\r\n" +
                          signed_by_us(kMessage);
    const auto v = verify(dns, message);
    ASSERT_EQ(v.size(), 5U);
    EXPECT_EQ(v[0].result, DkimResult::Pass);
    EXPECT_EQ(v[1].result, DkimResult::PermError);
    EXPECT_EQ(v[1].reason, "From field not signed");
    EXPECT_EQ(v[1].domain, "example.com");
    EXPECT_EQ(v[2].result, DkimResult::Policy);
    EXPECT_EQ(v[2].reason, "rsa-sha1 not accepted (RFC 8301)");
    EXPECT_EQ(v[3].result, DkimResult::Pass);
    EXPECT_EQ(v[4].result, DkimResult::Pass);
    // Keys are fetched once per (selector, domain).
    const auto requests = dkim_key_requests(message);
    ASSERT_EQ(requests.size(), 2U);
    EXPECT_EQ(requests[0].selector, "ed");
    EXPECT_EQ(requests[1].selector, "rsa");

    DkimVerifyOptions few;
    few.max_signatures = 2;
    const auto limited = verify(dns, message, few);
    ASSERT_EQ(limited.size(), 5U);
    EXPECT_EQ(limited[0].result, DkimResult::Pass);
    EXPECT_EQ(limited[4].result, DkimResult::Policy);
    EXPECT_EQ(limited[4].reason, "too many signatures");
}

TEST(DkimVerify, Sha1IsPolicyWithoutDns) {
    StaticDns dns;
    const std::string message =
        "DKIM-Signature: v=1; a=rsa-sha1; d=example.com; s=x; h=from; bh=AAAA; b=AAAA\r\n" +
        kMessage;
    const auto v = verify(dns, message);
    ASSERT_EQ(v.size(), 1U);
    EXPECT_EQ(v[0].result, DkimResult::Policy);
    EXPECT_EQ(v[0].algorithm, "rsa-sha1");
    EXPECT_EQ(dns.queries(), 0U);
}

TEST(DkimVerify, ShortRsaKeysArePolicy) {
    // RFC 8301 §3.2: a genuine signature by a 512-bit key is refused by policy, not failed.
    const RawRsa weak(512);
    StaticDns dns;
    dns.add_txt("weak._domainkey.example.com", weak.record());
    Custom c;
    c.a = "rsa-sha256";
    c.selector = "weak";
    const auto message = custom_signature(kMessage, weak.signer(EVP_sha256()), c) + kMessage;
    const auto v = verify(dns, message);
    ASSERT_EQ(v.size(), 1U);
    EXPECT_EQ(v[0].result, DkimResult::Policy);
    EXPECT_EQ(v[0].reason, "RSA key under 1024 bits (RFC 8301)");
    // Legacy mode (conformance tests only) verifies it, and fails it once tampered.
    DkimVerifyOptions legacy;
    legacy.min_rsa_bits = 512;
    EXPECT_EQ(verify(dns, message, legacy)[0].result, DkimResult::Pass);
    std::string tampered = message;
    tampered.replace(tampered.find("We lost"), 7, "We won!");
    EXPECT_EQ(verify(dns, tampered, legacy)[0].result, DkimResult::Fail);
}

TEST(DkimVerify, LegacySha1) {
    const RawRsa key(1024);
    StaticDns dns;
    dns.add_txt("old._domainkey.example.com", key.record());
    for (const auto canon : {Canon::Simple, Canon::Relaxed}) {
        Custom c;
        c.a = "rsa-sha1";
        c.selector = "old";
        c.header_canon = canon;
        c.body_canon = canon;
        // The body hash of an rsa-sha1 signature is SHA-1 too: sign a custom field by hand.
        const std::string body = kMessage.substr(kMessage.find("\r\n\r\n") + 4);
        const std::string canonical = canonicalize_body(canon, body);
        std::array<unsigned char, 20> bh{};
        EVP_Digest(canonical.data(), canonical.size(), bh.data(), nullptr, EVP_sha1(), nullptr);
        const auto split = split_message(kMessage);
        std::string field = "DKIM-Signature: v=1; a=rsa-sha1; c=" + std::string(to_string(canon)) +
                            "/" + std::string(to_string(canon)) +
                            "; d=example.com; s=old; h=from:subject; bh=" +
                            base64_encode(std::span<const std::uint8_t>(bh)) + "; b=";
        const std::string data = canonical_header_data(canon, split.fields, {"from", "subject"}) +
                                 canonicalize_header(canon, field);
        const std::string message =
            field + base64_encode(key.signer(EVP_sha1())(data)) + "\r\n" + kMessage;
        EXPECT_EQ(verify(dns, message)[0].result, DkimResult::Policy);
        DkimVerifyOptions legacy;
        legacy.allow_sha1 = true;
        EXPECT_EQ(verify(dns, message, legacy)[0].result, DkimResult::Pass) << to_string(canon);
        std::string tampered = message;
        tampered.replace(tampered.find("dinner"), 6, "supper");
        EXPECT_EQ(verify(dns, tampered, legacy)[0].result, DkimResult::Fail);
    }
}

TEST(DkimVerify, StepsCanRunSeparately) {
    auto dns = published();
    const auto message = signed_by_us(kMessage);
    const auto requests = dkim_key_requests(message);
    ASSERT_EQ(requests.size(), 2U);
    const auto keys_found = test::run_awaitable(fetch_dkim_keys(dns, requests));
    // The CPU step on another thread, as the server does it.
    std::vector<DkimVerdict> verdicts;
    std::thread worker([&] { verdicts = verify_dkim_with_keys(message, requests, keys_found); });
    worker.join();
    ASSERT_EQ(verdicts.size(), 2U);
    EXPECT_EQ(verdicts[0].result, DkimResult::Pass);
    EXPECT_EQ(verdicts[1].result, DkimResult::Pass);
    // A key the caller did not supply is a temporary error, not a crash.
    const auto missing = verify_dkim_with_keys(message, requests, {});
    EXPECT_EQ(missing[0].result, DkimResult::TempError);
}

TEST(DkimVerify, UnsignedAndMalformedMessages) {
    StaticDns dns;
    EXPECT_TRUE(verify(dns, kMessage).empty());
    EXPECT_TRUE(verify(dns, "").empty());
    const auto malformed = verify(dns, "DKIM-Signature: v=1\r\nnot a header line\r\n\r\nbody\r\n");
    ASSERT_EQ(malformed.size(), 1U);
    EXPECT_EQ(malformed[0].result, DkimResult::PermError);
    EXPECT_TRUE(verify(dns, "not a header line\r\n\r\nbody\r\n").empty());
}

TEST(DkimVerify, ResultKeywords) {
    EXPECT_EQ(to_string(DkimResult::None), "none");
    EXPECT_EQ(to_string(DkimResult::Pass), "pass");
    EXPECT_EQ(to_string(DkimResult::Fail), "fail");
    EXPECT_EQ(to_string(DkimResult::Policy), "policy");
    EXPECT_EQ(to_string(DkimResult::Neutral), "neutral");
    EXPECT_EQ(to_string(DkimResult::TempError), "temperror");
    EXPECT_EQ(to_string(DkimResult::PermError), "permerror");
}

}  // namespace
}  // namespace sov::mailauth
