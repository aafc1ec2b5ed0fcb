// Messages of a mailbox: list, read, change flags and keywords (RFC 7162 MODSEQ) and expunge.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "store/detail/fs.hpp"
#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"
#include "store/store.hpp"

namespace sov::store {

namespace fs = std::filesystem;
using detail::Account;
using detail::find_mailbox;
using detail::from_unix;
using detail::join_keywords;
using detail::normalize_keywords;
using detail::split_keywords;
using detail::StmtScope;
using detail::StoreOps;

Result<std::vector<MessageInfo>> Store::list_messages(
    std::string_view account, std::string_view mailbox, std::uint32_t from_uid
) {
    return StoreOps::with_account(
        *impl_,
        account,
        [&](Account& acc) -> Result<std::vector<MessageInfo>> {
            auto mb = find_mailbox(acc, mailbox);
            if (!mb) {
                return mb.error();
            }
            auto s = acc.db.prepare(
                "SELECT uid, modseq, flags, keywords, internal_date, save_date, size, structure, "
                "file FROM messages WHERE mailbox_id = ?1 AND uid >= ?2 ORDER BY uid"
            );
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            scope->bind(1, mb->id).bind(2, static_cast<std::int64_t>(from_uid));
            std::vector<MessageInfo> out;
            while (scope->step()) {
                MessageInfo m;
                m.uid = static_cast<std::uint32_t>(scope->int64(0));
                m.modseq = static_cast<std::uint64_t>(scope->int64(1));
                m.flags = static_cast<std::uint32_t>(scope->int64(2));
                m.keywords = split_keywords(scope->text(3));
                m.internal_date = from_unix(scope->int64(4));
                m.save_date = from_unix(scope->int64(5));
                m.size = static_cast<std::uint64_t>(scope->int64(6));
                m.structure = scope->blob(7);
                m.path = acc.dir / scope->text(8);
                out.push_back(std::move(m));
            }
            if (auto st = scope->error(); !st) {
                return st.error();
            }
            return out;
        }
    );
}

Result<std::string> Store::read_message(
    std::string_view account, std::string_view mailbox, std::uint32_t uid
) {
    auto path = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Result<fs::path> {
        auto mb = find_mailbox(acc, mailbox);
        if (!mb) {
            return mb.error();
        }
        auto s = acc.db.prepare("SELECT file FROM messages WHERE mailbox_id = ?1 AND uid = ?2");
        if (!s) {
            return s.error();
        }
        StmtScope scope(**s);
        if (!scope->bind(1, mb->id).bind(2, static_cast<std::int64_t>(uid)).step()) {
            return Errc::NotFound;
        }
        return acc.dir / scope->text(0);
    });
    if (!path) {
        return path.error();
    }
    // Outside the lock: message files are immutable; an expunge racing with this read makes
    // it NotFound, which the caller sees as a vanished message.
    return detail::read_file(*path);
}

Result<std::vector<FlagState>> Store::update_flags(
    std::string_view account,
    std::string_view mailbox,
    const std::vector<std::uint32_t>& uids,
    const FlagChange& change
) {
    const auto change_kw = normalize_keywords(change.keywords);
    return StoreOps::with_account(
        *impl_,
        account,
        [&](Account& acc) -> Result<std::vector<FlagState>> {
            auto mb = find_mailbox(acc, mailbox);
            if (!mb) {
                return mb.error();
            }
            std::vector<FlagState> out;
            auto st = StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
                out.clear();
                auto highest = static_cast<std::int64_t>(mb->highest_modseq);
                {
                    // Re-read inside the transaction: the committer may have raised it.
                    auto s = acc.db.prepare("SELECT highest_modseq FROM mailboxes WHERE id = ?1");
                    if (!s) {
                        return s.error();
                    }
                    StmtScope scope(**s);
                    if (scope->bind(1, mb->id).step()) {
                        highest = scope->int64(0);
                    }
                }
                const std::int64_t start_highest = highest;
                for (std::uint32_t uid : uids) {
                    FlagState fs_;
                    std::string old_kw;
                    {
                        auto s = acc.db.prepare(
                            "SELECT flags, keywords, modseq FROM messages "
                            "WHERE mailbox_id = ?1 AND uid = ?2"
                        );
                        if (!s) {
                            return s.error();
                        }
                        StmtScope scope(**s);
                        if (!scope->bind(1, mb->id)
                                 .bind(2, static_cast<std::int64_t>(uid))
                                 .step()) {
                            if (auto e = scope->error(); !e) {
                                return e;
                            }
                            continue;
                        }
                        fs_.uid = uid;
                        fs_.flags = static_cast<std::uint32_t>(scope->int64(0));
                        old_kw = scope->text(1);
                        fs_.modseq = static_cast<std::uint64_t>(scope->int64(2));
                    }
                    fs_.keywords = split_keywords(old_kw);
                    std::uint32_t flags = fs_.flags;
                    std::vector<std::string> kw = fs_.keywords;
                    const std::uint32_t f = change.flags & flag::kAll;
                    switch (change.mode) {
                        case FlagChange::Mode::Replace:
                            flags = f;
                            kw = change_kw;
                            break;
                        case FlagChange::Mode::Add:
                            flags |= f;
                            kw.insert(kw.end(), change_kw.begin(), change_kw.end());
                            kw = normalize_keywords(std::move(kw));
                            break;
                        case FlagChange::Mode::Remove:
                            flags &= ~f;
                            std::erase_if(kw, [&](const std::string& k) {
                                return std::binary_search(change_kw.begin(), change_kw.end(), k);
                            });
                            break;
                    }
                    std::string new_kw = join_keywords(kw);
                    if (flags != fs_.flags || new_kw != old_kw) {
                        // RFC 7162 §3.1.3: every change gets a mod-sequence above all before.
                        ++highest;
                        auto s = acc.db.prepare(
                            "UPDATE messages SET flags = ?1, keywords = ?2, modseq = ?3 "
                            "WHERE mailbox_id = ?4 AND uid = ?5"
                        );
                        if (!s) {
                            return s.error();
                        }
                        StmtScope scope(**s);
                        auto e = scope->bind(1, static_cast<std::int64_t>(flags))
                                     .bind(2, new_kw)
                                     .bind(3, highest)
                                     .bind(4, mb->id)
                                     .bind(5, static_cast<std::int64_t>(uid))
                                     .run();
                        if (!e) {
                            return e;
                        }
                        fs_.flags = flags;
                        fs_.keywords = std::move(kw);
                        fs_.modseq = static_cast<std::uint64_t>(highest);
                        fs_.changed = true;
                    }
                    out.push_back(std::move(fs_));
                }
                if (highest == start_highest) {
                    return {};
                }
                auto s = acc.db.prepare("UPDATE mailboxes SET highest_modseq = ?1 WHERE id = ?2");
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                return scope->bind(1, highest).bind(2, mb->id).run();
            });
            if (!st) {
                return st.error();
            }
            return out;
        }
    );
}

Result<std::vector<std::uint32_t>> Store::expunge(
    std::string_view account,
    std::string_view mailbox,
    std::optional<std::vector<std::uint32_t>> uids
) {
    std::vector<fs::path> files;
    std::vector<std::uint32_t> removed;
    std::unordered_set<std::uint32_t> wanted;
    if (uids) {
        wanted.insert(uids->begin(), uids->end());
    }
    auto st = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto mb = find_mailbox(acc, mailbox);
        if (!mb) {
            return mb.error();
        }
        return StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            files.clear();
            removed.clear();
            std::int64_t bytes = 0;
            {
                auto s = acc.db.prepare(
                    "SELECT uid, file, size FROM messages WHERE mailbox_id = ?1 AND "
                    "(flags & ?2) != 0 ORDER BY uid"
                );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                scope->bind(1, mb->id).bind(2, static_cast<std::int64_t>(flag::kDeleted));
                while (scope->step()) {
                    auto uid = static_cast<std::uint32_t>(scope->int64(0));
                    if (uids && !wanted.contains(uid)) {
                        continue;
                    }
                    removed.push_back(uid);
                    files.push_back(acc.dir / scope->text(1));
                    bytes += scope->int64(2);
                }
                if (auto e = scope->error(); !e) {
                    return e;
                }
            }
            if (removed.empty()) {
                return {};
            }
            // RFC 7162 §3.2.7: one new mod-sequence for the expunge, remembered per UID.
            std::int64_t modseq = 0;
            {
                auto s = acc.db.prepare(
                    "UPDATE mailboxes SET highest_modseq = highest_modseq + 1, "
                    "message_count = message_count - ?1, total_size = total_size - ?2 "
                    "WHERE id = ?3 RETURNING highest_modseq"
                );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                scope->bind(1, static_cast<std::int64_t>(removed.size()))
                    .bind(2, bytes)
                    .bind(3, mb->id);
                if (scope->step()) {
                    modseq = scope->int64(0);
                }
                if (auto e = scope->run(); !e) {
                    return e;
                }
            }
            for (std::uint32_t uid : removed) {
                for (const char* sql :
                     {"DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
                      "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)"
                     }) {
                    auto s = acc.db.prepare(sql);
                    if (!s) {
                        return s.error();
                    }
                    StmtScope scope(**s);
                    scope->bind(1, mb->id).bind(2, static_cast<std::int64_t>(uid));
                    if (std::string_view(sql).starts_with("INSERT")) {
                        scope->bind(3, modseq);
                    }
                    if (auto e = scope->run(); !e) {
                        return e;
                    }
                }
            }
            return detail::release_usage(acc, bytes, static_cast<std::int64_t>(removed.size()));
        });
    });
    if (!st) {
        return st.error();
    }
    // Rows first, files after the commit (see the header).
    for (const auto& f : files) {
        detail::remove_file(f);
    }
    return removed;
}

}  // namespace sov::store
