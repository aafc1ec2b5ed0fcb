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
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
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

/// Indexed text above this size (headers + body) is not indexed: the message stays a candidate
/// of every search (the caller verifies it). Indexing costs ~300 ns a character (text.db's write
/// lock, a maintenance thread's time) and ~3 bytes of index a character.
inline constexpr std::size_t kMaxIndexedText = 1024 * 1024;

struct Account {
    std::mutex mu;
    std::string name;
    std::filesystem::path dir;
    /// `dir` (O_PATH), open while the account is: MessageRow::dir_fd.
    Fd dir_fd;
    Db db;
    bool removed = false;
    std::set<std::string> known_buckets;  // msg/<bucket> directories known to exist durably
    /// Held for a whole text index batch (fts.cpp), so two indexers never decode the same
    /// messages twice. Taken before `mu`, never while holding it.
    std::mutex text_mu;
    /// search_text()'s connection (text.db with index.db attached), opened on first use: searches
    /// run without `mu`. Taken without `mu` held.
    std::mutex search_mu;
    Db search_db;
    /// Read-only connections to index.db for listings and polls (StoreOps::with_reader): they
    /// run without `mu`, so sessions reading the mailbox neither wait for each other nor for a
    /// writer's commit (WAL: a reader sees everything committed before it began, never part of a
    /// transaction). Idle ones are kept here (at most kIdleReaders); taken without `mu` held.
    std::mutex readers_mu;
    std::vector<std::unique_ptr<Db>> readers;
    /// Set (with `removed`) when the account is removed: readers stop being handed out.
    std::atomic<bool> closed{false};
};

inline constexpr std::size_t kIdleReaders = 4;

struct Job {
    Incoming message;
    DeliveryRequest request;
    std::function<void(std::vector<DeliveryOutcome>)> done;
    std::string structure;
    Status prepared;
    /// Non-zero: one of the messages of a Store::append_all, which are committed as a batch of
    /// their own, all or none.
    std::uint64_t group = 0;
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

// names.cpp
bool valid_utf8(std::string_view s);
// Keywords are stored as one space-separated, sorted string.
std::vector<std::string> normalize_keywords(std::vector<std::string> kw);
std::string join_keywords(const std::vector<std::string>& kw);
std::vector<std::string> split_keywords(std::string_view s);

// mailboxes.cpp
/// The mailbox `key` names; NotFound when there is none (or no longer the one an identity
/// named), Invalid for a name that cannot be one.
Result<MailboxInfo> find_mailbox(Db& db, const MailboxKey& key);
inline Result<MailboxInfo> find_mailbox(Account& acc, const MailboxKey& key) {
    return find_mailbox(acc.db, key);
}

// fts.cpp: messages.text_id is NULL (not indexed yet), kTextUnindexable (text_of failed, the
// text is too large or the file unreadable: never retried) or the rowid of its row in text.db,
// which copies share.
inline constexpr std::int64_t kTextUnindexable = -1;
/// text.db rows no message refers to go to text_garbage, and references to rows text.db does
/// not have (lost, or the file deleted by hand) are reset to NULL, so those messages are indexed
/// again. `full` = false (account open) only handles a missing text.db; recover() checks all.
/// The caller holds the account lock; `fixed` (may be null) counts the repairs.
Status check_text_index(Account& acc, bool full, std::uint64_t* fixed);

// group_commit.cpp: "YYYYMM" (UTC), the bucket directory of a message stored at `unix_s`.
std::string bucket_of(std::int64_t unix_s);

// messages.cpp
/// A message's row as delivery, APPEND and COPY insert it.
struct NewMessageRow {
    std::int64_t mailbox_id = 0;
    std::int64_t uid = 0;
    std::int64_t modseq = 0;
    std::int64_t flags = 0;
    std::string_view keywords;  // join_keywords'
    std::int64_t internal_date = 0;
    std::int64_t save_date = 0;
    std::int64_t size = 0;
    std::string_view file;  // relative to the account directory
    std::string_view email_id;
    std::optional<std::string_view> thread_id;
    std::optional<std::int64_t> text_id;
};
/// Inserts the row and returns its id, which message_data and the render cache are keyed by.
Result<std::int64_t> insert_message_row(Db& db, const NewMessageRow& row);
/// `uids` sorted ascending without duplicates.
std::vector<std::uint32_t> sorted_unique(const std::vector<std::uint32_t>& uids);
/// How for_each_listed read the rows.
struct ListedScan {
    bool range = false;     // one scan of uid BETWEEN sorted.front() AND sorted.back()
    bool complete = false;  // ... and every row in that range was listed
};
/// Whether a scan of the UIDs from sorted.front() to sorted.back() reads few enough rows that
/// are not in `sorted` (ascending, unique, not empty) to beat a B-tree descent per UID.
bool worth_a_range_scan(std::span<const std::uint32_t> sorted);
/// Runs `on_row` for each row of `mailbox_id` whose uid is in `sorted` (ascending, unique), in
/// UID order. `from` is the FROM clause: messages, possibly joined, or another table keyed by
/// (mailbox_id, uid); `columns` a SELECT list over it whose first column is uid. Dense sets are
/// read with one range scan, sparse ones with point lookups.
Status for_each_listed(
    Db& db,
    std::int64_t mailbox_id,
    std::span<const std::uint32_t> sorted,
    std::string_view columns,
    const std::function<Status(Stmt&)>& on_row,
    ListedScan* scan = nullptr,
    std::string_view from = "messages"
);

/// Commits of derived data (\Recent marker, text index rows) skip the WAL fsync: losing them in
/// a crash is harmless, and a later durable commit syncs the WAL anyway. Restores FULL on exit.
/// SQLite refuses to change the level inside a transaction: construct it outside one.
class RelaxedSync {
public:
    explicit RelaxedSync(Db& db) : db_(db) { (void)db_.exec("PRAGMA synchronous=NORMAL"); }
    ~RelaxedSync() {
        if (!db_.exec("PRAGMA synchronous=FULL")) {
            // Deliveries would no longer be durable on this connection: make it unusable.
            log::error("store.sync_restore_failed", {{"path", db_.path().string()}});
            db_.close();
        }
    }
    RelaxedSync(const RelaxedSync&) = delete;
    RelaxedSync& operator=(const RelaxedSync&) = delete;

private:
    Db& db_;
};

/// A change listener; `running` counts the calls in progress (under Store::Impl::listeners_mu).
struct ListenerEntry {
    std::uint64_t id = 0;
    ChangeListener fn;
    int running = 0;
    bool removed = false;
};

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
    std::atomic<std::uint64_t> groups{0};  // Job::group numbers handed out

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

    std::mutex listeners_mu;  // never held while a listener runs
    std::condition_variable listeners_cv;
    std::vector<std::shared_ptr<detail::ListenerEntry>> listeners;
    std::uint64_t next_listener_id = 1;

    /// Calls the change listeners; never with an Account::mu held.
    void notify(const std::string& account, const std::string& mailbox);

    // fts.cpp: the maintenance thread keeps the text index: it indexes new messages and
    // removes rows no message refers to, in batches on text.db's own connection (an FTS5 row
    // costs milliseconds to insert or delete: too slow for the delivery commit or EXPUNGE).
    std::thread maintenance;
    std::mutex maintenance_mu;
    std::condition_variable maintenance_cv;
    std::set<std::string> maintenance_queue;  // accounts with text work
    bool stop_maintenance = false;
    void maintenance_loop();
    void schedule_maintenance(const std::string& account);
    /// Deliveries are waiting: background work then pauses longer between slices.
    bool deliveries_pending();
    enum class Progress {
        Done,
        More,
    };
    /// One batch of text index work for the account: removes listed garbage rows, then indexes
    /// messages whose text_id is NULL. The FTS5 work is done on text.db's own connection; the
    /// account lock is only held to list and to record (short statements). Adds the number of
    /// messages indexed to `indexed`.
    Result<Progress> text_index_batch(Account& acc, detail::Db& text, std::uint64_t& indexed);
    /// Runs batches until there is nothing left (reindex_text) or, in the background, pausing
    /// between batches while deliveries wait.
    Result<std::uint64_t> run_text_index(Account& acc, bool background);
    /// RFC 8474 EMAILID for a new message: "M" + store token + counter (24 hex digits).
    std::string new_email_id();

    // group_commit.cpp
    void start();
    void shutdown();
    void sync_loop();
    void commit_loop();
    void process_batch(std::vector<std::unique_ptr<Job>>& batch);
    void prepare(Job& job);
    void enqueue_commit(std::unique_ptr<Job> job, bool was_syncing);
    /// Queues prepared jobs of one group next to each other (Job::group).
    void enqueue_group(std::vector<std::unique_ptr<Job>> jobs);
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

/// A Store::read_scope(): the account, its connection and whether BEGIN ran. Registered in
/// `active_read_scope` while alive (the previous one restored at its end).
struct ReadScopeState {
    Store::Impl* impl = nullptr;
    std::string account;
    std::shared_ptr<Account> acc;
    std::unique_ptr<Db> db;
    bool begun = false;
    ReadScopeState* previous = nullptr;
    /// The last mailbox found by identity on `db` in this scope: the snapshot cannot change it,
    /// so the FETCH and the poll after it read its row once.
    std::optional<MailboxInfo> mailbox_by_identity;
};

/// The innermost ReadScope of this thread, or null.
inline thread_local ReadScopeState* active_read_scope = nullptr;

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

    /// Runs `f(account, db)` on one of the account's read-only connections, in one read
    /// transaction (a consistent snapshot), without the account lock. For reads only. Inside
    /// a Store::read_scope() of the account, on its transaction.
    template <class F>
    static auto with_reader(Store::Impl& impl, std::string_view name, F&& f)
        -> decltype(f(std::declval<Account&>(), std::declval<Db&>())) {
        if (ReadScopeState* scope = active_read_scope;
            scope != nullptr && scope->impl == &impl && scope->account == name) {
            if (auto st = begin_scope(*scope); !st) {
                return st.error();
            }
            return f(*scope->acc, *scope->db);
        }
        auto acc = impl.account(name, false, std::nullopt);
        if (!acc) {
            return acc.error();
        }
        Account& a = **acc;
        auto db = take_reader(a);
        if (!db) {
            return db.error();
        }
        // Cached statements: sqlite3_exec would compile BEGIN and COMMIT for every read, and the
        // poll after every IMAP command is one.
        if (auto st = run_cached(**db, "BEGIN"); !st) {
            return st.error();
        }
        auto result = f(a, **db);
        if (run_cached(**db, "COMMIT")) {
            return_reader(a, std::move(*db));  // else dropped, not reused
        }
        return result;
    }

    /// One of the account's idle read-only connections, or a new one.
    static Result<std::unique_ptr<Db>> take_reader(Account& a) {
        if (a.closed.load()) {
            return Errc::NotFound;
        }
        {
            std::lock_guard lock(a.readers_mu);
            if (!a.readers.empty()) {
                auto db = std::move(a.readers.back());
                a.readers.pop_back();
                return db;
            }
        }
        auto db = std::make_unique<Db>();
        if (auto st = db->open(a.dir / "index.db", false); !st) {
            return st.error();
        }
        // No mmap, unlike the main connection (schema.cpp): when a reader's next transaction
        // finds the database changed by someone else's commit, SQLite drops the reader's
        // mapping (pagerBeginReadTransaction), so while deliveries and flag changes go on,
        // each read paid for munmap, a new mmap and a page fault per page it touched. pread
        // from the OS page cache costs less then: the benchmark's 32-session mixed load went
        // from 1,723-1,887 to 2,869-3,233 ops/s, a quiet mailbox's FETCH 1:* ENVELOPE from
        // 19.5 to 25 ms (bench/README.md, session 24).
        if (auto st = db->exec("PRAGMA query_only=1; PRAGMA mmap_size=0;"); !st) {
            return st.error();
        }
        return db;
    }

    /// Keeps `db` (out of any transaction) for the next reader, up to kIdleReaders.
    static void return_reader(Account& a, std::unique_ptr<Db> db) {
        std::lock_guard lock(a.readers_mu);
        if (a.readers.size() < kIdleReaders && !a.closed.load()) {
            a.readers.push_back(std::move(db));
        }
    }

    /// The scope's transaction, begun at its first read (store.cpp ends it).
    static Status begin_scope(ReadScopeState& scope);

    static Status run_cached(Db& db, std::string_view sql) {
        auto s = db.prepare(sql);
        if (!s) {
            return s.error();
        }
        StmtScope scope(**s);
        return scope->run();
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
