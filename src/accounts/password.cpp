#include "accounts/password.hpp"

#include <sodium.h>

#include <array>

#include "accounts/errors.hpp"

namespace sov::accounts {
namespace {

// crypto_pwhash_str_verify() and _needs_rehash() read a NUL-terminated string, so the stored
// hash is copied into a bounded buffer first (a hash is not secret, but the copy is wiped anyway
// to keep the habit uniform).
using HashBuffer = std::array<char, crypto_pwhash_STRBYTES>;

bool copy_hash(std::string_view hash, HashBuffer& out) noexcept {
    if (hash.empty() || hash.size() >= out.size() || hash.find('\0') != std::string_view::npos) {
        return false;
    }
    out.fill('\0');
    hash.copy(out.data(), hash.size());
    return true;
}

}  // namespace

PasswordParams PasswordParams::interactive() noexcept {
    return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

PasswordParams PasswordParams::minimum_for_test() noexcept {
    return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

bool ensure_sodium() noexcept {
    // sodium_init() is itself thread-safe and idempotent (returns 1 when already done); the
    // static makes later calls free.
    static const bool kReady = sodium_init() >= 0;
    return kReady;
}

Result<std::string> hash_password(std::string_view password, const PasswordParams& params) {
    if (password.empty() || password.size() > kMaxPasswordOctets) {
        return make_error_code(Errc::InvalidPassword);
    }
    if (!ensure_sodium()) {
        return make_error_code(Errc::Crypto);
    }
    HashBuffer out{};
    const int rc = crypto_pwhash_str_alg(
        out.data(),
        password.data(),
        password.size(),
        params.opslimit,
        params.memlimit,
        crypto_pwhash_ALG_ARGON2ID13
    );
    if (rc != 0) {
        return make_error_code(Errc::Crypto);
    }
    std::string hash(out.data());
    sodium_memzero(out.data(), out.size());
    return hash;
}

bool verify_password(std::string_view hash, std::string_view password) noexcept {
    if (password.empty() || password.size() > kMaxPasswordOctets || !ensure_sodium()) {
        return false;
    }
    HashBuffer buffer{};
    if (!copy_hash(hash, buffer)) {
        return false;
    }
    const bool ok = crypto_pwhash_str_verify(buffer.data(), password.data(), password.size()) == 0;
    sodium_memzero(buffer.data(), buffer.size());
    return ok;
}

bool password_needs_rehash(std::string_view hash, const PasswordParams& params) noexcept {
    if (!ensure_sodium()) {
        return false;
    }
    HashBuffer buffer{};
    if (!copy_hash(hash, buffer)) {
        return true;
    }
    // 0: same parameters; 1: other parameters; -1: not an Argon2id string at all. Both
    // non-zero answers mean "hash again when the password is next known".
    return crypto_pwhash_str_needs_rehash(buffer.data(), params.opslimit, params.memlimit) != 0;
}

}  // namespace sov::accounts
