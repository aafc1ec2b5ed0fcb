#include "net/session_threads.hpp"

#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
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

}  // namespace
}  // namespace sov::net
