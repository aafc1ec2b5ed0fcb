#pragma once
// `sovereign import`: Maildir (Maildir++ and Dovecot's LAYOUT=fs) or mbox into an account.
//
// Each message is streamed from its file into a store spool file (bare LF → CRLF) and delivered
// with Store::append, the durability path of IMAP APPEND, with its flags, keywords and internal
// date; folders become mailboxes (created if missing), the special-use ones mapped by name onto
// ours (names.hpp). Per-message problems are collected and the run goes on; a missing or
// unusable source is an error. Paths are built only from the source tree, never from messages.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "exchange/errors.hpp"
#include "store/store.hpp"

namespace sov::exchange {

enum class Format {
    Maildir,
    Mbox,
};

struct ImportOptions {
    Format format = Format::Maildir;
    std::filesystem::path source;        // Maildir root; mbox file or directory of mbox files
    std::string account;                 // canonical account name; its store must exist
    std::string mbox_mailbox = "INBOX";  // target of a single mbox file
    std::uint64_t max_message_bytes = 50ULL * 1024 * 1024;
    std::size_t max_problems = 100;  // problems kept in the report (all are counted)
};

struct MailboxCount {
    std::string name;  // our mailbox name
    std::uint64_t messages = 0;
    bool created = false;
};

struct ImportReport {
    std::uint64_t imported = 0;
    std::uint64_t failed = 0;  // messages not imported (see problems)
    std::uint64_t mailboxes_created = 0;
    std::uint64_t subscribed = 0;
    std::vector<MailboxCount> mailboxes;  // in the order they were imported
    std::vector<std::string> problems;    // "<path>: <reason>", at most max_problems
    std::uint64_t problem_count = 0;
};

Result<ImportReport> import_mail(store::Store& store, const ImportOptions& options);

}  // namespace sov::exchange
