#pragma once
// Blocking work (SQLite, fsync, Argon2id) runs on a bounded thread pool and is awaited by the
// connection's coroutine (ARCHITECTURE.md §5). GCC 12 destroys the captures of a lambda written
// inside a co_await expression twice, so callers name the lambda first (STYLE.md §3.11 #6):
//   auto job = [p = std::move(p)] { return p->size(); };
//   auto n = co_await offload(pool.get_executor(), std::move(job));
#include <atomic>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sov::core {

namespace detail {
inline std::atomic<std::size_t> offloaded_running{0};
}

/// How many offloaded jobs are running now, in the whole process. A session thread does not
/// busy-poll while one is (net/busy_poll.hpp): the job and the client reading its output need
/// the CPUs.
inline std::size_t offloaded_jobs_running() {
    return detail::offloaded_running.load(std::memory_order_relaxed);
}

template <class F>
auto offload(boost::asio::thread_pool::executor_type pool, F work)
    -> boost::asio::awaitable<std::invoke_result_t<F&>> {
    using R = std::invoke_result_t<F&>;
    auto task = [work = std::move(work)]() mutable -> boost::asio::awaitable<R> {
        struct Running {
            Running() { detail::offloaded_running.fetch_add(1, std::memory_order_relaxed); }
            ~Running() { detail::offloaded_running.fetch_sub(1, std::memory_order_relaxed); }
            Running(const Running&) = delete;
            Running& operator=(const Running&) = delete;
        } running;
        co_return work();
    };
    co_return co_await boost::asio::co_spawn(pool, std::move(task), boost::asio::use_awaitable);
}

}  // namespace sov::core
