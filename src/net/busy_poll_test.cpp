#include "net/busy_poll.hpp"

#include <gtest/gtest.h>

namespace sov::net {
namespace {

using std::chrono::microseconds;

// Waits a longer poll would have caught grow the window, doubling up to the limit.
TEST(BusyPollWindow, GrowsWhileWaitsAreWithinTheLimit) {
    BusyPollWindow window(microseconds{200});
    EXPECT_EQ(window.window(), microseconds{50});
    window.waited(microseconds{80});
    EXPECT_EQ(window.window(), microseconds{100});
    window.waited(microseconds{150});
    EXPECT_EQ(window.window(), microseconds{200});
    window.waited(microseconds{199});
    EXPECT_EQ(window.window(), microseconds{200});  // never past the limit
}

// A wait the poll caught (shorter than the window) changes nothing.
TEST(BusyPollWindow, KeepsTheWindowWhenThePollCaughtTheEvent) {
    BusyPollWindow window(microseconds{200});
    window.waited(microseconds{10});
    EXPECT_EQ(window.window(), microseconds{50});
}

// Long waits halve it, down to nothing: a thread whose clients are far away or quiet stops
// polling. A short wait then starts it again.
TEST(BusyPollWindow, ShrinksToNothingOnLongWaitsAndRestarts) {
    BusyPollWindow window(microseconds{200});
    window.waited(microseconds{150});
    ASSERT_EQ(window.window(), microseconds{100});
    window.waited(microseconds{5000});
    EXPECT_EQ(window.window(), microseconds{50});
    for (int i = 0; i < 6; ++i) {
        window.waited(std::chrono::seconds{1});
    }
    EXPECT_EQ(window.window(), microseconds{0});
    window.waited(microseconds{30});
    EXPECT_EQ(window.window(), microseconds{50});
}

TEST(BusyPollWindow, ZeroLimitNeverPolls) {
    BusyPollWindow window(microseconds{0});
    EXPECT_EQ(window.window(), microseconds{0});
    window.waited(microseconds{10});
    EXPECT_EQ(window.window(), microseconds{0});
}

}  // namespace
}  // namespace sov::net
