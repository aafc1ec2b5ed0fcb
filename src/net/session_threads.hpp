#pragma once
// The threads client sessions run on: one io_context per thread, each run by that thread alone.
// A connection is placed on one of them when it is accepted and stays there, so its reads, its
// command and its reply run on one thread without handing the reactor to another: with several
// threads on one io_context, each event woke a second thread (a futex wake and a context switch
// per IMAP command, ~15 % of a small FETCH's CPU; issue 3). Within one context, handlers run one
// at a time, which is all the serialisation a session needs (no strand).
//
// Before sleeping, a thread polls its context for a while (net/busy_poll.hpp).
//
// The process's other I/O (accept loops, signals, the outbound queue and its resolver) stays on
// the server's main io_context.
#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "net/busy_poll.hpp"

namespace sov::net {

class SessionThreads {
public:
    /// Makes `count` (at least 1) contexts; their threads start with start(). A thread out
    /// of work polls for up to `busy_poll` before it sleeps (zero: never; never either
    /// where this process may run on one CPU only).
    explicit SessionThreads(
        std::size_t count, BusyPollWindow::Duration busy_poll = BusyPollWindow::Duration::zero()
    );
    SessionThreads(const SessionThreads&) = delete;
    SessionThreads& operator=(const SessionThreads&) = delete;
    /// Stops and joins the threads if stop() was not called. Coroutine frames still waiting
    /// on a context are destroyed with it.
    ~SessionThreads();

    void start();
    /// Stops every context (handlers not yet run are dropped) and joins the threads.
    void stop();

    /// The context for a new connection: the next one in turn.
    boost::asio::any_io_executor next();

    /// The polling window's limit in effect (zero where polling is off).
    BusyPollWindow::Duration busy_poll() const { return busy_poll_; }

private:
    using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<Guard> guards_;  // keep run() going while no session is open
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> next_{0};
    BusyPollWindow::Duration busy_poll_;
};

}  // namespace sov::net
