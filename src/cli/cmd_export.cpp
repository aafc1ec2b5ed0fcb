#include <iostream>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/open_services.hpp"
#include "exchange/exporter.hpp"

namespace sov::cli {

namespace {

int run_export(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data", "format"}, .flags = {}},
        Positionals::exactly(2, "expected ACCOUNT and DIR")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto format = args->option("format");
    if (!format || (*format != "maildir" && *format != "mbox")) {
        return usage_error(command, "--format maildir or --format mbox is required");
    }
    auto opened = load_config_and_directory(*args);
    if (!opened) {
        return opened.exit_code();
    }
    const auto& account = args->positional[0];
    auto user = opened->directory->find_user(account);
    if (!user) {
        return fail(command, account, user.error());
    }
    auto store = open_store(opened->config);
    if (!store) {
        return kExitRuntime;
    }

    exchange::ExportOptions options;
    options.format = *format == "maildir" ? exchange::Format::Maildir : exchange::Format::Mbox;
    options.target = args->positional[1];
    options.account = user->address;
    auto report = exchange::export_mail(*store, options);
    if (!report) {
        return fail(command, options.target.string(), report.error());
    }
    for (const auto& problem : report->problems) {
        std::cerr << "sovereign export: " << problem << "\n";
    }
    if (report->dropped_keywords > 0) {
        std::cerr << "sovereign export: " << report->dropped_keywords
                  << " keywords dropped (a Maildir folder holds at most 26)\n";
    }
    std::cout << "exported " << report->messages << " messages in " << report->mailboxes
              << " mailboxes of " << options.account << " to " << options.target.string() << "; "
              << report->failed << " failed\n";
    return report->failed == 0 && report->problems.empty() ? kExitOk : kExitRuntime;
}

}  // namespace

Command export_command() {
    return make_command(
        "export",
        "export an account's mail to a Maildir or mbox files",
        "usage: sovereign export ACCOUNT --format maildir|mbox DIR [--data DIR | --config FILE]\n\n"
        "DIR must not exist or be empty. maildir writes a Maildir++ tree as Dovecot does (flags\n"
        "and keywords in file names and dovecot-keywords, internal date as mtime, UIDs in\n"
        "dovecot-uidlist, subscriptions). mbox writes one mboxrd file per mailbox (flags in\n"
        "Status/X-Status/X-Keywords, internal date in the \"From \" line), hierarchy as\n"
        "directories. Messages are written with LF line ends.\n",
        run_export
    );
}

}  // namespace sov::cli
