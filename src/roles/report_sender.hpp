#pragma once
// The schedule both report senders run on (DMARC aggregate reports, SMTP TLS reports): once an
// interval, list the (domain, UTC day) pairs whose day has ended, off the I/O thread, and send
// each one's report in turn; log a summary line when there was something to do. What a report
// is and where it goes stays with each sender (its send_one()).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "core/result.hpp"
#include "roles/report_store.hpp"

namespace sov::roles {

using SendDue = std::function<boost::asio::awaitable<SendSummary>(bool include_today)>;

/// 2 to 12 minutes: reports are due shortly after the UTC day ends (RFC 8460 §4.1), and a jitter
/// keeps servers started together from all reporting in the same second.
[[nodiscard]] std::chrono::seconds jittered_first_delay();

/// Runs `send_due(false)` on `ioc` after `first_delay`, then every `interval`, and logs
/// `<event>.run` after a run that built a report or failed. The loop's state lives in its own
/// coroutine frame: stopping `ioc` destroys it without touching the sender.
void start_report_loop(
    boost::asio::io_context& ioc,
    std::chrono::seconds first_delay,
    std::chrono::seconds interval,
    std::string event,
    SendDue send_due
);

/// The send_due() of a sender: `list` (run on `pool`) gives the pending (domain, day) pairs of
/// days before `before_day` (nullopt: today's too, with `include_today`); `send_one` sends each.
/// A listing failure is logged as `<event>.list_failed` and counted.
template <class Pending>
boost::asio::awaitable<SendSummary> send_pending_reports(
    boost::asio::thread_pool& pool,
    std::function<Result<std::vector<Pending>>(std::optional<std::int64_t> before_day)> list,
    std::function<boost::asio::awaitable<void>(const Pending&, SendSummary&)> send_one,
    bool include_today,
    std::string event
) {
    SendSummary summary;
    const auto today = utc_day(core::unix_seconds(core::now()));
    const std::optional<std::int64_t> before =
        include_today ? std::nullopt : std::optional<std::int64_t>(today);
    auto job = [&list, before] { return list(before); };
    auto due = co_await core::offload(pool.get_executor(), std::move(job));
    if (!due) {
        log::error(event + ".list_failed", {{"error", due.error().message()}});
        ++summary.failed;
        co_return summary;
    }
    for (const auto& pending : *due) {
        co_await send_one(pending, summary);
    }
    co_return summary;
}

}  // namespace sov::roles
