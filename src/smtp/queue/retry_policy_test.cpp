#include "smtp/queue/retry_policy.hpp"

#include <chrono>
#include <limits>

#include <gtest/gtest.h>

namespace sov::smtp::queue {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(RetryPolicy, DefaultsFollowRfc5321) {
    const RetryPolicy p;
    // RFC 5321 §4.5.4.1: give up after at least 4-5 days.
    EXPECT_GE(p.max_age, hours{24 * 4});
    EXPECT_GT(p.first, seconds{0});
    EXPECT_LE(p.first, p.max);
}

TEST(RetryPolicy, IntervalDoublesUpToTheCap) {
    const RetryPolicy p;  // 5 minutes, doubling, at most 4 hours
    EXPECT_EQ(p.interval(1), minutes{5});
    EXPECT_EQ(p.interval(2), minutes{10});
    EXPECT_EQ(p.interval(3), minutes{20});
    EXPECT_EQ(p.interval(4), minutes{40});
    EXPECT_EQ(p.interval(5), minutes{80});
    EXPECT_EQ(p.interval(6), minutes{160});
    EXPECT_EQ(p.interval(7), hours{4});  // 320 minutes capped
    EXPECT_EQ(p.interval(8), hours{4});
    EXPECT_EQ(p.interval(1000), hours{4});
    EXPECT_EQ(p.interval(std::numeric_limits<unsigned>::max()), hours{4});
}

TEST(RetryPolicy, IntervalNeverDecreases) {
    const RetryPolicy p{
        .first = seconds{7}, .max = seconds{1000}, .max_age = hours{1}, .delay_warning = hours{0}
    };
    auto previous = seconds{0};
    for (unsigned n = 1; n < 64; ++n) {
        const auto wait = p.interval(n);
        EXPECT_GE(wait, previous) << n;
        EXPECT_LE(wait, p.max) << n;
        previous = wait;
    }
    EXPECT_EQ(p.interval(1), seconds{7});
    EXPECT_EQ(p.interval(2), seconds{14});
    EXPECT_EQ(p.interval(8), seconds{896});
    EXPECT_EQ(p.interval(9), seconds{1000});
}

TEST(RetryPolicy, ZeroAttemptsIsTheFirstInterval) {
    const RetryPolicy p;
    EXPECT_EQ(p.interval(0), p.first);
}

TEST(RetryPolicy, FirstAboveMaxIsCapped) {
    const RetryPolicy p{
        .first = hours{10}, .max = hours{1}, .max_age = hours{24}, .delay_warning = hours{0}
    };
    EXPECT_EQ(p.interval(1), hours{1});
    EXPECT_EQ(p.interval(5), hours{1});
}

TEST(RetryPolicy, Expired) {
    const RetryPolicy p{
        .first = minutes{5}, .max = hours{4}, .max_age = hours{120}, .delay_warning = hours{0}
    };
    const core::WallTime created{seconds{1'750'000'000}};
    EXPECT_FALSE(p.expired(created, created));
    EXPECT_FALSE(p.expired(created, created + hours{120} - seconds{1}));
    EXPECT_TRUE(p.expired(created, created + hours{120}));
    EXPECT_TRUE(p.expired(created, created + hours{1000}));
    // A clock that went backwards does not expire anything.
    EXPECT_FALSE(p.expired(created, created - hours{1000}));
}

}  // namespace
}  // namespace sov::smtp::queue
