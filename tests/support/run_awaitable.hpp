#pragma once
// Runs a coroutine to completion on a fresh io_context and returns its value (or rethrows):
// how tests drive awaitable APIs (DnsSource users, handlers) without a server around them. A
// coroutine still pending after `limit` is a test failure (thrown), not a hung test binary.
#include <chrono>
#include <future>
#include <stdexcept>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace sov::test {

template <class T>
T run_awaitable(
    boost::asio::awaitable<T> task, std::chrono::seconds limit = std::chrono::seconds(60)
) {
    boost::asio::io_context io;
    auto future = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
    io.run_for(limit);
    if (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        throw std::runtime_error("coroutine did not complete in time");
    }
    return future.get();
}

}  // namespace sov::test
