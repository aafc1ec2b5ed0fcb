#include "tls/mta_sts_cache.hpp"

#include <sys/stat.h>

#include <chrono>
#include <system_error>
#include <utility>

#include <sqlite3.h>

#include "core/log.hpp"
#include "tls/errors.hpp"

namespace sov::tls {

namespace {

// Version 1 of the schema (PRAGMA user_version). Times are Unix seconds (UTC).
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS policies (
    domain     TEXT PRIMARY KEY NOT NULL,
    id         TEXT NOT NULL,
    body       TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fetch_failures (
    domain    TEXT PRIMARY KEY NOT NULL,
    id        TEXT NOT NULL,
    failed_at INTEGER NOT NULL,
    error     TEXT NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

std::error_code sqlite_failure(sqlite3* db, std::string_view op) {
    log::error(
        "mta_sts.cache_failed",
        {{"op", op}, {"error", db != nullptr ? sqlite3_errmsg(db) : "out of memory"}}
    );
    return make_error_code(Errc::CacheFailed);
}

core::WallTime from_unix(std::int64_t seconds) {
    return core::WallTime{std::chrono::seconds{seconds}};
}

// One prepared statement, finalized when the scope ends.
class Stmt {
public:
    Stmt(sqlite3* db, std::string_view sql) {
        if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
            SQLITE_OK) {
            stmt_ = nullptr;
        }
    }
    ~Stmt() { sqlite3_finalize(stmt_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt(Stmt&&) = delete;
    Stmt& operator=(Stmt&&) = delete;

    bool ok() const { return stmt_ != nullptr; }
    void bind(int i, std::string_view text) {
        sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
    void bind(int i, std::int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
    /// SQLITE_ROW, SQLITE_DONE or an error code.
    int step() { return sqlite3_step(stmt_); }
    std::string text(int col) const {
        const auto* p = sqlite3_column_text(stmt_, col);
        const int n = sqlite3_column_bytes(stmt_, col);
        return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
    }
    std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }

private:
    sqlite3_stmt* stmt_ = nullptr;
};

// Runs a statement without result rows whose only parameter is the domain key.
Status run_for(sqlite3* db, std::string_view sql, std::string_view key, std::string_view op) {
    Stmt stmt(db, sql);
    if (!stmt.ok()) {
        return sqlite_failure(db, op);
    }
    stmt.bind(1, key);
    if (stmt.step() != SQLITE_DONE) {
        return sqlite_failure(db, op);
    }
    return {};
}

Status exec(sqlite3* db, const char* sql, std::string_view op) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        return sqlite_failure(db, op);
    }
    return {};
}

}  // namespace

std::string cache_key(std::string_view domain) {
    std::string key;
    key.reserve(domain.size());
    for (const char c : domain) {
        key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    if (!key.empty() && key.back() == '.') {
        key.pop_back();
    }
    return key;
}

std::filesystem::path PolicyCache::path_in(const std::filesystem::path& data_dir) {
    return data_dir / "tls" / "mta-sts.db";
}

Result<std::unique_ptr<PolicyCache>> PolicyCache::open(const std::filesystem::path& file) {
    std::error_code ec;
    const auto dir = file.parent_path();
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) {
            log::error(
                "mta_sts.cache_failed",
                {{"op", "mkdir"}, {"path", dir.string()}, {"error", ec.message()}}
            );
            return make_error_code(Errc::CacheFailed);
        }
        ::chmod(dir.c_str(), 0700);  // what we know about peers is nobody else's business
    }
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(
        file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr
    );
    if (rc != SQLITE_OK) {
        auto error = sqlite_failure(db, "open " + file.string());
        sqlite3_close_v2(db);
        return error;
    }
    std::unique_ptr<PolicyCache> cache(new PolicyCache(db, file));
    // Another process (the server, a probe) may hold the write lock for a moment.
    sqlite3_busy_timeout(db, 5000);
    // WAL: readers never wait for a writer, and a crash mid-write leaves the previous entry.
    // synchronous=NORMAL is durable across process crashes; after a power loss the worst case is
    // losing the last few updates, which only means fetching those policies again.
    for (const auto& [sql, op] : {
             std::pair{"PRAGMA journal_mode = WAL", "journal_mode"},
             std::pair{"PRAGMA synchronous = NORMAL", "synchronous"},
             std::pair{kSchema, "schema"},
         }) {
        if (auto done = exec(db, sql, op); !done) {
            return done.error();
        }
    }
    return cache;
}

PolicyCache::~PolicyCache() {
    sqlite3_close_v2(db_);
}

Result<std::optional<CachedPolicy>> PolicyCache::lookup(std::string_view domain) {
    const std::lock_guard lock(mutex_);
    const auto key = cache_key(domain);
    Stmt stmt(db_, "SELECT id, body, fetched_at, expires_at FROM policies WHERE domain = ?1");
    if (!stmt.ok()) {
        return sqlite_failure(db_, "lookup");
    }
    stmt.bind(1, key);
    const int rc = stmt.step();
    if (rc == SQLITE_DONE) {
        return std::optional<CachedPolicy>{};
    }
    if (rc != SQLITE_ROW) {
        return sqlite_failure(db_, "lookup");
    }
    CachedPolicy entry;
    entry.domain = key;
    entry.id = stmt.text(0);
    entry.body = stmt.text(1);
    entry.fetched_at = from_unix(stmt.int64(2));
    entry.expires_at = from_unix(stmt.int64(3));
    auto policy = parse_policy(entry.body);
    if (!policy) {
        // Only a damaged file gets here (we store what parsed). Forget it: the next delivery
        // fetches the policy again.
        log::warn("mta_sts.cache_damaged", {{"domain", key}, {"error", policy.error().message()}});
        (void)run_for(db_, "DELETE FROM policies WHERE domain = ?1", key, "drop damaged");
        return std::optional<CachedPolicy>{};
    }
    entry.policy = std::move(*policy);
    return std::optional<CachedPolicy>{std::move(entry)};
}

Status PolicyCache::store(
    std::string_view domain, std::string_view id, const FetchedPolicy& fetched
) {
    const std::lock_guard lock(mutex_);
    const auto key = cache_key(domain);
    const auto fetched_at = core::unix_seconds(fetched.fetched_at);
    // §3.2 max_age is "from the last policy fetch time".
    const auto expires_at = fetched_at + static_cast<std::int64_t>(fetched.policy.max_age);
    if (auto begun = exec(db_, "BEGIN IMMEDIATE", "begin"); !begun) {
        return begun;
    }
    Stmt upsert(
        db_,
        "INSERT INTO policies (domain, id, body, fetched_at, expires_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (domain) DO UPDATE SET "
        "id = excluded.id, body = excluded.body, fetched_at = excluded.fetched_at, "
        "expires_at = excluded.expires_at"
    );
    bool ok = upsert.ok();
    if (ok) {
        upsert.bind(1, key);
        upsert.bind(2, id);
        upsert.bind(3, fetched.body);
        upsert.bind(4, fetched_at);
        upsert.bind(5, expires_at);
        ok = upsert.step() == SQLITE_DONE;
    }
    if (!ok) {
        auto error = sqlite_failure(db_, "store");
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return error;
    }
    if (auto cleared = run_for(db_, "DELETE FROM fetch_failures WHERE domain = ?1", key, "store");
        !cleared) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return cleared;
    }
    return exec(db_, "COMMIT", "commit");
}

Status PolicyCache::remove(std::string_view domain) {
    const std::lock_guard lock(mutex_);
    const auto key = cache_key(domain);
    if (auto done = run_for(db_, "DELETE FROM policies WHERE domain = ?1", key, "remove"); !done) {
        return done;
    }
    return run_for(db_, "DELETE FROM fetch_failures WHERE domain = ?1", key, "remove");
}

Status PolicyCache::record_failure(
    std::string_view domain, std::string_view id, core::WallTime at, std::string_view error
) {
    const std::lock_guard lock(mutex_);
    Stmt stmt(
        db_,
        "INSERT INTO fetch_failures (domain, id, failed_at, error) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (domain) DO UPDATE SET id = excluded.id, failed_at = excluded.failed_at, "
        "error = excluded.error"
    );
    if (!stmt.ok()) {
        return sqlite_failure(db_, "record_failure");
    }
    stmt.bind(1, cache_key(domain));
    stmt.bind(2, id);
    stmt.bind(3, core::unix_seconds(at));
    stmt.bind(4, error);
    if (stmt.step() != SQLITE_DONE) {
        return sqlite_failure(db_, "record_failure");
    }
    return {};
}

Result<std::optional<FetchFailure>> PolicyCache::last_failure(std::string_view domain) {
    const std::lock_guard lock(mutex_);
    Stmt stmt(db_, "SELECT id, failed_at, error FROM fetch_failures WHERE domain = ?1");
    if (!stmt.ok()) {
        return sqlite_failure(db_, "last_failure");
    }
    stmt.bind(1, cache_key(domain));
    const int rc = stmt.step();
    if (rc == SQLITE_DONE) {
        return std::optional<FetchFailure>{};
    }
    if (rc != SQLITE_ROW) {
        return sqlite_failure(db_, "last_failure");
    }
    return std::optional<FetchFailure>{FetchFailure{
        .id = stmt.text(0),
        .failed_at = from_unix(stmt.int64(1)),
        .error = stmt.text(2),
    }};
}

}  // namespace sov::tls
