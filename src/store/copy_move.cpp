// COPY (RFC 3501 §6.4.7, COPYUID RFC 4315 §3) and MOVE (RFC 6851) within an account.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"
#include "store/store.hpp"

namespace sov::store {

namespace fs = std::filesystem;
using detail::Account;
using detail::find_mailbox;
using detail::StmtScope;
using detail::StoreOps;
using detail::to_unix;

namespace {

// The target of COPY/MOVE: missing is its own error, so IMAP can say [TRYCREATE].
Result<MailboxInfo> find_target(Account& acc, std::string_view name) {
    auto mb = find_mailbox(acc, name);
    if (!mb && mb.error() == Errc::NotFound) {
        return Errc::NoSuchMailbox;
    }
    return mb;
}

// Mailbox counters as a copy or move changes them, written back once.
struct Counters {
    std::int64_t uid_next = 1;
    std::int64_t highest_modseq = 0;
    std::int64_t count_delta = 0;
    std::int64_t bytes_delta = 0;
    std::int64_t unseen_delta = 0;
    std::int64_t deleted_delta = 0;

    void add(std::int64_t n, std::int64_t bytes, std::int64_t flags) {
        count_delta += n;
        bytes_delta += n * bytes;
        unseen_delta += (flags & flag::kSeen) == 0 ? n : 0;
        deleted_delta += (flags & flag::kDeleted) != 0 ? n : 0;
    }
};

Result<Counters> read_counters(Account& acc, std::int64_t mailbox_id) {
    auto s = acc.db.prepare("SELECT uid_next, highest_modseq FROM mailboxes WHERE id = ?1");
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    if (!scope->bind(1, mailbox_id).step()) {
        if (auto st = scope->error(); !st) {
            return st.error();
        }
        return Errc::NotFound;
    }
    Counters c;
    c.uid_next = scope->int64(0);
    c.highest_modseq = scope->int64(1);
    return c;
}

Status write_counters(Account& acc, std::int64_t mailbox_id, const Counters& c) {
    auto s = acc.db.prepare(
        "UPDATE mailboxes SET uid_next = ?1, highest_modseq = ?2, "
        "message_count = message_count + ?3, total_size = total_size + ?4, "
        "unseen_count = unseen_count + ?6, deleted_count = deleted_count + ?7 WHERE id = ?5"
    );
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    return scope->bind(1, c.uid_next)
        .bind(2, c.highest_modseq)
        .bind(3, c.count_delta)
        .bind(4, c.bytes_delta)
        .bind(5, mailbox_id)
        .bind(6, c.unseen_delta)
        .bind(7, c.deleted_delta)
        .run();
}

// RFC 3501 §2.3.1.1: UIDs are 32-bit and never reused; running out needs a new UIDVALIDITY.
bool uids_fit(const Counters& c, std::size_t n) {
    return c.uid_next + static_cast<std::int64_t>(n) <= 0xffffffffLL;
}

}  // namespace

Result<CopyResult> Store::copy_messages(
    std::string_view account,
    MailboxKey from,
    const std::vector<std::uint32_t>& uids,
    std::string_view to
) {
    if ((!from.by_identity() && canonical_mailbox_name(from.name()).empty()) ||
        canonical_mailbox_name(to).empty()) {
        return Errc::Invalid;
    }
    const auto sorted = detail::sorted_unique(uids);
    std::vector<fs::path> linked;  // new links, removed again if the copy fails
    std::string target_name;
    auto result = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Result<CopyResult> {
        auto src = find_mailbox(acc, from);
        if (!src) {
            return src.error();
        }
        auto dst = find_target(acc, to);
        if (!dst) {
            return dst.error();
        }
        target_name = dst->name;
        CopyResult out;
        out.uid_validity = dst->uid_validity;

        struct Row {
            std::uint32_t uid = 0;
            std::int64_t flags = 0;
            std::string keywords;
            std::int64_t internal_date = 0;
            std::int64_t size = 0;
            std::string file;
            std::string structure;
            std::string envelope;
            std::string email_id;
            std::optional<std::string> thread_id;
            std::optional<std::int64_t> text_id;
        };
        std::vector<Row> rows;
        std::int64_t bytes = 0;
        auto listed = detail::for_each_listed(
            acc.db,
            src->id,
            sorted,
            "uid, flags, keywords, internal_date, size, file, "
            "(SELECT structure FROM message_data WHERE message_data.id = messages.id), "
            "(SELECT envelope FROM message_data WHERE message_data.id = messages.id), email_id, "
            "thread_id, text_id",
            [&](detail::Stmt& s) -> Status {
                Row r;
                r.uid = static_cast<std::uint32_t>(s.int64(0));
                r.flags = s.int64(1);
                r.keywords = s.text(2);
                r.internal_date = s.int64(3);
                r.size = s.int64(4);
                r.file = s.text(5);
                r.structure = s.blob(6);
                r.envelope = s.text(7);
                r.email_id = s.text(8);
                if (!s.is_null(9)) {
                    r.thread_id = s.text(9);
                }
                if (!s.is_null(10)) {
                    r.text_id = s.int64(10);
                }
                bytes += r.size;
                rows.push_back(std::move(r));
                return {};
            }
        );
        if (!listed) {
            return listed.error();
        }
        if (rows.empty()) {
            return out;
        }

        const std::int64_t now_s = to_unix(core::now());
        const std::string bucket = detail::bucket_of(now_s);
        auto st = StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            out.uids.clear();
            // RFC 9208 §4.3 [OVERQUOTA]: all or nothing, like the delivery check.
            {
                auto s = acc.db.prepare(
                    "SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM account "
                    "WHERE id = 1"
                );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                if (!scope->step()) {
                    return scope->error() ? Status(Errc::Corrupt) : scope->error();
                }
                const std::int64_t max_bytes = scope->int64(0);
                const std::int64_t max_messages = scope->int64(1);
                if ((max_bytes != 0 && scope->int64(2) + bytes > max_bytes) ||
                    (max_messages != 0 &&
                     scope->int64(3) + static_cast<std::int64_t>(rows.size()) > max_messages)) {
                    return Errc::QuotaExceeded;
                }
            }
            auto counters = read_counters(acc, dst->id);
            if (!counters) {
                return counters.error();
            }
            Counters& c = *counters;
            if (!uids_fit(c, rows.size())) {
                return Errc::TempFail;
            }
            if (auto e = impl_->ensure_bucket(acc, bucket); !e) {
                return e;
            }
            auto data = acc.db.prepare(
                "INSERT OR REPLACE INTO message_data(id, structure, envelope) VALUES (?1, ?2, ?3)"
            );
            if (!data) {
                return data.error();
            }
            for (const Row& r : rows) {
                // A new name for the same inode: the copies are independent rows, and
                // expunging one unlinks only its own name.
                std::string file = fmt::format(
                    "msg/{}/{}.{}-{}", bucket, now_s, impl_->token, impl_->counter.fetch_add(1)
                );
                bool copied = false;
                if (auto e = detail::link_or_copy(acc.dir / r.file, acc.dir / file, copied); !e) {
                    return e;
                }
                linked.push_back(acc.dir / file);
                if (copied) {
                    ++impl_->n_file_syncs;
                }
                const std::int64_t uid = c.uid_next++;
                const std::int64_t modseq = ++c.highest_modseq;
                auto id = detail::insert_message_row(
                    acc.db,
                    {.mailbox_id = dst->id,
                     .uid = uid,
                     .modseq = modseq,
                     .flags = r.flags,
                     .keywords = r.keywords,
                     .internal_date = r.internal_date,
                     .save_date = now_s,  // RFC 8514 SAVEDATE: when it was saved to this mailbox
                     .size = r.size,
                     .file = file,
                     .email_id = r.email_id,  // RFC 8474 §5.1: same EMAILID as the source
                     .thread_id = r.thread_id,
                     .text_id = r.text_id}  // the text row is shared (fts.cpp)
                );
                if (!id) {
                    return id.error();
                }
                {
                    StmtScope d(**data);
                    auto e = d->bind(1, *id).bind_blob(2, r.structure).bind(3, r.envelope).run();
                    if (!e) {
                        return e;
                    }
                }
                c.add(1, r.size, r.flags);
                out.uids.emplace_back(r.uid, static_cast<std::uint32_t>(uid));
            }
            if (auto e = write_counters(acc, dst->id, c); !e) {
                return e;
            }
            {
                auto s = acc.db.prepare(
                    "UPDATE account SET used_bytes = used_bytes + ?1, "
                    "used_messages = used_messages + ?2 WHERE id = 1"
                );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                auto e =
                    scope->bind(1, bytes).bind(2, static_cast<std::int64_t>(rows.size())).run();
                if (!e) {
                    return e;
                }
            }
            // Durability, as for delivery: the new links are durable before the rows.
            return impl_->sync_dir(acc.dir / "msg" / bucket);
        });
        if (!st) {
            return st.error();
        }
        return out;
    });
    if (!result) {
        for (const auto& p : linked) {
            detail::remove_file(p);
        }
        return result;
    }
    if (!result->uids.empty()) {
        if (impl_->opt.text_of) {
            impl_->schedule_maintenance(std::string(account));  // copies of unindexed messages
        }
        impl_->notify(std::string(account), target_name);
    }
    return result;
}

Result<CopyResult> Store::move_messages(
    std::string_view account,
    MailboxKey from,
    const std::vector<std::uint32_t>& uids,
    std::string_view to
) {
    if ((!from.by_identity() && canonical_mailbox_name(from.name()).empty()) ||
        canonical_mailbox_name(to).empty()) {
        return Errc::Invalid;
    }
    const auto sorted = detail::sorted_unique(uids);
    std::string source_name;
    std::string target_name;
    auto result = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Result<CopyResult> {
        auto src = find_mailbox(acc, from);
        if (!src) {
            return src.error();
        }
        auto dst = find_target(acc, to);
        if (!dst) {
            return dst.error();
        }
        source_name = src->name;
        target_name = dst->name;
        CopyResult out;
        out.uid_validity = dst->uid_validity;

        struct Row {
            std::uint32_t uid = 0;
            std::int64_t id = 0;
            std::int64_t size = 0;
            std::int64_t flags = 0;
        };
        std::vector<Row> rows;
        auto listed = detail::for_each_listed(
            acc.db,
            src->id,
            sorted,
            "uid, id, size, flags",
            [&](detail::Stmt& s) -> Status {
                rows.push_back(
                    {static_cast<std::uint32_t>(s.int64(0)), s.int64(1), s.int64(2), s.int64(3)}
                );
                return {};
            }
        );
        if (!listed) {
            return listed.error();
        }
        if (rows.empty()) {
            return out;
        }

        const std::int64_t now_s = to_unix(core::now());
        auto st = StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            out.uids.clear();
            // One entry per mailbox: moving within one mailbox updates a single set of counters.
            std::map<std::int64_t, Counters> counters;
            for (std::int64_t id : {src->id, dst->id}) {
                if (counters.contains(id)) {
                    continue;
                }
                auto c = read_counters(acc, id);
                if (!c) {
                    return c.error();
                }
                counters.emplace(id, *c);
            }
            Counters& s_c = counters.at(src->id);
            Counters& d_c = counters.at(dst->id);
            if (!uids_fit(d_c, rows.size())) {
                return Errc::TempFail;
            }
            auto upd = acc.db.prepare(
                "UPDATE messages SET mailbox_id = ?1, uid = ?2, modseq = ?3, save_date = ?4 "
                "WHERE id = ?5"
            );
            if (!upd) {
                return upd.error();
            }
            for (const Row& r : rows) {
                const std::int64_t uid = d_c.uid_next++;
                const std::int64_t modseq = ++d_c.highest_modseq;
                StmtScope scope(**upd);
                // RFC 8514: SAVEDATE is when the message was saved to this mailbox.
                auto e = scope->bind(1, dst->id)
                             .bind(2, uid)
                             .bind(3, modseq)
                             .bind(4, now_s)
                             .bind(5, r.id)
                             .run();
                if (!e) {
                    return e;
                }
                out.uids.emplace_back(r.uid, static_cast<std::uint32_t>(uid));
                d_c.add(1, r.size, r.flags);
                s_c.add(-1, r.size, r.flags);
            }
            // RFC 6851 §4.4 / RFC 7162 §3.2.7: for the source the messages are expunged, with one
            // new mod-sequence (above the new rows' when source and target are the same).
            const std::int64_t gone_modseq = ++s_c.highest_modseq;
            auto tomb = acc.db.prepare(
                "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)"
            );
            if (!tomb) {
                return tomb.error();
            }
            for (const Row& r : rows) {
                StmtScope scope(**tomb);
                auto e = scope->bind(1, src->id)
                             .bind(2, static_cast<std::int64_t>(r.uid))
                             .bind(3, gone_modseq)
                             .run();
                if (!e) {
                    return e;
                }
            }
            for (const auto& [id, c] : counters) {
                if (auto e = write_counters(acc, id, c); !e) {
                    return e;
                }
            }
            return {};
        });
        if (!st) {
            return st.error();
        }
        return out;
    });
    if (result && !result->uids.empty()) {
        impl_->notify(std::string(account), source_name);
        if (target_name != source_name) {
            impl_->notify(std::string(account), target_name);
        }
    }
    return result;
}

}  // namespace sov::store
