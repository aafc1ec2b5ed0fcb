#pragma once
// Error codes of the mail authentication module (DKIM keys, key storage, signing).
#include <system_error>

namespace sov::mailauth {

enum class Errc {
    Ok = 0,
    Crypto,           // an OpenSSL call failed (key generation, signing); details are logged
    BadKey,           // a key file or a DNS key record does not hold a usable key
    UnsupportedKey,   // a key algorithm or size we do not sign or verify with (RFC 8301 §3.2)
    BadDomain,        // not a canonical host name: never used to build a path
    BadSelector,      // not a selector we would create (one lowercase LDH label)
    KeysExist,        // keygen on a domain that already has keys
    NoKeys,           // rotate/sign on a domain without keys
    RotationPending,  // a pending selector is already waiting to be published
    NoFromField,      // the message has no From header field (RFC 6376 §5.4: From MUST be signed)
    BadMessage,       // the message cannot be split into header and body
    CorruptState,     // the selector state file does not parse
};

const std::error_category& mailauth_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), mailauth_category()};
}

}  // namespace sov::mailauth

template <>
struct std::is_error_code_enum<sov::mailauth::Errc> : std::true_type {};
