#pragma once
// `sovereign export`: an account's mailboxes to Maildir++ or to mbox files, readable by Dovecot.
//
// Maildir++: INBOX is the root, other mailboxes ".Level1.Level2" (modified UTF-7, '.' shifted),
// each with cur/ new/ tmp/ and a `maildirfolder` file; messages go to cur/ with ":2,<flags>" and
// keyword letters, S= and W= sizes, mtime = internal date; per folder `dovecot-keywords` and a
// `dovecot-uidlist` that keeps our UIDs and UIDVALIDITY; `subscriptions` at the root.
// mbox: one mboxrd file per mailbox (mbox.hpp), hierarchy as directories; a mailbox that has both
// messages and children keeps its children in "<name>.sbd/" (Thunderbird's convention).
// Messages are written with LF line ends. The target must not exist or be empty.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "exchange/errors.hpp"
#include "exchange/importer.hpp"
#include "store/store.hpp"

namespace sov::exchange {

struct ExportOptions {
    Format format = Format::Maildir;
    std::filesystem::path target;
    std::string account;
};

struct ExportReport {
    std::uint64_t messages = 0;
    std::uint64_t mailboxes = 0;
    std::uint64_t failed = 0;            // messages not written (see problems)
    std::uint64_t dropped_keywords = 0;  // Maildir: beyond 26 keywords in one folder
    std::vector<std::string> problems;
};

Result<ExportReport> export_mail(store::Store& store, const ExportOptions& options);

}  // namespace sov::exchange
