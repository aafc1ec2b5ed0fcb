#pragma once
// Remembers recent successful password checks, so a client that logs in again and again (phones
// open several IMAP connections, every sync logs in) costs one Argon2id verification per
// password change instead of one per login. Dovecot's auth_cache serves the same purpose.
//
// An entry binds the account to (1) the stored hash it was verified against — a password change
// replaces the stored hash, so an old entry no longer matches — and (2) a keyed BLAKE2b of the
// password under a random key made at startup, never written anywhere. Failed checks are never
// cached: a guesser pays the full Argon2id price for every attempt.
#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sov::accounts {

class CredentialCache {
public:
    struct Options {
        std::chrono::seconds ttl{3600};
        std::size_t max_entries = 10000;
    };
    CredentialCache() : CredentialCache(Options{}) {}
    explicit CredentialCache(Options options);

    /// True if `password` was verified against `stored_hash` for this account within the TTL.
    bool matches(std::int64_t account_id, std::string_view stored_hash, std::string_view password);
    void remember(std::int64_t account_id, std::string_view stored_hash, std::string_view password);
    void forget(std::int64_t account_id);

private:
    using Digest = std::array<unsigned char, 32>;
    struct Entry {
        std::string stored_hash;
        Digest digest{};
        std::chrono::steady_clock::time_point expires;
    };
    Digest digest_of(std::string_view password) const;

    Options options_;
    std::array<unsigned char, 32> key_{};
    std::mutex mutex_;
    std::unordered_map<std::int64_t, Entry> entries_;
};

}  // namespace sov::accounts
