// The flag-change log and the CONDSTORE/QRESYNC "changed since" listing built on it (see
// detail/flag_changes.hpp for why the two together find every changed message).
#include "store/detail/flag_changes.hpp"

#include <algorithm>
#include <cstdint>

#include "store/detail/store_impl.hpp"

namespace sov::store::detail {

namespace {

Status insert_run(Db& db, std::int64_t mailbox_id, std::int64_t modseq, UidRun run) {
    auto s = db.prepare(
        "INSERT OR REPLACE INTO flag_changes(mailbox_id, modseq, first_uid, last_uid) "
        "VALUES (?1, ?2, ?3, ?4)"
    );
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    return scope->bind(1, mailbox_id)
        .bind(2, modseq)
        .bind(3, static_cast<std::int64_t>(run.first))
        .bind(4, static_cast<std::int64_t>(run.last))
        .run();
}

FlagState flag_state(const Stmt& row) {
    FlagState f;
    f.uid = static_cast<std::uint32_t>(row.int64(0));
    f.modseq = static_cast<std::uint64_t>(row.int64(1));
    f.flags = static_cast<std::uint32_t>(row.int64(2));
    f.keywords = split_keywords(row.text(3));
    f.changed = true;
    return f;
}

// Sorted by first UID, overlapping and adjacent ranges joined.
std::vector<UidRun> merged(std::vector<UidRun> runs) {
    std::sort(runs.begin(), runs.end(), [](UidRun a, UidRun b) { return a.first < b.first; });
    std::vector<UidRun> out;
    for (const UidRun r : runs) {
        if (!out.empty() && r.first <= out.back().last + 1ULL) {
            out.back().last = std::max(out.back().last, r.last);
        } else {
            out.push_back(r);
        }
    }
    return out;
}

// Appends the messages of `run` with modseq > `since`, in UID order.
Status append_changed(
    Db& db, std::int64_t mailbox_id, std::int64_t since, UidRun run, std::vector<FlagState>& out
) {
    auto s = db.prepare(
        "SELECT uid, modseq, flags, keywords FROM messages "
        "WHERE mailbox_id = ?1 AND uid BETWEEN ?3 AND ?4 AND modseq > ?2 ORDER BY uid"
    );
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    scope->bind(1, mailbox_id)
        .bind(2, since)
        .bind(3, static_cast<std::int64_t>(run.first))
        .bind(4, static_cast<std::int64_t>(run.last));
    while (scope->step()) {
        out.push_back(flag_state(*scope));
    }
    return scope->error();
}

}  // namespace

Status log_flag_changes(
    Db& db, std::int64_t mailbox_id, std::int64_t modseq, const std::vector<UidRun>& runs
) {
    for (const UidRun r : runs) {
        if (auto st = insert_run(db, mailbox_id, modseq, r); !st) {
            return st;
        }
    }
    auto s = db.prepare("DELETE FROM flag_changes WHERE mailbox_id = ?1 AND modseq <= ?2");
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    return scope->bind(1, mailbox_id).bind(2, modseq - kFlagLogWindow).run();
}

Status log_everything_changed(
    Db& db, std::int64_t mailbox_id, std::int64_t modseq, std::uint32_t uid_last
) {
    if (uid_last == 0) {
        return {};
    }
    return insert_run(db, mailbox_id, modseq, {1, uid_last});
}

Status changed_since(
    Db& db,
    std::int64_t mailbox_id,
    std::int64_t since,
    std::int64_t highest,
    std::vector<FlagState>& out
) {
    if (since == 0 || since + kFlagLogWindow < highest) {
        // Everything, or before the log's window: one walk of the messages in UID order.
        return append_changed(db, mailbox_id, since, {0, UINT32_MAX}, out);
    }
    // Messages added after `since`: the last rows in UID order.
    std::vector<FlagState> added;
    {
        auto s = db.prepare(
            "SELECT uid, modseq, flags, keywords FROM messages "
            "WHERE mailbox_id = ?1 ORDER BY uid DESC"
        );
        if (!s) {
            return s.error();
        }
        StmtScope scope(**s);
        scope->bind(1, mailbox_id);
        while (scope->step() && scope->int64(1) > since) {
            added.push_back(flag_state(*scope));
        }
        if (auto st = scope->error(); !st) {
            return st;
        }
    }
    // Flag changes after `since`, below the added messages (those are listed already).
    std::vector<UidRun> runs;
    {
        auto s = db.prepare(
            "SELECT first_uid, last_uid FROM flag_changes WHERE mailbox_id = ?1 AND modseq > ?2"
        );
        if (!s) {
            return s.error();
        }
        StmtScope scope(**s);
        scope->bind(1, mailbox_id).bind(2, since);
        while (scope->step()) {
            runs.push_back(
                {static_cast<std::uint32_t>(scope->int64(0)),
                 static_cast<std::uint32_t>(scope->int64(1))}
            );
        }
        if (auto st = scope->error(); !st) {
            return st;
        }
    }
    const std::uint32_t below = added.empty() ? 0 : added.back().uid;
    for (UidRun r : merged(std::move(runs))) {
        if (below != 0) {
            if (r.first >= below) {
                break;
            }
            r.last = std::min(r.last, below - 1);
        }
        if (auto st = append_changed(db, mailbox_id, since, r, out); !st) {
            return st;
        }
    }
    out.insert(
        out.end(), std::make_move_iterator(added.rbegin()), std::make_move_iterator(added.rend())
    );
    return {};
}

}  // namespace sov::store::detail
