// Startup recovery: finishes or undoes what a crash interrupted (spool leftovers, orphan files,
// rows without files, drifted counters, half-removed accounts).
#include <algorithm>
#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"
#include "store/store.hpp"

namespace sov::store {

namespace fs = std::filesystem;
using detail::Db;
using detail::kRemovedPrefix;
using detail::StmtScope;

// ---------------------------------------------------------------- recovery
//
// How each broken state can arise, and why the repair is right:
// - Spool leftovers (<data>/tmp): a crash while a message was being received or between the
//   commit and the unlink of the spool. Either it was never acknowledged, or it is already linked
//   into every account it was delivered to; removing it is safe either way. Files of live
//   Incomings (this store's token) are kept, so recover() may run while accepting mail.
// - Message files without an index row: a crash after the link and before (or during) the index
//   commit, a failed commit whose cleanup did not run, or a crash after an expunge or mailbox
//   deletion committed and before its files were unlinked. No row means it was never
//   acknowledged or the user already removed it: delete the file.
// - Index rows whose file is missing: cannot arise from our own write order (files are durable
//   before rows, rows go before files). It means outside damage (a file deleted by hand, fsck
//   moving it to lost+found, a partial restore). The row is dropped, loudly, so IMAP never serves
//   a message it cannot read; the file may be found in lost+found and re-imported.
// - Counters (message count/size, UIDNEXT, HIGHESTMODSEQ, quota usage) are derived data kept in
//   the same transactions as the rows, so they only drift through the repairs above or hand edits:
//   they are recomputed, UIDNEXT and HIGHESTMODSEQ only ever upwards (RFC 3501 §2.3.1.1: UIDs
//   are never reused within a UIDVALIDITY).
// - ".removed-*" account directories: remove_account() crashed after its atomic rename.
// - text.db (derived): rows no message refers to are listed for the background removal,
//   references to rows it lacks are reset so the messages are indexed again (fts.cpp).
// SQLite itself replays or discards its WAL on open, so the index is at the last commit.

Result<RecoveryReport> Store::recover() {
    RecoveryReport report;
    Impl& impl = *impl_;
    std::error_code ec;
    const std::string live_prefix = impl.token + "-";
    for (const auto& e : fs::directory_iterator(impl.spool_dir, ec)) {
        std::string name = e.path().filename().string();
        if (name.starts_with(live_prefix)) {
            continue;
        }
        detail::remove_file(e.path());
        ++report.spool_files_removed;
    }
    if (ec) {
        log::error("store.recover.spool", {{"error", ec.message()}});
        return Errc::Io;
    }
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(impl.mail_dir, ec)) {
        std::string name = e.path().filename().string();
        if (name.starts_with(kRemovedPrefix)) {
            std::error_code rm;
            fs::remove_all(e.path(), rm);
            ++report.removed_accounts_finished;
            continue;
        }
        if (e.is_directory()) {
            names.push_back(std::move(name));
        }
    }
    if (ec) {
        log::error("store.recover.mail_dir", {{"error", ec.message()}});
        return Errc::Io;
    }
    for (const auto& name : names) {
        if (!is_safe_account_name(name)) {
            log::warn("store.recover.skipped", {{"dir", name}, {"reason", "unsafe name"}});
            continue;
        }
        auto acc = impl.account(name, false, std::nullopt);
        if (!acc) {
            log::warn(
                "store.recover.skipped", {{"account", name}, {"reason", acc.error().message()}}
            );
            continue;
        }
        std::lock_guard lock((*acc)->mu);
        if ((*acc)->removed) {
            continue;
        }
        if (auto st = impl.recover_account(**acc, report); !st) {
            return st.error();
        }
        ++report.accounts_checked;
    }
    log::info(
        "store.recovered",
        {{"accounts", report.accounts_checked},
         {"spool_removed", report.spool_files_removed},
         {"orphans_removed", report.orphan_files_removed},
         {"rows_dropped", report.rows_dropped},
         {"counters_fixed", report.counters_fixed}}
    );
    return report;
}

Status Store::Impl::recover_account(Account& acc, RecoveryReport& report) {
    Db& db = acc.db;
    // Files on disk, relative to the account ("msg/<bucket>/<name>").
    std::unordered_set<std::string> on_disk;
    std::error_code ec;
    for (const auto& b : fs::directory_iterator(acc.dir / "msg", ec)) {
        if (!b.is_directory()) {
            continue;
        }
        std::string bucket = b.path().filename().string();
        for (const auto& f : fs::directory_iterator(b.path(), ec)) {
            if (f.is_regular_file()) {
                on_disk.insert("msg/" + bucket + "/" + f.path().filename().string());
            }
        }
    }
    if (ec) {
        log::error("store.recover.scan", {{"account", acc.name}, {"error", ec.message()}});
        return Errc::Io;
    }

    if (auto st = db.begin(); !st) {
        return st;
    }
    auto fail = [&](Status st) {
        db.rollback();
        return st;
    };
    std::unordered_set<std::string> indexed;
    std::vector<std::pair<std::int64_t, std::string>> missing;  // (row id, file)
    {
        auto s = db.prepare(
            "SELECT m.id, m.mailbox_id, m.uid, m.file, b.id IS NULL FROM messages m "
            "LEFT JOIN mailboxes b ON b.id = m.mailbox_id"
        );
        if (!s) {
            return fail(s.error());
        }
        StmtScope scope(**s);
        while (scope->step()) {
            std::string file = scope->text(3);
            const bool homeless = scope->int64(4) != 0;
            if (!on_disk.contains(file)) {
                log::error(
                    "store.recover.file_missing",
                    {{"account", acc.name},
                     {"mailbox_id", scope->int64(1)},
                     {"uid", scope->int64(2)},
                     {"file", file}}
                );
                missing.emplace_back(scope->int64(0), file);
            } else if (homeless) {
                missing.emplace_back(scope->int64(0), file);
            } else {
                indexed.insert(file);
            }
        }
        if (auto st = scope->error(); !st) {
            return fail(st);
        }
    }
    for (const auto& [id, file] : missing) {
        auto s = db.prepare("DELETE FROM messages WHERE id = ?1");
        if (!s) {
            return fail(s.error());
        }
        StmtScope scope(**s);
        if (auto st = scope->bind(1, id).run(); !st) {
            return fail(st);
        }
        ++report.rows_dropped;
    }
    // message_data and render_structure follow their rows; the text index is checked against
    // index.db (fts.cpp).
    if (auto st = db.exec("DELETE FROM message_data WHERE id NOT IN (SELECT id FROM messages); "
                          "DELETE FROM render_structure WHERE NOT EXISTS (SELECT 1 FROM messages m "
                          "WHERE m.mailbox_id = render_structure.mailbox_id "
                          "AND m.uid = render_structure.uid)");
        !st) {
        return fail(st);
    }
    if (auto st = detail::check_text_index(acc, true, &report.text_index_fixed); !st) {
        return fail(st);
    }
    // Recompute the derived counters; UIDNEXT and HIGHESTMODSEQ only move up.
    {
        auto s = db.prepare(
            "SELECT b.id, b.uid_next, b.highest_modseq, b.message_count, b.total_size, "
            "count(m.uid), coalesce(sum(m.size), 0), coalesce(max(m.uid), 0), "
            "coalesce(max(m.modseq), 0), b.unseen_count, b.deleted_count, "
            "count(m.uid) - count(CASE WHEN (m.flags & 1) != 0 THEN 1 END), "
            "count(CASE WHEN (m.flags & 8) != 0 THEN 1 END) "
            "FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id GROUP BY b.id"
        );
        if (!s) {
            return fail(s.error());
        }
        static_assert(flag::kSeen == 1 && flag::kDeleted == 8, "the counts above");
        struct Fix {
            std::int64_t id, uid_next, modseq, count, size, unseen, deleted;
        };
        std::vector<Fix> fixes;
        {
            StmtScope scope(**s);
            while (scope->step()) {
                Fix f{
                    scope->int64(0),
                    std::max(scope->int64(1), scope->int64(7) + 1),
                    std::max(scope->int64(2), scope->int64(8)),
                    scope->int64(5),
                    scope->int64(6),
                    scope->int64(11),
                    scope->int64(12)
                };
                if (f.uid_next != scope->int64(1) || f.modseq != scope->int64(2) ||
                    f.count != scope->int64(3) || f.size != scope->int64(4) ||
                    f.unseen != scope->int64(9) || f.deleted != scope->int64(10)) {
                    // A vanished message is a change a CONDSTORE client must notice.
                    if (!missing.empty()) {
                        f.modseq += 1;
                    }
                    fixes.push_back(f);
                }
            }
            if (auto st = scope->error(); !st) {
                return fail(st);
            }
        }
        for (const Fix& f : fixes) {
            auto u = db.prepare(
                "UPDATE mailboxes SET uid_next = ?2, highest_modseq = ?3, message_count = ?4, "
                "total_size = ?5, unseen_count = ?6, deleted_count = ?7 WHERE id = ?1"
            );
            if (!u) {
                return fail(u.error());
            }
            StmtScope scope(**u);
            auto st = scope->bind(1, f.id)
                          .bind(2, f.uid_next)
                          .bind(3, f.modseq)
                          .bind(4, f.count)
                          .bind(5, f.size)
                          .bind(6, f.unseen)
                          .bind(7, f.deleted)
                          .run();
            if (!st) {
                return fail(st);
            }
            ++report.counters_fixed;
        }
    }
    {
        auto s = db.prepare(
            "UPDATE account SET used_bytes = (SELECT coalesce(sum(size), 0) FROM messages), "
            "used_messages = (SELECT count(*) FROM messages) WHERE id = 1 AND "
            "(used_bytes != (SELECT coalesce(sum(size), 0) FROM messages) OR "
            "used_messages != (SELECT count(*) FROM messages))"
        );
        if (!s) {
            return fail(s.error());
        }
        StmtScope scope(**s);
        if (auto st = scope->run(); !st) {
            return fail(st);
        }
        if (db.changes() > 0) {
            ++report.counters_fixed;
        }
    }
    if (auto st = commit(acc); !st) {
        return fail(st);
    }
    schedule_maintenance(acc.name);  // text index work found above
    // Only after the commit: files that no committed row references.
    for (const auto& file : on_disk) {
        if (!indexed.contains(file)) {
            log::info("store.recover.orphan_removed", {{"account", acc.name}, {"file", file}});
            detail::remove_file(acc.dir / file);
            ++report.orphan_files_removed;
        }
    }
    return {};
}

}  // namespace sov::store
