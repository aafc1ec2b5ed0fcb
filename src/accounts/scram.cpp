#include "accounts/scram.hpp"

#include <sodium.h>

#include <array>
#include <charconv>
#include <limits>
#include <utility>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "accounts/errors.hpp"
#include "accounts/password.hpp"

namespace sov::accounts {
namespace {

using Key = std::array<unsigned char, kScramKeySize>;

constexpr std::string_view kCredentialsPrefix = "SCRAM-SHA-256$";
// 24 random bytes: 192 bits, 32 base64 characters (all "printable" in the RFC 5802 sense).
constexpr std::size_t kServerNonceBytes = 24;

const unsigned char* bytes(std::string_view s) noexcept {
    return reinterpret_cast<const unsigned char*>(s.data());
}

std::string_view view(const Key& k) noexcept {
    return {reinterpret_cast<const char*>(k.data()), k.size()};
}

// --- primitives (RFC 5802 §2.2 notation) ---------------------------------------------------

// HMAC(key, str) with SHA-256. OpenSSL only fails here on allocation failure.
bool hmac(std::string_view key, std::string_view data, Key& out) noexcept {
    unsigned int len = 0;
    if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        return false;
    }
    return HMAC(
               EVP_sha256(),
               key.data(),
               static_cast<int>(key.size()),
               bytes(data),
               data.size(),
               out.data(),
               &len
           ) != nullptr &&
           len == out.size();
}

void sha256(std::string_view data, Key& out) noexcept {
    SHA256(bytes(data), data.size(), out.data());
}

// Hi(str, salt, i) is PBKDF2 (RFC 2898) with HMAC as the PRF and dkLen = the hash size
// (RFC 5802 §2.2).
bool hi(std::string_view password, std::string_view salt, std::uint32_t iterations, Key& out) {
    if (iterations > static_cast<std::uint32_t>(std::numeric_limits<int>::max()) ||
        password.size() > kMaxPasswordOctets ||
        salt.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        return false;
    }
    return PKCS5_PBKDF2_HMAC(
               password.data(),
               static_cast<int>(password.size()),
               bytes(salt),
               static_cast<int>(salt.size()),
               static_cast<int>(iterations),
               EVP_sha256(),
               static_cast<int>(out.size()),
               out.data()
           ) == 1;
}

// --- base64 (RFC 5802 §7 "base64": padded, standard alphabet, nothing else) ---------------

std::string base64_encode(std::string_view data) {
    std::string out(sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(
        out.data(), out.size(), bytes(data), data.size(), sodium_base64_VARIANT_ORIGINAL
    );
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

// Strict: the whole input must be canonical padded base64 (libsodium also rejects non-zero
// padding bits), so every value has one spelling.
std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string out(text.size() / 4 * 3, '\0');
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(
            reinterpret_cast<unsigned char*>(out.data()),
            out.size(),
            text.data(),
            text.size(),
            nullptr,
            &len,
            &end,
            sodium_base64_VARIANT_ORIGINAL
        ) != 0 ||
        end != text.data() + text.size()) {
        return std::nullopt;
    }
    out.resize(len);
    return out;
}

// --- grammar helpers (RFC 5802 §7) ----------------------------------------------------------

bool is_alpha(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// printable = %x21-2B / %x2D-7E
bool is_printable(std::string_view s) noexcept {
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x21 || c > 0x7E || c == ',') {
            return false;
        }
    }
    return !s.empty();
}

// Well-formed UTF-8 per RFC 3629 §4 (no overlong forms, no surrogates, at most U+10FFFF).
bool is_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        unsigned char lo = 0x80;
        unsigned char hi = 0xBF;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (s.size() - i - 1 < n) {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            const auto t = static_cast<unsigned char>(s[i + k]);
            const unsigned char min = k == 1 ? lo : 0x80;
            const unsigned char max = k == 1 ? hi : 0xBF;
            if (t < min || t > max) {
                return false;
            }
        }
        i += n + 1;
    }
    return true;
}

// value = 1*value-char: UTF-8 without NUL and ',' ('=' allowed).
bool is_value(std::string_view s) noexcept {
    return !s.empty() && s.find('\0') == std::string_view::npos &&
           s.find(',') == std::string_view::npos && is_utf8(s);
}

// saslname = 1*(value-safe-char / "=2C" / "=3D"); RFC 5802 §5.1: '=' followed by anything
// else MUST fail the authentication.
std::optional<std::string> decode_saslname(std::string_view s) {
    if (s.empty() || !is_value(s)) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '=') {
            out += s[i];
            continue;
        }
        const std::string_view escape = s.substr(i + 1, 2);
        if (escape == "2C") {
            out += ',';
        } else if (escape == "3D") {
            out += '=';
        } else {
            return std::nullopt;
        }
        i += 2;
    }
    return out;
}

// attr-val = ALPHA "=" value
bool is_attr_val(std::string_view s) noexcept {
    return s.size() >= 3 && is_alpha(s[0]) && s[1] == '=' && is_value(s.substr(2));
}

bool has_attr(std::string_view field, char name) noexcept {
    return field.size() >= 2 && field[0] == name && field[1] == '=';
}

std::vector<std::string_view> split_fields(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = s.find(',', start);
        if (comma == std::string_view::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, comma - start));
        start = comma + 1;
    }
}

// --- fake credentials for unknown users (RFC 5802 §9) --------------------------------------

// A per-process secret: the fake salt of a name stays the same across attempts (as a real
// user's does), but cannot be predicted from outside.
const std::array<unsigned char, 32>& process_secret() {
    static const std::array<unsigned char, 32> kSecret = [] {
        std::array<unsigned char, 32> s{};
        if (ensure_sodium()) {
            randombytes_buf(s.data(), s.size());
        }
        return s;
    }();
    return kSecret;
}

ScramCredentials fake_credentials(std::string_view username) {
    const auto& secret = process_secret();
    const std::string_view key(reinterpret_cast<const char*>(secret.data()), secret.size());
    ScramCredentials c;
    c.iterations = kScramIterations;
    Key k{};
    // The label and the name are separated by a NUL, which no decoded saslname contains.
    (void)hmac(key, std::string("salt") + '\0' + std::string(username), k);
    c.salt.assign(view(k).substr(0, kScramSaltSize));
    (void)hmac(key, std::string("stored") + '\0' + std::string(username), k);
    c.stored_key.assign(view(k));
    (void)hmac(key, std::string("server") + '\0' + std::string(username), k);
    c.server_key.assign(view(k));
    sodium_memzero(k.data(), k.size());
    return c;
}

void wipe(std::string& s) noexcept {
    if (!s.empty()) {
        sodium_memzero(s.data(), s.size());
    }
    s.clear();
}

}  // namespace

// --- credentials ------------------------------------------------------------------------------

bool ScramCredentials::valid() const noexcept {
    return iterations > 0 && !salt.empty() && stored_key.size() == kScramKeySize &&
           server_key.size() == kScramKeySize;
}

Result<ScramCredentials> make_scram_credentials(
    std::string_view password, std::string_view salt, std::uint32_t iterations
) {
    if (password.empty() || password.size() > kMaxPasswordOctets) {
        return make_error_code(Errc::InvalidPassword);
    }
    if (iterations == 0 || salt.empty()) {
        return make_error_code(Errc::Invalid);
    }
    // RFC 5802 §3:
    //   SaltedPassword := Hi(Normalize(password), salt, i)
    //   ClientKey      := HMAC(SaltedPassword, "Client Key")
    //   StoredKey      := H(ClientKey)
    //   ServerKey      := HMAC(SaltedPassword, "Server Key")
    Key salted{};
    Key client_key{};
    Key stored_key{};
    Key server_key{};
    const bool ok = hi(password, salt, iterations, salted) &&
                    hmac(view(salted), "Client Key", client_key) &&
                    hmac(view(salted), "Server Key", server_key);
    if (ok) {
        sha256(view(client_key), stored_key);
    }
    sodium_memzero(salted.data(), salted.size());
    sodium_memzero(client_key.data(), client_key.size());
    if (!ok) {
        return make_error_code(Errc::Crypto);
    }
    return ScramCredentials{
        iterations, std::string(salt), std::string(view(stored_key)), std::string(view(server_key))
    };
}

Result<ScramCredentials> make_scram_credentials(
    std::string_view password, std::uint32_t iterations
) {
    if (!ensure_sodium()) {
        return make_error_code(Errc::Crypto);
    }
    std::array<unsigned char, kScramSaltSize> salt{};
    randombytes_buf(salt.data(), salt.size());
    return make_scram_credentials(
        password,
        std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()),
        iterations
    );
}

std::string format_scram_credentials(const ScramCredentials& c) {
    std::string out(kCredentialsPrefix);
    out += std::to_string(c.iterations);
    out += '$';
    out += base64_encode(c.salt);
    out += '$';
    out += base64_encode(c.stored_key);
    out += '$';
    out += base64_encode(c.server_key);
    return out;
}

std::optional<ScramCredentials> parse_scram_credentials(std::string_view text) {
    if (!text.starts_with(kCredentialsPrefix)) {
        return std::nullopt;
    }
    text.remove_prefix(kCredentialsPrefix.size());
    std::array<std::string_view, 4> parts{};
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::size_t dollar = text.find('$');
        if ((dollar == std::string_view::npos) != (i + 1 == parts.size())) {
            return std::nullopt;
        }
        parts[i] = text.substr(0, dollar);
        text = dollar == std::string_view::npos ? std::string_view{} : text.substr(dollar + 1);
    }
    ScramCredentials c;
    const auto* first = parts[0].data();
    const auto* last = first + parts[0].size();
    const auto [end, ec] = std::from_chars(first, last, c.iterations);
    if (ec != std::errc{} || end != last || parts[0].empty() || parts[0][0] == '0') {
        return std::nullopt;
    }
    auto salt = base64_decode(parts[1]);
    auto stored = base64_decode(parts[2]);
    auto server = base64_decode(parts[3]);
    if (!salt || !stored || !server) {
        return std::nullopt;
    }
    c.salt = std::move(*salt);
    c.stored_key = std::move(*stored);
    c.server_key = std::move(*server);
    if (!c.valid()) {
        return std::nullopt;
    }
    return c;
}

// --- the exchange -------------------------------------------------------------------------------

ScramServer::ScramServer(Lookup lookup) : lookup_(std::move(lookup)) {}

ScramServer::~ScramServer() {
    wipe(credentials_.stored_key);
    wipe(credentials_.server_key);
}

ScramServer::Step ScramServer::fail(std::string_view server_error, std::string error) {
    state_ = State::Done;
    wipe(credentials_.stored_key);
    wipe(credentials_.server_key);
    return Step{Status::Failure, "e=" + std::string(server_error), std::move(error)};
}

ScramServer::Step ScramServer::client_first(std::string_view message) {
    if (state_ != State::ExpectFirst) {
        return fail("other-error", "client-first-message out of order");
    }
    if (message.size() > kMaxScramMessage) {
        return fail("other-error", "client-first-message too long");
    }
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    std::string_view rest = message;
    if (rest.starts_with("p=")) {
        // RFC 5802 §6: the client requires channel binding, which we do not offer (no -PLUS).
        return fail("channel-binding-not-supported", "client requires channel binding");
    }
    if (!rest.starts_with("n,") && !rest.starts_with("y,")) {
        return fail("other-error", "malformed GS2 header (channel binding flag)");
    }
    rest.remove_prefix(2);
    if (rest.starts_with("a=")) {
        const std::size_t comma = rest.find(',');
        if (comma == std::string_view::npos) {
            return fail("other-error", "malformed GS2 header (authzid)");
        }
        auto authzid = decode_saslname(rest.substr(2, comma - 2));
        if (!authzid || authzid->size() > kMaxScramName) {
            return fail("invalid-username-encoding", "invalid authzid encoding");
        }
        authzid_ = std::move(*authzid);
        rest.remove_prefix(comma);
    }
    if (!rest.starts_with(",")) {
        return fail("other-error", "malformed GS2 header");
    }
    rest.remove_prefix(1);
    gs2_header_.assign(message.substr(0, message.size() - rest.size()));

    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    const auto fields = split_fields(rest);
    if (has_attr(fields[0], 'm')) {
        return fail("extensions-not-supported", "mandatory extension (m=) not supported");
    }
    if (!has_attr(fields[0], 'n')) {
        return fail("other-error", "client-first-message: username (n=) expected");
    }
    auto username = decode_saslname(fields[0].substr(2));
    if (!username || username->size() > kMaxScramName) {
        return fail("invalid-username-encoding", "invalid username encoding");
    }
    if (fields.size() < 2 || !has_attr(fields[1], 'r')) {
        return fail("other-error", "client-first-message: nonce (r=) expected after username");
    }
    const std::string_view client_nonce = fields[1].substr(2);
    if (!is_printable(client_nonce)) {
        return fail("other-error", "client-first-message: invalid nonce");
    }
    for (std::size_t i = 2; i < fields.size(); ++i) {
        if (has_attr(fields[i], 'm')) {
            return fail("extensions-not-supported", "mandatory extension (m=) not supported");
        }
        // Unknown optional extensions MUST be ignored (RFC 5802 §5.1), once well-formed.
        if (!is_attr_val(fields[i])) {
            return fail("other-error", "client-first-message: malformed extension");
        }
    }
    username_ = std::move(*username);
    client_first_bare_.assign(rest);

    if (server_nonce_.empty()) {
        if (!ensure_sodium()) {
            return fail("no-resources", "libsodium unavailable");
        }
        std::array<unsigned char, kServerNonceBytes> random{};
        randombytes_buf(random.data(), random.size());
        server_nonce_ = base64_encode(
            std::string_view(reinterpret_cast<const char*>(random.data()), random.size())
        );
    }
    nonce_.assign(client_nonce);
    nonce_ += server_nonce_;

    std::optional<ScramCredentials> found;
    if (lookup_) {
        found = lookup_(username_);
    }
    known_user_ = found && found->valid();
    credentials_ = known_user_ ? std::move(*found) : fake_credentials(username_);
    if (found) {
        wipe(found->stored_key);
        wipe(found->server_key);
    }

    // server-first-message = nonce "," salt "," iteration-count
    server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credentials_.salt) +
                    ",i=" + std::to_string(credentials_.iterations);
    state_ = State::ExpectFinal;
    return Step{Status::Continue, server_first_, {}};
}

ScramServer::Step ScramServer::client_final(std::string_view message) {
    if (state_ != State::ExpectFinal) {
        return fail("other-error", "client-final-message out of order");
    }
    if (message.size() > kMaxScramMessage) {
        return fail("other-error", "client-final-message too long");
    }
    // client-final-message = channel-binding "," nonce ["," extensions] "," proof
    const auto fields = split_fields(message);
    if (fields.size() < 3) {
        return fail("other-error", "client-final-message: missing attributes");
    }
    if (!has_attr(fields[0], 'c')) {
        return fail("other-error", "client-final-message: channel binding (c=) expected first");
    }
    const auto cbind = base64_decode(fields[0].substr(2));
    if (!cbind) {
        return fail("invalid-encoding", "client-final-message: channel binding is not base64");
    }
    // cbind-input = gs2-header [ cbind-data ], with no cbind-data for "n" and "y".
    if (*cbind != gs2_header_) {
        return fail(
            "channel-bindings-dont-match",
            "client-final-message: channel binding does not match the GS2 header"
        );
    }
    if (!has_attr(fields[1], 'r')) {
        return fail("other-error", "client-final-message: nonce (r=) expected second");
    }
    // RFC 5802 §5.1 "r": the server MUST verify the nonce is the one it sent.
    if (fields[1].substr(2) != nonce_) {
        return fail("other-error", "client-final-message: nonce does not match");
    }
    for (std::size_t i = 2; i + 1 < fields.size(); ++i) {
        if (has_attr(fields[i], 'm')) {
            return fail("extensions-not-supported", "mandatory extension (m=) not supported");
        }
        if (has_attr(fields[i], 'p')) {
            return fail("other-error", "client-final-message: proof (p=) must come last");
        }
        if (!is_attr_val(fields[i])) {
            return fail("other-error", "client-final-message: malformed extension");
        }
    }
    const std::string_view proof_field = fields.back();
    if (!has_attr(proof_field, 'p')) {
        return fail("other-error", "client-final-message: proof (p=) expected last");
    }
    auto proof = base64_decode(proof_field.substr(2));
    if (!proof || proof->size() != kScramKeySize) {
        return fail(
            "invalid-encoding", "client-final-message: proof is not a base64 SHA-256 value"
        );
    }
    const std::string_view without_proof =
        message.substr(0, message.size() - proof_field.size() - 1);

    // RFC 5802 §3:
    //   AuthMessage     := client-first-message-bare + "," + server-first-message + "," +
    //                      client-final-message-without-proof
    //   ClientSignature := HMAC(StoredKey, AuthMessage)
    //   ClientKey       := ClientProof XOR ClientSignature; the proof holds if H(ClientKey)
    //                      equals StoredKey.
    //   ServerSignature := HMAC(ServerKey, AuthMessage)
    std::string auth_message;
    auth_message.reserve(
        client_first_bare_.size() + server_first_.size() + without_proof.size() + 2
    );
    auth_message.append(client_first_bare_).append(",").append(server_first_).append(",");
    auth_message.append(without_proof);
    Key client_signature{};
    Key client_key{};
    Key computed_stored{};
    Key server_signature{};
    if (!hmac(credentials_.stored_key, auth_message, client_signature) ||
        !hmac(credentials_.server_key, auth_message, server_signature)) {
        return fail("no-resources", "HMAC failed");
    }
    for (std::size_t i = 0; i < client_key.size(); ++i) {
        client_key[i] = static_cast<unsigned char>(
            static_cast<unsigned char>((*proof)[i]) ^ client_signature[i]
        );
    }
    sha256(view(client_key), computed_stored);
    // Constant-time comparison; unknown users take the same path and always fail.
    const bool match =
        sodium_memcmp(computed_stored.data(), bytes(credentials_.stored_key), kScramKeySize) == 0;
    sodium_memzero(client_key.data(), client_key.size());
    sodium_memzero(client_signature.data(), client_signature.size());
    if (!match || !known_user_) {
        return fail("invalid-proof", "invalid proof (wrong password or unknown user)");
    }
    std::string verifier = "v=" + base64_encode(view(server_signature));
    state_ = State::Done;
    wipe(credentials_.stored_key);
    wipe(credentials_.server_key);
    return Step{Status::Success, std::move(verifier), {}};
}

}  // namespace sov::accounts
