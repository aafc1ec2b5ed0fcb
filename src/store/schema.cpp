// The per-account index: its schema, the mailboxes every account starts with, migrations
// (PRAGMA user_version) and UIDVALIDITY allocation.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "store/detail/flag_changes.hpp"
#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"

namespace sov::store {

using detail::Db;
using detail::StmtScope;
using detail::to_unix;

namespace {

// 1: the first release; 2: IMAP (message_data, first_recent_uid, flag counts, EMAILID, text
// index); 3: message_data.cache (the IMAP render cache, Store::set_render_cache); 4: the
// flag-change log instead of the modseq index (detail/flag_changes.hpp); 5: render_structure,
// the render cache's second part; 6: render_structure keyed by mailbox and UID; 7: messages
// WITHOUT ROWID in (mailbox_id, uid) order, messages_list gone.
constexpr std::int64_t kSchemaVersion = 7;

// RFC 6154 §2 special-use mailboxes created with every account; INBOX per RFC 3501 §5.1.
struct SpecialMailbox {
    std::string_view name;
    std::string_view use;
};
constexpr SpecialMailbox kSpecialMailboxes[] = {
    {"INBOX", ""},
    {"Sent", "\\Sent"},
    {"Drafts", "\\Drafts"},
    {"Trash", "\\Trash"},
    {"Junk", "\\Junk"},
    {"Archive", "\\Archive"},
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS account(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    quota_bytes INTEGER NOT NULL DEFAULT 0,
    quota_messages INTEGER NOT NULL DEFAULT 0,
    used_bytes INTEGER NOT NULL DEFAULT 0,
    used_messages INTEGER NOT NULL DEFAULT 0,
    last_uid_validity INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS mailboxes(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    special_use TEXT NOT NULL DEFAULT '',
    subscribed INTEGER NOT NULL DEFAULT 0,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL DEFAULT 1,
    highest_modseq INTEGER NOT NULL DEFAULT 1,
    message_count INTEGER NOT NULL DEFAULT 0,
    total_size INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages(
    id INTEGER PRIMARY KEY,
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    flags INTEGER NOT NULL DEFAULT 0,
    keywords TEXT NOT NULL DEFAULT '',
    internal_date INTEGER NOT NULL,
    save_date INTEGER NOT NULL,
    size INTEGER NOT NULL,
    file TEXT NOT NULL,
    structure BLOB NOT NULL,
    -- The SMTP envelope as received: MAIL FROM, RCPT and their DSN parameters (RFC 3461), kept
    -- for the delivery-status notifications the outbound queue will send.
    envelope TEXT NOT NULL DEFAULT '',
    email_id TEXT,
    thread_id TEXT,
    UNIQUE (mailbox_id, uid)
);
-- RFC 7162 §3.2.7: the mod-sequence of each expunge is remembered for QRESYNC (VANISHED).
CREATE TABLE IF NOT EXISTS expunged(
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
)sql";

// Version 2, applied to new indexes and to version-1 indexes after the columns are added.
static_assert(flag::kDeleted == 8, "messages_deleted below");
constexpr const char* kSchemaV2 = R"sql(
-- What the index keeps per message but never changes: out of the messages rows, so that
-- STORE on 10,000 messages rewrites narrow rows (flags, modseq) and SELECT reads few pages.
-- Keyed by messages.id.
CREATE TABLE IF NOT EXISTS message_data(
    id INTEGER PRIMARY KEY,
    structure BLOB NOT NULL,
    envelope TEXT NOT NULL DEFAULT ''
);
-- EXPUNGE finds the \Deleted messages without reading the mailbox. Only rows whose \Deleted
-- changes touch it (STORE \Seen on 10,000 messages does not); `(flags & 8) != 0` must appear
-- literally in queries for SQLite to use it.
CREATE INDEX IF NOT EXISTS messages_deleted ON messages(mailbox_id, uid) WHERE (flags & 8) != 0;
-- QRESYNC (RFC 7162 §3.2.5.2): expunges after a given mod-sequence.
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(mailbox_id, modseq);
-- The full-text index lives in its own file, text.db (fts.cpp); messages.text_id is the rowid
-- of the message's text there, shared by copies. NULL: not indexed yet; -1: cannot be indexed.
-- Either way the message is a candidate of every search.
CREATE INDEX IF NOT EXISTS messages_text ON messages(text_id, mailbox_id, uid)
    WHERE text_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_unindexed ON messages(mailbox_id, uid)
    WHERE text_id IS NULL OR text_id < 0;
-- Text rows no message refers to any more, removed from text.db in the background.
CREATE TABLE IF NOT EXISTS text_garbage(text_id INTEGER PRIMARY KEY);
-- The trigger that takes a message's data along with it is migrate_to_v7's.
)sql";

Status has_column(Db& db, std::string_view table, std::string_view column, bool& found) {
    auto s = db.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2");
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    found = scope->bind(1, table).bind(2, column).step();
    return scope->error();
}

// Version 1 -> 2; a new index is created in the version-1 shape and comes through here too, so
// every new account runs the migration. Idempotent.
Status migrate_to_v2(Db& db) {
    struct Column {
        std::string_view table;
        std::string_view name;
        const char* add;
        const char* fill;  // run once, when the column is added
    };
    static_assert(flag::kSeen == 1 && flag::kDeleted == 8, "the counts below");
    const Column columns[] = {
        // Messages already there were never \Recent to anyone, but a session on the old
        // version saw them: do not make them \Recent again.
        {"mailboxes",
         "first_recent_uid",
         "ALTER TABLE mailboxes ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1",
         "UPDATE mailboxes SET first_recent_uid = uid_next"},
        // Derived counts kept with message_count (STATUS UNSEEN, SELECT): maintained by every
        // writer, recomputed by recover(). Cheaper than partial indexes, which every STORE
        // \Seen / \Deleted would have to update row by row.
        {"mailboxes",
         "unseen_count",
         "ALTER TABLE mailboxes ADD COLUMN unseen_count INTEGER NOT NULL DEFAULT 0",
         "UPDATE mailboxes SET unseen_count = (SELECT count(*) FROM messages m "
         "WHERE m.mailbox_id = mailboxes.id AND (m.flags & 1) = 0)"},
        {"mailboxes",
         "deleted_count",
         "ALTER TABLE mailboxes ADD COLUMN deleted_count INTEGER NOT NULL DEFAULT 0",
         "UPDATE mailboxes SET deleted_count = (SELECT count(*) FROM messages m "
         "WHERE m.mailbox_id = mailboxes.id AND (m.flags & 8) != 0)"},
        {"messages", "text_id", "ALTER TABLE messages ADD COLUMN text_id INTEGER", nullptr},
        {"messages", "email_id", "ALTER TABLE messages ADD COLUMN email_id TEXT", nullptr},
    };
    for (const auto& c : columns) {
        bool has = false;
        if (auto st = has_column(db, c.table, c.name, has); !st) {
            return st;
        }
        if (has) {
            continue;
        }
        if (auto st = db.exec(c.add); !st) {
            return st;
        }
        if (c.fill != nullptr) {
            if (auto st = db.exec(c.fill); !st) {
                return st;
            }
        }
    }
    // RFC 8474 §5.1: every message has an EMAILID; same shape as Impl::new_email_id().
    if (auto st = db.exec("UPDATE messages SET email_id = 'M' || lower(hex(randomblob(12))) "
                          "WHERE email_id IS NULL");
        !st) {
        return st;
    }
    if (auto st = db.exec(kSchemaV2); !st) {
        return st;
    }
    // The immutable columns move to message_data (SQLite >= 3.35 drops columns).
    bool has_structure = false;
    if (auto st = has_column(db, "messages", "structure", has_structure); !st) {
        return st;
    }
    if (has_structure) {
        return db.exec(
            "INSERT OR REPLACE INTO message_data(id, structure, envelope) "
            "SELECT id, structure, envelope FROM messages; "
            "ALTER TABLE messages DROP COLUMN structure; "
            "ALTER TABLE messages DROP COLUMN envelope;"
        );
    }
    return {};
}

// Version 2 -> 3: the render cache, NULL until IMAP first renders the message. (Version 3 also
// made the listing indexes, which migrate_to_v7 makes again for its table.) Idempotent.
Status migrate_to_v3(Db& db) {
    bool has = false;
    if (auto st = has_column(db, "message_data", "cache", has); !st) {
        return st;
    }
    if (has) {
        return {};
    }
    return db.exec("ALTER TABLE message_data ADD COLUMN cache BLOB");
}

// Version 3 -> 4: the flag-change log replaces messages_modseq, an index every STORE had to
// update once per message (half the cost of a STORE on a whole mailbox). Mailboxes already there
// get an entry saying that everything in them may have changed at their HIGHESTMODSEQ: their
// flag changes were never logged. Idempotent.
Status migrate_to_v4(Db& db) {
    if (auto st = db.exec("CREATE TABLE IF NOT EXISTS flag_changes("
                          "mailbox_id INTEGER NOT NULL, modseq INTEGER NOT NULL, "
                          "first_uid INTEGER NOT NULL, last_uid INTEGER NOT NULL, "
                          "PRIMARY KEY (mailbox_id, modseq, first_uid)) WITHOUT ROWID; "
                          "DROP INDEX IF EXISTS messages_modseq;");
        !st) {
        return st;
    }
    auto s = db.prepare("SELECT id, highest_modseq, uid_next FROM mailboxes");
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    while (scope->step()) {
        if (auto st = detail::log_everything_changed(
                db,
                scope->int64(0),
                scope->int64(1),
                static_cast<std::uint32_t>(scope->int64(2) - 1)
            );
            !st) {
            return st;
        }
    }
    return scope->error();
}

// Any version before 6 -> 6: the render cache's second part (Store::set_render_cache) in a table of
// its own, keyed by (mailbox_id, uid): FETCH 1:* BODYSTRUCTURE reads it alone, in UID order,
// ~200 bytes a message. Version 5 keyed it by messages.id, which cost a B-tree seek per message
// from the messages' index into it (40 % of that FETCH's instructions); before that, the entry
// was in message_data, whose ~1 KB rows made the listing read five times the pages.
// Derived data, so version 5's table is dropped, not converted: entries are made again as
// messages are fetched. The triggers that keep its rows with their messages are
// migrate_to_v7's, which always follows. Idempotent.
Status migrate_to_v6(Db& db) {
    return db.exec(R"sql(
DROP TRIGGER IF EXISTS messages_gone;
DROP TRIGGER IF EXISTS messages_moved;
DROP TABLE IF EXISTS render_structure;
CREATE TABLE render_structure(
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    entry BLOB NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
)sql");
}

// Any version before 7 -> 7: the messages are stored in (mailbox_id, uid) order, WITHOUT ROWID.
// Before, they were rows keyed by id with two indexes in UID order: the UNIQUE constraint's and
// messages_list, which covered the flags so that SELECT and FETCH FLAGS read no row. A STORE
// then rewrote each row and moved its messages_list entry: ~13 k SQLite instructions per
// message, half of them for the entry. Now the row is the listing and a flag change rewrites it
// alone (~7.5 k; callgrind on sqlite3 with 10,000 rows). A listing or a seek by UID reads the
// row itself instead of an index entry and then the row. id stays a column (message_data, with
// the render cache's first part, is keyed by it), given at insertion as max(id) + 1, as the
// rowid was. SQLite, which has no statistics here, prefers walking a mailbox's rows to the
// partial indexes messages_deleted and messages_unindexed: their queries name them.
// The rows ~110 octets wide are within the size that SQLite's documentation recommends for
// WITHOUT ROWID (a twentieth of a 4 KiB page).
// The triggers keep the rows derived from a message with it: the delete trigger (expunge,
// mailbox deletion, recovery) takes them along, so a UID reused after a mailbox's deletion
// never inherits a render entry; the update trigger moves the entry with MOVE (and the
// renaming of INBOX), whose message keeps its content. Runs in init_index's transaction, so a
// crash leaves version 6 whole.
Status migrate_to_v7(Db& db) {
    static_assert(flag::kSeen == 1 && flag::kDeleted == 8, "the partial indexes below");
    return db.exec(R"sql(
CREATE TABLE messages_v7(
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    id INTEGER NOT NULL UNIQUE,
    modseq INTEGER NOT NULL,
    flags INTEGER NOT NULL DEFAULT 0,
    keywords TEXT NOT NULL DEFAULT '',
    internal_date INTEGER NOT NULL,
    save_date INTEGER NOT NULL,
    size INTEGER NOT NULL,
    file TEXT NOT NULL,
    email_id TEXT,
    thread_id TEXT,
    text_id INTEGER,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
INSERT INTO messages_v7(mailbox_id, uid, id, modseq, flags, keywords, internal_date, save_date,
                        size, file, email_id, thread_id, text_id)
SELECT mailbox_id, uid, id, modseq, flags, keywords, internal_date, save_date, size, file,
       email_id, thread_id, text_id FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v7 RENAME TO messages;
-- kSchemaV2 says what messages_deleted, messages_text and messages_unindexed are for.
CREATE INDEX messages_deleted ON messages(mailbox_id, uid) WHERE (flags & 8) != 0;
-- SEARCH UNSEEN, which clients poll, reads these entries alone: they cover the narrow listing
-- (ListOptions::narrow). A STORE updates one per message whose \Seen changes or that stays
-- unseen. `(flags & 1) = 0` must appear literally in queries for SQLite to use it.
CREATE INDEX messages_unseen ON messages(mailbox_id, uid, modseq, flags, keywords)
    WHERE (flags & 1) = 0;
CREATE INDEX messages_text ON messages(text_id, mailbox_id, uid) WHERE text_id IS NOT NULL;
CREATE INDEX messages_unindexed ON messages(mailbox_id, uid)
    WHERE text_id IS NULL OR text_id < 0;
CREATE TRIGGER messages_gone AFTER DELETE ON messages BEGIN
    DELETE FROM message_data WHERE id = old.id;
    DELETE FROM render_structure WHERE mailbox_id = old.mailbox_id AND uid = old.uid;
    INSERT OR IGNORE INTO text_garbage(text_id) SELECT old.text_id
    WHERE old.text_id > 0 AND NOT EXISTS (SELECT 1 FROM messages WHERE text_id = old.text_id);
END;
CREATE TRIGGER messages_moved AFTER UPDATE OF mailbox_id, uid ON messages BEGIN
    UPDATE OR REPLACE render_structure SET mailbox_id = new.mailbox_id, uid = new.uid
    WHERE mailbox_id = old.mailbox_id AND uid = old.uid;
END;
)sql");
}

}  // namespace

// UIDVALIDITY (RFC 3501 §2.3.1.1) must never repeat for a name within the account: take the clock,
// but always more than any value handed out before.
std::uint32_t Store::Impl::next_uid_validity(Account& acc) {
    std::int64_t last = 0;
    if (auto s = acc.db.prepare("SELECT last_uid_validity FROM account WHERE id = 1")) {
        StmtScope scope(**s);
        if (scope->step()) {
            last = scope->int64(0);
        }
    }
    std::int64_t v = std::max<std::int64_t>(to_unix(core::now()), last + 1);
    v = std::clamp<std::int64_t>(v, 1, 0xffffffff);
    if (auto s = acc.db.prepare("UPDATE account SET last_uid_validity = ?1 WHERE id = 1")) {
        StmtScope scope(**s);
        (void)scope->bind(1, v).run();
    }
    return static_cast<std::uint32_t>(v);
}

Status Store::Impl::init_index(Account& acc, std::optional<Quota> quota) {
    Db& db = acc.db;
    // WAL + synchronous=FULL: the WAL is fsync'ed at every COMMIT, so a returned COMMIT is
    // durable (NORMAL would only sync at checkpoints and could lose acknowledged mail).
    // mmap: SELECT and FETCH of a 10,000-message mailbox read every row; through mmap the pages
    // come from the OS page cache without a pread and a copy each (the WAL is still read). The
    // mapping lasts: this connection's own commits do not make SQLite drop it, as other
    // connections' commits do for the readers, which therefore read with pread
    // (detail/store_impl.hpp, take_reader).
    if (auto st =
            db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA mmap_size=268435456;"
            );
        !st) {
        return st;
    }
    std::int64_t version = 0;
    {
        auto s = db.prepare("PRAGMA user_version");
        if (!s) {
            return s.error();
        }
        StmtScope scope(**s);
        if (scope->step()) {
            version = scope->int64(0);
        }
    }
    if (version > kSchemaVersion) {
        log::error("store.index_too_new", {{"path", db.path().string()}, {"version", version}});
        return Errc::Corrupt;
    }
    if (version == kSchemaVersion && !quota) {
        return {};
    }
    if (auto st = db.begin(); !st) {
        return st;
    }
    auto fail = [&](Status st) {
        db.rollback();
        return st;
    };
    if (version == 0) {
        if (auto st = db.exec(kSchema); !st) {
            return fail(st);
        }
        auto s = db.prepare("INSERT OR IGNORE INTO account(id, name) VALUES (1, ?1)");
        if (!s) {
            return fail(s.error());
        }
        StmtScope scope(**s);
        if (auto st = scope->bind(1, acc.name).run(); !st) {
            return fail(st);
        }
    }
    if (version < 2) {
        if (auto st = migrate_to_v2(db); !st) {
            return fail(st);
        }
        if (version > 0) {
            log::info("store.index_migrated", {{"path", db.path().string()}, {"from", version}});
        }
    }
    if (version < 3) {
        if (auto st = migrate_to_v3(db); !st) {
            return fail(st);
        }
    }
    if (version < 4) {
        if (auto st = migrate_to_v4(db); !st) {
            return fail(st);
        }
    }
    if (version < 6) {
        if (auto st = migrate_to_v6(db); !st) {
            return fail(st);
        }
    }
    if (version < 7) {
        if (auto st = migrate_to_v7(db); !st) {
            return fail(st);
        }
    }
    // Idempotent: a crash half way through creating an account is finished here.
    for (const auto& sm : kSpecialMailboxes) {
        auto exists = db.prepare("SELECT 1 FROM mailboxes WHERE name = ?1");
        if (!exists) {
            return fail(exists.error());
        }
        bool found = false;
        {
            StmtScope scope(**exists);
            found = scope->bind(1, sm.name).step();
            if (auto st = scope->error(); !st) {
                return fail(st);
            }
        }
        if (found) {
            continue;
        }
        std::uint32_t uv = next_uid_validity(acc);
        auto ins = db.prepare(
            "INSERT INTO mailboxes(name, special_use, subscribed, uid_validity) VALUES (?1, ?2, 1, "
            "?3)"
        );
        if (!ins) {
            return fail(ins.error());
        }
        StmtScope scope(**ins);
        if (auto st = scope->bind(1, sm.name).bind(2, sm.use).bind(3, uv).run(); !st) {
            return fail(st);
        }
    }
    if (quota) {
        auto s =
            db.prepare("UPDATE account SET quota_bytes = ?1, quota_messages = ?2 WHERE id = 1");
        if (!s) {
            return fail(s.error());
        }
        StmtScope scope(**s);
        auto st = scope->bind(1, static_cast<std::int64_t>(quota->max_bytes))
                      .bind(2, static_cast<std::int64_t>(quota->max_messages))
                      .run();
        if (!st) {
            return fail(st);
        }
    }
    if (version < kSchemaVersion) {
        static_assert(kSchemaVersion == 7);
        if (auto st = db.exec("PRAGMA user_version = 7"); !st) {
            return fail(st);
        }
    }
    return commit(acc);
}

}  // namespace sov::store
