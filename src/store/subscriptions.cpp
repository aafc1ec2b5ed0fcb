// Subscriptions (RFC 9051 §6.3.7-8, RFC 3501 §6.3.6): a list of names, independent of the
// mailboxes that exist. A subscription survives the deletion of its mailbox ("\NonExistent" in
// LIST (SUBSCRIBED), RFC 5258 §3.1) and may name a mailbox that was never created.
//
// Older indexes kept the subscription as a column of `mailboxes`; both are read, and writes keep
// the column in step, so an index written by this build still reads right in an older one.
#include <set>
#include <string>
#include <vector>

#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"
#include "store/store.hpp"

namespace sov::store {

using detail::Account;
using detail::StmtScope;
using detail::StoreOps;

namespace {

constexpr const char* kTable =
    "CREATE TABLE IF NOT EXISTS subscriptions(name TEXT PRIMARY KEY) WITHOUT ROWID";

}  // namespace

Status Store::subscribe(std::string_view account, std::string_view name, bool on) {
    const std::string canonical = canonical_mailbox_name(name);
    if (canonical.empty()) {
        return Errc::Invalid;
    }
    return StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        if (auto st = acc.db.exec(kTable); !st) {
            return st;
        }
        return StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            auto s = acc.db.prepare(
                on ? "INSERT OR IGNORE INTO subscriptions(name) VALUES (?1)"
                   : "DELETE FROM subscriptions WHERE name = ?1"
            );
            if (!s) {
                return s.error();
            }
            {
                StmtScope scope(**s);
                if (auto st = scope->bind(1, canonical).run(); !st) {
                    return st;
                }
            }
            auto m = acc.db.prepare("UPDATE mailboxes SET subscribed = ?1 WHERE name = ?2");
            if (!m) {
                return m.error();
            }
            StmtScope scope(**m);
            return scope->bind(1, on ? 1 : 0).bind(2, canonical).run();
        });
    });
}

Result<std::vector<std::string>> Store::subscriptions(std::string_view account) {
    return StoreOps::with_account(
        *impl_,
        account,
        [&](Account& acc) -> Result<std::vector<std::string>> {
            if (auto st = acc.db.exec(kTable); !st) {
                return st.error();
            }
            std::set<std::string> names;
            for (const char* sql :
                 {"SELECT name FROM subscriptions", "SELECT name FROM mailboxes WHERE subscribed"
                 }) {
                auto s = acc.db.prepare(sql);
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                while (scope->step()) {
                    names.insert(scope->text(0));
                }
                if (auto st = scope->error(); !st) {
                    return st.error();
                }
            }
            return std::vector<std::string>(names.begin(), names.end());
        }
    );
}

}  // namespace sov::store
