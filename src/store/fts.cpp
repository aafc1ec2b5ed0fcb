// The full-text index (IMAP SEARCH BODY/TEXT): queries, and the maintenance thread that keeps
// the index: it indexes new messages and removes rows no message refers to any more.
//
// What. A trigram index of our own (text_postings.hpp): for every 3-byte substring of a
// message's folded text, the ids of the texts that have it. It replaced SQLite FTS5 with the
// trigram tokenizer, whose inserts cost ~1 ms of CPU per 4 KB message and ~130 ms per 100 KB
// one (the tokenizer's per-character callbacks and the hash of every token occurrence): more
// than the whole delivery. Collecting a message's distinct keys in a bitmap and sorting a
// batch's postings with a radix sort costs a few ns per byte.
// The postings live in segments (text_segments), each cut into blocks of ~32 KB (text_blocks),
// as in a log-structured merge tree: every batch writes a segment of level 0; four segments of
// one level are merged into one of the next, dropping the ids of deleted texts
// (text_deleted), so a mailbox of N messages has O(log N) segments and a posting is rewritten
// O(log N) times. Segments bigger than kMaxMerge are no longer merged.
//
// Where and when. Indexing is not part of the delivery commit, and deleting a text is not part
// of EXPUNGE (emptying a big Trash must not hold the account lock):
// - The index is its own database, <account>/text.db, with its own connection: its writes
//   never hold the account lock or index.db's write lock. It is derived data: deleting it makes
//   the store rebuild it.
// - Deliveries commit with messages.text_id NULL and schedule the account on the maintenance
//   thread, which reads the files, runs StoreOptions::text_of and writes a segment per batch
//   of messages, then records the ids in index.db with short statements under the account
//   lock.
// - Copies share the source's text (text_id), MOVE keeps it; deleting the last message that
//   refers to a text lists it in text_garbage (a trigger, schema.cpp) and the maintenance
//   thread moves it to text.db's text_deleted. Ids come from a counter in text.db and are
//   never reused, so a deleted id can never belong to another message, and a stale posting
//   only makes a candidate that no message refers to.
// Searches stay exact meanwhile: a message without a text id is a candidate of every search,
// and the caller verifies candidates.
//
// Crash safety: text.db commits without fsync (synchronous=NORMAL: a process crash loses
// nothing, a power loss may lose the last commits), and index.db's text bookkeeping too. So a
// recorded id may be missing from text.db after a power loss, or a text row may have no message:
// recover(), which runs at every start, calls check_text_index, which resets the first (indexed
// again) and lists the second as garbage. Fsyncs here would compete with the deliveries' own.
#include <algorithm>
#include <chrono>
#include <exception>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"
#include "store/detail/text_postings.hpp"
#include "store/detail/text_segments.hpp"
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

// The format of text.db (PRAGMA user_version); any other is rebuilt. 3: the indexed text
// (mime::folded_searchable_text) holds the display form of the address fields. 4: HTML's
// typographic named entities (&rsquo;, &ndash;, ...) are decoded, and &zwnj; / &shy; dropped, so
// an index of 3 would miss messages that SEARCH (which decodes them now) matches.
constexpr std::int64_t kTextFormat = 4;

constexpr const char* kTextSchema = R"sql(
-- One row per indexed text: its id is messages.text_id (index.db).
CREATE TABLE IF NOT EXISTS message_text(id INTEGER PRIMARY KEY);
-- The postings, as segments of blocks (text_postings.hpp); a segment holds the texts
-- min_id..max_id, older segments lower ids and a level at least as high.
CREATE TABLE IF NOT EXISTS text_segments(
    id INTEGER PRIMARY KEY,
    level INTEGER NOT NULL,
    min_id INTEGER NOT NULL,
    max_id INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS text_blocks(
    id INTEGER PRIMARY KEY,
    segment INTEGER NOT NULL,
    first_key INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS text_blocks_key ON text_blocks(segment, first_key);
-- Deleted texts whose ids are still in a segment: left out when it is merged.
CREATE TABLE IF NOT EXISTS text_deleted(id INTEGER PRIMARY KEY);
-- The next id: never reused, so a deleted id is never another message's.
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
        db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=268435456;");
    if (st) {
        st = db.exec(kTextSchema);
    }
    if (st) {
        st = db.exec(("PRAGMA user_version = " + std::to_string(kTextFormat)).c_str());
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

// Whether text.db has this version's format. An older one (an FTS5 table) is derived data: it
// is deleted and the maintenance thread indexes every message again.
bool text_index_current(const fs::path& dir) {
    Db db;
    if (!db.open(text_path(dir), false)) {
        return false;
    }
    auto s = db.prepare("PRAGMA user_version");
    if (!s) {
        return false;
    }
    StmtScope scope(**s);
    return scope->step() && scope->int64(0) == kTextFormat;
}

}  // namespace

Status detail::check_text_index(Account& acc, bool full, std::uint64_t* fixed) {
    std::vector<std::int64_t> orphans;
    std::vector<std::int64_t> dangling;
    Db reader;
    std::error_code ec;
    bool exists = fs::exists(text_path(acc.dir), ec);
    bool outdated = false;  // removed here: the references to it are expected to dangle
    if (exists && !text_index_current(acc.dir)) {
        log::info("store.text_index_rebuild", {{"account", acc.name}, {"reason", "old schema"}});
        for (const char* suffix : {"", "-wal", "-shm"}) {
            fs::remove(acc.dir / (std::string("text.db") + suffix), ec);
        }
        exists = false;
        outdated = true;
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
                  "SELECT id FROM message_text WHERE id NOT IN "
                  "(SELECT text_id FROM idx.messages WHERE text_id > 0) AND id NOT IN "
                  "(SELECT text_id FROM idx.text_garbage)",
                  &orphans
              },
              std::pair{
                  "SELECT id FROM idx.messages WHERE text_id > 0 AND text_id NOT IN "
                  "(SELECT id FROM message_text)",
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
    if (outdated) {
        log::info(
            "store.text_index_reset",
            {{"account", acc.name}, {"messages", static_cast<std::int64_t>(dangling.size())}}
        );
    } else {
        log::warn(
            "store.text_index_repaired",
            {{"account", acc.name},
             {"orphan_rows", static_cast<std::int64_t>(orphans.size())},
             {"lost_rows", static_cast<std::int64_t>(dangling.size())}}
        );
    }
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
    return in_text_transaction(acc.db, body);
}

Result<std::optional<std::vector<std::uint32_t>>> Store::search_text(
    std::string_view account,
    MailboxKey mailbox,
    TextField /*field: the index has no columns (detail=none): BODY narrows as TEXT does*/,
    std::string_view needle
) {
    using Out = std::optional<std::vector<std::uint32_t>>;
    auto keys = detail::needle_keys(needle);
    if (keys.empty()) {
        return Out();  // under 3 bytes: every message would be a candidate
    }
    // Every key narrows the candidates, but with diminishing returns; each costs a lookup per
    // segment.
    constexpr std::size_t kMaxKeys = 48;
    if (keys.size() > kMaxKeys) {
        keys.resize(kMaxKeys);
    }
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
    // One snapshot of both files: segments and blocks, and the messages they map to. SQLite
    // takes each file's snapshot when the transaction first reads it, so index.db is read first:
    // the indexer commits a text to text.db before it records the text's id in index.db, so an
    // id seen in index.db's snapshot is in text.db's later one. The other order could see the id
    // without the text, and a message delivered a moment ago would be missed.
    detail::ReadTransaction snapshot(reader);
    std::vector<std::int64_t> first_read;
    if (!snapshot.ok() ||
        !detail::select_ids(reader, "SELECT id FROM idx.mailboxes LIMIT 1", {}, first_read)) {
        reader.close();  // reopened next time (text.db replaced, say)
        return Errc::Io;
    }
    // A text.db the indexer has only just created may not have its tables yet.
    std::vector<std::int64_t> format;
    if (!detail::select_ids(reader, "PRAGMA main.user_version", {}, format) || format.empty() ||
        format[0] != kTextFormat) {
        return Out();  // every message is a candidate
    }
    auto texts = detail::candidate_texts(reader, keys);
    if (!texts) {
        log::warn("store.text_search_failed", {{"error", texts.error().message()}});
        return texts.error();
    }
    // Few candidates: look each up (index messages_text); many: read the mailbox's messages.
    // Messages without a text id are candidates whatever the needle.
    constexpr std::size_t kLookupLimit = 1000;
    std::vector<std::uint32_t> uids;
    if (texts->size() <= kLookupLimit) {
        auto one =
            reader.prepare("SELECT uid FROM idx.messages WHERE text_id = ?1 AND mailbox_id = ?2");
        if (!one) {
            return one.error();
        }
        for (detail::TextId id : *texts) {
            StmtScope scope(**one);
            scope->bind(1, id).bind(2, mailbox_id);
            while (scope->step()) {
                uids.push_back(static_cast<std::uint32_t>(scope->int64(0)));
            }
            if (auto st = scope->error(); !st) {
                return st.error();
            }
        }
        // The partial index named: SQLite would rather walk all the mailbox's rows.
        std::vector<std::int64_t> unindexed;
        auto st = detail::select_ids(
            reader,
            "SELECT uid FROM idx.messages INDEXED BY messages_unindexed "
            "WHERE mailbox_id = ?1 AND (text_id IS NULL OR text_id < 0)",
            {mailbox_id},
            unindexed
        );
        if (!st) {
            return st.error();
        }
        for (std::int64_t uid : unindexed) {
            uids.push_back(static_cast<std::uint32_t>(uid));
        }
        std::sort(uids.begin(), uids.end());
        uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    } else {
        auto all = reader.prepare(
            "SELECT uid, text_id FROM idx.messages WHERE mailbox_id = ?1 ORDER BY uid"
        );
        if (!all) {
            return all.error();
        }
        StmtScope scope(**all);
        scope->bind(1, mailbox_id);
        while (scope->step()) {
            const bool unindexed = scope->is_null(1) || scope->int64(1) < 0;
            if (unindexed || std::binary_search(texts->begin(), texts->end(), scope->int64(1))) {
                uids.push_back(static_cast<std::uint32_t>(scope->int64(0)));
            }
        }
        if (auto st = scope->error(); !st) {
            return st.error();
        }
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
        // Outside the account lock, after the batch's ids are recorded.
        if (auto merged = detail::merge_text_segments(text); !merged) {
            return merged.error();
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
        // The postings stay until their segment is merged (a search maps ids to messages, and
        // these have none); text_deleted says to leave them out then.
        auto st = in_text_transaction(text, [&]() -> Status {
            auto del = text.prepare("DELETE FROM message_text WHERE id = ?1");
            auto mark = text.prepare("INSERT OR IGNORE INTO text_deleted(id) VALUES (?1)");
            if (!del || !mark) {
                return !del ? del.error() : mark.error();
            }
            for (std::int64_t id : garbage) {
                {
                    StmtScope scope(**del);
                    if (auto e = scope->bind(1, id).run(); !e) {
                        return e;
                    }
                }
                if (text.changes() > 0) {
                    StmtScope scope(**mark);
                    if (auto e = scope->bind(1, id).run(); !e) {
                        return e;
                    }
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
        auto st = in_text_transaction(text, [&]() -> Status {
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
            auto ins = text.prepare("INSERT INTO message_text(id) VALUES (?1)");
            if (!ins) {
                return ins.error();
            }
            // One bitmap per thread that indexes (2 MiB: allocating it per batch costs more than
            // a small batch's keys).
            static thread_local detail::TrigramCollector keys;
            (void)keys.take();  // nothing left over from an interrupted batch
            detail::SegmentBuilder segment;
            for (auto& t : todo) {
                if (!t.text) {
                    continue;
                }
                if (next > detail::kMaxTextId) {
                    return Errc::Corrupt;
                }
                t.text_id = next++;
                keys.add(t.text->headers);
                keys.add(t.text->body);
                segment.add(t.text_id, keys.take());
                StmtScope scope(**ins);
                if (auto e = scope->bind(1, t.text_id).run(); !e) {
                    return e;
                }
            }
            if (!segment.empty()) {
                if (auto e = detail::write_segment(text, segment); !e) {
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
