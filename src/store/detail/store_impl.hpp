#pragma once
// Private to the store: Store::Impl (worker threads, open accounts) and the Account and Job records
// shared by the files that implement Store, with the small helpers several of them use.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/sqlite.hpp"
#include "store/errors.hpp"
#include "store/store.hpp"

namespace sov::store {

/// The store's own access to Incoming's private members (Incoming declares it a friend).
struct IncomingAccess {
    static Incoming make(int fd, std::filesystem::path path, std::string name) {
        return Incoming(fd, std::move(path), std::move(name));
    }
    static Status finish(
        Incoming& in,
        const std::function<std::string(std::string_view)>& structure_of,
        std::string& structure
    ) {
        return in.finish(structure_of, structure);
    }
    static const std::string& name(const Incoming& in) { return in.name_; }
};

namespace detail {

inline constexpr std::string_view kRemovedPrefix = ".removed-";  // see remove_account()

struct Account {
    std::mutex mu;
    std::string name;
    std::filesystem::path dir;
    Db db;
    bool removed = false;
    std::set<std::string> known_buckets;  // msg/<bucket> directories known to exist durably
};

struct Job {
    Incoming message;
    DeliveryRequest request;
    std::function<void(std::vector<DeliveryOutcome>)> done;
    std::string structure;
    Status prepared;
};

inline std::int64_t to_unix(core::WallTime t) {
    return core::unix_seconds(t);
}

inline core::WallTime from_unix(std::int64_t s) {
    return core::WallTime(std::chrono::seconds(s));
}

inline DeliveryOutcome outcome(DeliveryStatus status, std::string reason) {
    DeliveryOutcome o;
    o.status = status;
    o.reason = std::move(reason);
    return o;
}

// names.cpp: keywords are stored as one space-separated, sorted string.
std::vector<std::string> normalize_keywords(std::vector<std::string> kw);
std::string join_keywords(const std::vector<std::string>& kw);
std::vector<std::string> split_keywords(std::string_view s);

// mailboxes.cpp
Result<MailboxInfo> find_mailbox(Account& acc, std::string_view name);

// accounts.cpp: lowers the account's quota usage (inside the caller's transaction).
Status release_usage(Account& acc, std::int64_t bytes, std::int64_t messages);

}  // namespace detail

class Store::Impl {
public:
    using Account = detail::Account;
    using Job = detail::Job;

    explicit Impl(StoreOptions o) : opt(std::move(o)) {}

    StoreOptions opt;
    std::filesystem::path mail_dir;
    std::filesystem::path spool_dir;
    std::string token = detail::random_token();
    std::atomic<std::uint64_t> counter{0};

    std::mutex accounts_mu;  // never taken while holding an Account::mu
    std::unordered_map<std::string, std::shared_ptr<Account>> accounts;

    std::mutex queue_mu;
    std::condition_variable sync_cv;
    std::condition_variable commit_cv;
    std::deque<std::unique_ptr<Job>> sync_queue;
    std::deque<std::unique_ptr<Job>> commit_queue;
    std::deque<std::function<void()>> tasks;  // per-account commit work run by the sync threads
    std::size_t syncing = 0;                  // jobs taken from sync_queue, not yet queued
    bool stop_sync = false;
    bool stop_commit = false;
    std::vector<std::thread> sync_threads;
    std::thread committer;

    std::atomic<std::uint64_t> n_batches{0};
    std::atomic<std::uint64_t> n_deliveries{0};
    std::atomic<std::uint64_t> n_file_syncs{0};
    std::atomic<std::uint64_t> n_dir_syncs{0};
    std::atomic<std::uint64_t> n_commits{0};

    // group_commit.cpp
    void start();
    void shutdown();
    void sync_loop();
    void commit_loop();
    void process_batch(std::vector<std::unique_ptr<Job>>& batch);
    void prepare(Job& job);
    void enqueue_commit(std::unique_ptr<Job> job, bool was_syncing);
    /// Runs fns[0] here and the others on the sync threads; returns when all are done.
    void run_parallel(std::vector<std::function<void()>>& fns);
    Status ensure_bucket(Account& acc, const std::string& bucket);
    Status commit(Account& acc);
    Status sync_dir(const std::filesystem::path& dir) {
        ++n_dir_syncs;
        return detail::sync_dir(dir);
    }

    // accounts.cpp
    Result<std::shared_ptr<Account>> account(
        std::string_view name, bool create, std::optional<Quota> quota
    );
    Status create_account_files(Account& acc, Quota quota);

    // schema.cpp
    Status init_index(Account& acc, std::optional<Quota> quota);
    std::uint32_t next_uid_validity(Account& acc);

    // recovery.cpp
    Status recover_account(Account& acc, RecoveryReport& report);
};

namespace detail {

class StoreOps {
public:
    /// Runs `f` on the open account under its lock; a missing or removed account is NotFound.
    template <class F>
    static auto with_account(Store::Impl& impl, std::string_view name, F&& f)
        -> decltype(f(std::declval<Account&>())) {
        auto acc = impl.account(name, false, std::nullopt);
        if (!acc) {
            return acc.error();
        }
        std::lock_guard lock((*acc)->mu);
        if ((*acc)->removed || !(*acc)->db.is_open()) {
            return Errc::NotFound;
        }
        return f(**acc);
    }

    /// Runs `body` in one index transaction: committed if it succeeds, rolled back otherwise.
    template <class F>
    static Status in_transaction(Account& acc, Store::Impl& impl, F&& body) {
        if (auto st = acc.db.begin(); !st) {
            return st;
        }
        if (auto st = body(); !st) {
            acc.db.rollback();
            return st;
        }
        if (auto st = impl.commit(acc); !st) {
            acc.db.rollback();
            return st;
        }
        return {};
    }
};

}  // namespace detail

}  // namespace sov::store
