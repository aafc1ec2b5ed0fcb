#include "accounts/login_throttle.hpp"

#include <gtest/gtest.h>

namespace sov::accounts {
namespace {

using std::chrono::milliseconds;

TEST(LoginThrottle, DelaysGrowPerAddressAndPerAccount) {
    LoginThrottle t(
        {.free_failures = 2,
         .first_delay = milliseconds{100},
         .max_delay = milliseconds{1000},
         .forget_after = std::chrono::minutes{15},
         .max_tracked = 100}
    );
    EXPECT_EQ(t.record_failure("192.0.2.1", "a@x"), milliseconds{0});
    EXPECT_EQ(t.record_failure("192.0.2.1", "a@x"), milliseconds{0});
    EXPECT_EQ(t.record_failure("192.0.2.1", "a@x"), milliseconds{100});
    EXPECT_EQ(t.record_failure("192.0.2.1", "b@x"), milliseconds{200});  // same address
    EXPECT_EQ(t.record_failure("192.0.2.9", "a@x"), milliseconds{200});  // same account
    for (int i = 0; i < 10; ++i) {
        (void)t.record_failure("192.0.2.1", "c@x");
    }
    EXPECT_EQ(t.record_failure("192.0.2.1", "c@x"), milliseconds{1000});  // capped
}

TEST(LoginThrottle, SuccessClearsTheAccountOnly) {
    LoginThrottle t;
    for (int i = 0; i < 5; ++i) {
        (void)t.record_failure("198.51.100.7", "a@x");
    }
    EXPECT_EQ(t.failures("acct:a@x"), 5U);
    t.record_success("a@x");
    EXPECT_EQ(t.failures("acct:a@x"), 0U);
    EXPECT_EQ(t.failures("ip:198.51.100.7"), 5U);
}

TEST(LoginThrottle, MemoryIsBounded) {
    LoginThrottle t(
        {.free_failures = 2,
         .first_delay = milliseconds{100},
         .max_delay = milliseconds{1000},
         .forget_after = std::chrono::minutes{15},
         .max_tracked = 10}
    );
    for (int i = 0; i < 100; ++i) {
        (void)t.record_failure("10.0.0." + std::to_string(i), "");
    }
    EXPECT_LE(t.failures("ip:10.0.0.0"), 1U);
    EXPECT_EQ(t.failures("ip:10.0.0.99"), 1U);
}

}  // namespace
}  // namespace sov::accounts
