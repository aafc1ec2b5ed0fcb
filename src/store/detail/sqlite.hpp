#pragma once
// The store's SQLite layer: core::Db (core/sqlite.hpp) with failures logged as "store.sqlite"
// and mapped to store::Errc. Not thread-safe: each Db is used under its account's mutex.
#include "core/sqlite.hpp"

namespace sov::store::detail {

using Stmt = core::Stmt;
using StmtScope = core::StmtScope;

class Db : public core::Db {
public:
    Db();
};

}  // namespace sov::store::detail
