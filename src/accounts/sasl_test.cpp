#include "accounts/sasl.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "accounts/errors.hpp"

namespace sov::accounts {
namespace {

using Status = SaslServer::Status;
using Failure = SaslServer::Failure;
using namespace std::string_literals;

constexpr std::string_view kUser = "alice@example.test";
constexpr std::string_view kPassword = "correct horse";

Account account_for(std::string_view address) {
    Account a;
    a.id = 7;
    a.address = std::string(address);
    a.display_address = a.address;
    return a;
}

// What Directory::authenticate would say, without Argon2id.
Result<Account> check(std::string_view user, std::string_view password) {
    if ((user == kUser || user == "Alice@Example.Test") && password == kPassword) {
        return account_for(kUser);
    }
    return make_error_code(Errc::AuthFailed);
}

// Runs the password check the way a driver does, then returns the step after it.
SaslServer::Step answer_check(SaslServer& server, const SaslServer::Step& step) {
    EXPECT_EQ(step.status, Status::NeedPasswordCheck) << step.error;
    if (step.status != Status::NeedPasswordCheck) {
        return step;
    }
    return server.password_checked(check(server.authcid(), server.password()));
}

// --- mechanism names -----------------------------------------------------------------------------

TEST(SaslMechanisms, NamesRoundTripAndAdvertisedListMatches) {
    std::string list;
    for (const auto m : kSaslMechanisms) {
        EXPECT_EQ(find_sasl_mechanism(sasl_mechanism_name(m)), m);
        list += (list.empty() ? "" : " ") + std::string(sasl_mechanism_name(m));
    }
    EXPECT_EQ(list, kSaslMechanismList);
}

TEST(SaslMechanisms, LookupIsCaseInsensitiveAndExact) {
    EXPECT_EQ(find_sasl_mechanism("plain"), SaslMechanism::Plain);
    EXPECT_EQ(find_sasl_mechanism("Scram-Sha-256"), SaslMechanism::ScramSha256);
    EXPECT_FALSE(find_sasl_mechanism("CRAM-MD5"));
    EXPECT_FALSE(find_sasl_mechanism("PLAIN "));
    EXPECT_FALSE(find_sasl_mechanism("SCRAM-SHA-256-PLUS"));
    EXPECT_FALSE(find_sasl_mechanism(""));
}

// --- PLAIN (RFC 4616)
// -----------------------------------------------------------------------------

TEST(SaslPlain, InitialResponseAsksForAPasswordCheck) {
    SaslServer server(SaslMechanism::Plain);
    const auto step = server.start("\0alice@example.test\0correct horse"s);
    ASSERT_EQ(step.status, Status::NeedPasswordCheck);
    EXPECT_EQ(server.authcid(), kUser);
    EXPECT_EQ(server.password(), kPassword);
    EXPECT_FALSE(server.finished());
    const auto done = server.password_checked(account_for(kUser));
    EXPECT_EQ(done.status, Status::Success);
    ASSERT_TRUE(server.account());
    EXPECT_EQ(server.account()->address, kUser);
    EXPECT_TRUE(server.password().empty()) << "the password is wiped once checked";
    EXPECT_TRUE(server.finished());
}

TEST(SaslPlain, WithoutInitialResponseSendsAnEmptyChallenge) {
    SaslServer server(SaslMechanism::Plain);
    const auto first = server.start(std::nullopt);
    ASSERT_EQ(first.status, Status::Challenge);
    EXPECT_EQ(first.challenge, "");
    const auto step = server.respond("\0alice@example.test\0correct horse"s);
    EXPECT_EQ(answer_check(server, step).status, Status::Success);
}

TEST(SaslPlain, WrongPasswordIsACredentialsFailure) {
    SaslServer server(SaslMechanism::Plain);
    const auto step = answer_check(server, server.start("\0alice@example.test\0wrong"s));
    EXPECT_EQ(step.status, Status::Failure);
    EXPECT_EQ(step.failure, Failure::Credentials);
    EXPECT_EQ(server.authcid(), kUser);
    EXPECT_FALSE(server.account());
}

TEST(SaslPlain, DirectoryErrorIsTemporary) {
    SaslServer server(SaslMechanism::Plain);
    ASSERT_EQ(
        server.start("\0alice@example.test\0correct horse"s).status, Status::NeedPasswordCheck
    );
    const auto step = server.password_checked(make_error_code(Errc::Storage));
    EXPECT_EQ(step.status, Status::Failure);
    EXPECT_EQ(step.failure, Failure::Temporary);
    EXPECT_EQ(step.error.find("correct horse"), std::string::npos);
}

TEST(SaslPlain, AuthzidMayNameOnlyTheUserItself) {
    for (const auto& authzid : {"alice@example.test"s, "Alice@Example.Test"s}) {
        SaslServer server(SaslMechanism::Plain);
        const auto msg = authzid + "\0Alice@Example.Test\0correct horse"s;
        EXPECT_EQ(answer_check(server, server.start(msg)).status, Status::Success) << authzid;
        EXPECT_EQ(server.authzid(), authzid);
    }
    SaslServer other(SaslMechanism::Plain);
    const auto step =
        answer_check(other, other.start("bob@example.test\0alice@example.test\0correct horse"s));
    EXPECT_EQ(step.status, Status::Failure);
    EXPECT_EQ(step.failure, Failure::Authorization);
    EXPECT_FALSE(other.account());
}

TEST(SaslPlain, MalformedMessages) {
    const std::vector<std::string> bad = {
        "",
        "alice@example.test correct horse",
        "\0alice@example.testcorrect horse"s,
        "\0alice@example.test\0correct\0horse"s,  // a third NUL
        "\0"s + std::string(kMaxSaslName + 1, 'a') + "\0pw"s,
        std::string(kMaxSaslName + 1, 'z') + "\0alice@example.test\0pw"s,
        "\0alice@example.test\0"s + std::string(kMaxPasswordOctets + 1, 'p'),
    };
    for (const auto& message : bad) {
        SaslServer server(SaslMechanism::Plain);
        const auto step = server.start(message);
        EXPECT_EQ(step.status, Status::Failure) << message.size();
        EXPECT_EQ(step.failure, Failure::Malformed) << message.size();
        EXPECT_TRUE(server.finished());
    }
}

TEST(SaslPlain, LimitsAreInclusive) {
    SaslServer server(SaslMechanism::Plain);
    const auto msg =
        "\0"s + std::string(kMaxSaslName, 'a') + "\0"s + std::string(kMaxPasswordOctets, 'p');
    EXPECT_EQ(server.start(msg).status, Status::NeedPasswordCheck);
}

TEST(SaslPlain, EmptyUserOrPasswordFailsWithoutACheck) {
    for (const auto& message : {"\0\0pw"s, "\0alice@example.test\0"s}) {
        SaslServer server(SaslMechanism::Plain);
        const auto step = server.start(message);
        EXPECT_EQ(step.status, Status::Failure);
        EXPECT_EQ(step.failure, Failure::Credentials);
    }
}

TEST(SaslPlain, OversizedResponseIsRefusedBeforeParsing) {
    SaslServer server(SaslMechanism::Plain);
    ASSERT_EQ(server.start(std::nullopt).status, Status::Challenge);
    const auto step = server.respond(std::string(kMaxSaslResponse + 1, 'x'));
    EXPECT_EQ(step.failure, Failure::Malformed);
    SaslServer initial(SaslMechanism::Plain);
    EXPECT_EQ(initial.start(std::string(kMaxSaslResponse + 1, 'x')).failure, Failure::Malformed);
}

TEST(SaslPlain, CallsOutOfOrderFail) {
    SaslServer server(SaslMechanism::Plain);
    EXPECT_EQ(server.respond("x").status, Status::Failure);
    SaslServer twice(SaslMechanism::Plain);
    ASSERT_EQ(twice.start(std::nullopt).status, Status::Challenge);
    EXPECT_EQ(twice.start(std::nullopt).status, Status::Failure);
    SaslServer early(SaslMechanism::Plain);
    EXPECT_EQ(early.password_checked(account_for(kUser)).status, Status::Failure);
    EXPECT_FALSE(early.account());
    SaslServer after(SaslMechanism::Plain);
    ASSERT_EQ(
        answer_check(after, after.start("\0alice@example.test\0correct horse"s)).status,
        Status::Success
    );
    EXPECT_EQ(after.respond("").status, Status::Failure);
}

// --- LOGIN
// ------------------------------------------------------------------------------------------

TEST(SaslLogin, AsksForUsernameThenPassword) {
    SaslServer server(SaslMechanism::Login);
    const auto first = server.start(std::nullopt);
    ASSERT_EQ(first.status, Status::Challenge);
    EXPECT_EQ(first.challenge, "Username:");
    const auto second = server.respond(kUser);
    ASSERT_EQ(second.status, Status::Challenge);
    EXPECT_EQ(second.challenge, "Password:");
    EXPECT_EQ(server.authcid(), kUser);
    const auto third = server.respond(kPassword);
    EXPECT_EQ(answer_check(server, third).status, Status::Success);
    EXPECT_EQ(server.account()->address, kUser);
}

TEST(SaslLogin, InitialResponseIsTheUsername) {
    SaslServer server(SaslMechanism::Login);
    const auto first = server.start(kUser);
    ASSERT_EQ(first.status, Status::Challenge);
    EXPECT_EQ(first.challenge, "Password:");
    EXPECT_EQ(answer_check(server, server.respond("wrong")).failure, Failure::Credentials);
    SaslServer empty(SaslMechanism::Login);
    EXPECT_EQ(empty.start("").challenge, "Username:");
}

TEST(SaslLogin, NulOrOversizedFieldsAreMalformed) {
    SaslServer server(SaslMechanism::Login);
    ASSERT_EQ(server.start(std::nullopt).status, Status::Challenge);
    EXPECT_EQ(server.respond("a\0b"s).failure, Failure::Malformed);
    SaslServer pw(SaslMechanism::Login);
    ASSERT_EQ(pw.start(kUser).status, Status::Challenge);
    EXPECT_EQ(pw.respond("pass\0word"s).failure, Failure::Malformed);
    SaslServer long_name(SaslMechanism::Login);
    EXPECT_EQ(long_name.start(std::string(kMaxSaslName + 1, 'u')).failure, Failure::Malformed);
    SaslServer long_pw(SaslMechanism::Login);
    ASSERT_EQ(long_pw.start(kUser).status, Status::Challenge);
    EXPECT_EQ(
        long_pw.respond(std::string(kMaxPasswordOctets + 1, 'p')).failure, Failure::Malformed
    );
    SaslServer empty_pw(SaslMechanism::Login);
    ASSERT_EQ(empty_pw.start(kUser).status, Status::Challenge);
    EXPECT_EQ(empty_pw.respond("").failure, Failure::Credentials);
}

// --- SCRAM-SHA-256 (RFC 7677) through the shared exchange ---------------------------------------

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
    out.resize(static_cast<std::size_t>(std::max(n, 0)));
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

std::string attribute(std::string_view message, char name) {
    std::size_t start = 0;
    while (start <= message.size()) {
        auto end = message.find(',', start);
        end = end == std::string_view::npos ? message.size() : end;
        const auto field = message.substr(start, end - start);
        if (field.size() >= 2 && field[0] == name && field[1] == '=') {
            return std::string(field.substr(2));
        }
        start = end + 1;
    }
    return {};
}

// An independent client (RFC 5802 §3) on OpenSSL.
struct ScramClient {
    ScramClient(std::string user_, std::string password_)
        : user(std::move(user_)), password(std::move(password_)) {}

    std::string user;
    std::string password;
    std::string gs2 = "n,,";
    std::string nonce = "rOprNGfwEbeRWgbNEkqO";
    std::string first_bare;
    std::string expected_verifier;

    std::string first() {
        first_bare = "n=" + user + ",r=" + nonce;
        return gs2 + first_bare;
    }
    std::string final(std::string_view server_first) {
        const auto salt = unb64(attribute(server_first, 's'));
        const int iterations = std::stoi(attribute(server_first, 'i'));
        std::array<unsigned char, 32> salted{};
        PKCS5_PBKDF2_HMAC(
            password.data(),
            static_cast<int>(password.size()),
            reinterpret_cast<const unsigned char*>(salt.data()),
            static_cast<int>(salt.size()),
            iterations,
            EVP_sha256(),
            static_cast<int>(salted.size()),
            salted.data()
        );
        const std::string salted_s(reinterpret_cast<const char*>(salted.data()), salted.size());
        const auto client_key = hmac(salted_s, "Client Key");
        std::array<unsigned char, 32> stored{};
        SHA256(
            reinterpret_cast<const unsigned char*>(client_key.data()),
            client_key.size(),
            stored.data()
        );
        const std::string stored_s(reinterpret_cast<const char*>(stored.data()), stored.size());
        const auto without_proof = "c=" + b64(gs2) + ",r=" + attribute(server_first, 'r');
        const auto auth = first_bare + "," + std::string(server_first) + "," + without_proof;
        auto proof = client_key;
        const auto signature = hmac(stored_s, auth);
        for (std::size_t i = 0; i < proof.size(); ++i) {
            proof[i] = static_cast<char>(proof[i] ^ signature[i]);
        }
        expected_verifier = "v=" + b64(hmac(hmac(salted_s, "Server Key"), auth));
        return without_proof + ",p=" + b64(proof);
    }
};

struct ScramDirectory {
    ScramCredentials credentials = *make_scram_credentials(kPassword, "salt of 16 bytes", 4096);
    std::error_code error;  // returned instead of the credentials when set
    std::vector<std::string> asked;

    SaslServer::ScramLookup lookup() {
        return [this](std::string_view user) -> Result<ScramAccount> {
            asked.emplace_back(user);
            if (error) {
                return error;
            }
            if (user != kUser) {
                return make_error_code(Errc::NotFound);
            }
            return ScramAccount{account_for(kUser), credentials};
        };
    }
};

TEST(SaslScram, FullExchangeEndsWithAnAcknowledgedVerifier) {
    ScramDirectory directory;
    SaslServer server(SaslMechanism::ScramSha256, directory.lookup());
    ScramClient client{std::string(kUser), std::string(kPassword)};
    const auto empty = server.start(std::nullopt);
    ASSERT_EQ(empty.status, Status::Challenge);
    EXPECT_EQ(empty.challenge, "");
    const auto first = server.respond(client.first());
    ASSERT_EQ(first.status, Status::Challenge) << first.error;
    EXPECT_EQ(server.authcid(), kUser);
    const auto final = server.respond(client.final(first.challenge));
    ASSERT_EQ(final.status, Status::Challenge) << final.error;
    EXPECT_EQ(final.challenge, client.expected_verifier);
    EXPECT_FALSE(server.account()) << "not authenticated before the client's acknowledgement";
    const auto done = server.respond("");
    EXPECT_EQ(done.status, Status::Success);
    ASSERT_TRUE(server.account());
    EXPECT_EQ(server.account()->address, kUser);
    EXPECT_EQ(directory.asked, std::vector<std::string>{std::string(kUser)});
}

TEST(SaslScram, InitialResponseIsTheClientFirstMessage) {
    ScramDirectory directory;
    SaslServer server(SaslMechanism::ScramSha256, directory.lookup());
    ScramClient client{std::string(kUser), std::string(kPassword)};
    const auto first = server.start(client.first());
    ASSERT_EQ(first.status, Status::Challenge);
    ASSERT_EQ(server.respond(client.final(first.challenge)).status, Status::Challenge);
    EXPECT_EQ(server.respond("").status, Status::Success);
}

TEST(SaslScram, WrongPasswordAndUnknownUserLookTheSame) {
    for (const auto& [user, password] :
         {std::pair{"alice@example.test"s, "wrong"s}, std::pair{"ghost@example.test"s, "x"s}}) {
        ScramDirectory directory;
        SaslServer server(SaslMechanism::ScramSha256, directory.lookup());
        ScramClient client(user, password);
        const auto first = server.start(client.first());
        ASSERT_EQ(first.status, Status::Challenge) << user;
        const auto final = server.respond(client.final(first.challenge));
        EXPECT_EQ(final.status, Status::Failure) << user;
        EXPECT_EQ(final.failure, Failure::Credentials) << user;
        EXPECT_EQ(server.authcid(), user);
        EXPECT_FALSE(server.account());
    }
}

TEST(SaslScram, LookupFailureIsTemporary) {
    ScramDirectory directory;
    directory.error = make_error_code(Errc::Storage);
    SaslServer server(SaslMechanism::ScramSha256, directory.lookup());
    ScramClient client{std::string(kUser), std::string(kPassword)};
    const auto first = server.start(client.first());
    EXPECT_EQ(first.status, Status::Failure);
    EXPECT_EQ(first.failure, Failure::Temporary);
}

TEST(SaslScram, AddressErrorsCountAsUnknownUsers) {
    ScramDirectory directory;
    directory.error = make_error_code(Errc::InvalidAddress);
    SaslServer server(SaslMechanism::ScramSha256, directory.lookup());
    ScramClient client("not an address", "x");
    const auto first = server.start(client.first());
    ASSERT_EQ(first.status, Status::Challenge);
    EXPECT_EQ(server.respond(client.final(first.challenge)).failure, Failure::Credentials);
}

TEST(SaslScram, ForeignAuthzidIsRefusedAfterTheProof) {
    ScramDirectory directory;
    SaslServer server(SaslMechanism::ScramSha256, directory.lookup());
    ScramClient client{std::string(kUser), std::string(kPassword)};
    client.gs2 = "n,a=bob@example.test,";
    const auto first = server.start(client.first());
    ASSERT_EQ(first.status, Status::Challenge);
    const auto final = server.respond(client.final(first.challenge));
    EXPECT_EQ(final.failure, Failure::Authorization);
    EXPECT_EQ(server.authzid(), "bob@example.test");

    SaslServer self(SaslMechanism::ScramSha256, directory.lookup());
    ScramClient same{std::string(kUser), std::string(kPassword)};
    same.gs2 = "n,a=alice@example.test,";
    const auto f = self.start(same.first());
    ASSERT_EQ(self.respond(same.final(f.challenge)).status, Status::Challenge);
    EXPECT_EQ(self.respond("").status, Status::Success);
}

TEST(SaslScram, ProtocolErrorsAreMalformed) {
    ScramDirectory directory;
    SaslServer server(SaslMechanism::ScramSha256, directory.lookup());
    EXPECT_EQ(server.start("p=tls-unique,,n=u,r=x").failure, Failure::Malformed);
    SaslServer garbage(SaslMechanism::ScramSha256, directory.lookup());
    ASSERT_EQ(garbage.start("n,,n=alice@example.test,r=abc").status, Status::Challenge);
    EXPECT_EQ(garbage.respond("c=biws,r=other,p=AAAA").failure, Failure::Malformed);
}

TEST(SaslScram, NonEmptyAcknowledgementFails) {
    ScramDirectory directory;
    SaslServer server(SaslMechanism::ScramSha256, directory.lookup());
    ScramClient client{std::string(kUser), std::string(kPassword)};
    const auto first = server.start(client.first());
    ASSERT_EQ(server.respond(client.final(first.challenge)).status, Status::Challenge);
    const auto step = server.respond("e=server-signature-mismatch");
    EXPECT_EQ(step.status, Status::Failure);
    EXPECT_FALSE(server.account());
}

TEST(SaslScram, WithoutLookupEveryoneIsUnknown) {
    SaslServer server(SaslMechanism::ScramSha256);
    ScramClient client{std::string(kUser), std::string(kPassword)};
    const auto first = server.start(client.first());
    ASSERT_EQ(first.status, Status::Challenge);
    EXPECT_EQ(server.respond(client.final(first.challenge)).failure, Failure::Credentials);
}

}  // namespace
}  // namespace sov::accounts
