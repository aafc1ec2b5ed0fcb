#pragma once
// Busy polling before a session thread sleeps: when its io_context runs out of work, the
// thread polls it for a short window before blocking in epoll_wait.
//
// Why: a request/response exchange with a client on another CPU pays, per round trip, for
// waking this thread's CPU from idle. In a VM that halts idle vCPUs (no guest halt polling,
// as on the machine the benchmarks run on) the wake costs tens of microseconds, as much as a
// small FETCH's work. A client on the same host (webmail, a local sync tool, the gateway's
// LMTP) sends its next command within that time, and the poll catches it.
//
// The window adapts as the kernel's haltpoll governor does (Documentation/virt/guest-halt-
// polling.rst): after each idle period it grows (doubling, from `start`) when the wait was
// longer than the window but within `max`, so a longer poll would have caught it, and it
// halves when the wait was longer than `max`, so a thread whose clients are far away (or
// quiet) soon stops polling. A thread that has nothing to do costs no CPU.
//
// Each turn of the poll yields the CPU (sched_yield) to any thread waiting for it, so polling
// never delays another thread, the client above all, that the kernel put on this CPU.
//
// No thread polls while an offloaded job runs (core::offloaded_jobs_running): the job, and
// the client reading what it sends, need the CPUs then, and a polling CPU never goes idle, so
// the kernel would not move a waiting thread over to it.
#include <chrono>

namespace sov::net {

class BusyPollWindow {
public:
    using Duration = std::chrono::nanoseconds;

    /// `max` zero turns polling off.
    explicit BusyPollWindow(Duration max);

    /// How long to poll at the next idle moment (zero: block at once).
    Duration window() const { return window_; }

    /// After an idle period: how long the thread waited for work, polling and blocking.
    void waited(Duration idle);

    /// Polling is worth it only with another CPU free to run the peer meanwhile.
    static bool worth_it_on_this_machine();

private:
    Duration max_;
    Duration start_;
    Duration window_;
};

}  // namespace sov::net
