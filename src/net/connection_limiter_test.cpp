#include "net/connection_limiter.hpp"

#include <gtest/gtest.h>

namespace sov::net {
namespace {

TEST(ConnectionLimiter, PerIpCap) {
    ConnectionLimiter limiter{10, 2};
    auto a = limiter.try_acquire("192.0.2.1");
    auto b = limiter.try_acquire("192.0.2.1");
    auto c = limiter.try_acquire("192.0.2.1");
    EXPECT_TRUE(a);
    EXPECT_TRUE(b);
    EXPECT_FALSE(c);
    EXPECT_TRUE(limiter.try_acquire("192.0.2.2"));
    a = {};  // released
    EXPECT_TRUE(limiter.try_acquire("192.0.2.1"));
}

TEST(ConnectionLimiter, TotalCapAndRelease) {
    ConnectionLimiter limiter{2, 5};
    auto a = limiter.try_acquire("a");
    auto b = limiter.try_acquire("b");
    EXPECT_FALSE(limiter.try_acquire("c"));
    EXPECT_EQ(limiter.active(), 2U);
    {
        auto moved = std::move(a);
        EXPECT_EQ(limiter.active(), 2U);
    }
    EXPECT_EQ(limiter.active(), 1U);
    EXPECT_TRUE(limiter.try_acquire("c"));
}

}  // namespace
}  // namespace sov::net
