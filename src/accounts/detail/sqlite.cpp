#include "accounts/detail/sqlite.hpp"

#include <utility>

#include <sqlite3.h>

#include "accounts/errors.hpp"
#include "core/log.hpp"

namespace sov::accounts::detail {

std::error_code storage_error(sqlite3* db, std::string_view op) {
    log::error(
        "accounts.sqlite.error",
        {{"op", op},
         {"code", db != nullptr ? sqlite3_extended_errcode(db) : SQLITE_ERROR},
         {"message", db != nullptr ? sqlite3_errmsg(db) : "no connection"}}
    );
    return make_error_code(Errc::Storage);
}

void Connection::Finalize::operator()(sqlite3_stmt* stmt) const noexcept {
    sqlite3_finalize(stmt);
}

void Connection::close() noexcept {
    cache_.clear();
    sqlite3_close_v2(db_);
    db_ = nullptr;
}

Connection::~Connection() {
    close();
}

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), cache_(std::move(other.cache_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        close();
        db_ = std::exchange(other.db_, nullptr);
        cache_ = std::move(other.cache_);
    }
    return *this;
}

sqlite3_stmt* Connection::cached(std::string_view sql, int* rc) {
    if (auto it = cache_.find(sql); it != cache_.end()) {
        *rc = SQLITE_OK;
        return it->second.get();
    }
    sqlite3_stmt* stmt = nullptr;
    *rc = sqlite3_prepare_v3(
        db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr
    );
    if (*rc != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return nullptr;
    }
    cache_.emplace(std::string(sql), std::unique_ptr<sqlite3_stmt, Finalize>(stmt));
    return stmt;
}

Result<Connection> Connection::open(const std::filesystem::path& path) {
    sqlite3* raw = nullptr;
    // NOMUTEX: the Directory serialises use of the connection with its own mutex.
    const int rc = sqlite3_open_v2(
        path.c_str(),
        &raw,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
        nullptr
    );
    Connection conn(raw);
    if (rc != SQLITE_OK) {
        return storage_error(raw, "open");
    }
    sqlite3_extended_result_codes(raw, 1);
    return conn;
}

Status Connection::exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        return storage_error(db_, sql);
    }
    return {};
}

Statement::Statement(Connection& conn, std::string_view sql) : db_(conn.get()) {
    stmt_ = conn.cached(sql, &status_);
}

Statement::~Statement() {
    if (stmt_ != nullptr) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
}

Statement& Statement::bind(int index, std::string_view text) {
    if (status_ == SQLITE_OK) {
        status_ = sqlite3_bind_text(
            stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT
        );
    }
    return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
    if (status_ == SQLITE_OK) {
        status_ = sqlite3_bind_int64(stmt_, index, value);
    }
    return *this;
}

int Statement::step() {
    if (status_ != SQLITE_OK) {
        return status_;
    }
    const int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        status_ = rc;
    }
    return rc;
}

Status Statement::run(std::error_code on_constraint) {
    const int rc = step();
    if (rc == SQLITE_DONE) {
        return {};
    }
    if ((rc & 0xFF) == SQLITE_CONSTRAINT) {
        return on_constraint;
    }
    return error("step");
}

std::string Statement::text(int column) const {
    const auto* p = sqlite3_column_text(stmt_, column);
    const int n = sqlite3_column_bytes(stmt_, column);
    if (p == nullptr) {
        return {};
    }
    return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
}

std::int64_t Statement::int64(int column) const {
    return sqlite3_column_int64(stmt_, column);
}

std::error_code Statement::error(std::string_view op) const {
    return storage_error(db_, op);
}

Transaction::~Transaction() {
    if (open_) {
        // Nothing useful can be done if ROLLBACK fails: the connection rolls back on close.
        (void)sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

Status Transaction::begin() {
    // IMMEDIATE takes the write lock now, so busy_timeout applies here and not at a later
    // upgrade from a read lock (which fails with SQLITE_BUSY without waiting).
    auto st = db_.exec("BEGIN IMMEDIATE");
    open_ = st.has_value();
    return st;
}

Status Transaction::commit() {
    auto st = db_.exec("COMMIT");
    if (st) {
        open_ = false;
    }
    return st;
}

}  // namespace sov::accounts::detail
