#pragma once
// Password hashing: Argon2id through libsodium's crypto_pwhash_str (the PHC string format
// `$argon2id$v=19$m=…,t=…,p=1$salt$hash`, which records its own parameters, so stored hashes stay
// verifiable when the parameters change, and password_needs_rehash() tells when to upgrade).
//
// Passwords are taken as string_views and never copied, logged or put into errors; the caller
// owns the buffer and should wipe it (sodium_memzero) when done.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace sov::accounts {

/// Bounds the hashing work an unauthenticated peer can request; no real password is longer.
inline constexpr std::size_t kMaxPasswordOctets = 1024;

struct PasswordParams {
    std::uint64_t opslimit = 0;
    std::size_t memlimit = 0;

    /// crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE (64 MiB): the default.
    static PasswordParams interactive() noexcept;
    /// crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN: only for tests, where hashing must be fast.
    static PasswordParams minimum_for_test() noexcept;
};

/// Calls sodium_init() once per process (thread-safe); false if libsodium cannot be used.
bool ensure_sodium() noexcept;

/// Argon2id hash of `password` (Errc::InvalidPassword if empty or over kMaxPasswordOctets,
/// Errc::Crypto if libsodium fails, e.g. out of memory).
Result<std::string> hash_password(std::string_view password, const PasswordParams& params);

/// True if `password` matches `hash` (a crypto_pwhash_str string). Malformed hashes do not match.
bool verify_password(std::string_view hash, std::string_view password) noexcept;

/// True if `hash` was made with other parameters (or another algorithm) than `params`.
bool password_needs_rehash(std::string_view hash, const PasswordParams& params) noexcept;

}  // namespace sov::accounts
