#include "accounts/scram.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include "accounts/directory.hpp"
#include "accounts/errors.hpp"
#include "support/temp_dir.hpp"

namespace sov::accounts {
namespace {

using Status = ScramServer::Status;

// --- an independent client (RFC 5802 §3, §5), on OpenSSL only ---------------------------------

std::string b64(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(data.data()),
        static_cast<int>(data.size())
    );
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string unb64(std::string_view text) {
    std::string out(text.size() / 4 * 3 + 3, '\0');
    const int n = EVP_DecodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(text.data()),
        static_cast<int>(text.size())
    );
    EXPECT_GE(n, 0) << text;
    out.resize(static_cast<std::size_t>(std::max(n, 0)));
    // EVP_DecodeBlock counts the padding as zero bytes.
    for (auto it = text.rbegin(); it != text.rend() && *it == '=' && !out.empty(); ++it) {
        out.pop_back();
    }
    return out;
}

std::string hmac(std::string_view key, std::string_view data) {
    std::array<unsigned char, 32> md{};
    unsigned int len = 0;
    HMAC(
        EVP_sha256(),
        key.data(),
        static_cast<int>(key.size()),
        reinterpret_cast<const unsigned char*>(data.data()),
        data.size(),
        md.data(),
        &len
    );
    return {reinterpret_cast<const char*>(md.data()), len};
}

std::string sha256(std::string_view data) {
    std::array<unsigned char, 32> md{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data());
    return {reinterpret_cast<const char*>(md.data()), md.size()};
}

// The value of attribute `name` in a comma-separated SCRAM message.
std::string attribute(std::string_view message, char name) {
    std::size_t start = 0;
    while (start <= message.size()) {
        std::size_t end = message.find(',', start);
        if (end == std::string_view::npos) {
            end = message.size();
        }
        const std::string_view field = message.substr(start, end - start);
        if (field.size() >= 2 && field[0] == name && field[1] == '=') {
            return std::string(field.substr(2));
        }
        start = end + 1;
    }
    return {};
}

struct Client {
    Client(std::string username_as_sent, std::string password_)
        : username(std::move(username_as_sent)), password(std::move(password_)) {}

    std::string username;  // as sent, already "=2C"/"=3D"-escaped
    std::string password;
    std::string nonce = "fyko+d2lbbFgONRv9qkxdawL";
    std::string gs2 = "n,,";
    std::string first_extension;  // optional ",x=…" after the nonce in client-first
    std::string extension;        // optional "x=…" sent before the proof

    std::string first_bare;
    std::string expected_verifier;

    std::string first_message() {
        first_bare = "n=" + username + ",r=" + nonce + first_extension;
        return gs2 + first_bare;
    }

    std::string final_message(std::string_view server_first) {
        const std::string combined = attribute(server_first, 'r');
        EXPECT_EQ(combined.rfind(nonce, 0), 0U) << "server nonce must extend ours";
        const std::string salt = unb64(attribute(server_first, 's'));
        const int iterations = std::stoi(attribute(server_first, 'i'));
        std::array<unsigned char, 32> salted_raw{};
        PKCS5_PBKDF2_HMAC(
            password.data(),
            static_cast<int>(password.size()),
            reinterpret_cast<const unsigned char*>(salt.data()),
            static_cast<int>(salt.size()),
            iterations,
            EVP_sha256(),
            static_cast<int>(salted_raw.size()),
            salted_raw.data()
        );
        const std::string salted(reinterpret_cast<const char*>(salted_raw.data()), 32);
        const std::string client_key = hmac(salted, "Client Key");
        const std::string stored_key = sha256(client_key);
        const std::string server_key = hmac(salted, "Server Key");
        std::string without_proof = "c=" + b64(gs2) + ",r=" + combined;
        if (!extension.empty()) {
            without_proof += "," + extension;
        }
        const std::string auth = first_bare + "," + std::string(server_first) + "," + without_proof;
        const std::string signature = hmac(stored_key, auth);
        std::string proof = client_key;
        for (std::size_t i = 0; i < proof.size(); ++i) {
            proof[i] = static_cast<char>(proof[i] ^ signature[i]);
        }
        expected_verifier = "v=" + b64(hmac(server_key, auth));
        return without_proof + ",p=" + b64(proof);
    }
};

ScramServer::Lookup lookup_for(
    std::string username,
    std::optional<ScramCredentials> credentials,
    std::vector<std::string>* asked = nullptr
) {
    return [username = std::move(username),
            credentials = std::move(credentials),
            asked](std::string_view name) -> std::optional<ScramCredentials> {
        if (asked != nullptr) {
            asked->emplace_back(name);
        }
        if (name == username) {
            return credentials;
        }
        return std::nullopt;
    };
}

ScramCredentials credentials_for(std::string_view password, std::uint32_t iterations = 4096) {
    auto c = make_scram_credentials(password, "fixed salt 16 b.", iterations);
    EXPECT_TRUE(c);
    return c ? *c : ScramCredentials{};
}

// Runs a whole exchange; returns the final step.
ScramServer::Step run(ScramServer& server, Client& client) {
    auto first = server.client_first(client.first_message());
    if (first.status != Status::Continue) {
        return first;
    }
    return server.client_final(client.final_message(first.message));
}

// --- RFC 7677 §3 ---------------------------------------------------------------------------------

TEST(Scram, Rfc7677Example) {
    auto credentials = make_scram_credentials("pencil", unb64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
    ASSERT_TRUE(credentials);
    std::vector<std::string> asked;
    ScramServer server(lookup_for("user", *credentials, &asked));
    server.set_server_nonce_for_test("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");

    auto first = server.client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    ASSERT_EQ(first.status, Status::Continue) << first.error;
    EXPECT_EQ(
        first.message,
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    );
    EXPECT_EQ(asked, std::vector<std::string>{"user"});
    EXPECT_EQ(server.username(), "user");
    EXPECT_EQ(server.authzid(), "");

    auto final = server.client_final(
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    );
    ASSERT_EQ(final.status, Status::Success) << final.error;
    EXPECT_EQ(final.message, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    EXPECT_EQ(final.error, "");

    // The exchange is over.
    EXPECT_EQ(server.client_final("c=biws").status, Status::Failure);
    EXPECT_EQ(server.client_first("n,,n=user,r=x").status, Status::Failure);
}

TEST(Scram, Rfc7677ExampleWithOneProofBitFlipped) {
    auto credentials = make_scram_credentials("pencil", unb64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
    ASSERT_TRUE(credentials);
    ScramServer server(lookup_for("user", *credentials));
    server.set_server_nonce_for_test("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    ASSERT_EQ(server.client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO").status, Status::Continue);
    auto final = server.client_final(
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU="
    );
    EXPECT_EQ(final.status, Status::Failure);
    EXPECT_EQ(final.message, "e=invalid-proof");
}

// --- stored credentials -----------------------------------------------------------------------

TEST(ScramCredentials, MadeWithRandomSaltAndDefaultIterations) {
    auto a = make_scram_credentials("correct horse");
    auto b = make_scram_credentials("correct horse");
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(a->valid());
    EXPECT_EQ(a->iterations, kScramIterations);
    EXPECT_EQ(a->salt.size(), kScramSaltSize);
    EXPECT_EQ(a->stored_key.size(), kScramKeySize);
    EXPECT_EQ(a->server_key.size(), kScramKeySize);
    EXPECT_NE(a->salt, b->salt);
    EXPECT_NE(a->stored_key, b->stored_key);

    EXPECT_EQ(make_scram_credentials("").error(), Errc::InvalidPassword);
    EXPECT_EQ(
        make_scram_credentials(std::string(kMaxPasswordOctets + 1, 'x')).error(),
        Errc::InvalidPassword
    );
    EXPECT_EQ(make_scram_credentials("pw", "salt", 0).error(), Errc::Invalid);
    EXPECT_EQ(make_scram_credentials("pw", "", 4096).error(), Errc::Invalid);
}

TEST(ScramCredentials, FormatAndParseRoundTrip) {
    auto c = make_scram_credentials("pencil", unb64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
    ASSERT_TRUE(c);
    const std::string text = format_scram_credentials(*c);
    EXPECT_EQ(text.rfind("SCRAM-SHA-256$4096$W22ZaJ0SNY7soEsUEjb6gQ==$", 0), 0U) << text;
    auto parsed = parse_scram_credentials(text);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->iterations, 4096U);
    EXPECT_EQ(parsed->salt, c->salt);
    EXPECT_EQ(parsed->stored_key, c->stored_key);
    EXPECT_EQ(parsed->server_key, c->server_key);
}

TEST(ScramCredentials, MalformedStoredFormsAreRejected) {
    const std::string key = b64(std::string(32, 'k'));
    const std::string good = "SCRAM-SHA-256$4096$c2FsdA==$" + key + "$" + key;
    ASSERT_TRUE(parse_scram_credentials(good));
    for (const std::string& bad : {
             std::string(),
             std::string("SCRAM-SHA-1$4096$c2FsdA==$") + key + "$" + key,
             "SCRAM-SHA-256$0$c2FsdA==$" + key + "$" + key,
             "SCRAM-SHA-256$04096$c2FsdA==$" + key + "$" + key,
             "SCRAM-SHA-256$-1$c2FsdA==$" + key + "$" + key,
             "SCRAM-SHA-256$99999999999$c2FsdA==$" + key + "$" + key,
             "SCRAM-SHA-256$$c2FsdA==$" + key + "$" + key,
             "SCRAM-SHA-256$4096$$" + key + "$" + key,          // empty salt
             "SCRAM-SHA-256$4096$c2FsdA$" + key + "$" + key,    // unpadded
             "SCRAM-SHA-256$4096$c2FsdB==$" + key + "$" + key,  // non-zero padding bits
             "SCRAM-SHA-256$4096$c2FsdA==$" + key,
             "SCRAM-SHA-256$4096$c2FsdA==$" + key + "$" + key + "$" + key,
             "SCRAM-SHA-256$4096$c2FsdA==$" + b64(std::string(31, 'k')) + "$" + key,
             "SCRAM-SHA-256$4096$c2FsdA==$" + key + "$" + key + "\n",
         }) {
        EXPECT_FALSE(parse_scram_credentials(bad)) << bad;
    }
}

// --- full exchanges with the test client --------------------------------------------------------

TEST(Scram, ExchangeWithRealPasswordSucceedsAndServerProvesItself) {
    const std::string password = "Tr0ub4dor&3 with spaces";
    ScramServer server(lookup_for("alice@example.com", credentials_for(password)));
    Client client("alice@example.com", password);
    auto step = run(server, client);
    ASSERT_EQ(step.status, Status::Success) << step.error;
    EXPECT_EQ(step.message, client.expected_verifier);
    EXPECT_EQ(server.username(), "alice@example.com");
}

TEST(Scram, RandomServerNoncesExtendTheClientNonce) {
    auto credentials = credentials_for("pw");
    ScramServer a(lookup_for("u", credentials));
    ScramServer b(lookup_for("u", credentials));
    const auto first_a = a.client_first("n,,n=u,r=abc");
    const auto first_b = b.client_first("n,,n=u,r=abc");
    ASSERT_EQ(first_a.status, Status::Continue);
    const std::string nonce_a = attribute(first_a.message, 'r');
    const std::string nonce_b = attribute(first_b.message, 'r');
    EXPECT_EQ(nonce_a.rfind("abc", 0), 0U);
    EXPECT_GE(nonce_a.size(), 3U + 32U);
    EXPECT_NE(nonce_a, nonce_b);
    EXPECT_TRUE(std::all_of(nonce_a.begin(), nonce_a.end(), [](char c) {
        return c > 0x20 && c < 0x7F && c != ',';
    }));
}

TEST(Scram, WrongPasswordFailsAtTheProof) {
    ScramServer server(lookup_for("alice", credentials_for("right")));
    Client client("alice", "wrong");
    auto first = server.client_first(client.first_message());
    ASSERT_EQ(first.status, Status::Continue);
    auto final = server.client_final(client.final_message(first.message));
    EXPECT_EQ(final.status, Status::Failure);
    EXPECT_EQ(final.message, "e=invalid-proof");
    EXPECT_NE(final.error, "");
}

TEST(Scram, UnknownUserLooksLikeAWrongPassword) {
    auto server_for = [] { return ScramServer(lookup_for("known", credentials_for("pw"))); };
    ScramServer server = server_for();
    Client client("ghost", "pw");
    auto first = server.client_first(client.first_message());
    ASSERT_EQ(first.status, Status::Continue) << first.error;
    EXPECT_EQ(attribute(first.message, 'i'), std::to_string(kScramIterations));
    EXPECT_EQ(unb64(attribute(first.message, 's')).size(), kScramSaltSize);
    auto final = server.client_final(client.final_message(first.message));
    EXPECT_EQ(final.status, Status::Failure);
    EXPECT_EQ(final.message, "e=invalid-proof");

    // The fake salt is stable per name, like a real one, and differs between names.
    ScramServer again = server_for();
    EXPECT_EQ(
        attribute(again.client_first("n,,n=ghost,r=x").message, 's'), attribute(first.message, 's')
    );
    ScramServer other = server_for();
    EXPECT_NE(
        attribute(other.client_first("n,,n=ghost2,r=x").message, 's'), attribute(first.message, 's')
    );
}

TEST(Scram, InvalidStoredCredentialsAreTreatedAsUnknown) {
    ScramCredentials broken = credentials_for("pw");
    broken.stored_key.resize(5);
    ScramServer server(lookup_for("u", broken));
    Client client("u", "pw");
    auto step = run(server, client);
    EXPECT_EQ(step.status, Status::Failure);
    EXPECT_EQ(step.message, "e=invalid-proof");

    ScramServer no_lookup(ScramServer::Lookup{});
    Client other("u", "pw");
    EXPECT_EQ(run(no_lookup, other).message, "e=invalid-proof");
}

TEST(Scram, EscapedNamesAndAuthzid) {
    std::vector<std::string> asked;
    ScramServer server(lookup_for("we,ird=name", credentials_for("pw"), &asked));
    Client client("we=2Cird=3Dname", "pw");
    client.gs2 = "n,a=ad=3Dmin=2C,";
    auto step = run(server, client);
    ASSERT_EQ(step.status, Status::Success) << step.error;
    EXPECT_EQ(step.message, client.expected_verifier);
    EXPECT_EQ(asked, std::vector<std::string>{"we,ird=name"});
    EXPECT_EQ(server.username(), "we,ird=name");
    EXPECT_EQ(server.authzid(), "ad=min,");
}

TEST(Scram, NonAsciiUsernameAndPassword) {
    ScramServer server(lookup_for("jürgen@bücher.example", credentials_for("päßwörd½")));
    Client client("jürgen@bücher.example", "päßwörd½");
    auto step = run(server, client);
    EXPECT_EQ(step.status, Status::Success) << step.error;
}

TEST(Scram, ClientSupportingChannelBindingIsAccepted) {
    // "y": the client could bind but believes we cannot; we offer no -PLUS, so that is right.
    ScramServer server(lookup_for("u", credentials_for("pw")));
    Client client("u", "pw");
    client.gs2 = "y,,";
    auto step = run(server, client);
    EXPECT_EQ(step.status, Status::Success) << step.error;
}

TEST(Scram, OptionalExtensionsAreIgnored) {
    ScramServer server(lookup_for("u", credentials_for("pw")));
    Client client("u", "pw");
    client.first_extension = ",x=ignored";
    client.extension = "y=z";
    auto step = run(server, client);
    EXPECT_EQ(step.status, Status::Success) << step.error;
}

// --- malformed client-first -----------------------------------------------------------------

struct Bad {
    std::string message;
    std::string server_error;
};

TEST(Scram, MalformedClientFirstFails) {
    const std::vector<Bad> cases = {
        {"", "e=other-error"},
        {"n,,", "e=other-error"},
        {"p=tls-unique,,n=user,r=abc", "e=channel-binding-not-supported"},
        {"p=tls-server-end-point,a=x,n=user,r=abc", "e=channel-binding-not-supported"},
        {"x,,n=user,r=abc", "e=other-error"},
        {"N,,n=user,r=abc", "e=other-error"},
        {"n,n=user,r=abc", "e=other-error"},
        {"n,a=admin", "e=other-error"},
        {"n,a=,n=user,r=abc", "e=invalid-username-encoding"},
        {"n,a=ad=min,n=user,r=abc", "e=invalid-username-encoding"},
        {"n,,r=abc", "e=other-error"},
        {"n,,n=user", "e=other-error"},
        {"n,,r=abc,n=user", "e=other-error"},
        {"n,,N=user,r=abc", "e=other-error"},
        {"n,,n=,r=abc", "e=invalid-username-encoding"},
        {"n,,n=us=er,r=abc", "e=invalid-username-encoding"},
        {"n,,n=us=2c,r=abc", "e=invalid-username-encoding"},
        {"n,,n=user=,r=abc", "e=invalid-username-encoding"},
        {"n,,n=user=2,r=abc", "e=invalid-username-encoding"},
        {"n,,n=us\xFF"
         "er,r=abc",
         "e=invalid-username-encoding"},
        {"n,,n=us\xC0\xAF"
         "er,r=abc",
         "e=invalid-username-encoding"},  // overlong '/'
        {"n,,n=us\xED\xA0\x80"
         "er,r=abc",
         "e=invalid-username-encoding"},  // surrogate
        {std::string("n,,n=us\0er,r=abc", 16), "e=invalid-username-encoding"},
        {"n,,m=ext,n=user,r=abc", "e=extensions-not-supported"},
        {"n,,n=user,r=abc,m=ext", "e=extensions-not-supported"},
        {"n,,n=user,r=", "e=other-error"},
        {"n,,n=user,r=a b", "e=other-error"},
        {"n,,n=user,r=abc\x7F", "e=other-error"},
        {"n,,n=user,r=abc,", "e=other-error"},
        {"n,,n=user,r=abc,x", "e=other-error"},
        {"n,,n=user,r=abc,1=2", "e=other-error"},
        {"n,,n=user,,r=abc", "e=other-error"},
        {"n,,n=user,r=" + std::string(kMaxScramMessage, 'a'), "e=other-error"},
        {"n,,n=" + std::string(kMaxScramName + 1, 'a') + ",r=abc", "e=invalid-username-encoding"},
    };
    for (const auto& c : cases) {
        int lookups = 0;
        ScramServer server([&lookups](std::string_view) -> std::optional<ScramCredentials> {
            ++lookups;
            return std::nullopt;
        });
        auto step = server.client_first(c.message);
        EXPECT_EQ(step.status, Status::Failure) << c.message;
        EXPECT_EQ(step.message, c.server_error) << c.message << " (" << step.error << ")";
        EXPECT_NE(step.error, "") << c.message;
        EXPECT_EQ(lookups, 0) << c.message;
        // A failed exchange stays failed.
        EXPECT_EQ(server.client_final("c=biws,r=abc,p=AAAA").status, Status::Failure);
    }
}

// --- malformed client-final -----------------------------------------------------------------

TEST(Scram, MalformedClientFinalFails) {
    const std::string snonce = "SERVERNONCE";
    const std::string nonce = "abc" + snonce;
    const std::string proof = "p=" + b64(std::string(32, 'p'));
    const std::vector<Bad> cases = {
        {"", "e=other-error"},
        {"c=biws,r=" + nonce, "e=other-error"},
        {"c=biws," + proof, "e=other-error"},
        {"r=" + nonce + ",c=biws," + proof, "e=other-error"},
        {"c=biws," + proof + ",r=" + nonce, "e=other-error"},
        {"c=biws,r=" + nonce + "," + proof + ",x=1", "e=other-error"},
        {"c=biws,r=" + nonce + "," + proof + "," + proof, "e=other-error"},
        {"c=biws,r=" + nonce + ",m=ext," + proof, "e=extensions-not-supported"},
        {"c=biws,r=" + nonce + ",x," + proof, "e=other-error"},
        {"c=biws,r=" + nonce + ",," + proof, "e=other-error"},
        // Nonce: only the client's part, a changed server part, a wrong client prefix, extra.
        {"c=biws,r=abc," + proof, "e=other-error"},
        {"c=biws,r=abcSERVERNONCf," + proof, "e=other-error"},
        {"c=biws,r=abdSERVERNONCE," + proof, "e=other-error"},
        {"c=biws,r=" + nonce + "x," + proof, "e=other-error"},
        {"c=biws,r=," + proof, "e=other-error"},
        // Channel binding: must be exactly base64("n,,").
        {"c=eSws,r=" + nonce + "," + proof, "e=channel-bindings-dont-match"},
        {"c=" + b64("n,,data") + ",r=" + nonce + "," + proof, "e=channel-bindings-dont-match"},
        {"c=,r=" + nonce + "," + proof, "e=channel-bindings-dont-match"},
        {"c=biw,r=" + nonce + "," + proof, "e=invalid-encoding"},
        {"c=bi*s,r=" + nonce + "," + proof, "e=invalid-encoding"},
        {"c=biws=,r=" + nonce + "," + proof, "e=invalid-encoding"},
        {"c=bh==,r=" + nonce + "," + proof, "e=invalid-encoding"},  // non-zero pad bits
        // Proof: base64 of exactly 32 octets.
        {"c=biws,r=" + nonce + ",p=", "e=invalid-encoding"},
        {"c=biws,r=" + nonce + ",p=AAAA", "e=invalid-encoding"},
        {"c=biws,r=" + nonce + ",p=" + b64(std::string(33, 'p')), "e=invalid-encoding"},
        {"c=biws,r=" + nonce + ",p=!" + proof.substr(3), "e=invalid-encoding"},
        {"c=biws,r=" + nonce + "," + proof + " ", "e=invalid-encoding"},
        {"c=biws,r=" + nonce + "," + proof.substr(0, proof.size() - 1), "e=invalid-encoding"},
        {"c=biws,r=" + nonce + ",x=" + std::string(kMaxScramMessage, 'a') + "," + proof,
         "e=other-error"},
        // Well-formed but wrong.
        {"c=biws,r=" + nonce + "," + proof, "e=invalid-proof"},
    };
    for (const auto& c : cases) {
        ScramServer server(lookup_for("user", credentials_for("pw")));
        server.set_server_nonce_for_test(snonce);
        auto first = server.client_first("n,,n=user,r=abc");
        ASSERT_EQ(first.status, Status::Continue) << first.error;
        auto step = server.client_final(c.message);
        EXPECT_EQ(step.status, Status::Failure) << c.message;
        EXPECT_EQ(step.message, c.server_error) << c.message << " (" << step.error << ")";
        EXPECT_NE(step.error, "") << c.message;
        EXPECT_EQ(server.client_final(c.message).status, Status::Failure);
    }
}

TEST(Scram, ChannelBindingMustRepeatTheAuthzid) {
    ScramServer server(lookup_for("u", credentials_for("pw")));
    Client client("u", "pw");
    client.gs2 = "n,a=u,";
    auto first = server.client_first(client.first_message());
    ASSERT_EQ(first.status, Status::Continue);
    client.gs2 = "n,,";  // c= now encodes another header than the one sent
    auto final = server.client_final(client.final_message(first.message));
    EXPECT_EQ(final.status, Status::Failure);
    EXPECT_EQ(final.message, "e=channel-bindings-dont-match");
}

TEST(Scram, OutOfOrderCallsFail) {
    ScramServer server(lookup_for("u", credentials_for("pw")));
    auto step = server.client_final("c=biws,r=abc,p=AAAA");
    EXPECT_EQ(step.status, Status::Failure);
    EXPECT_EQ(step.message, "e=other-error");
    // Failed for good, even with a good client-first now.
    EXPECT_EQ(server.client_first("n,,n=u,r=abc").status, Status::Failure);

    ScramServer twice(lookup_for("u", credentials_for("pw")));
    ASSERT_EQ(twice.client_first("n,,n=u,r=abc").status, Status::Continue);
    EXPECT_EQ(twice.client_first("n,,n=u,r=abc").status, Status::Failure);
}

// --- with the directory -------------------------------------------------------------------------

class ScramDirectoryTest : public ::testing::Test {
protected:
    void SetUp() override {
        Directory::Options options;
        options.password = PasswordParams::minimum_for_test();
        auto opened = Directory::open(tmp.path() / "accounts.db", options);
        ASSERT_TRUE(opened) << opened.error().message();
        dir = std::move(*opened);
        ASSERT_TRUE(dir->add_domain("example.com"));
        ASSERT_TRUE(dir->add_domain_alias("example.net", "example.com"));
    }

    // The lookup as a protocol driver would write it; remembers the account found.
    ScramServer server() {
        return ScramServer([this](std::string_view name) -> std::optional<ScramCredentials> {
            auto found = dir->scram_credentials(name);
            if (!found) {
                return std::nullopt;
            }
            account = found->account;
            return std::move(found->credentials);
        });
    }

    test::TempDir tmp;
    std::unique_ptr<Directory> dir;
    std::optional<Account> account;
};

TEST_F(ScramDirectoryTest, LoginWithThePasswordGivenAtAddUserAndSetPassword) {
    ASSERT_TRUE(dir->add_user("Carol@example.com", "first password"));
    {
        ScramServer s = server();
        Client client("carol@example.net", "first password");
        auto step = run(s, client);
        ASSERT_EQ(step.status, Status::Success) << step.error;
        EXPECT_EQ(step.message, client.expected_verifier);
        ASSERT_TRUE(account);
        EXPECT_EQ(account->address, "carol@example.com");
    }
    ASSERT_TRUE(dir->set_password("carol@example.com", "second password"));
    {
        ScramServer s = server();
        Client client("carol@example.com", "first password");
        EXPECT_EQ(run(s, client).message, "e=invalid-proof");
    }
    {
        ScramServer s = server();
        Client client("carol@example.com", "second password");
        EXPECT_EQ(run(s, client).status, Status::Success);
    }
    {
        ScramServer s = server();
        Client client("nobody@example.com", "second password");
        EXPECT_EQ(run(s, client).message, "e=invalid-proof");
    }
}

TEST_F(ScramDirectoryTest, UserWithoutCredentialsCanUseScramAfterAPasswordLogin) {
    ASSERT_TRUE(dir->add_user("dave@example.com", "hunter2"));
    {
        // Simulate a user created before schema version 2.
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((tmp.path() / "accounts.db").c_str(), &db), SQLITE_OK);
        ASSERT_EQ(
            sqlite3_exec(db, "UPDATE users SET scram_sha256 = NULL", nullptr, nullptr, nullptr),
            SQLITE_OK
        );
        sqlite3_close(db);
    }
    {
        ScramServer s = server();
        Client client("dave@example.com", "hunter2");
        auto step = run(s, client);
        EXPECT_EQ(step.status, Status::Failure);
        EXPECT_EQ(step.message, "e=invalid-proof");
    }
    ASSERT_TRUE(dir->authenticate("dave@example.com", "hunter2"));
    {
        ScramServer s = server();
        Client client("dave@example.com", "hunter2");
        auto step = run(s, client);
        EXPECT_EQ(step.status, Status::Success) << step.error;
        EXPECT_EQ(step.message, client.expected_verifier);
    }
}

}  // namespace
}  // namespace sov::accounts
