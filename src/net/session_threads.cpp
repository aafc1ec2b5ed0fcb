#include "net/session_threads.hpp"

#include <algorithm>

#include "core/thread_name.hpp"

namespace sov::net {

namespace asio = boost::asio;

SessionThreads::SessionThreads(std::size_t count) {
    count = std::max<std::size_t>(count, 1);
    for (std::size_t i = 0; i < count; ++i) {
        // Concurrency hint 1: the scheduler knows only one thread runs it and never wakes
        // another to take over the reactor.
        contexts_.push_back(std::make_unique<asio::io_context>(1));
        guards_.push_back(asio::make_work_guard(*contexts_.back()));
    }
}

SessionThreads::~SessionThreads() {
    stop();
}

void SessionThreads::start() {
    for (auto& context : contexts_) {
        threads_.emplace_back([&context] {
            core::set_thread_name("sov-session");
            context->run();
        });
    }
}

void SessionThreads::stop() {
    guards_.clear();
    for (auto& context : contexts_) {
        context->stop();
    }
    for (auto& thread : threads_) {
        thread.join();
    }
    threads_.clear();
}

asio::any_io_executor SessionThreads::next() {
    const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size();
    return contexts_[i]->get_executor();
}

}  // namespace sov::net
