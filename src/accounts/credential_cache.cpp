#include "accounts/credential_cache.hpp"

#include <sodium.h>

namespace sov::accounts {

CredentialCache::CredentialCache(Options options) : options_(options) {
    randombytes_buf(key_.data(), key_.size());
}

CredentialCache::Digest CredentialCache::digest_of(std::string_view password) const {
    Digest d{};
    crypto_generichash(
        d.data(),
        d.size(),
        reinterpret_cast<const unsigned char*>(password.data()),
        password.size(),
        key_.data(),
        key_.size()
    );
    return d;
}

bool CredentialCache::matches(
    std::int64_t account_id, std::string_view stored_hash, std::string_view password
) {
    const Digest d = digest_of(password);
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(account_id);
    if (it == entries_.end()) {
        return false;
    }
    if (std::chrono::steady_clock::now() >= it->second.expires ||
        it->second.stored_hash != stored_hash) {
        entries_.erase(it);
        return false;
    }
    return sodium_memcmp(d.data(), it->second.digest.data(), d.size()) == 0;
}

void CredentialCache::remember(
    std::int64_t account_id, std::string_view stored_hash, std::string_view password
) {
    Entry e{
        .stored_hash = std::string(stored_hash),
        .digest = digest_of(password),
        .expires = std::chrono::steady_clock::now() + options_.ttl,
    };
    const std::lock_guard lock(mutex_);
    if (entries_.size() >= options_.max_entries && !entries_.contains(account_id)) {
        entries_.clear();  // crude but bounded; the next logins simply verify again
    }
    entries_[account_id] = std::move(e);
}

void CredentialCache::forget(std::int64_t account_id) {
    const std::lock_guard lock(mutex_);
    entries_.erase(account_id);
}

}  // namespace sov::accounts
