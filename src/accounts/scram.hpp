#pragma once
// SASL SCRAM-SHA-256 (RFC 7677, RFC 5802), server side: the stored credentials (salt, iteration
// count, StoredKey, ServerKey — never the password or SaltedPassword) and a sans-I/O exchange for
// the IMAP and SMTP drivers, which base64-encode/decode the SASL messages around it.
//
// Only SCRAM-SHA-256 without channel binding is offered (no -PLUS): a client asking for channel
// binding ("p=…" in the GS2 header) is refused, "n" and "y" are accepted ("y" is only a downgrade
// sign when the server advertises -PLUS, RFC 5802 §6, which we do not).
//
// SASLprep (RFC 4013) is not applied: usernames are compared after the RFC 5802 §5.1 "=2C"/"=3D"
// decoding only (the directory normalises addresses itself), and the stored keys are derived
// from the password octets as given at add_user/set_password. SASLprep leaves printable ASCII
// unchanged, so ASCII passwords always work; a non-ASCII password whose SASLprep form differs
// from its octets (e.g. not in NFKC) fails SCRAM and must use PLAIN/LOGIN.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.hpp"

namespace sov::accounts {

/// PBKDF2-HMAC-SHA-256 iterations for new credentials. RFC 7677 §3 asks for at least 4096 and
/// "careful consideration" of more: the count is what an attacker holding a stolen accounts.db
/// pays per password guess against the SCRAM keys (which, unlike the Argon2id hash, are not
/// memory-hard), while every client pays it once per login (or once, when it caches ClientKey,
/// RFC 5802 §5.1 "i"). 10000 is ~2.5x the minimum, a few milliseconds on a desktop and tens on
/// an old phone; the server itself only computes it when a password is set.
inline constexpr std::uint32_t kScramIterations = 10000;

/// SHA-256 output size: the size of StoredKey, ServerKey, proofs and signatures.
inline constexpr std::size_t kScramKeySize = 32;
/// Salt size for new credentials.
inline constexpr std::size_t kScramSaltSize = 16;
/// Largest client message accepted (client-first or client-final, decoded). Real ones are under
/// 300 octets: a username, a nonce and a 44-character proof.
inline constexpr std::size_t kMaxScramMessage = 2048;
/// Largest username or authzid accepted (decoded); addresses are at most 254 octets.
inline constexpr std::size_t kMaxScramName = 512;

/// What the server stores for a user (RFC 5802 §3). Raw bytes, not base64.
struct ScramCredentials {
    std::uint32_t iterations = 0;
    std::string salt;
    std::string stored_key;  // H(ClientKey)
    std::string server_key;  // HMAC(SaltedPassword, "Server Key")

    /// Non-zero iterations, non-empty salt, 32-byte keys.
    bool valid() const noexcept;
};

/// Credentials for `password` with a fresh random salt of kScramSaltSize bytes.
/// Errc::InvalidPassword if empty or over kMaxPasswordOctets, Errc::Invalid for 0 iterations,
/// Errc::Crypto if OpenSSL or libsodium fails.
Result<ScramCredentials> make_scram_credentials(
    std::string_view password, std::uint32_t iterations = kScramIterations
);
/// The same with a given salt (tests, and the RFC 7677 §3 example).
Result<ScramCredentials> make_scram_credentials(
    std::string_view password, std::string_view salt, std::uint32_t iterations
);

/// The stored form: "SCRAM-SHA-256$<i>$<b64 salt>$<b64 StoredKey>$<b64 ServerKey>".
std::string format_scram_credentials(const ScramCredentials& credentials);
/// Parses the stored form; nullopt if it is malformed or the result is not valid().
std::optional<ScramCredentials> parse_scram_credentials(std::string_view text);

/// One server-side SCRAM-SHA-256 exchange (RFC 5802 §5):
///   client_first("n,,n=user,r=cnonce")            → Continue, "r=cnonce+snonce,s=…,i=…"
///   client_final("c=biws,r=cnonce+snonce,p=…")    → Success, "v=…"   (or Failure)
/// Every message is checked against the RFC 5802 §7 grammar (attribute order, nonce, channel
/// binding data, no "m=" extension, sizes). A Failure ends the exchange: `message` is then the
/// RFC 5802 server-error ("e=…"), which a protocol may send or drop (IMAP and SMTP just answer
/// NO / 535), and `error` says what was wrong, for logs (never contains secrets). Calls after
/// the end, or out of order, fail. No exceptions are thrown (other than std::bad_alloc), and
/// nothing is logged.
///
/// The server does not authorise: after Success the caller checks authzid() (empty, or allowed
/// for username()) and maps username() to its account.
class ScramServer {
public:
    /// Finds the credentials for the username of client-first, as decoded from "n=" ("=2C" →
    /// ",", "=3D" → "="). nullopt for unknown users, users without SCRAM credentials and lookup
    /// failures alike: the exchange then continues with fake credentials derived from the
    /// username and a per-process secret (stable salt for a given name), and fails only at the
    /// proof with "e=invalid-proof", exactly like a wrong password (RFC 5802 §9: no user
    /// enumeration). Called once, from client_first().
    using Lookup = std::function<std::optional<ScramCredentials>(std::string_view username)>;

    explicit ScramServer(Lookup lookup);
    ~ScramServer();  // wipes the keys
    ScramServer(const ScramServer&) = delete;
    ScramServer& operator=(const ScramServer&) = delete;
    ScramServer(ScramServer&&) noexcept = default;
    ScramServer& operator=(ScramServer&&) noexcept = default;

    enum class Status {
        Continue,  // send `message` as a challenge and wait for client_final
        Success,   // authenticated: send `message` ("v=…") as additional data with success
        Failure,   // authentication failed or the client misbehaved; see `error`
    };
    struct Step {
        Status status = Status::Failure;
        std::string message;  // raw server message; the caller base64-encodes it
        std::string error;    // why it failed, empty otherwise
    };

    /// client-first-message = gs2-header client-first-message-bare (RFC 5802 §7).
    Step client_first(std::string_view message);
    /// client-final-message = "c=" base64 "," "r=" nonce ["," extensions] "," "p=" base64.
    Step client_final(std::string_view message);

    /// The authentication identity ("n="), decoded; empty before client_first.
    const std::string& username() const noexcept { return username_; }
    /// The authorization identity ("a=" in the GS2 header), decoded; empty if none.
    const std::string& authzid() const noexcept { return authzid_; }

    /// Test hook: the server part of the nonce (printable ASCII without ',') to use instead of
    /// a random one; must be called before client_first.
    void set_server_nonce_for_test(std::string nonce) { server_nonce_ = std::move(nonce); }

private:
    enum class State {
        ExpectFirst,
        ExpectFinal,
        Done,
    };
    Step fail(std::string_view server_error, std::string error);

    Lookup lookup_;
    State state_ = State::ExpectFirst;
    std::string username_;
    std::string authzid_;
    std::string gs2_header_;         // e.g. "n,," — what "c=" must encode
    std::string client_first_bare_;  // for AuthMessage
    std::string server_first_;
    std::string nonce_;  // client nonce + server nonce
    std::string server_nonce_;
    ScramCredentials credentials_;
    bool known_user_ = false;
};

}  // namespace sov::accounts
