#include <charconv>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands_list.hpp"
#include "cli/data_dir.hpp"
#include "cli/open_services.hpp"
#include "exchange/importer.hpp"

namespace sov::cli {

Command import_command() {
    Command command;
    command.name = "import";
    command.summary = "import mail into an account from a Maildir or mbox";
    command.usage =
        "usage: sovereign import ACCOUNT --from maildir|mbox PATH [--mailbox NAME]\n"
        "                        [--max-message-bytes N] [--data DIR | --config FILE]\n\n"
        "Maildir: PATH is the Maildir root (INBOX); folders in Maildir++ (.Sub.Folder) or\n"
        "Dovecot's LAYOUT=fs (Sub/Folder) become mailboxes. Flags and keywords come from the\n"
        "file names (:2,FS...) and dovecot-keywords, the internal date from the file mtime, the\n"
        "order from dovecot-uidlist, subscriptions from `subscriptions`.\n"
        "mbox: PATH is an mbox file (imported into --mailbox, default INBOX) or a directory of\n"
        "mbox files (one mailbox per file, subdirectories are levels). Flags come from the\n"
        "Status, X-Status and X-Keywords headers, the internal date from the \"From \" line.\n"
        "Sent, Drafts, Trash, Junk/Spam and Archive folders map onto the account's own.\n"
        "Messages larger than --max-message-bytes (default: [smtp] max_message_size) are\n"
        "skipped and reported. Importing twice imports twice.\n";
    command.run = [command](int argc, char** argv, int first) {
        const auto args = parse_args(
            argc,
            argv,
            first,
            {.options = {"config", "data", "from", "mailbox", "max-message-bytes"}, .flags = {}}
        );
        if (args.has("help")) {
            std::cout << command.usage;
            return kExitOk;
        }
        if (!args.error.empty()) {
            return usage_error(command, args.error);
        }
        if (args.positional.size() != 2) {
            return usage_error(command, "expected ACCOUNT and PATH");
        }
        const auto from = args.option("from");
        if (!from || (*from != "maildir" && *from != "mbox")) {
            return usage_error(command, "--from maildir or --from mbox is required");
        }
        const auto config = load_config_or_report(args);
        if (!config) {
            return kExitUsage;
        }
        exchange::ImportOptions options;
        options.format = *from == "maildir" ? exchange::Format::Maildir : exchange::Format::Mbox;
        options.source = args.positional[1];
        options.max_message_bytes = config->smtp.max_message_bytes;
        if (const auto limit = args.option("max-message-bytes")) {
            const auto* end = limit->data() + limit->size();
            auto [ptr, ec] = std::from_chars(limit->data(), end, options.max_message_bytes);
            if (ec != std::errc{} || ptr != end || options.max_message_bytes == 0) {
                return usage_error(command, "--max-message-bytes needs a positive number");
            }
        }
        if (const auto mailbox = args.option("mailbox")) {
            if (options.format != exchange::Format::Mbox) {
                return usage_error(command, "--mailbox applies to an mbox file only");
            }
            options.mbox_mailbox = *mailbox;
        }
        auto directory = open_directory(*config);
        if (!directory) {
            return kExitRuntime;
        }
        auto user = directory->find_user(args.positional[0]);
        if (!user) {
            std::cerr << "sovereign import: " << args.positional[0] << ": "
                      << user.error().message() << "\n";
            return kExitRuntime;
        }
        options.account = user->address;
        auto store = open_store(*config);
        if (!store) {
            return kExitRuntime;
        }
        const store::Quota quota{
            .max_bytes = user->quota.bytes, .max_messages = user->quota.messages
        };
        if (auto ensured = store->ensure_account(options.account, quota); !ensured) {
            std::cerr << "sovereign import: mailboxes of " << options.account << ": "
                      << ensured.error().message() << "\n";
            return kExitRuntime;
        }
        auto report = exchange::import_mail(*store, options);
        if (!report) {
            std::cerr << "sovereign import: " << options.source.string() << ": "
                      << report.error().message() << "\n";
            return kExitRuntime;
        }
        for (const auto& box : report->mailboxes) {
            std::cout << "  " << box.name << ": " << box.messages << " messages"
                      << (box.created ? " (new mailbox)" : "") << "\n";
        }
        for (const auto& problem : report->problems) {
            std::cerr << "sovereign import: " << problem << "\n";
        }
        if (report->problem_count > report->problems.size()) {
            std::cerr << "sovereign import: ... and "
                      << report->problem_count - report->problems.size() << " more problems\n";
        }
        std::cout << "imported " << report->imported << " messages into "
                  << report->mailboxes.size() << " mailboxes (" << report->mailboxes_created
                  << " created, " << report->subscribed << " subscriptions) for " << options.account
                  << "; " << report->failed << " failed\n";
        return report->failed == 0 ? kExitOk : kExitRuntime;
    };
    return command;
}

}  // namespace sov::cli
