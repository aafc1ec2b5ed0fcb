#include "net/session_threads.hpp"

#include <sched.h>

#include <algorithm>
#include <chrono>

#include "core/offload.hpp"
#include "core/thread_name.hpp"

namespace sov::net {

namespace asio = boost::asio;

namespace {

/// Runs `context` until it is stopped, polling before each sleep (net/busy_poll.hpp).
void run_polling(asio::io_context& context, BusyPollWindow::Duration max) {
    using Clock = std::chrono::steady_clock;
    BusyPollWindow window(max);
    while (!context.stopped()) {
        if (context.poll() > 0) {
            continue;
        }
        const auto idle_from = Clock::now();
        const auto until =
            core::offloaded_jobs_running() == 0 ? idle_from + window.window() : idle_from;
        // `now` is taken before each poll, so a poll that runs handlers ends the wait at the
        // last time read before it, and their run time is not counted as waiting.
        auto now = idle_from;
        bool caught = false;
        while (!caught && now < until && !context.stopped()) {
            caught = context.poll() > 0;
            if (!caught) {
                sched_yield();  // a thread waiting for this CPU (the client?) runs first
                now = Clock::now();
            }
        }
        if (caught) {
            window.waited(now - idle_from);
            continue;
        }
        context.run_one();  // sleeps until there is work
        // The wait, plus the handler that ended it: a little long, which only errs towards
        // polling less.
        window.waited(Clock::now() - idle_from);
    }
}

}  // namespace

SessionThreads::SessionThreads(std::size_t count, BusyPollWindow::Duration busy_poll)
    : busy_poll_(
          BusyPollWindow::worth_it_on_this_machine() ? busy_poll : BusyPollWindow::Duration::zero()
      ) {
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
        threads_.emplace_back([&context, busy_poll = busy_poll_] {
            core::set_thread_name("sov-session");
            if (busy_poll > BusyPollWindow::Duration::zero()) {
                run_polling(*context, busy_poll);
            } else {
                context->run();
            }
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
