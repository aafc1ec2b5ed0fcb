#include "core/offload.hpp"

#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

namespace sov::core {
namespace {

namespace asio = boost::asio;

// The count of running jobs (which stops session threads from busy-polling) is one while a
// job runs and back to zero once it has returned, its result delivered.
TEST(Offload, CountsTheJobsRunning) {
    asio::thread_pool pool(1);
    asio::io_context ioc;
    std::promise<void> started;
    std::promise<void> release;
    auto job = [&started, gate = release.get_future().share()] {
        started.set_value();
        gate.wait();
        return 7;
    };
    std::future<int> result =
        asio::co_spawn(ioc, offload(pool.get_executor(), std::move(job)), asio::use_future);
    EXPECT_EQ(offloaded_jobs_running(), 0U);
    std::thread runner([&ioc] { ioc.run(); });
    started.get_future().wait();
    EXPECT_EQ(offloaded_jobs_running(), 1U);
    release.set_value();
    EXPECT_EQ(result.get(), 7);
    runner.join();
    pool.join();
    EXPECT_EQ(offloaded_jobs_running(), 0U);
}

}  // namespace
}  // namespace sov::core
