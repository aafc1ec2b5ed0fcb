// `sovereign tlsrpt`: the SMTP TLS reports we send (RFC 8460). `pending` lists the TLS session
// counts waiting for a report (<data>/reports/tlsrpt.db, beside the running server); `send-now`
// builds and queues the due reports at once.
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/open_services.hpp"
#include "core/clock.hpp"
#include "dns/resolver.hpp"
#include "mailauth/dns_source.hpp"
#include "roles/outbound.hpp"
#include "roles/outbound_setup.hpp"
#include "roles/tlsrpt_reporting.hpp"
#include "smtp/queue/queue_store.hpp"
#include "smtp/wire/trace_headers.hpp"

namespace sov::cli {

namespace {

namespace asio = boost::asio;

OrExit<std::unique_ptr<roles::TlsReportStore>> open_reports(
    const Command& command, const core::Config& config
) {
    auto store = roles::TlsReportStore::open(config.data_dir / "reports");
    if (!store) {
        return OrExit<std::unique_ptr<roles::TlsReportStore>>::exit_with(
            fail(command, (config.data_dir / "reports").string(), store.error())
        );
    }
    return std::move(*store);
}

int run_pending(const Command& command, const Args& args) {
    auto config = load_command_config(args);
    if (!config) {
        return config.exit_code();
    }
    auto store = open_reports(command, *config);
    if (!store) {
        return store.exit_code();
    }
    auto pending = (*store)->pending(std::nullopt);
    if (!pending) {
        return fail(command, pending.error());
    }
    const auto today = roles::utc_day(core::unix_seconds(core::now()));
    for (const auto& p : *pending) {
        std::cout << fmt::format(
            "{}  {:<30} {:>6} successful {:>6} failed{}\n",
            smtp::wire::format_rfc5322_date(p.day, 0).substr(5, 11),
            p.domain,
            p.successes,
            p.failures,
            p.day >= today ? "  (today: sent after midnight UTC)" : ""
        );
    }
    if (pending->empty()) {
        std::cout << "no TLS sessions waiting for a report\n";
    }
    return kExitOk;
}

int run_send_now(const Command& command, const Args& args) {
    auto opened = load_config_and_directory(args);
    if (!opened) {
        return opened.exit_code();
    }
    const auto& config = opened->config;
    auto domains = opened->directory->list_domains();
    const std::string mail_domain =
        domains && !domains->empty() ? domains->front().name : config.hostname;
    auto store = open_reports(command, config);
    if (!store) {
        return store.exit_code();
    }
    auto queue = smtp::queue::QueueStore::open(config.queue_dir());
    if (!queue) {
        return fail(command, config.queue_dir().string(), queue.error());
    }
    // Signed like the server signs its generated mail.
    roles::DkimKeys keys{config.keys_dir() / "dkim"};
    keys.reload();
    auto signer = keys.signer();
    asio::io_context io;
    asio::thread_pool pool{1};
    auto resolver = dns::Resolver::create(io.get_executor(), dns::resolver_options(config.dns));
    if (!resolver) {
        return fail(command, "resolver", resolver.error());
    }
    mailauth::ResolverDnsSource dns(**resolver);
    auto* q = queue->get();
    const std::string hostname = config.hostname;
    roles::ReportEnqueue enqueue =
        [q, &signer, hostname](
            std::string sender, std::vector<std::string> to, std::string message
        ) -> asio::awaitable<Result<std::string>> {
        const auto now = core::now();
        auto fixed =
            roles::add_missing_fields(std::move(message), hostname, core::unix_seconds(now));
        if (signer) {
            fixed.insert(0, signer(roles::author_domain(fixed), fixed));
        }
        std::vector<smtp::queue::NewRecipient> targets;
        for (auto& r : to) {
            smtp::queue::NewRecipient target;
            target.address = std::move(r);
            targets.push_back(std::move(target));
        }
        smtp::queue::MessageEnvelope envelope;
        envelope.sender = std::move(sender);
        co_return q->enqueue(envelope, targets, fixed, now);
    };
    roles::TlsReportSender sender(
        **store, dns, pool, roles::tls_report_settings(config, mail_domain), std::move(enqueue)
    );
    auto future = asio::co_spawn(io, sender.send_due(args.has("include-today")), asio::use_future);
    io.run();
    pool.join();
    const auto summary = future.get();
    std::cout << fmt::format(
        "{} report(s), {} message(s) queued, {} destination(s) skipped, {} deferred, {} failed\n",
        summary.reports,
        summary.messages,
        summary.skipped,
        summary.deferred,
        summary.failed
    );
    if (summary.messages > 0) {
        std::cout << "the running server delivers them at its next look at the queue\n";
    }
    return summary.failed == 0 ? kExitOk : kExitRuntime;
}

int run_tlsrpt(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data"}, .flags = {"include-today"}},
        Positionals::exactly(1, "expected pending or send-now")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    if (action != "send-now" && args->has("include-today")) {
        return usage_error(command, "--include-today goes with send-now");
    }
    if (action == "pending") {
        return run_pending(command, *args);
    }
    if (action == "send-now") {
        return run_send_now(command, *args);
    }
    return usage_error(command, "unknown action '" + action + "'");
}

}  // namespace

Command tlsrpt_command() {
    return make_command(
        "tlsrpt",
        "SMTP TLS reports (RFC 8460) we send to the domains we deliver to",
        "usage: sovereign tlsrpt pending [--data DIR]\n"
        "       sovereign tlsrpt send-now [--include-today] [--data DIR]\n\n"
        "pending: TLS sessions with remote MX hosts, counted per recipient domain and UTC day,\n"
        "that wait for the daily report (successful and failed sessions).\n"
        "send-now: builds the due reports (days that have ended, UTC) and queues them to each\n"
        "mailto: rua of the domain's _smtp._tls record now instead of at the server's next\n"
        "hourly run; with --include-today also today's sessions. Domains without a TLSRPT\n"
        "record get no report (their counts are dropped).\n",
        run_tlsrpt
    );
}

}  // namespace sov::cli
