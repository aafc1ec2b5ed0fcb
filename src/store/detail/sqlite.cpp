#include "store/detail/sqlite.hpp"

#include <sqlite3.h>

#include "store/errors.hpp"

namespace sov::store::detail {

namespace {

std::error_code store_error(int rc, bool missing_file) {
    if (missing_file) {
        return Errc::NotFound;  // the account (or its text index) does not exist
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

}  // namespace

Db::Db() : core::Db(core::SqliteErrors{.log_event = "store.sqlite", .map = &store_error}) {}

}  // namespace sov::store::detail
