#pragma once
// A thin RAII layer over the SQLite C API: cached prepared statements, BEGIN IMMEDIATE, failures
// logged once and mapped to core::Errc (busy/locked → TempFail, corrupt → Corrupt, constraint →
// Exists). Not thread-safe: the owner serialises access to a Db.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include <sqlite3.h>

#include "core/result.hpp"

namespace sov::core {

/// How a Db reports SQLite failures: the log event name and the error code an SQLite result
/// code becomes. The default maps to core::Errc; the store maps to its own Errc.
/// What an SQLite result code means to a caller, in an error enum that has NotFound, TempFail,
/// Corrupt, Exists and Io (core::Errc, store::Errc): busy, locked, nomem → temporary; corrupt,
/// notadb → corrupt; constraint → exists; cantopen of a missing file opened without create →
/// not found; anything else → I/O.
template <class Errc>
std::error_code classify_sqlite_error(int rc, bool missing_file) {
    if (missing_file) {
        return Errc::NotFound;
    }
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_NOMEM:
            return Errc::TempFail;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return Errc::Corrupt;
        case SQLITE_CONSTRAINT:
            return Errc::Exists;
        default:
            return Errc::Io;
    }
}

struct SqliteErrors {
    const char* log_event = "sqlite";
    /// Maps a result code (classify_sqlite_error in the caller's error enum); null: core::Errc.
    std::error_code (*map)(int rc, bool missing_file) = nullptr;
};

class Stmt {
public:
    Stmt() = default;
    Stmt(sqlite3* db, sqlite3_stmt* s, const SqliteErrors* errors)
        : db_(db), stmt_(s), errors_(errors) {}

    Stmt& bind(int i, std::int64_t v);
    Stmt& bind(int i, std::string_view v);  // text
    Stmt& bind_blob(int i, std::string_view v);
    Stmt& bind_null(int i);
    /// Steps once: true with a row, false when done; errors go to `error()`.
    bool step();
    /// Steps to completion (for statements without rows).
    Status run();
    Status error() const;

    std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
    std::string text(int col) const;
    std::string blob(int col) const;
    bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

    /// Resets and clears bindings so the cached statement can be reused.
    void reset();
    sqlite3_stmt* raw() const { return stmt_; }

private:
    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
    const SqliteErrors* errors_ = nullptr;
    int rc_ = SQLITE_OK;
};

/// Resets a cached statement when the scope ends, whatever path leaves it.
class StmtScope {
public:
    explicit StmtScope(Stmt& s) : s_(s) {}
    ~StmtScope() { s_.reset(); }
    StmtScope(const StmtScope&) = delete;
    StmtScope& operator=(const StmtScope&) = delete;
    Stmt* operator->() { return &s_; }
    Stmt& operator*() { return s_; }

private:
    Stmt& s_;
};

class Db {
public:
    Db() = default;
    explicit Db(SqliteErrors errors) : errors_(errors) {}
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    Status open(const std::filesystem::path& path, bool create);
    void close() noexcept;
    bool is_open() const { return db_ != nullptr; }

    Status exec(const char* sql);
    /// A prepared statement cached for the life of the connection (keyed by the SQL text).
    Result<Stmt*> prepare(std::string_view sql);
    std::int64_t changes() const { return sqlite3_changes64(db_); }
    const std::filesystem::path& path() const { return path_; }
    sqlite3* raw() const { return db_; }

    Status begin();  // BEGIN IMMEDIATE: take the write lock now, not at the first write
    Status commit();
    void rollback() noexcept;

private:
    sqlite3* db_ = nullptr;
    std::filesystem::path path_;
    SqliteErrors errors_;
    std::map<std::string, std::unique_ptr<Stmt>, std::less<>> cache_;
};

}  // namespace sov::core
