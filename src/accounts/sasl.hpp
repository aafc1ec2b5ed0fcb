#pragma once
// One server-side SASL exchange (RFC 4422), shared by IMAP AUTHENTICATE (RFC 9051 §6.2.2) and
// SMTP AUTH (RFC 4954). Sans-I/O: messages in and out are raw octets; the protocol layers do the
// base64 and the framing ("+ …" / "334 …", "*" to cancel, "=" for an empty initial response).
//
// Mechanisms:
//   PLAIN          RFC 4616: one message "[authzid] NUL authcid NUL passwd".
//   LOGIN          draft-murchison-sasl-login: the server asks "Username:" then "Password:".
//                  Not standardised, but what Outlook, old phones and many scripts use.
//   SCRAM-SHA-256  RFC 7677 / RFC 5802, through ScramServer (scram.hpp).
//
// Password checks (Argon2id, tens of milliseconds by design) never happen in here: PLAIN and
// LOGIN stop at Status::NeedPasswordCheck, the driver runs Directory::authenticate(authcid(),
// password()) where blocking is allowed (its worker pool) and hands the result to
// password_checked(). SCRAM needs no password check, only its stored credentials, which the
// ScramLookup callback reads (a fast SQLite lookup, Directory::scram_credentials).
//
// Neither protocol supports "additional data with success" (RFC 4954 §4; IMAP clients do not
// expect it either), so SCRAM's server-final-message goes out as a last Challenge and the exchange
// succeeds on the client's empty response (RFC 4422 §5, item 7).
//
// Authorisation: no proxy logins. The authzid must be empty or name the authenticated user
// itself (as sent, or its canonical address).
//
// Nothing is logged and nothing is thrown (other than std::bad_alloc). The password is wiped
// from this object's memory as soon as password_checked() has it, and on destruction.
#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "accounts/directory.hpp"
#include "accounts/scram.hpp"
#include "core/result.hpp"

namespace sov::accounts {

enum class SaslMechanism {
    Plain,
    Login,
    ScramSha256,
};

/// What to advertise, in this order: SMTP "AUTH PLAIN LOGIN SCRAM-SHA-256" (RFC 4954 §3), IMAP
/// "AUTH=…" capabilities.
inline constexpr std::array<SaslMechanism, 3> kSaslMechanisms = {
    SaslMechanism::Plain, SaslMechanism::Login, SaslMechanism::ScramSha256
};
/// The same list, space-separated, as the SMTP EHLO keyword takes it.
inline constexpr std::string_view kSaslMechanismList = "PLAIN LOGIN SCRAM-SHA-256";

/// The registered name ("PLAIN", "LOGIN", "SCRAM-SHA-256").
std::string_view sasl_mechanism_name(SaslMechanism mechanism) noexcept;
/// Looks a mechanism up by name, ASCII case-insensitively (RFC 4422 §3.1 names are upper case,
/// but clients are not always careful); nullopt if we do not implement it.
std::optional<SaslMechanism> find_sasl_mechanism(std::string_view name) noexcept;

/// Largest client response accepted (decoded). The longest legitimate one is a PLAIN message
/// with a 1024-octet password and two addresses, well under this.
inline constexpr std::size_t kMaxSaslResponse = 4096;
/// Largest authcid or authzid accepted; addresses are at most 254 octets.
inline constexpr std::size_t kMaxSaslName = 512;

class SaslServer {
public:
    /// Directory::scram_credentials, or a stand-in. Errc::NotFound (and the address errors)
    /// mean "no such user": the exchange goes on with fake credentials and fails at the proof,
    /// like a wrong password (RFC 5802 §9). Any other error (Errc::Storage) ends the exchange
    /// with Failure::Temporary.
    using ScramLookup = std::function<Result<ScramAccount>(std::string_view username)>;

    enum class Status {
        Challenge,          // send `challenge` and pass the client's answer to respond()
        NeedPasswordCheck,  // check authcid()/password(), then call password_checked()
        Success,            // authenticated as account()
        Failure,            // see `failure`; the exchange is over
    };
    enum class Failure {
        None,
        Malformed,      // the client's message breaks the mechanism's grammar or our limits
        Credentials,    // unknown user or wrong password (deliberately indistinguishable)
        Authorization,  // right password, but an authzid naming someone else
        Temporary,      // the directory failed (Errc::Storage): try again later
    };
    struct Step {
        Status status = Status::Failure;
        std::string challenge;  // Challenge: raw server message, possibly empty
        Failure failure = Failure::None;
        std::string error;  // Failure: why, for logs; never contains a secret
    };

    /// `scram_lookup` is needed for SCRAM-SHA-256 only (a missing one fails every SCRAM login
    /// as unknown user).
    explicit SaslServer(SaslMechanism mechanism, ScramLookup scram_lookup = {});
    ~SaslServer();
    // ScramServer's lookup points back here: the object stays where it was made.
    SaslServer(const SaslServer&) = delete;
    SaslServer& operator=(const SaslServer&) = delete;
    SaslServer(SaslServer&&) = delete;
    SaslServer& operator=(SaslServer&&) = delete;

    /// Starts the exchange, with the client's initial response if it sent one (SASL-IR RFC 4959,
    /// SMTP AUTH's second argument; an empty string_view is an empty initial response, "=").
    Step start(std::optional<std::string_view> initial_response);
    /// The client's answer to a Challenge.
    Step respond(std::string_view response);
    /// The answer to NeedPasswordCheck: Directory::authenticate(authcid(), password()).
    /// Errc::AuthFailed is a Credentials failure, any other error a Temporary one.
    Step password_checked(const Result<Account>& result);

    [[nodiscard]] SaslMechanism mechanism() const noexcept { return mechanism_; }
    /// The user the client claims to be, as sent (logs, throttling); may be empty.
    [[nodiscard]] const std::string& authcid() const noexcept { return authcid_; }
    [[nodiscard]] const std::string& authzid() const noexcept { return authzid_; }
    /// Valid while the last step was NeedPasswordCheck.
    [[nodiscard]] std::string_view password() const noexcept { return password_; }
    /// The authenticated account, set by Success.
    [[nodiscard]] const std::optional<Account>& account() const noexcept { return account_; }
    /// True once Success or Failure was returned.
    [[nodiscard]] bool finished() const noexcept { return state_ == State::Done; }

private:
    enum class State {
        Start,
        PlainMessage,   // PLAIN: waiting for the message (no initial response)
        LoginUsername,  // LOGIN: "Username:" sent
        LoginPassword,  // LOGIN: "Password:" sent
        PasswordCheck,  // NeedPasswordCheck returned
        ScramFirst,     // waiting for client-first-message
        ScramFinal,     // server-first-message sent
        ScramAck,       // server-final-message sent as a challenge; waiting for an empty answer
        Done,
    };
    Step fail(Failure failure, std::string error);
    Step challenge(State next, std::string message);
    Step plain(std::string_view message);
    Step login_username(std::string_view username);
    Step need_password_check();
    Step scram_first(std::string_view message);
    Step scram_final(std::string_view message);
    bool authzid_allowed(const Account& account) const;

    SaslMechanism mechanism_;
    ScramLookup scram_lookup_;
    State state_ = State::Start;
    std::string authcid_;
    std::string authzid_;
    std::string password_;
    std::optional<Account> account_;
    // SCRAM: the account the client claims to be (proven only by the proof), and whether the
    // lookup failed for a reason other than an unknown user.
    std::unique_ptr<ScramServer> scram_;
    std::optional<Account> scram_account_;
    std::string scram_lookup_error_;
};

}  // namespace sov::accounts
