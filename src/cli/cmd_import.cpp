#include <charconv>
#include <iostream>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/open_services.hpp"
#include "exchange/importer.hpp"

namespace sov::cli {

namespace {

void print_import_report(const exchange::ImportReport& report, const std::string& account) {
    for (const auto& box : report.mailboxes) {
        std::cout << "  " << box.name << ": " << box.messages << " messages"
                  << (box.created ? " (new mailbox)" : "") << "\n";
    }
    for (const auto& problem : report.problems) {
        std::cerr << "sovereign import: " << problem << "\n";
    }
    if (report.problem_count > report.problems.size()) {
        std::cerr << "sovereign import: ... and " << report.problem_count - report.problems.size()
                  << " more problems\n";
    }
    std::cout << "imported " << report.imported << " messages into " << report.mailboxes.size()
              << " mailboxes (" << report.mailboxes_created << " created, " << report.subscribed
              << " subscriptions) for " << account << "; " << report.failed << " failed\n";
}

int run_import(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data", "from", "mailbox", "max-message-bytes"}, .flags = {}},
        Positionals::exactly(2, "expected ACCOUNT and PATH")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto from = args->option("from");
    if (!from || (*from != "maildir" && *from != "mbox")) {
        return usage_error(command, "--from maildir or --from mbox is required");
    }
    // The configuration gives the default --max-message-bytes, so it is loaded before the options
    // are checked, and the directory only after.
    auto config = load_command_config(*args);
    if (!config) {
        return config.exit_code();
    }
    exchange::ImportOptions options;
    options.format = *from == "maildir" ? exchange::Format::Maildir : exchange::Format::Mbox;
    options.source = args->positional[1];
    options.max_message_bytes = config->smtp.max_message_bytes;
    if (const auto limit = args->option("max-message-bytes")) {
        const auto* end = limit->data() + limit->size();
        auto [ptr, ec] = std::from_chars(limit->data(), end, options.max_message_bytes);
        if (ec != std::errc{} || ptr != end || options.max_message_bytes == 0) {
            return usage_error(command, "--max-message-bytes needs a positive number");
        }
    }
    if (const auto mailbox = args->option("mailbox")) {
        if (options.format != exchange::Format::Mbox) {
            return usage_error(command, "--mailbox applies to an mbox file only");
        }
        options.mbox_mailbox = *mailbox;
    }

    auto directory = open_directory(*config);
    if (!directory) {
        return kExitRuntime;
    }
    const auto& account = args->positional[0];
    auto user = directory->find_user(account);
    if (!user) {
        return fail(command, account, user.error());
    }
    options.account = user->address;
    auto store = open_store(*config);
    if (!store) {
        return kExitRuntime;
    }
    const store::Quota quota{.max_bytes = user->quota.bytes, .max_messages = user->quota.messages};
    if (auto ensured = store->ensure_account(options.account, quota); !ensured) {
        return fail(command, "mailboxes of " + options.account, ensured.error());
    }
    auto report = exchange::import_mail(*store, options);
    if (!report) {
        return fail(command, options.source.string(), report.error());
    }
    print_import_report(*report, options.account);
    return report->failed == 0 ? kExitOk : kExitRuntime;
}

}  // namespace

Command import_command() {
    return make_command(
        "import",
        "import mail into an account from a Maildir or mbox",
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
        "skipped and reported. Importing twice imports twice.\n",
        run_import
    );
}

}  // namespace sov::cli
