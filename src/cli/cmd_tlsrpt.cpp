// `sovereign tlsrpt`: the SMTP TLS reports we send (RFC 8460). `pending` lists the TLS session
// counts waiting for a report (<data>/reports/tlsrpt.db, beside the running server); `send-now`
// builds and queues the due reports at once.
#include <iostream>

#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/report_commands.hpp"
#include "roles/tlsrpt_reporting.hpp"
#include "tls/client_context.hpp"

namespace sov::cli {

namespace {

int run_pending(const Command& command, const Args& args) {
    return run_report_pending<roles::TlsReportStore>(
        command,
        args,
        "no TLS sessions waiting for a report",
        [](const roles::TlsPendingReport& p, const std::string& day, std::string_view note) {
            return fmt::format(
                "{}  {:<30} {:>6} successful {:>6} failed{}",
                day,
                p.domain,
                p.successes,
                p.failures,
                note
            );
        }
    );
}

int run_send_now(const Command& command, const Args& args) {
    auto run = ReportRun::open(command, args);
    if (!run) {
        return run.exit_code();
    }
    auto& r = **run;
    auto store = open_report_store<roles::TlsReportStore>(command, r.config());
    if (!store) {
        return store.exit_code();
    }
    roles::TlsReportSender sender(
        **store,
        r.dns(),
        r.pool(),
        roles::tls_report_settings(r.config(), r.mail_domain()),
        r.enqueue()
    );
    // §5.4: https: rua get the report by POST, with the same PKIX trust as MTA-STS.
    std::string error;
    auto context = tls::make_client_context(r.config().tls.trusted_cas, error);
    if (!context) {
        return fail(command, "TLS client context: " + error);
    }
    sender.set_upload(roles::https_report_upload(r.resolver(), *context, std::chrono::seconds(60)));
    return r.run(sender.send_due(args.has("include-today")), "skipped");
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
        "mailto: rua of the domain's _smtp._tls record (https: rua get them by POST) now\n"
        "instead of at the server's next hourly run; with --include-today also today's sessions. "
        "Domains without a TLSRPT\n"
        "record get no report (their counts are dropped).\n",
        run_tlsrpt
    );
}

}  // namespace sov::cli
