// Messages of a mailbox: list, read, change flags and keywords (RFC 7162 MODSEQ), expunge, and
// the CONDSTORE/QRESYNC change log.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "store/detail/flag_changes.hpp"
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

namespace {

// The structure and the two render-cache parts, each NULL unless asked for. The structure and
// the first part come from message_data, the second from render_structure, through joins (one
// lookup each; SQLite reads the values in place where scalar subqueries would copy each). Except
// when only the second part is asked for with the structure of messages missing it (FETCH 1:*
// BODYSTRUCTURE): then a subquery for those few spares every row the seek into the wide
// message_data, which would cost more than reading the narrow render_structure.
struct CacheColumns {
    std::string structure = "NULL";
    std::string cache = "NULL";
    std::string structure_cache = "NULL";
    std::string from = "messages";
};

CacheColumns cache_columns(const ListOptions& o) {
    CacheColumns c;
    const bool conditional =
        o.structure && o.structure_if_uncached && (o.cache || o.structure_cache);
    const bool join_data = o.cache || (o.structure && (!conditional || o.cache));
    if (o.structure) {
        std::string value = join_data
                                ? "d.structure"
                                : "(SELECT structure FROM message_data WHERE id = messages.id)";
        if (conditional) {
            const std::string missing = o.cache && o.structure_cache
                                            ? "d.cache IS NULL OR r.entry IS NULL"
                                        : o.cache ? "d.cache IS NULL"
                                                  : "r.entry IS NULL";
            value = "CASE WHEN " + missing + " THEN " + value + " END";
        }
        c.structure = std::move(value);
    }
    if (o.cache) {
        c.cache = "d.cache";
    }
    if (o.structure_cache) {
        c.structure_cache = "r.entry";
    }
    if (join_data) {
        c.from += " LEFT JOIN message_data d ON d.id = messages.id";
    }
    if (o.structure_cache) {
        // USING: the unqualified mailbox_id and uid of the queries stay unambiguous.
        c.from += " LEFT JOIN render_structure r USING (mailbox_id, uid)";
    }
    return c;
}

// Every column of a message (MessageInfo, MessageRow); 9, 10 and 11 are cache_columns().
std::string info_columns(const CacheColumns& c) {
    return "uid, modseq, flags, keywords, internal_date, save_date, size, file, email_id, " +
           c.structure + ", " + c.cache + ", " + c.structure_cache;
}

// for_each_message with ListOptions::narrow reads only the narrow columns of the rows (and the
// id, for the joins), and of those only what was asked for: each column costs SQLite more than
// a B-tree step (FETCH 1:* BODYSTRUCTURE reads uid and the render cache).
struct NarrowColumns {
    std::string select;  // uid first
    int flags = -1;      // modseq, flags, keywords from here on
    int structure = -1;
    int cache = -1;
    int structure_cache = -1;
};

NarrowColumns narrow_columns(const ListOptions& options, const CacheColumns& cache) {
    NarrowColumns c;
    c.select = "uid";
    int next = 1;
    if (options.flags) {
        c.select += ", modseq, flags, keywords";
        c.flags = next;
        next += 3;
    }
    if (options.structure) {
        c.select += ", " + cache.structure;
        c.structure = next++;
    }
    if (options.cache) {
        c.select += ", " + cache.cache;
        c.cache = next++;
    }
    if (options.structure_cache) {
        c.select += ", " + cache.structure_cache;
        c.structure_cache = next++;
    }
    return c;
}

// One string, parsed once: `dir / file` would parse both and copy the directory's components.
fs::path file_path(const Account& acc, const detail::Stmt& s, int col) {
    const auto* p = sqlite3_column_text(s.raw(), col);
    const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s.raw(), col));
    std::string full;
    full.reserve(acc.dir.native().size() + 1 + n);
    full += acc.dir.native();
    full += '/';
    full.append(reinterpret_cast<const char*>(p), n);
    return fs::path(std::move(full));
}

// Views of a column of the current row: valid until the statement steps or resets.
std::string_view column_view(const detail::Stmt& s, int col) {
    const auto* p = sqlite3_column_text(s.raw(), col);
    if (p == nullptr) {
        return {};
    }
    return {
        reinterpret_cast<const char*>(p),
        static_cast<std::size_t>(sqlite3_column_bytes(s.raw(), col))
    };
}

std::string_view blob_view(const detail::Stmt& s, int col) {
    const void* p = sqlite3_column_blob(s.raw(), col);
    if (p == nullptr) {
        return {};
    }
    return {
        static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s.raw(), col))
    };
}

MessageInfo info_row(const Account& acc, detail::Stmt& s, const ListOptions& options) {
    MessageInfo m;
    m.uid = static_cast<std::uint32_t>(s.int64(0));
    m.modseq = static_cast<std::uint64_t>(s.int64(1));
    m.flags = static_cast<std::uint32_t>(s.int64(2));
    m.keywords = split_keywords(s.text(3));
    m.internal_date = from_unix(s.int64(4));
    m.save_date = from_unix(s.int64(5));
    m.size = static_cast<std::uint64_t>(s.int64(6));
    if (options.path) {
        m.path = file_path(acc, s, 7);
    }
    m.email_id = s.text(8);
    if (options.structure) {
        m.structure = s.blob(9);
    }
    if (options.cache) {
        m.cache = s.blob(10);
    }
    if (options.structure_cache) {
        m.structure_cache = s.blob(11);
    }
    return m;
}

// ListOptions::narrow: the narrow rows (uid, modseq, flags, keywords) from `from_uid` on, in
// the table's UID order (from the covering index messages_unseen for the unseen ones only).
Status for_each_narrow(
    detail::Db& db,
    std::int64_t mailbox_id,
    std::uint32_t from_uid,
    bool unseen_only,
    const std::function<Status(const MessageRow&)>& on_row
) {
    auto s = db.prepare(
        unseen_only ? "SELECT uid, modseq, flags, keywords FROM messages "
                      "WHERE mailbox_id = ?1 AND uid >= ?2 AND (flags & 1) = 0 ORDER BY uid"
                    : "SELECT uid, modseq, flags, keywords FROM messages "
                      "WHERE mailbox_id = ?1 AND uid >= ?2 ORDER BY uid"
    );
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    scope->bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(from_uid));
    MessageRow m;
    while (scope->step()) {
        m.uid = static_cast<std::uint32_t>(scope->int64(0));
        m.modseq = static_cast<std::uint64_t>(scope->int64(1));
        m.flags = static_cast<std::uint32_t>(scope->int64(2));
        m.keywords = column_view(*scope, 3);
        if (auto st = on_row(m); !st) {
            return st;
        }
    }
    return scope->error();
}

Result<std::vector<MessageInfo>> list_narrow(
    detail::Db& db,
    std::int64_t mailbox_id,
    std::uint32_t from_uid,
    bool unseen_only,
    std::size_t expected
) {
    std::vector<MessageInfo> out;
    out.reserve(expected);
    auto st = for_each_narrow(db, mailbox_id, from_uid, unseen_only, [&](const MessageRow& row) {
        MessageInfo& m = out.emplace_back();
        m.uid = row.uid;
        m.modseq = row.modseq;
        m.flags = row.flags;
        if (!row.keywords.empty()) {
            m.keywords = split_keywords(row.keywords);
        }
        return Status{};
    });
    if (!st) {
        return st.error();
    }
    return out;
}

// for_each_message with ListOptions::narrow and the render cache's second part alone (FETCH
// 1:* BODYSTRUCTURE), for a dense set: the entries come from one scan of render_structure in UID
// order, with no join to the messages. The messages without one (not fetched yet, or COPY's
// new ones) are read from the messages in between, so the rows still come in UID order. An
// entry's message exists (the triggers of schema.cpp), so the scan never lists an expunged one.
Status for_each_structure_entry(
    detail::Db& db,
    std::int64_t mailbox_id,
    std::span<const std::uint32_t> sorted,
    bool structure_if_missing,
    MessageRow& m,
    const std::function<Status(const MessageRow&)>& on_row
) {
    const auto without_entry = [&](std::span<const std::uint32_t> uids) -> Status {
        if (uids.empty()) {
            return {};
        }
        return detail::for_each_listed(
            db,
            mailbox_id,
            uids,
            structure_if_missing
                ? "uid, (SELECT structure FROM message_data WHERE id = messages.id)"
                : "uid",
            [&](detail::Stmt& row) -> Status {
                m.uid = static_cast<std::uint32_t>(row.int64(0));
                m.structure = structure_if_missing ? blob_view(row, 1) : std::string_view();
                m.structure_cache = {};
                return on_row(m);
            }
        );
    };
    // The first wanted UID not listed yet: those below an entry's UID have no entry.
    auto next = sorted.begin();
    auto st = detail::for_each_listed(
        db,
        mailbox_id,
        sorted,
        "uid, entry",
        [&](detail::Stmt& row) -> Status {
            const auto uid = static_cast<std::uint32_t>(row.int64(0));
            const auto first_missing = next;
            while (*next < uid) {  // uid is one of `sorted`: for_each_listed lists no other
                ++next;
            }
            if (auto gap = without_entry({first_missing, next}); !gap) {
                return gap;
            }
            ++next;
            m.uid = uid;
            m.structure = {};
            m.structure_cache = blob_view(row, 1);
            return on_row(m);
        },
        nullptr,
        "render_structure"
    );
    if (!st) {
        return st;
    }
    return without_entry({next, sorted.end()});
}

}  // namespace

// messages is WITHOUT ROWID (schema.cpp, migrate_to_v7): the id the rowid gave is taken as
// max(id) + 1 here, a seek to the end of the UNIQUE index on id.
Result<std::int64_t> detail::insert_message_row(Db& db, const NewMessageRow& row) {
    auto s = db.prepare(
        "INSERT INTO messages(id, mailbox_id, uid, modseq, flags, keywords, internal_date, "
        "save_date, size, file, email_id, thread_id, text_id) "
        "VALUES ((SELECT coalesce(max(id), 0) + 1 FROM messages), ?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, ?9, ?10, ?11, ?12) RETURNING id"
    );
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    scope->bind(1, row.mailbox_id)
        .bind(2, row.uid)
        .bind(3, row.modseq)
        .bind(4, row.flags)
        .bind(5, row.keywords)
        .bind(6, row.internal_date)
        .bind(7, row.save_date)
        .bind(8, row.size)
        .bind(9, row.file)
        .bind(10, row.email_id);
    if (row.thread_id) {
        scope->bind(11, *row.thread_id);
    }
    if (row.text_id) {
        scope->bind(12, *row.text_id);
    }
    const bool inserted = scope->step();
    if (auto st = scope->error(); !st) {
        return st.error();
    }
    if (!inserted) {
        return Errc::Io;  // RETURNING gives the row of every insertion
    }
    const std::int64_t id = scope->int64(0);
    (void)scope->step();  // runs the statement to its end
    if (auto st = scope->error(); !st) {
        return st.error();
    }
    return id;
}

std::vector<std::uint32_t> detail::sorted_unique(const std::vector<std::uint32_t>& uids) {
    std::vector<std::uint32_t> out = uids;
    if (!std::is_sorted(out.begin(), out.end())) {
        std::sort(out.begin(), out.end());
    }
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

bool detail::worth_a_range_scan(std::span<const std::uint32_t> sorted) {
    // A range scan reads at most `span` rows in index order; point lookups cost a B-tree
    // descent each. Dense sets (1:*, ranges) scan, scattered ones look up.
    const std::uint64_t span = std::uint64_t{sorted.back()} - sorted.front() + 1;
    return span <= sorted.size() * 4 + 64;
}

Status detail::for_each_listed(
    Db& db,
    std::int64_t mailbox_id,
    std::span<const std::uint32_t> sorted,
    std::string_view columns,
    const std::function<Status(Stmt&)>& on_row,
    ListedScan* scan,
    std::string_view from
) {
    if (scan != nullptr) {
        *scan = {};
    }
    if (sorted.empty()) {
        return {};
    }
    if (worth_a_range_scan(sorted)) {
        auto s = db.prepare(
            "SELECT " + std::string(columns) + " FROM " + std::string(from) +
            " WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid"
        );
        if (!s) {
            return s.error();
        }
        StmtScope scope(**s);
        scope->bind(1, mailbox_id)
            .bind(2, static_cast<std::int64_t>(sorted.front()))
            .bind(3, static_cast<std::int64_t>(sorted.back()));
        auto want = sorted.begin();
        bool complete = true;
        while (scope->step()) {
            const auto uid = static_cast<std::uint32_t>(scope->int64(0));
            // Rows come in UID order: the wanted UID is the next one or a few further (a
            // binary search per row was 4 % of FETCH 1:* BODYSTRUCTURE's instructions).
            while (want != sorted.end() && *want < uid) {
                ++want;
            }
            if (want == sorted.end()) {
                break;
            }
            if (*want != uid) {
                complete = false;  // a row in the range that was not asked for
                continue;
            }
            if (auto st = on_row(*scope); !st) {
                return st;
            }
        }
        if (scan != nullptr) {
            scan->range = true;
            scan->complete = complete;
        }
        return scope->error();
    }
    auto s = db.prepare(
        "SELECT " + std::string(columns) + " FROM " + std::string(from) +
        " WHERE mailbox_id = ?1 AND uid = ?2"
    );
    if (!s) {
        return s.error();
    }
    for (std::uint32_t uid : sorted) {
        StmtScope scope(**s);
        if (scope->bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(uid)).step()) {
            if (auto st = on_row(*scope); !st) {
                return st;
            }
        } else if (auto st = scope->error(); !st) {
            return st;
        }
    }
    return {};
}

Result<std::vector<MessageInfo>> Store::list_messages(
    std::string_view account, MailboxKey mailbox, std::uint32_t from_uid, ListOptions options
) {
    return StoreOps::with_reader(
        *impl_,
        account,
        [&](Account& acc, detail::Db& db) -> Result<std::vector<MessageInfo>> {
            auto mb = find_mailbox(db, mailbox);
            if (!mb) {
                return mb.error();
            }
            if (options.narrow) {
                return list_narrow(
                    db,
                    mb->id,
                    from_uid,
                    options.unseen_only,
                    options.unseen_only ? mb->unseen : mb->messages
                );
            }
            const CacheColumns cache = cache_columns(options);
            auto s = db.prepare(
                "SELECT " + info_columns(cache) + " FROM " + cache.from +
                " WHERE mailbox_id = ?1 AND uid >= ?2" +
                (options.unseen_only ? " AND (flags & 1) = 0" : "") + " ORDER BY uid"
            );
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            scope->bind(1, mb->id).bind(2, static_cast<std::int64_t>(from_uid));
            std::vector<MessageInfo> out;
            out.reserve(options.unseen_only ? mb->unseen : mb->messages);
            while (scope->step()) {
                out.push_back(info_row(acc, *scope, options));
            }
            if (auto st = scope->error(); !st) {
                return st.error();
            }
            return out;
        }
    );
}

Status Store::for_each_flags(
    std::string_view account,
    MailboxKey mailbox,
    std::uint32_t from_uid,
    bool unseen_only,
    const std::function<Status(const MessageRow&)>& on_row
) {
    return StoreOps::with_reader(*impl_, account, [&](Account&, detail::Db& db) -> Status {
        auto mb = find_mailbox(db, mailbox);
        if (!mb) {
            return mb.error();
        }
        return for_each_narrow(db, mb->id, from_uid, unseen_only, on_row);
    });
}

Result<std::vector<MessageInfo>> Store::get_messages(
    std::string_view account,
    MailboxKey mailbox,
    const std::vector<std::uint32_t>& uids,
    ListOptions options
) {
    const auto sorted = detail::sorted_unique(uids);
    return StoreOps::with_reader(
        *impl_,
        account,
        [&](Account& acc, detail::Db& db) -> Result<std::vector<MessageInfo>> {
            auto mb = find_mailbox(db, mailbox);
            if (!mb) {
                return mb.error();
            }
            std::vector<MessageInfo> out;
            out.reserve(std::min<std::size_t>(sorted.size(), mb->messages));
            const CacheColumns cache = cache_columns(options);
            auto st = detail::for_each_listed(
                db,
                mb->id,
                sorted,
                info_columns(cache),
                [&](detail::Stmt& row) -> Status {
                    out.push_back(info_row(acc, row, options));
                    return {};
                },
                nullptr,
                cache.from
            );
            if (!st) {
                return st.error();
            }
            return out;
        }
    );
}

Status Store::for_each_message(
    std::string_view account,
    MailboxKey mailbox,
    const std::vector<std::uint32_t>& uids,
    ListOptions options,
    const std::function<Status(const MessageRow&)>& on_row
) {
    const auto sorted = detail::sorted_unique(uids);
    return StoreOps::with_reader(*impl_, account, [&](Account& acc, detail::Db& db) -> Status {
        auto mb = find_mailbox(db, mailbox);
        if (!mb) {
            return mb.error();
        }
        MessageRow m;
        m.dir = acc.dir.native();
        m.dir_fd = acc.dir_fd.get();
        const bool structure_entry_only = options.narrow && options.structure_cache &&
                                          !options.cache && !options.flags &&
                                          (!options.structure || options.structure_if_uncached);
        if (structure_entry_only && !sorted.empty() && detail::worth_a_range_scan(sorted)) {
            return for_each_structure_entry(db, mb->id, sorted, options.structure, m, on_row);
        }
        const CacheColumns cache = cache_columns(options);
        if (options.narrow) {
            const NarrowColumns columns = narrow_columns(options, cache);
            return detail::for_each_listed(
                db,
                mb->id,
                sorted,
                columns.select,
                [&](detail::Stmt& row) -> Status {
                    m.uid = static_cast<std::uint32_t>(row.int64(0));
                    if (columns.flags > 0) {
                        m.modseq = static_cast<std::uint64_t>(row.int64(columns.flags));
                        m.flags = static_cast<std::uint32_t>(row.int64(columns.flags + 1));
                        m.keywords = column_view(row, columns.flags + 2);
                    }
                    if (columns.structure > 0) {
                        m.structure = blob_view(row, columns.structure);
                    }
                    if (columns.cache > 0) {
                        m.cache = blob_view(row, columns.cache);
                    }
                    if (columns.structure_cache > 0) {
                        m.structure_cache = blob_view(row, columns.structure_cache);
                    }
                    return on_row(m);
                },
                nullptr,
                cache.from
            );
        }
        return detail::for_each_listed(
            db,
            mb->id,
            sorted,
            info_columns(cache),
            [&](detail::Stmt& row) -> Status {
                m.uid = static_cast<std::uint32_t>(row.int64(0));
                m.modseq = static_cast<std::uint64_t>(row.int64(1));
                m.flags = static_cast<std::uint32_t>(row.int64(2));
                m.keywords = column_view(row, 3);
                m.internal_date = from_unix(row.int64(4));
                m.save_date = from_unix(row.int64(5));
                m.size = static_cast<std::uint64_t>(row.int64(6));
                m.file = column_view(row, 7);
                m.email_id = column_view(row, 8);
                m.structure = options.structure ? blob_view(row, 9) : std::string_view();
                m.cache = options.cache ? blob_view(row, 10) : std::string_view();
                m.structure_cache =
                    options.structure_cache ? blob_view(row, 11) : std::string_view();
                return on_row(m);
            },
            nullptr,
            cache.from
        );
    });
}

Status Store::set_render_cache(
    std::string_view account, MailboxKey mailbox, const std::vector<RenderCache>& entries
) {
    if (entries.empty()) {
        return {};
    }
    return StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto mb = find_mailbox(acc, mailbox);
        if (!mb) {
            return mb.error();
        }
        detail::RelaxedSync relaxed(acc.db);  // derived data: see the header
        auto stored = StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            auto first = acc.db.prepare(
                "UPDATE message_data SET cache = ?1 WHERE id = "
                "(SELECT id FROM messages WHERE mailbox_id = ?2 AND uid = ?3)"
            );
            if (!first) {
                return first.error();
            }
            auto second = acc.db.prepare(
                "INSERT OR REPLACE INTO render_structure(mailbox_id, uid, entry) "
                "SELECT mailbox_id, uid, ?1 FROM messages WHERE mailbox_id = ?2 AND uid = ?3"
            );
            if (!second) {
                return second.error();
            }
            for (const RenderCache& e : entries) {
                for (auto [stmt, data] :
                     {std::pair{*first, std::string_view(e.cache)},
                      std::pair{*second, std::string_view(e.structure_cache)}}) {
                    if (data.empty()) {
                        continue;
                    }
                    StmtScope scope(*stmt);
                    auto st = scope->bind_blob(1, data)
                                  .bind(2, mb->id)
                                  .bind(3, static_cast<std::int64_t>(e.uid))
                                  .run();
                    if (!st) {
                        return st;
                    }
                }
            }
            return {};
        });
        // Many entries (the first FETCH of a large mailbox) leave up to a WAL's worth of
        // message_data pages (auto-checkpoint: 1,000) that readers then pread() from the WAL
        // instead of the mapped database: FETCH 1:* BODYSTRUCTURE took 60 % longer until the
        // next checkpoint. Once the WAL is fully copied back, readers ignore it. A failure
        // (a reader holding an old snapshot) only leaves it for the next checkpoint.
        constexpr std::size_t kCheckpointAfter = 256;
        if (stored && entries.size() >= kCheckpointAfter) {
            (void)acc.db.exec("PRAGMA wal_checkpoint(PASSIVE)");
        }
        return stored;
    });
}

Result<std::string> Store::read_message(
    std::string_view account, MailboxKey mailbox, std::uint32_t uid
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

namespace {

struct FlagRow {
    std::uint32_t uid = 0;
    std::uint32_t flags = 0;
    std::string keywords;  // as stored
    std::uint64_t modseq = 0;
};

// The new keyword string of a row, or nullopt when the change cannot touch keywords.
std::optional<std::string> new_keywords(
    const FlagChange& change, const std::vector<std::string>& change_kw, const std::string& old
) {
    switch (change.mode) {
        case FlagChange::Mode::Replace:
            return join_keywords(change_kw);
        case FlagChange::Mode::Add: {
            if (change_kw.empty()) {
                return std::nullopt;
            }
            auto kw = split_keywords(old);
            kw.insert(kw.end(), change_kw.begin(), change_kw.end());
            return join_keywords(normalize_keywords(std::move(kw)));
        }
        case FlagChange::Mode::Remove: {
            if (change_kw.empty()) {
                return std::nullopt;
            }
            auto kw = split_keywords(old);
            std::erase_if(kw, [&](const std::string& k) {
                return std::binary_search(change_kw.begin(), change_kw.end(), k);
            });
            return join_keywords(kw);
        }
    }
    return std::nullopt;
}

std::uint32_t new_flags(const FlagChange& change, std::uint32_t old) {
    const std::uint32_t f = change.flags & flag::kAll;
    switch (change.mode) {
        case FlagChange::Mode::Replace:
            return f;
        case FlagChange::Mode::Add:
            return old | f;
        case FlagChange::Mode::Remove:
            return old & ~f;
    }
    return old;
}

// The same change as one statement over uid BETWEEN ?3 AND ?4 (every row in it was listed):
// SQLite then walks the rows once, in the table's own (mailbox_id, uid) order, and changes each
// as it finds it, instead of seeking each by its key.
const char* range_update_sql(FlagChange::Mode mode) {
    switch (mode) {
        case FlagChange::Mode::Replace:  // keywords as well (join_keywords of the change: ?5)
            return "UPDATE messages SET flags = ?1, keywords = ?5, modseq = ?2 "
                   "WHERE mailbox_id = ?6 AND uid BETWEEN ?3 AND ?4 "
                   "AND (flags != ?1 OR keywords != ?5)";
        case FlagChange::Mode::Add:
            return "UPDATE messages SET flags = flags | ?1, modseq = ?2 "
                   "WHERE mailbox_id = ?6 AND uid BETWEEN ?3 AND ?4 AND (flags | ?1) != flags";
        case FlagChange::Mode::Remove:
            return "UPDATE messages SET flags = flags & ~?1, modseq = ?2 "
                   "WHERE mailbox_id = ?6 AND uid BETWEEN ?3 AND ?4 AND (flags & ?1) != 0";
    }
    return "";
}

// The UID ranges of the changed rows for the flag-change log: rows next to each other in the
// listing form one range (no unchanged message between them). A scattered change is logged as
// one range over all of it rather than as thousands of rows.
std::vector<detail::UidRun> changed_runs(
    const std::vector<FlagRow>& rows, const std::vector<std::size_t>& changed
) {
    constexpr std::size_t kMaxRuns = 64;
    std::vector<detail::UidRun> runs;
    for (std::size_t n = 0; n < changed.size(); ++n) {
        const std::uint32_t uid = rows[changed[n]].uid;
        if (n > 0 && changed[n] == changed[n - 1] + 1) {
            runs.back().last = uid;
        } else {
            runs.push_back({uid, uid});
        }
    }
    if (runs.size() > kMaxRuns) {
        runs = {{runs.front().first, runs.back().last}};
    }
    return runs;
}

}  // namespace

Result<std::vector<FlagState>> Store::update_flags(
    std::string_view account,
    MailboxKey mailbox,
    const std::vector<std::uint32_t>& uids,
    const FlagChange& change
) {
    const auto change_kw = normalize_keywords(change.keywords);
    const auto sorted = detail::sorted_unique(uids);
    std::string changed_mailbox;
    auto result = StoreOps::with_account(
        *impl_,
        account,
        [&](Account& acc) -> Result<std::vector<FlagState>> {
            auto mb = find_mailbox(acc, mailbox);
            if (!mb) {
                return mb.error();
            }
            std::vector<FlagState> out;
            bool any_changed = false;
            // Flag changes are not message deliveries (ARCHITECTURE.md §4 covers those): their
            // commit skips the WAL fsync, which would otherwise hold the account lock (every
            // other STORE, APPEND and SELECT of the account waits) for a disk flush per STORE.
            // A power failure may undo the last flag changes; the index stays consistent, and
            // the next durable commit syncs them. Dovecot does not sync its index for flags
            // either.
            detail::RelaxedSync relaxed(acc.db);
            auto st = StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
                out.clear();
                any_changed = false;
                std::vector<FlagRow> rows;
                rows.reserve(sorted.size());
                detail::ListedScan scan;
                auto listed = detail::for_each_listed(
                    acc.db,
                    mb->id,
                    sorted,
                    "uid, flags, keywords, modseq",
                    [&](detail::Stmt& row) -> Status {
                        rows.push_back(
                            {static_cast<std::uint32_t>(row.int64(0)),
                             static_cast<std::uint32_t>(row.int64(1)),
                             row.text(2),
                             static_cast<std::uint64_t>(row.int64(3))}
                        );
                        return {};
                    },
                    &scan
                );
                if (!listed) {
                    return listed;
                }
                std::int64_t highest = 0;
                {
                    auto s = acc.db.prepare("SELECT highest_modseq FROM mailboxes WHERE id = ?1");
                    if (!s) {
                        return s.error();
                    }
                    StmtScope scope(**s);
                    if (!scope->bind(1, mb->id).step()) {
                        return scope->error() ? Status(Errc::NotFound) : scope->error();
                    }
                    highest = scope->int64(0);
                }
                // RFC 7162 §3.1: each STORE gets a mod-sequence above every one before; the
                // messages it changes share it (as one transaction, like Dovecot's).
                const std::int64_t modseq = highest + 1;
                std::int64_t changed = 0;
                std::int64_t unseen_delta = 0;
                std::int64_t deleted_delta = 0;
                std::vector<std::size_t> changed_rows;
                out.reserve(rows.size());
                for (std::size_t i = 0; i < rows.size(); ++i) {
                    const FlagRow& r = rows[i];
                    FlagState fs_;
                    fs_.uid = r.uid;
                    fs_.modseq = r.modseq;
                    fs_.flags = new_flags(change, r.flags);
                    auto kw = new_keywords(change, change_kw, r.keywords);
                    const bool kw_changed = kw && *kw != r.keywords;
                    fs_.keywords = split_keywords(kw ? *kw : r.keywords);
                    if (fs_.flags != r.flags || kw_changed) {
                        fs_.modseq = static_cast<std::uint64_t>(modseq);
                        fs_.changed = true;
                        ++changed;
                        changed_rows.push_back(i);
                        // Derived counts (STATUS UNSEEN), kept in the same transaction.
                        unseen_delta += ((fs_.flags & flag::kSeen) == 0 ? 1 : 0) -
                                        ((r.flags & flag::kSeen) == 0 ? 1 : 0);
                        deleted_delta += ((fs_.flags & flag::kDeleted) != 0 ? 1 : 0) -
                                         ((r.flags & flag::kDeleted) != 0 ? 1 : 0);
                    }
                    out.push_back(std::move(fs_));
                }
                if (changed == 0) {
                    return {};
                }
                any_changed = true;
                const bool keywords_vary =
                    change.mode != FlagChange::Mode::Replace && !change_kw.empty();
                if (scan.range && scan.complete && !keywords_vary) {
                    auto s = acc.db.prepare(range_update_sql(change.mode));
                    if (!s) {
                        return s.error();
                    }
                    StmtScope scope(**s);
                    scope->bind(1, static_cast<std::int64_t>(change.flags & flag::kAll))
                        .bind(2, modseq)
                        .bind(3, static_cast<std::int64_t>(sorted.front()))
                        .bind(4, static_cast<std::int64_t>(sorted.back()))
                        .bind(6, mb->id);
                    if (change.mode == FlagChange::Mode::Replace) {
                        scope->bind(5, join_keywords(change_kw));
                    }
                    if (auto e = scope->run(); !e) {
                        return e;
                    }
                    if (acc.db.changes() != changed) {
                        // Cannot happen under the account lock; never report a wrong state.
                        log::error(
                            "store.flags_mismatch",
                            {{"account", acc.name}, {"expected", changed}, {"got", acc.db.changes()}
                            }
                        );
                        return Errc::Corrupt;
                    }
                } else {
                    auto upd = acc.db.prepare(
                        "UPDATE messages SET flags = ?1, keywords = ?2, modseq = ?3 "
                        "WHERE mailbox_id = ?5 AND uid = ?4"
                    );
                    if (!upd) {
                        return upd.error();
                    }
                    for (std::size_t i : changed_rows) {
                        StmtScope scope(**upd);
                        auto e = scope->bind(1, static_cast<std::int64_t>(out[i].flags))
                                     .bind(2, join_keywords(out[i].keywords))
                                     .bind(3, modseq)
                                     .bind(4, static_cast<std::int64_t>(rows[i].uid))
                                     .bind(5, mb->id)
                                     .run();
                        if (!e) {
                            return e;
                        }
                    }
                }
                if (auto logged = detail::log_flag_changes(
                        acc.db, mb->id, modseq, changed_runs(rows, changed_rows)
                    );
                    !logged) {
                    return logged;
                }
                auto s = acc.db.prepare(
                    "UPDATE mailboxes SET highest_modseq = ?1, unseen_count = unseen_count + ?2, "
                    "deleted_count = deleted_count + ?3 WHERE id = ?4"
                );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                return scope->bind(1, modseq)
                    .bind(2, unseen_delta)
                    .bind(3, deleted_delta)
                    .bind(4, mb->id)
                    .run();
            });
            if (!st) {
                return st.error();
            }
            if (any_changed) {
                changed_mailbox = mb->name;
            }
            return out;
        }
    );
    if (result && !changed_mailbox.empty()) {
        impl_->notify(std::string(account), changed_mailbox);
    }
    return result;
}

Result<std::vector<std::uint32_t>> Store::expunge(
    std::string_view account, MailboxKey mailbox, std::optional<std::vector<std::uint32_t>> uids
) {
    std::vector<fs::path> files;
    std::vector<std::uint32_t> removed;
    std::string mailbox_name;
    std::vector<std::uint32_t> wanted;
    if (uids) {
        wanted = detail::sorted_unique(*uids);
    }
    auto st = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto mb = find_mailbox(acc, mailbox);
        if (!mb) {
            return mb.error();
        }
        mailbox_name = mb->name;
        return StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            files.clear();
            removed.clear();
            std::vector<std::int64_t> ids;
            std::int64_t bytes = 0;
            std::int64_t unseen = 0;
            {
                // The partial index messages_deleted, named: SQLite would rather walk the
                // mailbox's rows in the table's own order (it has no statistics to tell how few
                // are \Deleted). Its condition `(flags & 8) != 0` must appear literally.
                auto s = acc.db.prepare(
                    "SELECT uid, id, file, size, flags FROM messages INDEXED BY messages_deleted "
                    "WHERE mailbox_id = ?1 AND (flags & 8) != 0 ORDER BY uid"
                );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                scope->bind(1, mb->id);
                while (scope->step()) {
                    auto uid = static_cast<std::uint32_t>(scope->int64(0));
                    if (uids && !std::binary_search(wanted.begin(), wanted.end(), uid)) {
                        continue;
                    }
                    removed.push_back(uid);
                    ids.push_back(scope->int64(1));
                    files.push_back(acc.dir / scope->text(2));
                    bytes += scope->int64(3);
                    unseen += (scope->int64(4) & flag::kSeen) == 0 ? 1 : 0;
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
                    "message_count = message_count - ?1, total_size = total_size - ?2, "
                    "deleted_count = deleted_count - ?1, unseen_count = unseen_count - ?4 "
                    "WHERE id = ?3 RETURNING highest_modseq"
                );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                scope->bind(1, static_cast<std::int64_t>(removed.size()))
                    .bind(2, bytes)
                    .bind(3, mb->id)
                    .bind(4, unseen);
                if (scope->step()) {
                    modseq = scope->int64(0);
                }
                if (auto e = scope->run(); !e) {
                    return e;
                }
            }
            auto del = acc.db.prepare("DELETE FROM messages WHERE id = ?1");
            auto tomb = acc.db.prepare(
                "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)"
            );
            if (!del || !tomb) {
                return !del ? del.error() : tomb.error();
            }
            for (std::size_t i = 0; i < removed.size(); ++i) {
                {
                    StmtScope scope(**del);
                    if (auto e = scope->bind(1, ids[i]).run(); !e) {
                        return e;
                    }
                }
                StmtScope scope(**tomb);
                auto e = scope->bind(1, mb->id)
                             .bind(2, static_cast<std::int64_t>(removed[i]))
                             .bind(3, modseq)
                             .run();
                if (!e) {
                    return e;
                }
            }
            return detail::release_usage(acc, bytes, static_cast<std::int64_t>(removed.size()));
        });
    });
    if (!st) {
        return st.error();
    }
    if (!removed.empty()) {
        // Rows first, files after the commit (see the header).
        for (const auto& f : files) {
            detail::remove_file(f);
        }
        impl_->schedule_maintenance(std::string(account));  // text rows to remove
        impl_->notify(std::string(account), mailbox_name);
    }
    return removed;
}

Result<Changes> Store::changes_since(
    std::string_view account,
    MailboxKey mailbox,
    std::uint64_t since_modseq,
    ListOptions /*options*/
) {
    return StoreOps::with_reader(*impl_, account, [&](Account&, detail::Db& db) -> Result<Changes> {
        auto mb = find_mailbox(db, mailbox);
        if (!mb) {
            return mb.error();
        }
        Changes out;
        out.highest_modseq = mb->highest_modseq;
        out.uid_next = mb->uid_next;
        out.uid_validity = mb->uid_validity;
        const auto since = static_cast<std::int64_t>(
            std::min<std::uint64_t>(since_modseq, std::numeric_limits<std::int64_t>::max())
        );
        // Every change (flags, expunge, delivery, copy) raises the mailbox's highest_modseq to
        // its own mod-sequence: nothing above it means nothing changed. The poll after every
        // IMAP command ends here.
        if (mb->highest_modseq <= since_modseq) {
            return out;
        }
        if (auto st = detail::changed_since(
                db, mb->id, since, static_cast<std::int64_t>(mb->highest_modseq), out.changed
            );
            !st) {
            return st.error();
        }
        auto s =
            db.prepare("SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid"
            );
        if (!s) {
            return s.error();
        }
        StmtScope scope(**s);
        scope->bind(1, mb->id).bind(2, since);
        while (scope->step()) {
            out.expunged.push_back(static_cast<std::uint32_t>(scope->int64(0)));
        }
        if (auto st = scope->error(); !st) {
            return st.error();
        }
        return out;
    });
}

}  // namespace sov::store
