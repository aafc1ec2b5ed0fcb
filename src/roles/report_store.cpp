#include "roles/report_store.hpp"

#include <fmt/format.h>

#include "core/log.hpp"

namespace sov::roles {

namespace fs = std::filesystem;

namespace {

// Every report database has it: the ids of the reports queued, per (domain, day).
constexpr const char* kSentSchema = R"(
CREATE TABLE IF NOT EXISTS sent (
    domain TEXT NOT NULL,
    day INTEGER NOT NULL,
    report_id TEXT NOT NULL,
    queued_at INTEGER NOT NULL,
    PRIMARY KEY (domain, day, report_id)
);
)";

}  // namespace

std::int64_t utc_day(std::int64_t unix_time) noexcept {
    auto day = unix_time / kSecondsPerDay;
    if (unix_time < 0 && unix_time % kSecondsPerDay != 0) {
        --day;
    }
    return day * kSecondsPerDay;
}

Status open_report_db(
    core::Db& db,
    const fs::path& dir,
    std::string_view file,
    const char* schema,
    int version,
    std::string_view event
) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        log::error(
            fmt::format("{}.store_open", event), {{"path", dir.string()}, {"error", ec.message()}}
        );
        return ec;
    }
    // The rows name correspondents, hosts and addresses: the server's user only.
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (auto st = db.open(dir / file, true); !st) {
        return st;
    }
    if (auto st = db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !st) {
        return st;
    }
    auto stmt = db.prepare("PRAGMA user_version");
    if (!stmt) {
        return stmt.error();
    }
    std::int64_t found = 0;
    {
        core::StmtScope scope(**stmt);
        if (scope->step()) {
            found = scope->int64(0);
        }
    }
    if (found > version) {
        log::error(
            fmt::format("{}.schema_newer", event), {{"found", found}, {"supported", version}}
        );
        return std::make_error_code(std::errc::not_supported);
    }
    if (auto st = db.exec(schema); !st) {
        return st;
    }
    if (auto st = db.exec(kSentSchema); !st) {
        return st;
    }
    return db.exec(fmt::format("PRAGMA user_version = {}", version).c_str());
}

Result<std::uint64_t> count_sent(core::Db& db, std::string_view domain, std::int64_t day) {
    auto stmt = db.prepare("SELECT COUNT(*) FROM sent WHERE domain = ?1 AND day = ?2");
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    s->bind(1, domain).bind(2, day);
    std::uint64_t count = 0;
    if (s->step()) {
        count = static_cast<std::uint64_t>(s->int64(0));
    }
    if (auto st = s->error(); !st) {
        return st.error();
    }
    return count;
}

Status record_sent(
    core::Db& db,
    std::string_view domain,
    std::int64_t day,
    std::string_view report_id,
    std::int64_t now
) {
    auto stmt = db.prepare(
        "INSERT OR REPLACE INTO sent (domain, day, report_id, queued_at) VALUES (?1, ?2, ?3, ?4)"
    );
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    s->bind(1, domain).bind(2, day).bind(3, report_id).bind(4, now);
    return s->run();
}

Status in_transaction(core::Db& db, const std::function<Status()>& work) {
    if (auto st = db.begin(); !st) {
        return st;
    }
    if (auto st = work(); !st) {
        db.rollback();
        return st;
    }
    return db.commit();
}

}  // namespace sov::roles
