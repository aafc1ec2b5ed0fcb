#include <iostream>

#include "cli/args.hpp"
#include "cli/commands_list.hpp"
#include "cli/data_dir.hpp"
#include "cli/open_services.hpp"
#include "exchange/exporter.hpp"

namespace sov::cli {

Command export_command() {
    Command command;
    command.name = "export";
    command.summary = "export an account's mail to a Maildir or mbox files";
    command.usage =
        "usage: sovereign export ACCOUNT --format maildir|mbox DIR [--data DIR | --config FILE]\n\n"
        "DIR must not exist or be empty. maildir writes a Maildir++ tree as Dovecot does (flags\n"
        "and keywords in file names and dovecot-keywords, internal date as mtime, UIDs in\n"
        "dovecot-uidlist, subscriptions). mbox writes one mboxrd file per mailbox (flags in\n"
        "Status/X-Status/X-Keywords, internal date in the \"From \" line), hierarchy as\n"
        "directories. Messages are written with LF line ends.\n";
    command.run = [command](int argc, char** argv, int first) {
        const auto args =
            parse_args(argc, argv, first, {.options = {"config", "data", "format"}, .flags = {}});
        if (args.has("help")) {
            std::cout << command.usage;
            return kExitOk;
        }
        if (!args.error.empty()) {
            return usage_error(command, args.error);
        }
        if (args.positional.size() != 2) {
            return usage_error(command, "expected ACCOUNT and DIR");
        }
        const auto format = args.option("format");
        if (!format || (*format != "maildir" && *format != "mbox")) {
            return usage_error(command, "--format maildir or --format mbox is required");
        }
        const auto config = load_config_or_report(args);
        if (!config) {
            return kExitUsage;
        }
        auto directory = open_directory(*config);
        if (!directory) {
            return kExitRuntime;
        }
        auto user = directory->find_user(args.positional[0]);
        if (!user) {
            std::cerr << "sovereign export: " << args.positional[0] << ": "
                      << user.error().message() << "\n";
            return kExitRuntime;
        }
        auto store = open_store(*config);
        if (!store) {
            return kExitRuntime;
        }
        exchange::ExportOptions options;
        options.format = *format == "maildir" ? exchange::Format::Maildir : exchange::Format::Mbox;
        options.target = args.positional[1];
        options.account = user->address;
        auto report = exchange::export_mail(*store, options);
        if (!report) {
            std::cerr << "sovereign export: " << options.target.string() << ": "
                      << report.error().message() << "\n";
            return kExitRuntime;
        }
        for (const auto& problem : report->problems) {
            std::cerr << "sovereign export: " << problem << "\n";
        }
        if (report->dropped_keywords > 0) {
            std::cerr << "sovereign export: " << report->dropped_keywords
                      << " keywords dropped (a Maildir folder holds at most 26)\n";
        }
        std::cout << "exported " << report->messages << " messages in " << report->mailboxes
                  << " mailboxes of " << options.account << " to " << options.target.string()
                  << "; " << report->failed << " failed\n";
        return report->failed == 0 && report->problems.empty() ? kExitOk : kExitRuntime;
    };
    return command;
}

}  // namespace sov::cli
