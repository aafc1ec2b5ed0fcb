#include "net/session_threads.hpp"

#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

namespace sov::net {
namespace {

namespace asio = boost::asio;

// Connections go to the contexts in turn, and each context's handlers all run on its own
// thread (a session never changes thread, and needs no strand).
TEST(SessionThreads, EachContextRunsOnOneThreadOfItsOwn) {
    SessionThreads threads(3);
    threads.start();
    std::mutex mu;
    std::map<int, std::set<std::thread::id>> seen;  // context (turn % 3) -> threads
    std::vector<std::future<void>> done;
    for (int i = 0; i < 30; ++i) {
        auto executor = threads.next();
        auto finished = std::make_shared<std::promise<void>>();
        done.push_back(finished->get_future());
        asio::post(executor, [&, i, finished] {
            {
                const std::lock_guard lock(mu);
                seen[i % 3].insert(std::this_thread::get_id());
            }
            finished->set_value();
        });
    }
    for (auto& f : done) {
        f.wait();
    }
    threads.stop();
    std::set<std::thread::id> all;
    for (const auto& [context, ids] : seen) {
        EXPECT_EQ(ids.size(), 1U) << "context " << context;
        all.insert(ids.begin(), ids.end());
    }
    EXPECT_EQ(all.size(), 3U);
    EXPECT_EQ(all.count(std::this_thread::get_id()), 0U);
}

// stop() returns with the threads joined; what is posted afterwards never runs.
TEST(SessionThreads, StopJoinsAndLaterWorkDoesNotRun) {
    SessionThreads threads(2);
    threads.start();
    threads.stop();
    bool ran = false;
    asio::post(threads.next(), [&ran] { ran = true; });
    threads.stop();  // again: nothing left to join
    EXPECT_FALSE(ran);
}

// With polling on, handlers posted from another thread and timers still run, and stop()
// ends a polling thread. (How the window adapts: busy_poll_test.cpp.)
TEST(SessionThreads, PollingThreadsRunHandlersAndTimers) {
    SessionThreads threads(2, std::chrono::microseconds{200});
    if (!BusyPollWindow::worth_it_on_this_machine()) {
        EXPECT_EQ(threads.busy_poll(), BusyPollWindow::Duration::zero());
        GTEST_SKIP() << "one CPU: polling is off";
    }
    EXPECT_EQ(threads.busy_poll(), std::chrono::microseconds{200});
    threads.start();
    for (int round = 0; round < 50; ++round) {
        auto executor = threads.next();
        std::promise<std::thread::id> ran;
        asio::post(executor, [&ran] { ran.set_value(std::this_thread::get_id()); });
        EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());
    }
    auto timer = std::make_shared<asio::steady_timer>(threads.next());
    timer->expires_after(std::chrono::milliseconds{5});
    std::promise<void> fired;
    timer->async_wait([&fired, timer](const boost::system::error_code&) { fired.set_value(); });
    fired.get_future().get();
    threads.stop();
}

}  // namespace
}  // namespace sov::net
