#pragma once
// What `sovereign dmarc pending|send-now` and `sovereign tlsrpt pending|send-now` share: opening
// a report store in <data>/reports/ beside the running server, listing what waits for a report,
// and running a report sender once outside the server: the queue on disk, the validating
// resolver and the DKIM keys, so that the reports are queued (and signed) as the server would.
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "cli/command_support.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "dns/resolver.hpp"
#include "mailauth/dns_source.hpp"
#include "roles/outbound.hpp"
#include "roles/outbound_setup.hpp"
#include "roles/report_store.hpp"
#include "smtp/queue/queue_store.hpp"

namespace sov::cli {

/// "29 Nov 2026" for the day starting at `day`.
[[nodiscard]] std::string report_day(std::int64_t day);

/// Store::open(<data>/reports); a failure is printed (exit code kExitRuntime).
template <class Store>
OrExit<std::unique_ptr<Store>> open_report_store(
    const Command& command, const core::Config& config
) {
    const auto dir = config.data_dir / "reports";
    auto store = Store::open(dir);
    if (!store) {
        return OrExit<std::unique_ptr<Store>>::exit_with(fail(command, dir.string(), store.error())
        );
    }
    return std::move(*store);
}

/// The "pending" action: one line per (domain, UTC day) waiting for a report, from
/// `line(pending, date, today_note)`, or `nothing` when none waits.
template <class Store, class Line>
int run_report_pending(
    const Command& command, const Args& args, std::string_view nothing, Line line
) {
    auto config = load_command_config(args);
    if (!config) {
        return config.exit_code();
    }
    auto store = open_report_store<Store>(command, *config);
    if (!store) {
        return store.exit_code();
    }
    auto pending = (*store)->pending(std::nullopt);
    if (!pending) {
        return fail(command, pending.error());
    }
    const auto today = roles::utc_day(core::unix_seconds(core::now()));
    for (const auto& p : *pending) {
        std::cout << line(
                         p,
                         report_day(p.day),
                         p.day >= today ? "  (today: sent after midnight UTC)" : ""
                     )
                  << '\n';
    }
    if (pending->empty()) {
        std::cout << nothing << '\n';
    }
    return kExitOk;
}

/// Everything a report sender needs to run once from the command line. Not movable: the
/// resolver and the sender keep references into it.
class ReportRun {
public:
    /// Loads the configuration and the directory (for the first hosted domain: reports come from
    /// its postmaster), opens the queue and the resolver. Failures are printed.
    static OrExit<std::unique_ptr<ReportRun>> open(const Command& command, const Args& args);

    const core::Config& config() const { return config_; }
    /// The first hosted domain (the hostname when there is none).
    const std::string& mail_domain() const { return mail_domain_; }
    dns::Resolver& resolver() { return *resolver_; }
    mailauth::DnsSource& dns() { return *dns_; }
    boost::asio::thread_pool& pool() { return pool_; }
    /// Adds missing header fields, DKIM-signs like the server and queues the message.
    roles::ReportEnqueue enqueue();

    /// Runs `send` (a sender's send_due()) to its end, prints the summary ("N destination(s)
    /// <skipped_word>") and returns kExitOk, or kExitRuntime when something failed.
    int run(boost::asio::awaitable<roles::SendSummary> send, std::string_view skipped_word);

    ReportRun(const ReportRun&) = delete;
    ReportRun& operator=(const ReportRun&) = delete;
    ~ReportRun();

private:
    ReportRun() = default;

    core::Config config_;
    std::string mail_domain_;
    boost::asio::io_context io_;
    boost::asio::thread_pool pool_{1};
    std::unique_ptr<smtp::queue::QueueStore> queue_;
    std::unique_ptr<dns::Resolver> resolver_;
    std::unique_ptr<mailauth::ResolverDnsSource> dns_;
    std::unique_ptr<roles::DkimKeys> keys_;  // the signer refers to it
    roles::MessageSigner signer_;
};

}  // namespace sov::cli
