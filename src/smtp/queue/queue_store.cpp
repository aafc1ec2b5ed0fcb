#include "smtp/queue/queue_store.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "core/durable_file.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"

namespace sov::smtp::queue {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kIdLength = 20;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    envid TEXT NOT NULL DEFAULT '',
    ret_headers INTEGER NOT NULL DEFAULT 0,
    smtputf8 INTEGER NOT NULL DEFAULT 0,
    eight_bit INTEGER NOT NULL DEFAULT 0,
    requiretls INTEGER NOT NULL DEFAULT 0,
    auth TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL,
    size INTEGER NOT NULL,
    held INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS recipients (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    domain TEXT NOT NULL,
    orcpt TEXT NOT NULL DEFAULT '',
    notify INTEGER NOT NULL DEFAULT 0,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_reply TEXT NOT NULL DEFAULT '',
    last_host TEXT NOT NULL DEFAULT '',
    dsn_done INTEGER NOT NULL DEFAULT 0,
    delay_notified INTEGER NOT NULL DEFAULT 0,
    success_notice INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS recipients_due ON recipients(next_attempt) WHERE state = 0;
CREATE INDEX IF NOT EXISTS recipients_message ON recipients(message_id);
PRAGMA user_version = 2;
)sql";
// Version 2 added recipients.success_notice (NOTIFY=SUCCESS notices); QueueStore::migrate gives a
// version-1 queue the column with its default (nothing owed).

std::int64_t seconds(core::WallTime t) {
    return core::unix_seconds(t);
}

core::WallTime from_seconds(std::int64_t s) {
    return core::WallTime{std::chrono::seconds{s}};
}

std::string domain_of(std::string_view address) {
    const auto at = address.rfind('@');
    std::string domain(at == std::string_view::npos ? std::string_view{} : address.substr(at + 1));
    std::transform(domain.begin(), domain.end(), domain.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return domain;
}

// RAII transaction: rolls back unless committed.
class Transaction {
public:
    explicit Transaction(core::Db& db) : db_(db) {}
    ~Transaction() {
        if (!done_) {
            db_.rollback();
        }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Status begin() { return db_.begin(); }
    Status commit() {
        auto st = db_.commit();
        done_ = static_cast<bool>(st);
        return st;
    }

private:
    core::Db& db_;
    bool done_ = false;
};

}  // namespace

bool valid_message_id(std::string_view id) noexcept {
    return id.size() == kIdLength && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
           });
}

Result<std::unique_ptr<QueueStore>> QueueStore::open(const fs::path& dir) {
    std::unique_ptr<QueueStore> queue(new QueueStore(dir));
    if (auto st = queue->init(); !st) {
        return st.error();
    }
    return queue;
}

Status QueueStore::init() {
    std::error_code ec;
    fs::create_directories(dir_ / "messages", ec);
    if (ec) {
        log::error("queue.open", {{"path", dir_.string()}, {"error", ec.message()}});
        return ec;
    }
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (auto st = db_.open(dir_ / "queue.db", true); !st) {
        return st;
    }
    // FULL: a commit is on stable storage when it returns (the acknowledgement depends on it).
    if (auto st =
            db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
        !st) {
        return st;
    }
    if (auto st = db_.exec(kSchema); !st) {
        return st;
    }
    if (auto st = migrate(); !st) {
        return st;
    }
    return remove_orphans();
}

Status QueueStore::migrate() {
    const auto has_column = [this](bool& found) -> Status {
        auto stmt = db_.prepare("SELECT name FROM pragma_table_info('recipients')");
        if (!stmt) {
            return stmt.error();
        }
        core::StmtScope scope(**stmt);
        found = false;
        while (scope->step()) {
            found = found || scope->text(0) == "success_notice";
        }
        return scope->error();
    };
    bool present = false;
    if (auto st = has_column(present); !st || present) {
        return st;
    }
    auto st =
        db_.exec("ALTER TABLE recipients ADD COLUMN success_notice INTEGER NOT NULL DEFAULT 0");
    if (!st) {
        // Another process (the CLI, a second server) may have added it just now.
        if (auto again = has_column(present); again && present) {
            return {};
        }
    }
    return st;
}

Status QueueStore::remove_orphans() {
    std::set<std::string> known;
    {
        auto stmt = db_.prepare("SELECT id FROM messages");
        if (!stmt) {
            return stmt.error();
        }
        core::StmtScope scope(**stmt);
        while (scope->step()) {
            known.insert(scope->text(0));
        }
        if (auto st = scope->error(); !st) {
            return st;
        }
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_ / "messages", ec)) {
        const auto name = entry.path().filename().string();
        if (!known.contains(name)) {
            // Written but never recorded (a crash before the commit): never acknowledged either.
            log::info("queue.orphan_removed", {{"file", name}});
            fs::remove(entry.path(), ec);
        }
    }
    return {};
}

fs::path QueueStore::content_path(std::string_view id) const {
    return dir_ / "messages" / std::string(id);
}

Result<std::string> QueueStore::enqueue(
    const MessageEnvelope& envelope,
    const std::vector<NewRecipient>& recipients,
    std::string_view content,
    core::WallTime now
) {
    const auto id = core::random_id(kIdLength);
    if (auto st = core::write_file_durably(dir_ / "messages", id, content); !st) {
        return st.error();
    }
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    auto failed = [&](std::error_code ec) -> Result<std::string> {
        std::error_code ignored;
        fs::remove(content_path(id), ignored);
        return ec;
    };
    if (auto st = tx.begin(); !st) {
        return failed(st.error());
    }
    auto insert = db_.prepare(
        "INSERT INTO messages(id, sender, envid, ret_headers, smtputf8, eight_bit, requiretls, "
        "auth, created, size) VALUES(?,?,?,?,?,?,?,?,?,?)"
    );
    if (!insert) {
        return failed(insert.error());
    }
    {
        core::StmtScope s(**insert);
        s->bind(1, id)
            .bind(2, envelope.sender)
            .bind(3, envelope.envid)
            .bind(4, std::int64_t{envelope.ret_headers})
            .bind(5, std::int64_t{envelope.smtputf8})
            .bind(6, std::int64_t{envelope.eight_bit})
            .bind(7, std::int64_t{envelope.requiretls})
            .bind(8, envelope.auth)
            .bind(9, seconds(now))
            .bind(10, static_cast<std::int64_t>(content.size()));
        if (auto st = s->run(); !st) {
            return failed(st.error());
        }
    }
    auto rcpt = db_.prepare(
        "INSERT INTO recipients(message_id, address, domain, orcpt, notify, next_attempt) "
        "VALUES(?,?,?,?,?,?)"
    );
    if (!rcpt) {
        return failed(rcpt.error());
    }
    for (const auto& r : recipients) {
        core::StmtScope s(**rcpt);
        s->bind(1, id)
            .bind(2, r.address)
            .bind(3, domain_of(r.address))
            .bind(4, r.orcpt)
            .bind(5, static_cast<std::int64_t>(r.notify))
            .bind(6, seconds(now));
        if (auto st = s->run(); !st) {
            return failed(st.error());
        }
    }
    if (auto st = tx.commit(); !st) {
        return failed(st.error());
    }
    return id;
}

Result<std::vector<DueBatch>> QueueStore::due(core::WallTime now, std::size_t limit) {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare(
        "SELECT r.message_id, r.domain, r.id FROM recipients r JOIN messages m "
        "ON m.id = r.message_id WHERE r.state = 0 AND r.next_attempt <= ? AND m.held = 0 "
        "ORDER BY m.created, r.message_id, r.domain, r.id LIMIT ?"
    );
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    s->bind(1, seconds(now)).bind(2, static_cast<std::int64_t>(limit));
    std::vector<DueBatch> out;
    while (s->step()) {
        auto message_id = s->text(0);
        auto domain = s->text(1);
        if (out.empty() || out.back().message_id != message_id || out.back().domain != domain) {
            out.push_back(DueBatch{
                .message_id = std::move(message_id),
                .domain = std::move(domain),
                .recipient_ids = {}
            });
        }
        out.back().recipient_ids.push_back(s->int64(2));
    }
    if (auto st = s->error(); !st) {
        return st.error();
    }
    return out;
}

Result<std::optional<core::WallTime>> QueueStore::next_due() {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare(
        "SELECT MIN(r.next_attempt) FROM recipients r JOIN messages m ON m.id = r.message_id "
        "WHERE r.state = 0 AND m.held = 0"
    );
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    std::optional<core::WallTime> out;
    if (s->step() && !s->is_null(0)) {
        out = from_seconds(s->int64(0));
    }
    if (auto st = s->error(); !st) {
        return st.error();
    }
    return out;
}

Result<QueuedMessage> QueueStore::load(std::string_view id) {
    auto stmt = db_.prepare(
        "SELECT sender, envid, ret_headers, smtputf8, eight_bit, requiretls, auth, created, size, "
        "held FROM messages WHERE id = ?"
    );
    if (!stmt) {
        return stmt.error();
    }
    QueuedMessage m;
    {
        core::StmtScope s(**stmt);
        s->bind(1, id);
        if (!s->step()) {
            if (auto st = s->error(); !st) {
                return st.error();
            }
            return make_error_code(core::Errc::NotFound);
        }
        m.id = std::string(id);
        m.envelope.sender = s->text(0);
        m.envelope.envid = s->text(1);
        m.envelope.ret_headers = s->int64(2) != 0;
        m.envelope.smtputf8 = s->int64(3) != 0;
        m.envelope.eight_bit = s->int64(4) != 0;
        m.envelope.requiretls = s->int64(5) != 0;
        m.envelope.auth = s->text(6);
        m.created = from_seconds(s->int64(7));
        m.size = static_cast<std::uint64_t>(s->int64(8));
        m.held = s->int64(9) != 0;
    }
    auto rcpts = db_.prepare(
        "SELECT id, address, domain, orcpt, notify, state, attempts, next_attempt, last_reply, "
        "last_host, dsn_done, delay_notified, success_notice FROM recipients WHERE "
        "message_id = ? ORDER BY id"
    );
    if (!rcpts) {
        return rcpts.error();
    }
    core::StmtScope s(**rcpts);
    s->bind(1, id);
    while (s->step()) {
        QueuedRecipient r;
        r.id = s->int64(0);
        r.address = s->text(1);
        r.domain = s->text(2);
        r.orcpt = s->text(3);
        r.notify = static_cast<unsigned>(s->int64(4));
        r.state = static_cast<RecipientState>(s->int64(5));
        r.attempts = static_cast<unsigned>(s->int64(6));
        r.next_attempt = from_seconds(s->int64(7));
        r.last_reply = s->text(8);
        r.last_host = s->text(9);
        r.dsn_done = s->int64(10) != 0;
        r.delay_notified = s->int64(11) != 0;
        r.success_notice = s->int64(12) != 0;
        m.recipients.push_back(std::move(r));
    }
    if (auto st = s->error(); !st) {
        return st.error();
    }
    return m;
}

Result<QueuedMessage> QueueStore::message(std::string_view id) {
    std::lock_guard lock(mutex_);
    return load(id);
}

Result<std::vector<QueuedMessage>> QueueStore::list() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> ids;
    {
        auto stmt = db_.prepare("SELECT id FROM messages ORDER BY created, id");
        if (!stmt) {
            return stmt.error();
        }
        core::StmtScope s(**stmt);
        while (s->step()) {
            ids.push_back(s->text(0));
        }
        if (auto st = s->error(); !st) {
            return st.error();
        }
    }
    std::vector<QueuedMessage> out;
    for (const auto& id : ids) {
        auto m = load(id);
        if (!m) {
            return m.error();
        }
        out.push_back(std::move(*m));
    }
    return out;
}

Result<std::string> QueueStore::content(std::string_view id) {
    if (!valid_message_id(id)) {
        return make_error_code(core::Errc::Invalid);
    }
    std::ifstream in(content_path(id), std::ios::binary);
    if (!in) {
        return make_error_code(core::Errc::NotFound);
    }
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad()) {
        return make_error_code(core::Errc::Io);
    }
    return std::move(out).str();
}

Status QueueStore::set_state(
    const std::vector<std::int64_t>& ids,
    RecipientState state,
    std::string_view reply,
    std::string_view host,
    std::optional<core::WallTime> next_attempt,
    bool success_notice
) {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    if (auto st = tx.begin(); !st) {
        return st;
    }
    auto stmt = db_.prepare(
        "UPDATE recipients SET state = ?, attempts = attempts + 1, last_reply = ?, "
        "last_host = ?, next_attempt = COALESCE(?, next_attempt), success_notice = ? WHERE id = ?"
    );
    if (!stmt) {
        return stmt.error();
    }
    for (const auto id : ids) {
        core::StmtScope s(**stmt);
        s->bind(1, static_cast<std::int64_t>(state)).bind(2, reply).bind(3, host);
        if (next_attempt) {
            s->bind(4, seconds(*next_attempt));
        } else {
            s->bind_null(4);
        }
        s->bind(5, static_cast<std::int64_t>(success_notice ? 1 : 0));
        s->bind(6, id);
        if (auto st = s->run(); !st) {
            return st;
        }
    }
    return tx.commit();
}

Status QueueStore::record_delivered(
    const std::vector<std::int64_t>& ids,
    std::string_view reply,
    std::string_view host,
    bool success_notice
) {
    return set_state(ids, RecipientState::Delivered, reply, host, std::nullopt, success_notice);
}

Status QueueStore::record_deferred(
    const std::vector<std::int64_t>& ids,
    std::string_view reply,
    std::string_view host,
    core::WallTime next_attempt
) {
    return set_state(ids, RecipientState::Pending, reply, host, next_attempt);
}

Status QueueStore::record_failed(
    const std::vector<std::int64_t>& ids, std::string_view reply, std::string_view host
) {
    return set_state(ids, RecipientState::Failed, reply, host, std::nullopt);
}

namespace {

Status update_each(
    core::Db& db, std::mutex& mutex, std::string_view sql, const std::vector<std::int64_t>& ids
) {
    std::lock_guard lock(mutex);
    auto stmt = db.prepare(sql);
    if (!stmt) {
        return stmt.error();
    }
    for (const auto id : ids) {
        core::StmtScope s(**stmt);
        s->bind(1, id);
        if (auto st = s->run(); !st) {
            return st;
        }
    }
    return {};
}

}  // namespace

Status QueueStore::mark_dsn_done(const std::vector<std::int64_t>& ids) {
    return update_each(db_, mutex_, "UPDATE recipients SET dsn_done = 1 WHERE id = ?", ids);
}

Status QueueStore::mark_delay_notified(const std::vector<std::int64_t>& ids) {
    return update_each(db_, mutex_, "UPDATE recipients SET delay_notified = 1 WHERE id = ?", ids);
}

Result<std::size_t> QueueStore::finish_if_done(std::string_view id) {
    {
        std::lock_guard lock(mutex_);
        auto stmt = db_.prepare(
            "DELETE FROM messages WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM recipients WHERE "
            "message_id = ?1 AND (state = 0 OR (state = 2 AND dsn_done = 0) OR "
            "(state = 1 AND success_notice = 1 AND dsn_done = 0)))"
        );
        if (!stmt) {
            return stmt.error();
        }
        core::StmtScope s(**stmt);
        s->bind(1, id);
        if (auto st = s->run(); !st) {
            return st.error();
        }
        if (db_.changes() == 0) {
            return std::size_t{0};
        }
    }
    // Rows first, file second: a crash in between leaves an orphan file, removed at open().
    std::error_code ec;
    fs::remove(content_path(id), ec);
    return std::size_t{1};
}

Status QueueStore::retry_now(std::string_view id, core::WallTime now) {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare(
        "UPDATE recipients SET next_attempt = ?1 WHERE state = 0 AND (?2 = '' OR message_id = ?2)"
    );
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    s->bind(1, seconds(now)).bind(2, id);
    return s->run();
}

Status QueueStore::set_held(std::string_view id, bool held) {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare("UPDATE messages SET held = ? WHERE id = ?");
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    s->bind(1, std::int64_t{held}).bind(2, id);
    if (auto st = s->run(); !st) {
        return st;
    }
    if (db_.changes() == 0) {
        return make_error_code(core::Errc::NotFound);
    }
    return {};
}

Status QueueStore::remove(std::string_view id) {
    {
        std::lock_guard lock(mutex_);
        auto stmt = db_.prepare("DELETE FROM messages WHERE id = ?");
        if (!stmt) {
            return stmt.error();
        }
        core::StmtScope s(**stmt);
        s->bind(1, id);
        if (auto st = s->run(); !st) {
            return st;
        }
        if (db_.changes() == 0) {
            return make_error_code(core::Errc::NotFound);
        }
    }
    std::error_code ec;
    fs::remove(content_path(id), ec);
    return {};
}

}  // namespace sov::smtp::queue
