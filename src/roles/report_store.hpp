#pragma once
// What the two report senders share: DMARC aggregate reports (dmarc_reporting.hpp, RFC 9990) and
// SMTP TLS reports (tlsrpt_reporting.hpp, RFC 8460). Each keeps an SQLite database in
// <data>/reports/ (directory mode 0700: the rows name correspondents), opened the same way (WAL,
// synchronous=NORMAL, a schema version that refuses newer databases) and holding the same `sent`
// table of the reports queued per (domain, UTC day); both report per UTC day and return the same
// summary of a run.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/result.hpp"
#include "core/sqlite.hpp"

namespace sov::roles {

inline constexpr std::int64_t kSecondsPerDay = 86400;

/// The start (00:00 UTC) of the day holding `unix_time`.
[[nodiscard]] std::int64_t utc_day(std::int64_t unix_time) noexcept;

/// Queues a generated message: (envelope sender, recipients, message) -> queue id. The server's
/// version DKIM-signs and wakes the queue runner (Outbound::enqueue_generated).
using ReportEnqueue = std::function<boost::asio::awaitable<Result<std::string>>(
    std::string sender, std::vector<std::string> recipients, std::string message
)>;

struct SendSummary {
    std::size_t reports = 0;   // reports built
    std::size_t messages = 0;  // report emails queued (and HTTPS uploads made)
    std::size_t skipped = 0;   // destinations refused (external check, size limit, scheme)
    std::size_t deferred = 0;  // reports kept for a retry (temporary DNS or upload failure)
    std::size_t failed = 0;    // store, queue or upload failures
};

/// The parts of a report email, for tests and the senders.
struct ReportEmail {
    std::string filename;
    std::string message;
};

/// Opens `dir`/`file` (creating `dir` with mode 0700 and the file), in WAL mode with
/// synchronous=NORMAL: a crash may lose the last rows (a report undercounts a little), never
/// corrupt the database, and no fsync is paid per recorded row. A database whose user_version is
/// newer than `version` is refused (not_supported) rather than misread; otherwise `schema` and
/// the shared `sent` table are created and user_version set. Failures are logged as
/// `<event>.store_open` / `<event>.schema_newer`.
Status open_report_db(
    core::Db& db,
    const std::filesystem::path& dir,
    std::string_view file,
    const char* schema,
    int version,
    std::string_view event
);

/// How many reports were queued for (domain, day): a later report for the same day gets this
/// as its sequence number, so that report ids stay unique.
Result<std::uint64_t> count_sent(core::Db& db, std::string_view domain, std::int64_t day);

/// Records `report_id` as queued for (domain, day) at `now`.
Status record_sent(
    core::Db& db,
    std::string_view domain,
    std::int64_t day,
    std::string_view report_id,
    std::int64_t now
);

/// Runs `work` inside BEGIN IMMEDIATE ... COMMIT; rolls back when it fails.
Status in_transaction(core::Db& db, const std::function<Status()>& work);

}  // namespace sov::roles
