// Mailboxes of an account: list, look up, create, rename (RFC 3501 §6.3.5), delete, subscribe,
// and the \Recent marker (RFC 3501 §2.3.2).
#include <filesystem>
#include <string>
#include <vector>

#include "store/detail/flag_changes.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"
#include "store/store.hpp"

namespace sov::store {

namespace fs = std::filesystem;
using detail::Account;
using detail::find_mailbox;
using detail::Stmt;
using detail::StmtScope;
using detail::StoreOps;

namespace {

constexpr const char* kMailboxColumns =
    "SELECT id, name, special_use, subscribed, uid_validity, uid_next, highest_modseq, "
    "message_count, total_size, first_recent_uid, unseen_count, deleted_count FROM mailboxes";

MailboxInfo mailbox_row(Stmt& s) {
    MailboxInfo m;
    m.id = s.int64(0);
    m.name = s.text(1);
    m.special_use = s.text(2);
    m.subscribed = s.int64(3) != 0;
    m.uid_validity = static_cast<std::uint32_t>(s.int64(4));
    m.uid_next = static_cast<std::uint32_t>(s.int64(5));
    m.highest_modseq = static_cast<std::uint64_t>(s.int64(6));
    m.messages = static_cast<std::uint32_t>(s.int64(7));
    m.bytes = static_cast<std::uint64_t>(s.int64(8));
    m.first_recent_uid = static_cast<std::uint32_t>(s.int64(9));
    m.unseen = static_cast<std::uint32_t>(s.int64(10));
    m.deleted = static_cast<std::uint32_t>(s.int64(11));
    return m;
}

bool valid_special_use(std::string_view use) {
    // RFC 6154 §2 (and §5.3 \All, \Flagged, which clients may also set with CREATE-SPECIAL-USE).
    for (std::string_view v :
         {"", "\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"}) {
        if (use == v) {
            return true;
        }
    }
    return false;
}

// The mailbox row `sql` (kMailboxColumns + a condition on ?1) selects with `value`.
template <class Value>
Result<MailboxInfo> mailbox_where(detail::Db& db, const std::string& sql, const Value& value) {
    auto s = db.prepare(sql);
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    if (!scope->bind(1, value).step()) {
        if (auto st = scope->error(); !st) {
            return st.error();
        }
        return Errc::NotFound;
    }
    return mailbox_row(*scope);
}

}  // namespace

Result<MailboxInfo> detail::find_mailbox(Db& db, const MailboxKey& key) {
    if (key.by_identity()) {
        // In a read scope the snapshot cannot change the row: the FETCH and the poll after it
        // read it once.
        ReadScopeState* scope = active_read_scope;
        if (scope != nullptr && scope->db.get() != &db) {
            scope = nullptr;  // a read outside the scope's snapshot
        }
        Result<MailboxInfo> found = Errc::NotFound;
        if (scope != nullptr && scope->mailbox_by_identity &&
            scope->mailbox_by_identity->id == key.id()) {
            found = *scope->mailbox_by_identity;
        } else {
            static const std::string by_id = std::string(kMailboxColumns) + " WHERE id = ?1";
            found = mailbox_where(db, by_id, key.id());
            if (found && scope != nullptr) {
                scope->mailbox_by_identity = *found;
            }
        }
        if (found && found->uid_validity != key.uid_validity()) {
            return Errc::NotFound;  // deleted; the id now belongs to a newer mailbox
        }
        return found;
    }
    const std::string canonical = Store::canonical_mailbox_name(key.name());
    if (canonical.empty()) {
        return Errc::Invalid;
    }
    static const std::string by_name = std::string(kMailboxColumns) + " WHERE name = ?1";
    return mailbox_where(db, by_name, std::string_view(canonical));
}

Result<std::vector<MailboxInfo>> Store::list_mailboxes(std::string_view account) {
    return StoreOps::with_account(
        *impl_,
        account,
        [&](Account& acc) -> Result<std::vector<MailboxInfo>> {
            auto s = acc.db.prepare(std::string(kMailboxColumns) + " ORDER BY name");
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            std::vector<MailboxInfo> out;
            while (scope->step()) {
                out.push_back(mailbox_row(*scope));
            }
            if (auto st = scope->error(); !st) {
                return st.error();
            }
            return out;
        }
    );
}

Result<MailboxInfo> Store::mailbox(std::string_view account, MailboxKey name) {
    return StoreOps::with_reader(*impl_, account, [&](Account&, detail::Db& db) {
        return find_mailbox(db, name);
    });
}

Result<std::uint32_t> Store::claim_recent(std::string_view account, MailboxKey mailbox) {
    auto claim = claim_recent_range(account, mailbox);
    if (!claim) {
        return claim.error();
    }
    return claim->first;
}

Result<RecentClaim> Store::claim_recent_range(std::string_view account, MailboxKey mailbox) {
    return StoreOps::with_account(*impl_, account, [&](Account& acc) -> Result<RecentClaim> {
        auto mb = find_mailbox(acc, mailbox);
        if (!mb) {
            return mb.error();
        }
        // Every writer of this index holds the account lock, so what find_mailbox read is
        // current; nothing new: nothing to write (and no commit on every SELECT).
        if (mb->first_recent_uid >= mb->uid_next) {
            return RecentClaim{mb->uid_next, mb->uid_next};
        }
        detail::RelaxedSync relaxed(acc.db);
        RecentClaim claim{mb->uid_next, mb->uid_next};
        auto st = StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            {
                auto s =
                    acc.db.prepare("SELECT first_recent_uid, uid_next FROM mailboxes WHERE id = ?1"
                    );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                if (!scope->bind(1, mb->id).step()) {
                    return scope->error() ? Status(Errc::NotFound) : scope->error();
                }
                claim.first = static_cast<std::uint32_t>(scope->int64(0));
                claim.end = static_cast<std::uint32_t>(scope->int64(1));
            }
            auto s =
                acc.db.prepare("UPDATE mailboxes SET first_recent_uid = uid_next WHERE id = ?1");
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            return scope->bind(1, mb->id).run();
        });
        if (!st) {
            return st.error();
        }
        return claim;
    });
}

Result<MailboxInfo> Store::create_mailbox(
    std::string_view account, std::string_view name, std::string_view special_use
) {
    std::string canonical = canonical_mailbox_name(name);
    if (canonical.empty() || !valid_special_use(special_use)) {
        return Errc::Invalid;
    }
    auto created =
        StoreOps::with_account(*impl_, account, [&](Account& acc) -> Result<MailboxInfo> {
            if (auto existing = find_mailbox(acc, canonical); existing) {
                return Errc::Exists;
            } else if (existing.error() != Errc::NotFound) {
                return existing.error();
            }
            auto st = StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
                std::uint32_t uv = impl_->next_uid_validity(acc);
                auto s = acc.db.prepare(
                    "INSERT INTO mailboxes(name, special_use, subscribed, uid_validity) "
                    "VALUES (?1, ?2, 0, ?3)"
                );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                return scope->bind(1, canonical).bind(2, special_use).bind(3, uv).run();
            });
            if (!st) {
                return st.error();
            }
            return find_mailbox(acc, canonical);
        });
    if (created) {
        impl_->notify(std::string(account), canonical);
    }
    return created;
}

Status Store::rename_mailbox(std::string_view account, std::string_view from, std::string_view to) {
    std::string src = canonical_mailbox_name(from);
    std::string dst = canonical_mailbox_name(to);
    if (src.empty() || dst.empty()) {
        return Errc::Invalid;
    }
    if (dst == "INBOX" || dst.starts_with(src + "/")) {
        return Errc::Invalid;  // cannot rename onto INBOX or below itself
    }
    std::vector<std::string> touched;  // every name that appeared or disappeared, to notify
    auto result = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto old = find_mailbox(acc, src);
        if (!old) {
            return old.error();
        }
        if (auto existing = find_mailbox(acc, dst); existing) {
            return Errc::Exists;
        }
        touched = {src, dst};
        if (src != "INBOX") {
            auto s = acc.db.prepare(
                "SELECT name FROM mailboxes WHERE substr(name, 1, ?2) = ?1 || '/' ORDER BY name"
            );
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            scope->bind(1, src).bind(2, static_cast<std::int64_t>(src.size()) + 1);
            while (scope->step()) {
                std::string child = scope->text(0);
                touched.push_back(dst + child.substr(src.size()));
                touched.push_back(std::move(child));
            }
            if (auto st = scope->error(); !st) {
                return st;
            }
        }
        return StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            if (src == "INBOX") {
                // RFC 3501 §6.3.5: renaming INBOX moves its messages to a new mailbox and leaves
                // INBOX empty; its inferiors stay. UIDs keep their values, and INBOX keeps its
                // UIDNEXT, so no UID is ever reused under INBOX's UIDVALIDITY.
                std::uint32_t uv = impl_->next_uid_validity(acc);
                auto ins = acc.db.prepare(
                    "INSERT INTO mailboxes(name, subscribed, uid_validity, uid_next, "
                    "highest_modseq, message_count, total_size, unseen_count, deleted_count, "
                    "first_recent_uid) VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?3)"
                );
                if (!ins) {
                    return ins.error();
                }
                std::int64_t new_id = 0;
                {
                    StmtScope scope(**ins);
                    auto st = scope->bind(1, dst)
                                  .bind(2, uv)
                                  .bind(3, old->uid_next)
                                  .bind(4, static_cast<std::int64_t>(old->highest_modseq))
                                  .bind(5, old->messages)
                                  .bind(6, static_cast<std::int64_t>(old->bytes))
                                  .bind(7, old->unseen)
                                  .bind(8, old->deleted)
                                  .run();
                    if (!st) {
                        return st;
                    }
                    new_id = sqlite3_last_insert_rowid(acc.db.raw());
                }
                // For INBOX the messages are gone: a QRESYNC client must learn it (RFC 7162
                // §3.2.7), with INBOX's new HIGHESTMODSEQ (set below).
                auto gone = acc.db.prepare(
                    "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) "
                    "SELECT mailbox_id, uid, ?2 FROM messages WHERE mailbox_id = ?1"
                );
                if (!gone) {
                    return gone.error();
                }
                {
                    StmtScope scope(**gone);
                    auto st = scope->bind(1, old->id)
                                  .bind(2, static_cast<std::int64_t>(old->highest_modseq) + 1)
                                  .run();
                    if (!st) {
                        return st;
                    }
                }
                // Their flag changes were logged under INBOX.
                if (auto st = detail::log_everything_changed(
                        acc.db,
                        new_id,
                        static_cast<std::int64_t>(old->highest_modseq),
                        old->uid_next - 1
                    );
                    !st) {
                    return st;
                }
                auto mv =
                    acc.db.prepare("UPDATE messages SET mailbox_id = ?1 WHERE mailbox_id = ?2");
                if (!mv) {
                    return mv.error();
                }
                {
                    StmtScope scope(**mv);
                    if (auto st = scope->bind(1, new_id).bind(2, old->id).run(); !st) {
                        return st;
                    }
                }
                auto clr = acc.db.prepare(
                    "UPDATE mailboxes SET message_count = 0, total_size = 0, unseen_count = 0, "
                    "deleted_count = 0, highest_modseq = highest_modseq + 1 WHERE id = ?1"
                );
                if (!clr) {
                    return clr.error();
                }
                StmtScope scope(**clr);
                return scope->bind(1, old->id).run();
            }
            // RFC 3501 §6.3.5: inferior hierarchical names are renamed too.
            auto s = acc.db.prepare(
                "UPDATE mailboxes SET name = ?2 || substr(name, ?3) "
                "WHERE name = ?1 OR substr(name, 1, ?3) = ?1 || '/'"
            );
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            return scope->bind(1, src)
                .bind(2, dst)
                .bind(3, static_cast<std::int64_t>(src.size()) + 1)
                .run();
        });
    });
    if (result) {
        for (const auto& name : touched) {
            impl_->notify(std::string(account), name);
        }
    }
    return result;
}

Status Store::delete_mailbox(std::string_view account, std::string_view name) {
    std::string canonical = canonical_mailbox_name(name);
    if (canonical.empty()) {
        return Errc::Invalid;
    }
    if (canonical == "INBOX") {
        return Errc::Invalid;  // RFC 3501 §6.3.4: deleting INBOX is an error
    }
    std::vector<fs::path> files;
    auto st = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto mb = find_mailbox(acc, canonical);
        if (!mb) {
            return mb.error();
        }
        return StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            files.clear();
            std::int64_t bytes = 0;
            std::int64_t count = 0;
            {
                auto s = acc.db.prepare("SELECT file, size FROM messages WHERE mailbox_id = ?1");
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                scope->bind(1, mb->id);
                while (scope->step()) {
                    files.push_back(acc.dir / scope->text(0));
                    bytes += scope->int64(1);
                    ++count;
                }
                if (auto e = scope->error(); !e) {
                    return e;
                }
            }
            for (const char* sql :
                 {"DELETE FROM messages WHERE mailbox_id = ?1",
                  "DELETE FROM expunged WHERE mailbox_id = ?1",
                  "DELETE FROM flag_changes WHERE mailbox_id = ?1",
                  "DELETE FROM mailboxes WHERE id = ?1"}) {
                auto s = acc.db.prepare(sql);
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                if (auto e = scope->bind(1, mb->id).run(); !e) {
                    return e;
                }
            }
            return detail::release_usage(acc, bytes, count);
        });
    });
    if (!st) {
        files.clear();
        return st;
    }
    // After the commit: a crash before these unlinks leaves orphans that recover() removes.
    for (const auto& f : files) {
        detail::remove_file(f);
    }
    if (!files.empty()) {
        impl_->schedule_maintenance(std::string(account));  // their text rows
    }
    impl_->notify(std::string(account), canonical);
    return {};
}

Status Store::set_subscribed(std::string_view account, std::string_view name, bool subscribed) {
    return StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto mb = find_mailbox(acc, name);
        if (!mb) {
            return mb.error();
        }
        return StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            auto s = acc.db.prepare("UPDATE mailboxes SET subscribed = ?1 WHERE id = ?2");
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            return scope->bind(1, subscribed ? 1 : 0).bind(2, mb->id).run();
        });
    });
}

}  // namespace sov::store
