#include "store/detail/sqlite.hpp"

#include <sqlite3.h>

#include "store/errors.hpp"

namespace sov::store::detail {

Db::Db()
    : core::Db(
          core::SqliteErrors{.log_event = "store.sqlite", .map = &core::classify_sqlite_error<Errc>}
      ) {}

}  // namespace sov::store::detail
