#include "accounts/credential_cache.hpp"

#include <gtest/gtest.h>

namespace sov::accounts {
namespace {

TEST(CredentialCache, MatchesOnlyTheSamePasswordAndStoredHash) {
    CredentialCache cache;
    EXPECT_FALSE(cache.matches(1, "$argon2id$old", "secret"));
    cache.remember(1, "$argon2id$old", "secret");
    EXPECT_TRUE(cache.matches(1, "$argon2id$old", "secret"));
    EXPECT_FALSE(cache.matches(1, "$argon2id$old", "Secret"));
    EXPECT_FALSE(cache.matches(2, "$argon2id$old", "secret"));
    // A password change replaces the stored hash: the entry is dead.
    EXPECT_FALSE(cache.matches(1, "$argon2id$new", "secret"));
    EXPECT_FALSE(cache.matches(1, "$argon2id$old", "secret"));
}

TEST(CredentialCache, ExpiresAndForgets) {
    CredentialCache cache({.ttl = std::chrono::seconds{0}, .max_entries = 10});
    cache.remember(1, "h", "p");
    EXPECT_FALSE(cache.matches(1, "h", "p"));
    CredentialCache other;
    other.remember(1, "h", "p");
    other.forget(1);
    EXPECT_FALSE(other.matches(1, "h", "p"));
}

}  // namespace
}  // namespace sov::accounts
