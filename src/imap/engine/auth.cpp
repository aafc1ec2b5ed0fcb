// LOGIN, AUTHENTICATE PLAIN (RFC 4616, SASL-IR RFC 4959) and STARTTLS (RFC 9051 §6.2).
#include <sodium.h>

#include <cstring>
#include <utility>

#include "accounts/directory.hpp"
#include "accounts/login_throttle.hpp"
#include "core/log.hpp"
#include "imap/engine/handlers.hpp"
#include "imap/engine/sasl_state.hpp"
#include "mime/encoded_word.hpp"

namespace sov::imap {

using wire::Condition;

namespace {

bool auth_allowed(const SessionConfig& config) {
    return config.tls_active || !config.require_tls_for_auth;
}

}  // namespace

// Shared by LOGIN and AUTHENTICATE: checks the password, throttles failures, and on success
// makes sure the account's store exists (a user who never received mail can still SELECT INBOX).
static After complete_login(
    Session& s,
    Services& services,
    std::string_view tag,
    std::string_view user,
    std::string_view password,
    std::string_view remote_ip,
    wire::ResponseWriter& w,
    std::string& account_out,
    std::chrono::milliseconds& delay_out,
    bool& ok_out
) {
    (void)s;
    auto account = services.directory->authenticate(user, password);
    if (!account) {
        delay_out = services.throttle != nullptr
                        ? services.throttle->record_failure(remote_ip, user)
                        : std::chrono::milliseconds{0};
        log::info(
            "imap.login.failed", {{"ip", std::string(remote_ip)}, {"user", std::string(user)}}
        );
        w.tagged(tag, Condition::No, "AUTHENTICATIONFAILED", "Authentication failed");
        ok_out = false;
        return After::Continue;
    }
    if (services.throttle != nullptr) {
        services.throttle->record_success(account->address);
    }
    const core::Quota quota{
        .max_bytes = account->quota.bytes, .max_messages = account->quota.messages
    };
    if (auto st = services.store->ensure_account(account->address, quota); !st) {
        log::warn(
            "imap.login.store", {{"account", account->address}, {"error", st.error().message()}}
        );
        w.tagged(tag, Condition::No, "UNAVAILABLE", "Mail store unavailable, try again later");
        ok_out = false;
        return After::Continue;
    }
    account_out = account->address;
    log::info("imap.login", {{"ip", std::string(remote_ip)}, {"account", account->address}});
    ok_out = true;
    return After::Continue;
}

After Session::Handlers::login(Session& s, const Cmd& c, W& w) {
    if (!auth_allowed(s.config_)) {
        no(w, c, "PRIVACYREQUIRED", "LOGIN is disabled until STARTTLS");
        return After::Continue;
    }
    const auto& args = std::get<wire::LoginArgs>(c.args);
    bool ok_login = false;
    std::string account;
    complete_login(
        s,
        s.services_,
        c.tag,
        args.user,
        args.password,
        s.remote_ip_,
        w,
        account,
        s.delay_,
        ok_login
    );
    if (ok_login) {
        s.account_ = std::move(account);
        s.state_ = State::Authenticated;
        w.tagged(c.tag, Condition::Ok, "CAPABILITY " + capabilities(s), "Logged in");
    }
    return After::Continue;
}

After Session::Handlers::authenticate(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::AuthenticateArgs>(c.args);
    if (!auth_allowed(s.config_)) {
        no(w, c, "PRIVACYREQUIRED", "Authentication is disabled until STARTTLS");
        return After::Continue;
    }
    if (args.mechanism == "SCRAM-SHA-256") {
        return start_scram(s, c, w);
    }
    if (args.mechanism != "PLAIN") {
        no(w, c, "CANNOT", "Unsupported authentication mechanism");
        return After::Continue;
    }
    if (args.initial_response) {
        return finish_plain(s, c.tag, *args.initial_response, w);
    }
    s.sasl_ = std::make_unique<SaslState>();
    s.sasl_->tag = c.tag;
    w.continuation("");
    return After::SaslContinue;
}

namespace {

std::string to_base64(std::string_view raw) {
    std::string out(sodium_base64_encoded_len(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(
        out.data(),
        out.size(),
        reinterpret_cast<const unsigned char*>(raw.data()),
        raw.size(),
        sodium_base64_VARIANT_ORIGINAL
    );
    out.resize(std::strlen(out.c_str()));
    return out;
}

}  // namespace

After Session::Handlers::start_scram(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::AuthenticateArgs>(c.args);
    auto state = std::make_unique<SaslState>();
    state->tag = c.tag;
    state->stage = SaslState::Stage::ScramFirst;
    auto* directory = s.services_.directory;
    state->scram = std::make_unique<accounts::ScramServer>(
        [directory, account = state->account](std::string_view user
        ) -> std::optional<accounts::ScramCredentials> {
            auto found = directory->scram_credentials(user);
            if (!found) {
                return std::nullopt;  // fake credentials: the failure comes at the proof
            }
            *account = found->account;
            return found->credentials;
        }
    );
    s.sasl_ = std::move(state);
    if (args.initial_response) {  // SASL-IR (RFC 4959)
        return sasl_step(s, *args.initial_response, w);
    }
    w.continuation("");
    return After::SaslContinue;
}

After Session::Handlers::sasl_step(Session& s, std::string_view b64, W& w) {
    auto& sasl = *s.sasl_;
    const std::string tag = sasl.tag;
    std::string message;
    if (b64 != "=") {
        mime::decode_base64(b64, message);
    }
    const auto fail = [&](std::string_view user) {
        s.delay_ = s.services_.throttle != nullptr
                       ? s.services_.throttle->record_failure(s.remote_ip_, user)
                       : std::chrono::milliseconds{0};
        log::info(
            "imap.login.failed",
            {{"ip", s.remote_ip_}, {"user", std::string(user)}, {"mechanism", "SCRAM-SHA-256"}}
        );
        s.sasl_.reset();
        w.tagged(tag, Condition::No, "AUTHENTICATIONFAILED", "Authentication failed");
        return After::Continue;
    };
    switch (sasl.stage) {
        case SaslState::Stage::ScramFirst: {
            auto step = sasl.scram->client_first(message);
            if (step.status != accounts::ScramServer::Status::Continue) {
                return fail(sasl.scram->username());
            }
            sasl.stage = SaslState::Stage::ScramFinal;
            w.continuation(to_base64(step.message));
            return After::SaslContinue;
        }
        case SaslState::Stage::ScramFinal: {
            auto step = sasl.scram->client_final(message);
            const auto& authzid = sasl.scram->authzid();
            if (step.status != accounts::ScramServer::Status::Success || !*sasl.account ||
                (!authzid.empty() && authzid != (*sasl.account)->address &&
                 authzid != sasl.scram->username())) {
                return fail(sasl.scram->username());
            }
            sasl.stage = SaslState::Stage::ScramDone;
            // RFC 9051 §6.2.2: additional data with success goes in a last challenge.
            w.continuation(to_base64(step.message));
            return After::SaslContinue;
        }
        case SaslState::Stage::ScramDone: {
            const accounts::Account account = **sasl.account;
            s.sasl_.reset();
            if (s.services_.throttle != nullptr) {
                s.services_.throttle->record_success(account.address);
            }
            const core::Quota quota{
                .max_bytes = account.quota.bytes, .max_messages = account.quota.messages
            };
            if (auto st = s.services_.store->ensure_account(account.address, quota); !st) {
                w.tagged(
                    tag, Condition::No, "UNAVAILABLE", "Mail store unavailable, try again later"
                );
                return After::Continue;
            }
            log::info(
                "imap.login",
                {{"ip", s.remote_ip_}, {"account", account.address}, {"mechanism", "SCRAM-SHA-256"}}
            );
            s.account_ = account.address;
            s.state_ = State::Authenticated;
            w.tagged(tag, Condition::Ok, "CAPABILITY " + capabilities(s), "Logged in");
            return After::Continue;
        }
        case SaslState::Stage::PlainResponse:
            s.sasl_.reset();
            return finish_plain(s, tag, b64, w);
    }
    return After::Continue;
}

After Session::Handlers::finish_plain(
    Session& s, std::string_view tag, std::string_view b64, W& w
) {
    // RFC 4616 §2: [authzid] NUL authcid NUL passwd. "=" is an empty initial response (RFC 4959).
    std::string decoded;
    if (b64 != "=") {
        mime::decode_base64(b64, decoded);
    }
    const auto first = decoded.find('\0');
    const auto second = first == std::string::npos ? first : decoded.find('\0', first + 1);
    if (second == std::string::npos) {
        w.tagged(tag, Condition::Bad, "", "Malformed PLAIN response");
        return After::Continue;
    }
    const std::string authzid = decoded.substr(0, first);
    const std::string user = decoded.substr(first + 1, second - first - 1);
    const std::string password = decoded.substr(second + 1);
    bool ok_login = false;
    std::string account;
    complete_login(
        s, s.services_, tag, user, password, s.remote_ip_, w, account, s.delay_, ok_login
    );
    if (!ok_login) {
        return After::Continue;
    }
    // No proxy authorisation: acting as another user is not offered (RFC 4616 §2).
    if (!authzid.empty() && authzid != user && authzid != account) {
        w.tagged(tag, Condition::No, "AUTHORIZATIONFAILED", "Authorization identity refused");
        return After::Continue;
    }
    s.account_ = std::move(account);
    s.state_ = State::Authenticated;
    w.tagged(tag, Condition::Ok, "CAPABILITY " + capabilities(s), "Logged in");
    return After::Continue;
}

After Session::sasl_response(std::string_view line, std::string& out) {
    wire::ResponseWriter w(out, Handlers::writer_options(*this));
    auto sasl = std::move(sasl_);
    if (!sasl) {
        return After::Continue;
    }
    if (line == "*") {  // RFC 9051 §6.2.2: the client cancels
        w.tagged(sasl->tag, Condition::Bad, "", "Authentication cancelled");
        return After::Continue;
    }
    sasl_ = std::move(sasl);
    return Handlers::sasl_step(*this, line.empty() ? "=" : line, w);
}

After Session::Handlers::starttls(Session& s, const Cmd& c, W& w) {
    if (s.config_.tls_active || !s.config_.starttls_available) {
        bad(w, c, s.config_.tls_active ? "TLS is already active" : "STARTTLS is not offered here");
        return After::Continue;
    }
    ok(w, c);
    return After::StartTls;
}

}  // namespace sov::imap
