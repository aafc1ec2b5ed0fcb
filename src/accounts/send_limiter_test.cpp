#include "accounts/send_limiter.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sov::accounts {
namespace {

using namespace std::chrono_literals;
using Kind = SendLimiter::Verdict::Kind;

// A fixed, minute-aligned start far from the steady clock's epoch; tests move time by hand.
const SendLimiter::Clock::time_point kStart{std::chrono::hours{1000}};

SendLimiter limiter(std::uint32_t messages, std::uint32_t recipients, std::size_t max = 10000) {
    return SendLimiter(SendLimiter::Options{{messages, recipients}, max});
}

TEST(SendLimiter, MessageLimitAndWhenTheNextSlotFrees) {
    auto l = limiter(3, 0);
    EXPECT_TRUE(l.check_and_record("a@x", 1, kStart).allowed());
    EXPECT_TRUE(l.check_and_record("a@x", 1, kStart + 10min).allowed());
    EXPECT_TRUE(l.check_and_record("a@x", 1, kStart + 20min).allowed());
    const auto at = kStart + 30min;
    auto refused = l.check_and_record("a@x", 1, at);
    EXPECT_EQ(refused.kind, Kind::MessageLimit);
    // The first message (minute 0) leaves the window at minute 60.
    EXPECT_EQ(refused.retry_after, 30min);
    EXPECT_EQ(l.check_message("a@x", at).kind, Kind::MessageLimit);
    EXPECT_EQ(l.usage("a@x", at).messages, 3U);  // a refused message is not counted
    // Other accounts are not affected.
    EXPECT_TRUE(l.check_and_record("b@x", 1, at).allowed());
    // Just before the oldest leaves: still full; at minute 60: room for one.
    EXPECT_FALSE(l.check_message("a@x", kStart + 59min + 59s).allowed());
    EXPECT_EQ(l.check_message("a@x", kStart + 59min + 30s).retry_after, 30s);
    EXPECT_TRUE(l.check_and_record("a@x", 1, kStart + 60min).allowed());
    EXPECT_FALSE(l.check_message("a@x", kStart + 60min).allowed());
}

TEST(SendLimiter, RecipientLimitPerRcptAndAtEndOfData) {
    auto l = limiter(0, 10);
    EXPECT_TRUE(l.check_and_record("a@x", 6, kStart).allowed());
    // The next message may have 4 recipients: the 5th RCPT is refused.
    const auto t = kStart + 5min;
    EXPECT_TRUE(l.check_message("a@x", t).allowed());
    for (std::size_t accepted = 0; accepted < 4; ++accepted) {
        EXPECT_TRUE(l.check_recipient("a@x", accepted, t).allowed()) << accepted;
    }
    auto fifth = l.check_recipient("a@x", 4, t);
    EXPECT_EQ(fifth.kind, Kind::RecipientLimit);
    EXPECT_EQ(fifth.retry_after, 55min);  // the 6 recipients of minute 0 leave at minute 60
    EXPECT_EQ(l.check_and_record("a@x", 5, t).kind, Kind::RecipientLimit);
    EXPECT_TRUE(l.check_and_record("a@x", 4, t).allowed());
    EXPECT_EQ(l.usage("a@x", t).recipients, 10U);
    EXPECT_EQ(l.usage("a@x", t).messages, 2U);
    EXPECT_EQ(l.check_recipient("a@x", 0, t).kind, Kind::RecipientLimit);
}

TEST(SendLimiter, RetryAfterCountsAsManyOldBucketsAsNeeded) {
    auto l = limiter(0, 10);
    ASSERT_TRUE(l.check_and_record("a@x", 2, kStart).allowed());
    ASSERT_TRUE(l.check_and_record("a@x", 3, kStart + 1min).allowed());
    ASSERT_TRUE(l.check_and_record("a@x", 5, kStart + 2min).allowed());
    // 10 used; 4 more need minutes 0 and 1 to leave (2 + 3 >= 4): at minute 61.
    EXPECT_EQ(l.check_recipient("a@x", 3, kStart + 10min).retry_after, 51min);
    EXPECT_EQ(l.check_recipient("a@x", 0, kStart + 10min).retry_after, 50min);
}

TEST(SendLimiter, MoreRecipientsThanTheLimitNeverFit) {
    auto l = limiter(0, 5);
    auto v = l.check_and_record("a@x", 6, kStart);
    EXPECT_EQ(v.kind, Kind::RecipientLimit);
    EXPECT_EQ(v.retry_after, SendLimiter::kWindow);
    EXPECT_EQ(l.usage("a@x", kStart).recipients, 0U);
}

TEST(SendLimiter, BothLimitsMessageLimitReportedFirst) {
    auto l = limiter(1, 1);
    ASSERT_TRUE(l.check_and_record("a@x", 1, kStart).allowed());
    EXPECT_EQ(l.check_recipient("a@x", 0, kStart).kind, Kind::MessageLimit);
    auto two = limiter(2, 1);
    ASSERT_TRUE(two.check_and_record("a@x", 1, kStart).allowed());
    EXPECT_EQ(two.check_recipient("a@x", 0, kStart).kind, Kind::RecipientLimit);
}

TEST(SendLimiter, ZeroMeansUnlimitedAndTracksNothing) {
    auto l = limiter(0, 0);
    for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(l.check_and_record("a@x", 1000, kStart).allowed());
    }
    EXPECT_EQ(l.tracked_for_test(), 0U);
    auto messages_only = limiter(2, 0);
    EXPECT_TRUE(messages_only.check_and_record("a@x", 100000, kStart).allowed());
    EXPECT_TRUE(messages_only.check_recipient("a@x", 1000000, kStart).allowed());
}

TEST(SendLimiter, OldBucketsAreReusedAfterAWindow) {
    auto l = limiter(60, 0);
    // One message a minute for three hours: the ring wraps and never exceeds 60.
    for (int m = 0; m < 180; ++m) {
        ASSERT_TRUE(l.check_and_record("a@x", 1, kStart + std::chrono::minutes{m}).allowed()) << m;
        ASSERT_LE(l.usage("a@x", kStart + std::chrono::minutes{m}).messages, 60U);
    }
    EXPECT_EQ(l.usage("a@x", kStart + 179min).messages, 60U);
    EXPECT_FALSE(l.check_message("a@x", kStart + 179min).allowed());
    // Two hours later everything has left the window.
    EXPECT_EQ(l.usage("a@x", kStart + 300min).messages, 0U);
}

TEST(SendLimiter, MemoryIsBounded) {
    auto l = limiter(5, 0, 3);
    ASSERT_TRUE(l.check_and_record("a@x", 1, kStart).allowed());
    ASSERT_TRUE(l.check_and_record("b@x", 1, kStart + 1min).allowed());
    ASSERT_TRUE(l.check_and_record("c@x", 1, kStart + 2min).allowed());
    EXPECT_EQ(l.tracked_for_test(), 3U);
    // Full, all active: the least recently active (a) is dropped.
    ASSERT_TRUE(l.check_and_record("d@x", 1, kStart + 3min).allowed());
    EXPECT_EQ(l.tracked_for_test(), 3U);
    EXPECT_EQ(l.usage("a@x", kStart + 3min).messages, 0U);
    EXPECT_EQ(l.usage("b@x", kStart + 3min).messages, 1U);
    // An hour later all are idle: they are dropped together.
    ASSERT_TRUE(l.check_and_record("e@x", 1, kStart + 90min).allowed());
    EXPECT_EQ(l.tracked_for_test(), 1U);
}

TEST(SendLimiter, ConcurrentRecordsNeverExceedTheLimit) {
    auto l = limiter(100, 0);
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                if (l.check_and_record("a@x", 1, kStart).allowed()) {
                    ++allowed;
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(allowed.load(), 100);
    EXPECT_EQ(l.usage("a@x", kStart).messages, 100U);
}

TEST(SendLimiter, DefaultClockWorks) {
    auto l = limiter(1, 0);
    EXPECT_TRUE(l.check_and_record("a@x", 1).allowed());
    auto v = l.check_message("a@x");
    EXPECT_EQ(v.kind, Kind::MessageLimit);
    EXPECT_GT(v.retry_after, 58min);
    EXPECT_LE(v.retry_after, SendLimiter::kWindow);
}

}  // namespace
}  // namespace sov::accounts
