#include "accounts/password.hpp"

#include <string>

#include <gtest/gtest.h>

#include "accounts/errors.hpp"

namespace sov::accounts {
namespace {

const PasswordParams kFast = PasswordParams::minimum_for_test();

TEST(Password, HashIsArgon2idAndVerifies) {
    auto hash = hash_password("correct horse", kFast);
    ASSERT_TRUE(hash);
    EXPECT_EQ(hash->rfind("$argon2id$", 0), 0U) << *hash;
    EXPECT_EQ(hash->find("correct"), std::string::npos);
    EXPECT_TRUE(verify_password(*hash, "correct horse"));
    EXPECT_FALSE(verify_password(*hash, "correct horsE"));
    EXPECT_FALSE(verify_password(*hash, ""));
}

TEST(Password, SaltMakesHashesDiffer) {
    auto a = hash_password("same", kFast);
    auto b = hash_password("same", kFast);
    ASSERT_TRUE(a && b);
    EXPECT_NE(*a, *b);
}

TEST(Password, RejectsEmptyAndOverlong) {
    EXPECT_EQ(hash_password("", kFast).error(), Errc::InvalidPassword);
    EXPECT_EQ(
        hash_password(std::string(kMaxPasswordOctets + 1, 'x'), kFast).error(),
        Errc::InvalidPassword
    );
    EXPECT_TRUE(hash_password(std::string(kMaxPasswordOctets, 'x'), kFast));
}

TEST(Password, BinaryPasswordsWork) {
    const std::string pw("a\0b", 3);
    auto hash = hash_password(pw, kFast);
    ASSERT_TRUE(hash);
    EXPECT_TRUE(verify_password(*hash, pw));
    EXPECT_FALSE(verify_password(*hash, "a"));
}

TEST(Password, MalformedHashesNeverMatch) {
    EXPECT_FALSE(verify_password("", "x"));
    EXPECT_FALSE(verify_password("$argon2id$garbage", "x"));
    EXPECT_FALSE(verify_password(std::string(500, '$'), "x"));
    EXPECT_FALSE(verify_password(std::string("$argon2id\0", 10), "x"));
}

TEST(Password, NeedsRehashWhenParametersChange) {
    auto hash = hash_password("pw", kFast);
    ASSERT_TRUE(hash);
    EXPECT_FALSE(password_needs_rehash(*hash, kFast));
    PasswordParams stronger = kFast;
    stronger.opslimit += 1;
    EXPECT_TRUE(password_needs_rehash(*hash, stronger));
    EXPECT_TRUE(password_needs_rehash("not a hash", kFast));
}

}  // namespace
}  // namespace sov::accounts
