#pragma once
// The sender's MTA-STS policy cache (RFC 8461 §3.3, §5.1, §10.2): the last policy fetched for
// each Policy Domain, durable across restarts, in the SQLite file <data>/tls/mta-sts.db (WAL).
// One row per domain: the TXT "id" the policy was fetched under, the policy text as served,
// fetched_at and expires_at (= fetched_at + max_age). The cache returns expired entries too: what
// an entry is good for is decided by mta_sts_resolver.hpp. It also remembers the last failed
// fetch per domain, so that attempts for one policy id are rate-limited (§3.3: "five minutes or
// longer per version ID").
//
// Calls are synchronous and short (one indexed row). The object is safe to use from several
// threads (one mutex); several processes (server, `sovereign tls probe`) may share the file.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "tls/mta_sts_fetch.hpp"
#include "tls/mta_sts_policy.hpp"

struct sqlite3;

namespace sov::tls {

struct CachedPolicy {
    std::string domain;  // the cache key: lower-case, no final dot
    std::string id;      // the `_mta-sts` TXT id the policy was fetched under (§3.1)
    std::string body;    // the policy file as served
    Policy policy;       // `body` parsed
    core::WallTime fetched_at;
    core::WallTime expires_at;  // fetched_at + max_age (§3.2)

    /// §5.1: a policy is used while its time since fetch has not exceeded max_age.
    [[nodiscard]] bool expired(core::WallTime now) const noexcept { return now >= expires_at; }
};

struct FetchFailure {
    std::string id;  // the TXT id the failed attempt was for
    core::WallTime failed_at;
    std::string error;
};

/// The cache key for a Policy Domain: ASCII lower-case without the final dot.
[[nodiscard]] std::string cache_key(std::string_view domain);

class PolicyCache {
public:
    /// `<data_dir>/tls/mta-sts.db`.
    [[nodiscard]] static std::filesystem::path path_in(const std::filesystem::path& data_dir);

    /// Opens (creating the file and its directory, mode 0700, if missing) and sets up the
    /// schema. Errors: CacheFailed (logged with SQLite's reason).
    static Result<std::unique_ptr<PolicyCache>> open(const std::filesystem::path& file);

    ~PolicyCache();
    PolicyCache(const PolicyCache&) = delete;
    PolicyCache& operator=(const PolicyCache&) = delete;
    PolicyCache(PolicyCache&&) = delete;
    PolicyCache& operator=(PolicyCache&&) = delete;

    /// The entry for `domain`, expired or not; nullopt if none. A stored body that no longer
    /// parses (a damaged file) is dropped and reported as absent.
    Result<std::optional<CachedPolicy>> lookup(std::string_view domain);

    /// Replaces the entry for `domain` with a freshly fetched policy and forgets any recorded
    /// failure, in one transaction: a reader sees the old entry or the new one, never a mix.
    Status store(std::string_view domain, std::string_view id, const FetchedPolicy& fetched);

    Status remove(std::string_view domain);

    /// Remembers a failed fetch for (domain, id); replaces an earlier failure.
    Status record_failure(
        std::string_view domain, std::string_view id, core::WallTime at, std::string_view error
    );
    Result<std::optional<FetchFailure>> last_failure(std::string_view domain);

    const std::filesystem::path& path() const { return path_; }

private:
    PolicyCache(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}

    std::mutex mutex_;
    sqlite3* db_;
    std::filesystem::path path_;
};

}  // namespace sov::tls
