// LOGIN, AUTHENTICATE (RFC 9051 §6.2.2, SASL-IR RFC 4959) with the shared SASL server
// (accounts/sasl.hpp: PLAIN, LOGIN, SCRAM-SHA-256) and STARTTLS (RFC 9051 §6.2).
#include <sodium.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "accounts/directory.hpp"
#include "accounts/login_throttle.hpp"
#include "accounts/sasl.hpp"
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

void wipe(std::string& s) {
    if (!s.empty()) {
        sodium_memzero(s.data(), s.size());
    }
    s.clear();
}

void wipe(std::optional<std::string>& s) {
    if (s) {
        wipe(*s);
    }
}

}  // namespace

// The LOGIN command (AUTHENTICATE goes through sasl_step): checks the password, throttles failures,
// and on success makes sure the account's store exists (a user who never received mail can still
// SELECT INBOX).
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
    const auto mechanism = accounts::find_sasl_mechanism(args.mechanism);
    if (!mechanism) {
        no(w, c, "CANNOT", "Unsupported authentication mechanism");
        return After::Continue;
    }
    auto* directory = s.services_.directory;
    s.sasl_ = std::make_unique<SaslState>(c.tag, *mechanism, [directory](std::string_view user) {
        return directory->scram_credentials(user);
    });
    std::optional<std::string> initial;
    if (args.initial_response) {  // SASL-IR (RFC 4959); "=" is an empty one
        initial.emplace();
        if (*args.initial_response != "=") {
            mime::decode_base64(*args.initial_response, *initial);
        }
    }
    auto step =
        s.sasl_->server.start(initial ? std::optional<std::string_view>(*initial) : std::nullopt);
    wipe(initial);
    return sasl_step(s, std::move(step), w);
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

// Carries an exchange forward from a SASL step: a challenge goes out as "+ base64", a password
// check runs here (handle() and sasl_response() already run on a worker thread, see
// session.hpp), and the end becomes the tagged OK/NO/BAD.
After Session::Handlers::sasl_step(Session& s, accounts::SaslServer::Step step, W& w) {
    using Status = accounts::SaslServer::Status;
    using Failure = accounts::SaslServer::Failure;
    auto& sasl = *s.sasl_;
    if (step.status == Status::NeedPasswordCheck) {
        step = sasl.server.password_checked(
            s.services_.directory->authenticate(sasl.server.authcid(), sasl.server.password())
        );
    }
    if (step.status == Status::Challenge) {
        w.continuation(to_base64(step.challenge));
        return After::SaslContinue;
    }
    const std::string tag = sasl.tag;
    const auto mechanism = std::string(accounts::sasl_mechanism_name(sasl.server.mechanism()));
    const std::string user = sasl.server.authcid();
    if (step.status == Status::Success) {
        const accounts::Account account = *sasl.server.account();
        s.sasl_.reset();
        if (s.services_.throttle != nullptr) {
            s.services_.throttle->record_success(account.address);
        }
        // A user who never received mail can still SELECT INBOX.
        const core::Quota quota{
            .max_bytes = account.quota.bytes, .max_messages = account.quota.messages
        };
        if (auto st = s.services_.store->ensure_account(account.address, quota); !st) {
            log::warn(
                "imap.login.store", {{"account", account.address}, {"error", st.error().message()}}
            );
            w.tagged(tag, Condition::No, "UNAVAILABLE", "Mail store unavailable, try again later");
            return After::Continue;
        }
        log::info(
            "imap.login",
            {{"ip", s.remote_ip_}, {"account", account.address}, {"mechanism", mechanism}}
        );
        s.account_ = account.address;
        s.state_ = State::Authenticated;
        w.tagged(tag, Condition::Ok, "CAPABILITY " + capabilities(s), "Logged in");
        return After::Continue;
    }
    s.sasl_.reset();
    switch (step.failure) {
        case Failure::Malformed:
            if (mechanism != "SCRAM-SHA-256") {
                w.tagged(tag, Condition::Bad, "", "Malformed " + mechanism + " response");
                return After::Continue;
            }
            break;  // SCRAM: answered like a wrong proof, as before
        case Failure::Authorization:
            // No proxy authorisation: acting as another user is not offered (RFC 4616 §2).
            w.tagged(tag, Condition::No, "AUTHORIZATIONFAILED", "Authorization identity refused");
            return After::Continue;
        case Failure::Temporary:
            log::warn(
                "imap.login.error", {{"ip", s.remote_ip_}, {"user", user}, {"error", step.error}}
            );
            w.tagged(tag, Condition::No, "UNAVAILABLE", "Authentication unavailable, try later");
            return After::Continue;
        case Failure::Credentials:
        case Failure::None:
            break;
    }
    s.delay_ = s.services_.throttle != nullptr
                   ? s.services_.throttle->record_failure(s.remote_ip_, user)
                   : std::chrono::milliseconds{0};
    log::info(
        "imap.login.failed", {{"ip", s.remote_ip_}, {"user", user}, {"mechanism", mechanism}}
    );
    w.tagged(tag, Condition::No, "AUTHENTICATIONFAILED", "Authentication failed");
    return After::Continue;
}

After Session::sasl_response(std::string_view line, std::string& out) {
    wire::ResponseWriter w(out, Handlers::writer_options(*this));
    if (!sasl_) {
        return After::Continue;
    }
    if (line == "*") {  // RFC 9051 §6.2.2: the client cancels
        const std::string tag = sasl_->tag;
        sasl_.reset();
        w.tagged(tag, Condition::Bad, "", "Authentication cancelled");
        return After::Continue;
    }
    std::string message;
    if (!line.empty() && line != "=") {
        mime::decode_base64(line, message);
    }
    auto step = sasl_->server.respond(message);
    wipe(message);
    return Handlers::sasl_step(*this, std::move(step), w);
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
