#pragma once
// The flag-change log: which UID ranges each flag change (STORE) touched, at which
// mod-sequence. It answers "which messages changed since mod-sequence S" (the poll after every
// IMAP command, CHANGEDSINCE, QRESYNC) without an index on messages.modseq, which every STORE
// would have to update row by row: a STORE on 10,000 messages writes one log row instead of
// 20,000 index changes.
//
// Why the log plus the UID index find every message with modseq > S:
// - a message's modseq changes only when it is added (delivery, APPEND, COPY, MOVE in) or its
//   flags change;
// - added messages get UIDs above every message already there, so those added after S are the
//   top of the UID index, down to the first message with modseq <= S;
// - flag changes after S are in the log, as long as S is within kFlagLogWindow of the mailbox's
//   HIGHESTMODSEQ (older entries are pruned); further back, the whole mailbox is read.
#include <cstdint>
#include <vector>

#include "store/detail/sqlite.hpp"
#include "store/store.hpp"

namespace sov::store::detail {

/// Log entries with modseq <= HIGHESTMODSEQ - kFlagLogWindow may be pruned.
inline constexpr std::int64_t kFlagLogWindow = 4096;

struct UidRun {
    std::uint32_t first = 0;
    std::uint32_t last = 0;
};

/// Records that the messages of `runs` (UID ranges; their unchanged messages keep their modseq)
/// changed at `modseq`, and prunes entries beyond the window. In the caller's transaction.
Status log_flag_changes(
    Db& db, std::int64_t mailbox_id, std::int64_t modseq, const std::vector<UidRun>& runs
);

/// The ranges of an index at every mod-sequence it had: everything up to `uid_last` may have
/// changed at `modseq`. For mailboxes whose flag changes were never logged (an index older than
/// the log, INBOX's messages moved to a new mailbox by RENAME).
Status log_everything_changed(
    Db& db, std::int64_t mailbox_id, std::int64_t modseq, std::uint32_t uid_last
);

/// The messages of `mailbox_id` with modseq > `since`, in UID order, appended to `out`.
/// `highest` is the mailbox's HIGHESTMODSEQ.
Status changed_since(
    Db& db,
    std::int64_t mailbox_id,
    std::int64_t since,
    std::int64_t highest,
    std::vector<FlagState>& out
);

}  // namespace sov::store::detail
