#include "accounts/sasl.hpp"

#include <sodium.h>

#include <utility>

#include "accounts/errors.hpp"
#include "accounts/password.hpp"

namespace sov::accounts {
namespace {

// draft-murchison-sasl-login-00 §2: the challenges every LOGIN client expects, byte for byte
// (base64 "VXNlcm5hbWU6" and "UGFzc3dvcmQ6" on the wire).
constexpr std::string_view kLoginUsername = "Username:";
constexpr std::string_view kLoginPassword = "Password:";

void wipe(std::string& s) noexcept {
    if (!s.empty()) {
        sodium_memzero(s.data(), s.size());
    }
    s.clear();
}

char ascii_upper(char c) noexcept {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool has_nul(std::string_view s) noexcept {
    return s.find('\0') != std::string_view::npos;
}

}  // namespace

std::string_view sasl_mechanism_name(SaslMechanism mechanism) noexcept {
    switch (mechanism) {
        case SaslMechanism::Plain:
            return "PLAIN";
        case SaslMechanism::Login:
            return "LOGIN";
        case SaslMechanism::ScramSha256:
            return "SCRAM-SHA-256";
    }
    return "PLAIN";
}

std::optional<SaslMechanism> find_sasl_mechanism(std::string_view name) noexcept {
    for (const auto mechanism : kSaslMechanisms) {
        const auto known = sasl_mechanism_name(mechanism);
        if (known.size() != name.size()) {
            continue;
        }
        bool same = true;
        for (std::size_t i = 0; i < known.size() && same; ++i) {
            same = ascii_upper(name[i]) == known[i];
        }
        if (same) {
            return mechanism;
        }
    }
    return std::nullopt;
}

SaslServer::SaslServer(SaslMechanism mechanism, ScramLookup scram_lookup)
    : mechanism_(mechanism), scram_lookup_(std::move(scram_lookup)) {}

SaslServer::~SaslServer() {
    wipe(password_);
}

SaslServer::Step SaslServer::fail(Failure failure, std::string error) {
    state_ = State::Done;
    wipe(password_);
    scram_.reset();
    return Step{Status::Failure, {}, failure, std::move(error)};
}

SaslServer::Step SaslServer::challenge(State next, std::string message) {
    state_ = next;
    return Step{Status::Challenge, std::move(message), Failure::None, {}};
}

SaslServer::Step SaslServer::start(std::optional<std::string_view> initial_response) {
    if (state_ != State::Start) {
        return fail(Failure::Malformed, "exchange already started");
    }
    if (initial_response && initial_response->size() > kMaxSaslResponse) {
        return fail(Failure::Malformed, "initial response too long");
    }
    switch (mechanism_) {
        case SaslMechanism::Plain:
            if (initial_response) {
                return plain(*initial_response);
            }
            // RFC 4422 §5: a client-first mechanism without an initial response gets an empty
            // challenge.
            return challenge(State::PlainMessage, {});
        case SaslMechanism::Login:
            // Clients send the username as an initial response ("AUTH LOGIN dXNlcg=="), which
            // saves the "Username:" round trip. An empty one carries nothing: ask as usual.
            if (initial_response && !initial_response->empty()) {
                return login_username(*initial_response);
            }
            return challenge(State::LoginUsername, std::string(kLoginUsername));
        case SaslMechanism::ScramSha256:
            scram_ = std::make_unique<ScramServer>(
                [this](std::string_view username) -> std::optional<ScramCredentials> {
                    if (!scram_lookup_) {
                        return std::nullopt;
                    }
                    auto found = scram_lookup_(username);
                    if (!found) {
                        const auto& ec = found.error();
                        if (ec == Errc::Storage || ec == Errc::Crypto ||
                            ec.category() != accounts_category()) {
                            scram_lookup_error_ = ec.message();
                        }
                        return std::nullopt;  // unknown: fake credentials, fails at the proof
                    }
                    scram_account_ = std::move(found->account);
                    return std::move(found->credentials);
                }
            );
            if (initial_response) {
                return scram_first(*initial_response);
            }
            return challenge(State::ScramFirst, {});
    }
    return fail(Failure::Malformed, "unknown mechanism");
}

SaslServer::Step SaslServer::respond(std::string_view response) {
    if (response.size() > kMaxSaslResponse) {
        return fail(Failure::Malformed, "response too long");
    }
    switch (state_) {
        case State::PlainMessage:
            return plain(response);
        case State::LoginUsername:
            return login_username(response);
        case State::LoginPassword:
            if (response.size() > kMaxPasswordOctets || has_nul(response)) {
                return fail(Failure::Malformed, "LOGIN password too long or contains NUL");
            }
            password_.assign(response);
            return need_password_check();
        case State::ScramFirst:
            return scram_first(response);
        case State::ScramFinal:
            return scram_final(response);
        case State::ScramAck:
            // RFC 4422 §5 (7): the client acknowledges the server's additional data with an
            // empty response; anything else means it rejected our signature.
            if (!response.empty()) {
                return fail(Failure::Malformed, "non-empty response after server-final-message");
            }
            state_ = State::Done;
            scram_.reset();
            account_ = std::move(scram_account_);
            scram_account_.reset();
            return Step{Status::Success, {}, Failure::None, {}};
        case State::Start:
        case State::PasswordCheck:
        case State::Done:
            break;
    }
    return fail(Failure::Malformed, "response out of order");
}

// RFC 4616 §2:
//   message   = [authzid] UTF8NUL authcid UTF8NUL passwd
//   authcid   = 1*SAFE ; MUST accept up to 255 octets
//   authzid   = 1*SAFE ; MUST accept up to 255 octets
//   passwd    = 1*SAFE ; MUST accept up to 255 octets
//   SAFE      = UTF1 / UTF2 / UTF3 / UTF4 ; any UTF-8 encoded Unicode character except NUL
SaslServer::Step SaslServer::plain(std::string_view message) {
    const auto first = message.find('\0');
    const auto second = first == std::string_view::npos ? first : message.find('\0', first + 1);
    if (second == std::string_view::npos) {
        return fail(Failure::Malformed, "PLAIN message without two NUL separators");
    }
    const auto authzid = message.substr(0, first);
    const auto authcid = message.substr(first + 1, second - first - 1);
    const auto password = message.substr(second + 1);
    if (has_nul(password)) {
        return fail(Failure::Malformed, "PLAIN message with more than two NULs");
    }
    if (authzid.size() > kMaxSaslName || authcid.size() > kMaxSaslName ||
        password.size() > kMaxPasswordOctets) {
        return fail(Failure::Malformed, "PLAIN field too long");
    }
    authzid_.assign(authzid);
    authcid_.assign(authcid);
    password_.assign(password);
    return need_password_check();
}

SaslServer::Step SaslServer::login_username(std::string_view username) {
    if (username.size() > kMaxSaslName || has_nul(username)) {
        return fail(Failure::Malformed, "LOGIN username too long or contains NUL");
    }
    authcid_.assign(username);
    return challenge(State::LoginPassword, std::string(kLoginPassword));
}

SaslServer::Step SaslServer::need_password_check() {
    // RFC 4616 requires 1*SAFE for both: an empty one cannot match any account, so it fails
    // here, as a wrong password would (and is throttled like one), without the Argon2id work.
    if (authcid_.empty() || password_.empty()) {
        return fail(Failure::Credentials, "empty username or password");
    }
    state_ = State::PasswordCheck;
    return Step{Status::NeedPasswordCheck, {}, Failure::None, {}};
}

SaslServer::Step SaslServer::password_checked(const Result<Account>& result) {
    if (state_ != State::PasswordCheck) {
        return fail(Failure::Malformed, "password check out of order");
    }
    wipe(password_);
    if (!result) {
        if (result.error() == Errc::AuthFailed) {
            return fail(Failure::Credentials, "invalid credentials");
        }
        return fail(Failure::Temporary, "password check failed: " + result.error().message());
    }
    if (!authzid_allowed(*result)) {
        // RFC 4616 §2: the server decides whether authcid may act as authzid; we allow only
        // itself (RFC 4954 §4 and RFC 9051 leave proxy authorisation to the server too).
        return fail(Failure::Authorization, "authorization identity is another user");
    }
    account_ = *result;
    state_ = State::Done;
    return Step{Status::Success, {}, Failure::None, {}};
}

bool SaslServer::authzid_allowed(const Account& account) const {
    return authzid_.empty() || authzid_ == authcid_ || authzid_ == account.address;
}

SaslServer::Step SaslServer::scram_first(std::string_view message) {
    auto step = scram_->client_first(message);
    authcid_ = scram_->username();
    authzid_ = scram_->authzid();
    if (!scram_lookup_error_.empty()) {
        return fail(Failure::Temporary, "SCRAM credential lookup failed: " + scram_lookup_error_);
    }
    if (step.status != ScramServer::Status::Continue) {
        return fail(Failure::Malformed, std::move(step.error));
    }
    return challenge(State::ScramFinal, std::move(step.message));
}

SaslServer::Step SaslServer::scram_final(std::string_view message) {
    auto step = scram_->client_final(message);
    if (step.status != ScramServer::Status::Success) {
        // RFC 5802 §7 "e=invalid-proof" is the one failure a wrong password (or an unknown
        // user) produces; the rest are protocol errors.
        const bool proof = step.message == "e=invalid-proof";
        return fail(proof ? Failure::Credentials : Failure::Malformed, std::move(step.error));
    }
    if (!scram_account_) {
        return fail(Failure::Credentials, "SCRAM account vanished");  // cannot happen
    }
    if (!authzid_allowed(*scram_account_)) {
        return fail(Failure::Authorization, "authorization identity is another user");
    }
    // RFC 4954 §4 (SMTP has no additional data with success) and RFC 4422 §5: the
    // server-final-message "v=…" goes in a challenge; the empty response completes.
    return challenge(State::ScramAck, std::move(step.message));
}

}  // namespace sov::accounts
