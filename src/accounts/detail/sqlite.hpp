#pragma once
// Minimal RAII over the SQLite C API for the accounts module (private to the module).
// Failures are logged once here, with SQLite's message, and surface as Errc::Storage.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace sov::accounts::detail {

/// Logs an SQLite failure (`op` names what was attempted) and returns Errc::Storage.
std::error_code storage_error(sqlite3* db, std::string_view op);

class Connection {
public:
    Connection() = default;
    ~Connection();
    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Opens (creating if needed) the database read-write.
    static Result<Connection> open(const std::filesystem::path& path);

    sqlite3* get() const noexcept { return db_; }
    /// Runs statements without results (schema, pragmas, BEGIN/COMMIT).
    Status exec(const char* sql);

    /// The prepared statement for `sql`, compiled once per connection: every RCPT resolves
    /// through a few of these, and compiling them each time was most of the lookup's cost.
    /// Null with `*rc` set when it does not compile.
    sqlite3_stmt* cached(std::string_view sql, int* rc);

private:
    struct Finalize {
        void operator()(sqlite3_stmt* stmt) const noexcept;
    };
    using Cache = std::map<std::string, std::unique_ptr<sqlite3_stmt, Finalize>, std::less<>>;

    explicit Connection(sqlite3* db) noexcept : db_(db) {}
    void close() noexcept;

    sqlite3* db_ = nullptr;
    Cache cache_;  // finalized before db_ closes
};

/// A use of a cached statement: bound, stepped, then reset (not finalized) when it goes out
/// of scope, so the next use starts clean.
class Statement {
public:
    Statement(Connection& conn, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement(Statement&&) = delete;
    Statement& operator=(Statement&&) = delete;

    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, std::int64_t value);

    /// SQLITE_ROW, SQLITE_DONE, or an SQLite error code (also for a failed prepare or bind).
    int step();
    /// step() expecting SQLITE_DONE; SQLITE_CONSTRAINT becomes `on_constraint` (e.g. Exists).
    Status run(std::error_code on_constraint);

    std::string text(int column) const;
    std::int64_t int64(int column) const;
    /// The error of the last step(), logged, as Errc::Storage.
    std::error_code error(std::string_view op) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
    int status_ = 0;  // first prepare/bind failure, 0 if none
};

/// BEGIN IMMEDIATE … COMMIT; rolls back unless commit() succeeded.
class Transaction {
public:
    explicit Transaction(Connection& db) : db_(db) {}
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction(Transaction&&) = delete;
    Transaction& operator=(Transaction&&) = delete;

    Status begin();
    Status commit();

private:
    Connection& db_;
    bool open_ = false;
};

}  // namespace sov::accounts::detail
