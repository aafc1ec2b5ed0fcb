#include "roles/report_sender.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/durable_file.hpp"

namespace sov::roles {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> report_loop(
    std::chrono::seconds first_delay,
    std::chrono::seconds interval,
    std::string event,
    SendDue send_due
) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto delay = first_delay;
    for (;;) {
        timer.expires_after(delay);
        co_await timer.async_wait(asio::use_awaitable);
        delay = interval;
        const auto summary = co_await send_due(false);
        if (summary.reports > 0 || summary.failed > 0) {
            log::info(
                event + ".run",
                {{"reports", summary.reports},
                 {"messages", summary.messages},
                 {"skipped", summary.skipped},
                 {"deferred", summary.deferred},
                 {"failed", summary.failed}}
            );
        }
    }
}

}  // namespace

std::chrono::seconds jittered_first_delay() {
    std::uint64_t jitter = 0;
    for (const char c : core::random_id(4)) {
        jitter = jitter * 36 + static_cast<std::uint64_t>(c >= 'a' ? c - 'a' + 10 : c - '0');
    }
    return std::chrono::seconds(120 + static_cast<std::int64_t>(jitter % 600));
}

void start_report_loop(
    asio::io_context& ioc,
    std::chrono::seconds first_delay,
    std::chrono::seconds interval,
    std::string event,
    SendDue send_due
) {
    auto stopped = event + ".sender_stopped";
    asio::co_spawn(
        ioc,
        report_loop(first_delay, interval, std::move(event), std::move(send_due)),
        [stopped = std::move(stopped)](const std::exception_ptr& error) {
            if (error) {
                log::error(stopped, {});
            }
        }
    );
}

}  // namespace sov::roles
