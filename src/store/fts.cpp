// The full-text index (IMAP SEARCH BODY/TEXT): queries, and the maintenance thread that keeps
// the index: it indexes new messages and removes rows no message refers to any more.
//
// Where and when. An FTS5 row with the trigram tokenizer and detail=full costs ~300 ns a
// character to insert on our test machine (6 ms for 20 KB of text), and as much to delete (the
// text is re-tokenized). Done in the delivery commit, that cut delivery throughput 3x for 4 KB
// messages and 8x for 100 KB ones (one committer thread); done in EXPUNGE, emptying a big Trash
// would hold the account lock for a minute. So:
// - The index is its own database, <account>/text.db, with its own connection: its slow writes
//   never hold the account lock or index.db's write lock. It is derived data: deleting it makes
//   the store rebuild it.
// - Deliveries commit with messages.text_id NULL and schedule the account on the maintenance
//   thread, which reads the files, runs StoreOptions::text_of and inserts the rows in batches
//   (large transactions also merge FTS5 segments far less often), then records the rowids in
//   index.db with short statements under the account lock.
// - Copies share the source's row (text_id), MOVE keeps it; deleting the last message that
//   refers to a row lists it in text_garbage (a trigger, schema.cpp) and the maintenance thread
//   deletes it from text.db. Rowids come from a counter in text.db and are never reused, so a
//   listed row can never belong to another message.
// Searches stay exact meanwhile: a message without a row is a candidate of every search, and
// the caller verifies candidates.
//
// Crash safety: text.db commits with synchronous=FULL before index.db records a rowid, so a
// recorded rowid exists (check_text_index repairs the rest, e.g. a text.db deleted by hand);
// index.db's text bookkeeping commits without fsync (lost: indexed again, the orphan row is
// found by check_text_index).
#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"
#include "store/store.hpp"

namespace sov::store {

namespace fs = std::filesystem;
using detail::Account;
using detail::Db;
using detail::find_mailbox;
using detail::StmtScope;
using detail::StoreOps;

namespace {

// A batch: messages decoded outside any lock and inserted in one text.db transaction, bounded
// by count and by text size (memory, and how long text.db's write lock is held: ~0.6 s).
constexpr std::size_t kBatchMessages = 256;
constexpr std::size_t kBatchText = 2 * 1024 * 1024;
constexpr std::size_t kGarbageBatch = 256;
// Between background batches: indexing competes with deliveries for the CPU only, so it yields
// longer while deliveries wait.
constexpr auto kIdlePause = std::chrono::milliseconds(1);
constexpr auto kBusyPause = std::chrono::milliseconds(50);

constexpr const char* kTextSchema = R"sql(
-- The trigram tokenizer indexes every 3-character substring, case folded. detail=none keeps
-- no positions: two thirds of detail=full's insert cost and a third of its size. A search is
-- then the AND of the needle's trigrams, over both columns (no column filters either): its
-- hits are candidates, which the caller verifies against the message anyway.
CREATE VIRTUAL TABLE IF NOT EXISTS message_text USING fts5(
    headers, body, tokenize = 'trigram', detail = none, columnsize = 0
);
-- The next rowid: never reused, so a row listed as garbage is never another message's.
CREATE TABLE IF NOT EXISTS text_meta(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_id INTEGER NOT NULL
);
INSERT OR IGNORE INTO text_meta(id, next_id) VALUES (1, 1);
)sql";

fs::path text_path(const fs::path& dir) {
    return dir / "text.db";
}

Status open_text_writer(const fs::path& dir, Db& db) {
    if (db.is_open()) {
        return {};
    }
    if (auto st = db.open(text_path(dir), true); !st) {
        return st;
    }
    auto st =
        db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA mmap_size=268435456;");
    if (st) {
        st = db.exec(kTextSchema);
    }
    if (!st) {
        db.close();
    }
    return st;
}

// A connection for reading both files: text.db, with index.db attached as "idx". NotFound when
// there is no text.db yet (nothing was ever indexed).
Status open_text_reader(const fs::path& dir, Db& db) {
    std::error_code ec;
    if (!fs::exists(text_path(dir), ec)) {
        return Errc::NotFound;
    }
    if (auto st = db.open(text_path(dir), false); !st) {
        return st;
    }
    auto st = db.exec("PRAGMA mmap_size=268435456;");
    if (st) {
        auto s = db.prepare("ATTACH DATABASE ?1 AS idx");
        st = s ? Status() : Status(s.error());
        if (s) {
            StmtScope scope(**s);
            st = scope->bind(1, (dir / "index.db").string()).run();
        }
    }
    if (!st) {
        db.close();
    }
    return st;
}

// The trigram tokenizer needs 3 characters (code points) to use the index.
bool indexable_needle(std::string_view needle) {
    if (needle.find('\0') != std::string_view::npos || !detail::valid_utf8(needle)) {
        return false;
    }
    std::size_t chars = 0;
    for (unsigned char c : needle) {
        chars += (c & 0xc0) != 0x80 ? 1 : 0;
    }
    return chars >= 3;
}

// The FTS5 query for a needle: the AND of its trigrams (code points, which is what the trigram
// tokenizer counts), each an FTS5 string: inside double quotes everything is literal but '"',
// which is doubled. With detail=none a longer phrase cannot be matched, and the trigrams alone
// say "the needle may be in there" - enough for a candidate list.
std::string fts_query(std::string_view needle) {
    std::vector<std::size_t> starts;  // byte offset of each code point (needle is valid UTF-8)
    for (std::size_t i = 0; i < needle.size(); ++i) {
        if ((static_cast<unsigned char>(needle[i]) & 0xc0) != 0x80) {
            starts.push_back(i);
        }
    }
    starts.push_back(needle.size());
    std::vector<std::string_view> trigrams;
    for (std::size_t k = 0; k + 3 < starts.size(); ++k) {
        trigrams.push_back(needle.substr(starts[k], starts[k + 3] - starts[k]));
    }
    std::sort(trigrams.begin(), trigrams.end());
    trigrams.erase(std::unique(trigrams.begin(), trigrams.end()), trigrams.end());
    std::string q;
    for (const auto trigram : trigrams) {
        q += q.empty() ? "\"" : " AND \"";
        for (char c : trigram) {
            if (c == '"') {
                q += '"';
            }
            q += c;
        }
        q += '"';
    }
    return q;
}

// Whether text.db was made by this version's schema. An older one (detail=full) is derived
// data: it is deleted and the maintenance thread indexes every message again.
bool text_index_current(const fs::path& dir) {
    Db db;
    if (!db.open(text_path(dir), false)) {
        return false;
    }
    auto s = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'message_text'");
    if (!s) {
        return false;
    }
    StmtScope scope(**s);
    return scope->step() && scope->text(0).find("detail = none") != std::string::npos;
}

// Runs `body` in a transaction of `db` (text.db, or index.db's for the bookkeeping).
template <class F>
Status text_transaction(Db& db, F&& body) {
    if (auto st = db.begin(); !st) {
        return st;
    }
    if (auto st = body(); !st) {
        db.rollback();
        return st;
    }
    if (auto st = db.commit(); !st) {
        db.rollback();
        return st;
    }
    return {};
}

}  // namespace

Status detail::check_text_index(Account& acc, bool full, std::uint64_t* fixed) {
    std::vector<std::int64_t> orphans;
    std::vector<std::int64_t> dangling;
    Db reader;
    std::error_code ec;
    bool exists = fs::exists(text_path(acc.dir), ec);
    if (exists && !text_index_current(acc.dir)) {
        log::info("store.text_index_rebuild", {{"account", acc.name}, {"reason", "old schema"}});
        for (const char* suffix : {"", "-wal", "-shm"}) {
            fs::remove(acc.dir / (std::string("text.db") + suffix), ec);
        }
        exists = false;
    }
    if (exists && !full) {
        return {};
    }
    auto opened = exists ? open_text_reader(acc.dir, reader) : Status(Errc::NotFound);
    if (!opened && opened.error() != Errc::NotFound) {
        return opened;
    }
    if (opened) {
        for (auto [sql, out] :
             {std::pair{
                  "SELECT id FROM message_text_content WHERE id NOT IN "
                  "(SELECT text_id FROM idx.messages WHERE text_id > 0) AND id NOT IN "
                  "(SELECT text_id FROM idx.text_garbage)",
                  &orphans
              },
              std::pair{
                  "SELECT id FROM idx.messages WHERE text_id > 0 AND text_id NOT IN "
                  "(SELECT id FROM message_text_content)",
                  &dangling
              }}) {
            auto s = reader.prepare(sql);
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            while (scope->step()) {
                out->push_back(scope->int64(0));
            }
            if (auto st = scope->error(); !st) {
                return st;
            }
        }
        reader.close();
    } else {
        // No text.db: whatever index.db says about it is void.
        auto s = acc.db.prepare("SELECT id FROM messages WHERE text_id > 0");
        if (!s) {
            return s.error();
        }
        StmtScope scope(**s);
        while (scope->step()) {
            dangling.push_back(scope->int64(0));
        }
        if (auto st = scope->error(); !st) {
            return st;
        }
    }
    if (orphans.empty() && dangling.empty()) {
        return {};
    }
    log::warn(
        "store.text_index_repaired",
        {{"account", acc.name},
         {"orphan_rows", static_cast<std::int64_t>(orphans.size())},
         {"lost_rows", static_cast<std::int64_t>(dangling.size())}}
    );
    if (fixed != nullptr) {
        *fixed += orphans.size() + dangling.size();
    }
    auto body = [&]() -> Status {
        for (std::int64_t id : orphans) {
            auto s = acc.db.prepare("INSERT OR IGNORE INTO text_garbage(text_id) VALUES (?1)");
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            if (auto st = scope->bind(1, id).run(); !st) {
                return st;
            }
        }
        for (std::int64_t id : dangling) {
            // `id` is a message row here when text.db is gone, a text rowid otherwise.
            auto s = acc.db.prepare(
                opened ? "UPDATE messages SET text_id = NULL WHERE text_id = ?1"
                       : "UPDATE messages SET text_id = NULL WHERE id = ?1"
            );
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            if (auto st = scope->bind(1, id).run(); !st) {
                return st;
            }
        }
        if (!opened) {
            return acc.db.exec("DELETE FROM text_garbage");
        }
        return {};
    };
    // Inside the caller's transaction (recover) or in one of our own (account open).
    if (sqlite3_get_autocommit(acc.db.raw()) == 0) {
        return body();
    }
    return text_transaction(acc.db, body);
}

Result<std::optional<std::vector<std::uint32_t>>> Store::search_text(
    std::string_view account,
    std::string_view mailbox,
    TextField /*field: the index has no columns (detail=none): BODY narrows as TEXT does*/,
    std::string_view needle
) {
    using Out = std::optional<std::vector<std::uint32_t>>;
    if (!indexable_needle(needle)) {
        return Out();
    }
    const std::string query = fts_query(needle);
    // The mailbox under the account lock; the query on a connection of its own, without it:
    // a slow search does not hold up deliveries, and reads see committed data only.
    std::int64_t mailbox_id = 0;
    fs::path dir;
    auto found = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto mb = find_mailbox(acc, mailbox);
        if (!mb) {
            return mb.error();
        }
        mailbox_id = mb->id;
        dir = acc.dir;
        return {};
    });
    if (!found) {
        return found.error();
    }
    auto acc = impl_->account(account, false, std::nullopt);
    if (!acc) {
        return acc.error();
    }
    std::lock_guard lock((*acc)->search_mu);
    Db& reader = (*acc)->search_db;
    if (!reader.is_open()) {
        if (auto st = open_text_reader(dir, reader); !st) {
            if (st.error() == Errc::NotFound) {
                return Out();  // nothing indexed yet: every message would be a candidate
            }
            return st.error();
        }
    }
    // CROSS JOIN: the match first, then the (text_id, mailbox_id, uid) index; the planner would
    // otherwise probe the match once per message of the mailbox. Messages without a text row
    // are candidates whatever the needle (partial index messages_unindexed).
    auto s = reader.prepare(
        "SELECT m.uid FROM message_text CROSS JOIN idx.messages m "
        "ON m.text_id = message_text.rowid "
        "WHERE message_text MATCH ?1 AND m.mailbox_id = ?2 "
        "UNION SELECT uid FROM idx.messages "
        "WHERE mailbox_id = ?2 AND (text_id IS NULL OR text_id < 0) "
        "ORDER BY 1"
    );
    if (!s) {
        reader.close();  // reopened next time (text.db replaced, say)
        return s.error();
    }
    StmtScope scope(**s);
    scope->bind(1, query).bind(2, mailbox_id);
    std::vector<std::uint32_t> uids;
    while (scope->step()) {
        uids.push_back(static_cast<std::uint32_t>(scope->int64(0)));
    }
    if (auto st = scope->error(); !st) {
        return st.error();
    }
    return Out(std::move(uids));
}

Result<std::uint64_t> Store::reindex_text(std::string_view account) {
    if (!impl_->opt.text_of) {
        return Errc::Invalid;
    }
    auto acc = impl_->account(account, false, std::nullopt);
    if (!acc) {
        return acc.error();
    }
    return impl_->run_text_index(**acc, false);
}

Result<std::uint64_t> Store::Impl::run_text_index(Account& acc, bool background) {
    std::lock_guard text_lock(acc.text_mu);
    Db text;  // opened on first need, closed at the end: no idle descriptors per account
    std::uint64_t indexed = 0;
    for (;;) {
        auto more = text_index_batch(acc, text, indexed);
        if (!more) {
            return more.error();
        }
        if (*more == Progress::Done) {
            return indexed;
        }
        if (background) {
            const auto pause = deliveries_pending() ? kBusyPause : kIdlePause;
            std::unique_lock lock(maintenance_mu);
            if (maintenance_cv.wait_for(lock, pause, [&] { return stop_maintenance; })) {
                return indexed;
            }
        }
    }
}

Result<Store::Impl::Progress> Store::Impl::text_index_batch(
    Account& acc, Db& text, std::uint64_t& indexed
) {
    // 1. Garbage: list (account lock), delete from text.db (no account lock), unlist.
    std::vector<std::int64_t> garbage;
    struct Todo {
        std::int64_t id = 0;
        std::string file;
        std::optional<IndexedText> text;  // nullopt: cannot be indexed
        std::int64_t text_id = detail::kTextUnindexable;
    };
    std::vector<Todo> todo;
    {
        std::lock_guard lock(acc.mu);
        if (acc.removed || !acc.db.is_open()) {
            return Errc::NotFound;
        }
        auto s = acc.db.prepare("SELECT text_id FROM text_garbage LIMIT ?1");
        if (!s) {
            return s.error();
        }
        {
            StmtScope scope(**s);
            scope->bind(1, static_cast<std::int64_t>(kGarbageBatch));
            while (scope->step()) {
                garbage.push_back(scope->int64(0));
            }
            if (auto st = scope->error(); !st) {
                return st.error();
            }
        }
        if (opt.text_of) {
            auto l = acc.db.prepare("SELECT id, file FROM messages WHERE text_id IS NULL LIMIT ?1");
            if (!l) {
                return l.error();
            }
            StmtScope scope(**l);
            scope->bind(1, static_cast<std::int64_t>(kBatchMessages));
            while (scope->step()) {
                todo.push_back({scope->int64(0), scope->text(1), std::nullopt});
            }
            if (auto st = scope->error(); !st) {
                return st.error();
            }
        }
    }
    if (garbage.empty() && todo.empty()) {
        return Progress::Done;
    }
    if (auto st = open_text_writer(acc.dir, text); !st) {
        return st.error();
    }
    if (!garbage.empty()) {
        auto st = text_transaction(text, [&]() -> Status {
            auto del = text.prepare("DELETE FROM message_text WHERE rowid = ?1");
            if (!del) {
                return del.error();
            }
            for (std::int64_t id : garbage) {
                StmtScope scope(**del);
                if (auto e = scope->bind(1, id).run(); !e) {
                    return e;
                }
            }
            return {};
        });
        if (!st) {
            return st.error();
        }
    }

    // 2. New messages: read and decode (no lock), insert into text.db.
    std::size_t text_bytes = 0;
    for (std::size_t i = 0; i < todo.size(); ++i) {
        if (text_bytes >= kBatchText) {
            todo.resize(i);  // the rest in the next batch
            break;
        }
        auto& t = todo[i];
        auto bytes = detail::read_file(acc.dir / t.file);
        if (!bytes) {
            continue;  // expunged meanwhile (skipped below), or damaged (recover())
        }
        try {
            t.text = opt.text_of(*bytes);
        } catch (const std::exception& e) {
            log::error("store.text_failed", {{"file", t.file}, {"error", e.what()}});
            continue;
        }
        const std::size_t n = t.text->headers.size() + t.text->body.size();
        if (n > detail::kMaxIndexedText) {
            t.text.reset();
            continue;
        }
        text_bytes += n;
    }
    if (text_bytes > 0) {
        auto st = text_transaction(text, [&]() -> Status {
            std::int64_t next = 0;
            {
                auto s = text.prepare("SELECT next_id FROM text_meta WHERE id = 1");
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                if (!scope->step()) {
                    return scope->error() ? Status(Errc::Corrupt) : scope->error();
                }
                next = scope->int64(0);
            }
            auto ins =
                text.prepare("INSERT INTO message_text(rowid, headers, body) VALUES (?1, ?2, ?3)");
            if (!ins) {
                return ins.error();
            }
            for (auto& t : todo) {
                if (!t.text) {
                    continue;
                }
                t.text_id = next++;
                StmtScope scope(**ins);
                auto e =
                    scope->bind(1, t.text_id).bind(2, t.text->headers).bind(3, t.text->body).run();
                if (!e) {
                    return e;
                }
            }
            auto s = text.prepare("UPDATE text_meta SET next_id = ?1 WHERE id = 1");
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            return scope->bind(1, next).run();
        });
        if (!st) {
            return st.error();
        }
    }

    // 3. Record it in index.db (account lock, short statements, no fsync: derived data).
    std::lock_guard lock(acc.mu);
    if (acc.removed || !acc.db.is_open()) {
        return Errc::NotFound;
    }
    detail::RelaxedSync relaxed(acc.db);
    std::uint64_t stored = 0;
    auto st = StoreOps::in_transaction(acc, *this, [&]() -> Status {
        stored = 0;
        auto unlist = acc.db.prepare("DELETE FROM text_garbage WHERE text_id = ?1");
        auto set = acc.db.prepare(
            "UPDATE messages SET text_id = ?1 WHERE id = ?2 AND file = ?3 AND text_id IS NULL"
        );
        auto relist = acc.db.prepare("INSERT OR IGNORE INTO text_garbage(text_id) VALUES (?1)");
        if (!unlist || !set || !relist) {
            return !unlist ? unlist.error() : !set ? set.error() : relist.error();
        }
        for (std::int64_t id : garbage) {
            StmtScope scope(**unlist);
            if (auto e = scope->bind(1, id).run(); !e) {
                return e;
            }
        }
        for (const auto& t : todo) {
            {
                // The same message (a rowid may be reused: the file name tells), still unindexed.
                StmtScope scope(**set);
                if (auto e = scope->bind(1, t.text_id).bind(2, t.id).bind(3, t.file).run(); !e) {
                    return e;
                }
            }
            if (acc.db.changes() > 0) {
                stored += t.text_id > 0 ? 1 : 0;
            } else if (t.text_id > 0) {
                StmtScope scope(**relist);  // expunged meanwhile: its new row is garbage
                if (auto e = scope->bind(1, t.text_id).run(); !e) {
                    return e;
                }
            }
        }
        return {};
    });
    if (!st) {
        return st.error();
    }
    indexed += stored;
    return Progress::More;  // the next listing says whether anything is left
}

void Store::Impl::schedule_maintenance(const std::string& account) {
    {
        std::lock_guard lock(maintenance_mu);
        maintenance_queue.insert(account);
    }
    maintenance_cv.notify_one();
}

bool Store::Impl::deliveries_pending() {
    std::lock_guard lock(queue_mu);
    return !sync_queue.empty() || !commit_queue.empty() || syncing > 0;
}

void Store::Impl::maintenance_loop() {
    for (;;) {
        std::string name;
        {
            std::unique_lock lock(maintenance_mu);
            maintenance_cv.wait(lock, [&] {
                return stop_maintenance || !maintenance_queue.empty();
            });
            if (stop_maintenance) {
                return;
            }
            name = std::move(maintenance_queue.extract(maintenance_queue.begin()).value());
        }
        auto acc = account(name, false, std::nullopt);
        if (!acc) {
            continue;
        }
        if (auto r = run_text_index(**acc, true); !r && r.error() != Errc::NotFound) {
            log::warn(
                "store.text_index_failed", {{"account", name}, {"error", r.error().message()}}
            );
        }
    }
}

}  // namespace sov::store
