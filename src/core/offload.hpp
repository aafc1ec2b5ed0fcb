#pragma once
// Blocking work (SQLite, fsync, Argon2id) runs on a bounded thread pool and is awaited by the
// connection's coroutine (ARCHITECTURE.md §5). GCC 12 destroys the captures of a lambda written
// inside a co_await expression twice, so callers name the lambda first (STYLE.md §3.11 #6):
//   auto job = [p = std::move(p)] { return p->size(); };
//   auto n = co_await offload(pool.get_executor(), std::move(job));
#include <type_traits>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sov::core {

template <class F>
auto offload(boost::asio::thread_pool::executor_type pool, F work)
    -> boost::asio::awaitable<std::invoke_result_t<F&>> {
    using R = std::invoke_result_t<F&>;
    auto task = [work = std::move(work)]() mutable -> boost::asio::awaitable<R> {
        co_return work();
    };
    co_return co_await boost::asio::co_spawn(pool, std::move(task), boost::asio::use_awaitable);
}

}  // namespace sov::core
