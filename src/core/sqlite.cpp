#include "core/sqlite.hpp"

#include "core/errors.hpp"
#include "core/log.hpp"

namespace sov::core {
namespace {

std::error_code map_rc(const SqliteErrors* errors, int rc, bool missing_file = false) {
    return errors != nullptr && errors->map != nullptr
               ? errors->map(rc, missing_file)
               : classify_sqlite_error<Errc>(rc, missing_file);
}

Status fail(const SqliteErrors* errors, sqlite3* db, int rc, std::string_view what) {
    log::error(
        errors != nullptr ? errors->log_event : "sqlite",
        {{"op", what},
         {"rc", rc},
         {"error", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)}}
    );
    return map_rc(errors, rc);
}

}  // namespace

Stmt& Stmt::bind(int i, std::int64_t v) {
    if (rc_ == SQLITE_OK) {
        rc_ = sqlite3_bind_int64(stmt_, i, v);
    }
    return *this;
}

Stmt& Stmt::bind(int i, std::string_view v) {
    if (rc_ == SQLITE_OK) {
        // A null data pointer would bind NULL; an empty view is an empty string.
        const char* p = v.data() != nullptr ? v.data() : "";
        rc_ = sqlite3_bind_text64(stmt_, i, p, v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    return *this;
}

Stmt& Stmt::bind_blob(int i, std::string_view v) {
    if (rc_ == SQLITE_OK) {
        // A zero-length blob (not NULL) for an empty structure.
        rc_ = v.empty() ? sqlite3_bind_zeroblob(stmt_, i, 0)
                        : sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT);
    }
    return *this;
}

Stmt& Stmt::bind_null(int i) {
    if (rc_ == SQLITE_OK) {
        rc_ = sqlite3_bind_null(stmt_, i);
    }
    return *this;
}

bool Stmt::step() {
    if (rc_ != SQLITE_OK && rc_ != SQLITE_ROW) {
        return false;
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
        rc_ = SQLITE_ROW;
        return true;
    }
    rc_ = rc == SQLITE_DONE ? SQLITE_OK : rc;
    return false;
}

Status Stmt::run() {
    while (step()) {
    }
    return error();
}

Status Stmt::error() const {
    if (rc_ == SQLITE_OK || rc_ == SQLITE_ROW) {
        return {};
    }
    return fail(errors_, db_, rc_, sqlite3_sql(stmt_) != nullptr ? sqlite3_sql(stmt_) : "step");
}

std::string Stmt::text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

std::string Stmt::blob(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}

void Stmt::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    rc_ = SQLITE_OK;
}

Db::~Db() {
    close();
}

Status Db::open(const std::filesystem::path& path, bool create) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (create) {
        flags |= SQLITE_OPEN_CREATE;
    }
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        // CANTOPEN for a missing file when !create: the account does not exist.
        Status st = (rc == SQLITE_CANTOPEN && !create) ? Status(map_rc(&errors_, rc, true))
                                                       : fail(&errors_, db_, rc, "open");
        sqlite3_close_v2(db_);
        db_ = nullptr;
        return st;
    }
    path_ = path;
    sqlite3_busy_timeout(db_, 5000);
    sqlite3_extended_result_codes(db_, 1);
    return {};
}

void Db::close() noexcept {
    for (auto& [sql, stmt] : cache_) {
        sqlite3_finalize(stmt->raw());
    }
    cache_.clear();
    if (db_ != nullptr) {
        sqlite3_close_v2(db_);
        db_ = nullptr;
    }
}

Status Db::exec(const char* sql) {
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
        log::error(errors_.log_event, {{"op", "exec"}, {"error", msg != nullptr ? msg : "?"}});
        sqlite3_free(msg);
        return map_rc(&errors_, rc);
    }
    return {};
}

Result<Stmt*> Db::prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v3(
            db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr
        );
        if (rc != SQLITE_OK) {
            return fail(&errors_, db_, rc, sql).error();
        }
        it = cache_.emplace(std::string(sql), std::make_unique<Stmt>(db_, s, &errors_)).first;
    }
    return it->second.get();
}

Status Db::begin() {
    return exec("BEGIN IMMEDIATE");
}

Status Db::commit() {
    return exec("COMMIT");
}

void Db::rollback() noexcept {
    if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

}  // namespace sov::core
