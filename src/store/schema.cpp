// The per-account index: its schema, the mailboxes every account starts with, migrations
// (PRAGMA user_version) and UIDVALIDITY allocation.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"

namespace sov::store {

using detail::Db;
using detail::StmtScope;
using detail::to_unix;

namespace {

constexpr std::int64_t kSchemaVersion = 1;

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
CREATE INDEX IF NOT EXISTS messages_modseq ON messages(mailbox_id, modseq);
-- RFC 7162 §3.2.7: the mod-sequence of each expunge is remembered for QRESYNC (VANISHED).
CREATE TABLE IF NOT EXISTS expunged(
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
)sql";

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
    if (auto st = db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"); !st) {
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
    if (version == 0) {
        if (auto st = db.exec("PRAGMA user_version = 1"); !st) {
            return fail(st);
        }
    }
    return commit(acc);
}

}  // namespace sov::store
