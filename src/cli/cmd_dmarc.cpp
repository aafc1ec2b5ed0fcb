// `sovereign dmarc`: DMARC aggregate reports (RFC 9990). `reports` lists what other receivers
// reported about our domains (the report emails in a mailbox); `pending` and `send-now` work on
// the reports we send ourselves (<data>/reports/dmarc.db, beside the running server).
#include <iostream>

#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/open_services.hpp"
#include "cli/report_commands.hpp"
#include "mailauth/dmarc_report.hpp"
#include "roles/dmarc_reporting.hpp"
#include "smtp/wire/trace_headers.hpp"

namespace sov::cli {

namespace {

namespace ma = sov::mailauth;

std::string date(std::int64_t t) {
    return smtp::wire::format_rfc5322_date(t, 0);
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            out += fmt::format("\\u{:04x}", u);
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string dkim_summary(const ma::ReportRecord& r) {
    std::string out;
    for (const auto& d : r.dkim) {
        out += fmt::format("{}{}={}", out.empty() ? "" : ",", d.domain, ma::to_string(d.result));
    }
    return out.empty() ? "-" : out;
}

std::string spf_summary(const ma::ReportRecord& r) {
    std::string out;
    for (const auto& s : r.spf) {
        out += fmt::format("{}{}={}", out.empty() ? "" : ",", s.domain, ma::to_string(s.result));
    }
    return out.empty() ? "-" : out;
}

void print_report(const ma::AggregateReport& report, std::uint32_t uid) {
    const auto& m = report.metadata;
    std::cout << fmt::format("report {} from {} (message uid {})\n", m.report_id, m.org_name, uid);
    std::cout << fmt::format(
        "  period:  {} .. {}\n", date(m.date_range.begin), date(m.date_range.end)
    );
    std::cout << fmt::format(
        "  policy:  {} p={}{}\n",
        report.policy.domain,
        ma::to_string(report.policy.p),
        report.recovered ? "  (damaged XML, read in recovery mode)" : ""
    );
    for (const auto& r : report.records) {
        std::cout << fmt::format(
            "  {:<39} count={:<6} disposition={:<10} dkim={:<4} spf={:<4} from={} "
            "(dkim: {}; spf: {})\n",
            r.source_ip.to_string(),
            r.count,
            ma::to_string(r.policy_evaluated.disposition),
            ma::to_string(r.policy_evaluated.dkim),
            ma::to_string(r.policy_evaluated.spf),
            r.identifiers.header_from,
            dkim_summary(r),
            spf_summary(r)
        );
    }
}

std::string report_json(const ma::AggregateReport& report, std::uint32_t uid) {
    const auto& m = report.metadata;
    std::string records;
    for (const auto& r : report.records) {
        records += fmt::format(
            "{}{{\"source_ip\":{},\"count\":{},\"disposition\":{},\"dkim\":{},\"spf\":{},"
            "\"header_from\":{}}}",
            records.empty() ? "" : ",",
            json_string(r.source_ip.to_string()),
            r.count,
            json_string(ma::to_string(r.policy_evaluated.disposition)),
            json_string(ma::to_string(r.policy_evaluated.dkim)),
            json_string(ma::to_string(r.policy_evaluated.spf)),
            json_string(r.identifiers.header_from)
        );
    }
    return fmt::format(
        "{{\"uid\":{},\"org_name\":{},\"report_id\":{},\"begin\":{},\"end\":{},\"domain\":{},"
        "\"p\":{},\"records\":[{}]}}",
        uid,
        json_string(m.org_name),
        json_string(m.report_id),
        m.date_range.begin,
        m.date_range.end,
        json_string(report.policy.domain),
        json_string(ma::to_string(report.policy.p)),
        records
    );
}

int run_reports(const Command& command, const Args& args) {
    auto opened = load_config_and_directory(args);
    if (!opened) {
        return opened.exit_code();
    }
    std::string account = args.option("account").value_or("");
    if (account.empty()) {
        auto domains = opened->directory->list_domains();
        if (!domains || domains->empty()) {
            return fail(command, "no hosted domain: give --account");
        }
        account = "postmaster@" + domains->front().name;
    }
    auto user = opened->directory->find_user(account);
    if (!user) {
        return fail(command, account, user.error());
    }
    const auto mailbox = args.option("mailbox").value_or("INBOX");
    auto store = open_store(opened->config);
    if (!store) {
        return kExitRuntime;
    }
    auto messages = store->list_messages(user->address, mailbox);
    if (!messages) {
        return fail(command, user->address + " " + mailbox, messages.error());
    }
    const bool json = args.has("json");
    std::size_t found = 0;
    std::string json_items;
    for (const auto& m : *messages) {
        auto bytes = store->read_message(user->address, mailbox, m.uid);
        if (!bytes) {
            std::cerr << fmt::format(
                "sovereign dmarc: message {}: {}\n", m.uid, bytes.error().message()
            );
            continue;
        }
        auto report = ma::read_aggregate_report_email(*bytes);
        if (!report) {
            continue;  // not a report (or not one we can read): other mail in the mailbox
        }
        ++found;
        if (json) {
            json_items += (json_items.empty() ? "" : ",\n ") + report_json(*report, m.uid);
        } else {
            print_report(*report, m.uid);
        }
    }
    if (json) {
        std::cout << "[" << json_items << "]\n";
    } else if (found == 0) {
        std::cout << fmt::format("no aggregate reports in {} {}\n", user->address, mailbox);
    }
    return kExitOk;
}

int run_pending(const Command& command, const Args& args) {
    return run_report_pending<roles::DmarcReportStore>(
        command,
        args,
        "no evaluations waiting for a report",
        [](const roles::PendingReport& p, const std::string& day, std::string_view note) {
            return fmt::format(
                "{}  {:<30} {:>6} row(s) {:>8} message(s){}",
                day,
                p.domain,
                p.rows,
                p.messages,
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
    auto store = open_report_store<roles::DmarcReportStore>(command, r.config());
    if (!store) {
        return store.exit_code();
    }
    roles::DmarcReportSender sender(
        **store,
        r.dns(),
        r.pool(),
        roles::dmarc_report_settings(r.config(), r.mail_domain()),
        r.enqueue()
    );
    return r.run(sender.send_due(args.has("include-today")), "refused");
}

int run_dmarc(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data", "account", "mailbox"}, .flags = {"json", "include-today"}},
        Positionals::exactly(1, "expected reports, pending or send-now")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    const bool reading = action == "reports";
    if (!reading && (args->option("account") || args->option("mailbox") || args->has("json"))) {
        return usage_error(command, "--account, --mailbox and --json go with reports");
    }
    if (action != "send-now" && args->has("include-today")) {
        return usage_error(command, "--include-today goes with send-now");
    }
    if (reading) {
        return run_reports(command, *args);
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

Command dmarc_command() {
    return make_command(
        "dmarc",
        "DMARC aggregate reports: received ones, and the ones we send",
        "usage: sovereign dmarc reports [--account ADDRESS] [--mailbox NAME] [--json] [--data "
        "DIR]\n"
        "       sovereign dmarc pending [--data DIR]\n"
        "       sovereign dmarc send-now [--include-today] [--data DIR]\n\n"
        "reports: the aggregate reports (RFC 9990, RFC 7489) other receivers sent about our\n"
        "domains, read from a mailbox (default: postmaster of the first hosted domain, INBOX):\n"
        "one block per report, one line per source IP with the message count, the disposition\n"
        "and the DKIM / SPF aligned results. Other messages are skipped.\n"
        "pending: evaluations recorded by the MX that wait for our daily report, per policy\n"
        "domain and UTC day.\n"
        "send-now: builds and queues the due reports (days that have ended, UTC) now instead of\n"
        "at the server's next hourly run; with --include-today also today's rows.\n",
        run_dmarc
    );
}

}  // namespace sov::cli
