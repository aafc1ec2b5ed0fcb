#include "store/store.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "core/log.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/sqlite.hpp"

namespace sov::store {

namespace fs = std::filesystem;
using detail::Db;
using detail::Stmt;
using detail::StmtScope;

namespace {

// Bytes kept in memory before the spool file is written: a typical message (a few KB) then costs
// one write(2), and its structure is computed without reading the file back.
constexpr std::size_t kSpoolBuffer = 128 * 1024;
constexpr std::int64_t kSchemaVersion = 1;
constexpr std::size_t kMaxOpenAccounts = 1024;  // idle index connections kept open
constexpr std::string_view kRemovedPrefix = ".removed-";

// RFC 6154 §2 special-use mailboxes created with every account; INBOX per RFC 3501 §5.1.
struct SpecialMailbox {
    std::string_view name;
    std::string_view use;
};
constexpr SpecialMailbox kSpecialMailboxes[] = {
    {"INBOX", ""},
    {"Sent", "\\Sent"},
    {"Drafts", "\\Drafts"},
    {"Trash", "\\Trash"},
    {"Junk", "\\Junk"},
    {"Archive", "\\Archive"},
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS account(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    quota_bytes INTEGER NOT NULL DEFAULT 0,
    quota_messages INTEGER NOT NULL DEFAULT 0,
    used_bytes INTEGER NOT NULL DEFAULT 0,
    used_messages INTEGER NOT NULL DEFAULT 0,
    last_uid_validity INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS mailboxes(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    special_use TEXT NOT NULL DEFAULT '',
    subscribed INTEGER NOT NULL DEFAULT 0,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL DEFAULT 1,
    highest_modseq INTEGER NOT NULL DEFAULT 1,
    message_count INTEGER NOT NULL DEFAULT 0,
    total_size INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages(
    id INTEGER PRIMARY KEY,
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    flags INTEGER NOT NULL DEFAULT 0,
    keywords TEXT NOT NULL DEFAULT '',
    internal_date INTEGER NOT NULL,
    save_date INTEGER NOT NULL,
    size INTEGER NOT NULL,
    file TEXT NOT NULL,
    structure BLOB NOT NULL,
    email_id TEXT,
    thread_id TEXT,
    UNIQUE (mailbox_id, uid)
);
CREATE INDEX IF NOT EXISTS messages_modseq ON messages(mailbox_id, modseq);
-- RFC 7162 §3.2.7: the mod-sequence of each expunge is remembered for QRESYNC (VANISHED).
CREATE TABLE IF NOT EXISTS expunged(
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
)sql";

std::int64_t to_unix(core::WallTime t) {
    return core::unix_seconds(t);
}

core::WallTime from_unix(std::int64_t s) {
    return core::WallTime(std::chrono::seconds(s));
}

// RFC 3501 §9: flag-keyword = atom; atom-specials = "(" / ")" / "{" / SP / CTL / "%" / "*" /
// DQUOTE / "\" / "]". A keyword never starts with "\" (that is a system flag).
bool valid_keyword(std::string_view k) {
    if (k.empty() || k.size() > 255) {
        return false;
    }
    for (unsigned char c : k) {
        if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' ||
            c == '"' || c == '\\' || c == ']') {
            return false;
        }
    }
    return true;
}

std::vector<std::string> normalize_keywords(std::vector<std::string> kw) {
    std::erase_if(kw, [](const std::string& k) { return !valid_keyword(k); });
    std::sort(kw.begin(), kw.end());
    kw.erase(std::unique(kw.begin(), kw.end()), kw.end());
    return kw;
}

std::string join_keywords(const std::vector<std::string>& kw) {
    std::string out;
    for (const auto& k : kw) {
        if (!out.empty()) {
            out += ' ';
        }
        out += k;
    }
    return out;
}

std::vector<std::string> split_keywords(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        auto sp = s.find(' ');
        if (sp != 0) {
            out.emplace_back(s.substr(0, sp));
        }
        if (sp == std::string_view::npos) {
            break;
        }
        s.remove_prefix(sp + 1);
    }
    return out;
}

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80             ? 0
                        : (c & 0xe0) == 0xc0 ? 1
                        : (c & 0xf0) == 0xe0 ? 2
                        : (c & 0xf8) == 0xf0 ? 3
                                             : 4;
        if (n == 4 || (n == 1 && c < 0xc2) || s.size() - i <= n) {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
                return false;
            }
        }
        i += n + 1;
    }
    return true;
}

// "YYYYMM" (UTC) for the bucket directory of a message stored at `t`.
std::string bucket_of(std::int64_t unix_s) {
    time_t tt = static_cast<time_t>(unix_s);
    struct tm tm{};
    gmtime_r(&tt, &tm);
    return fmt::format("{:04d}{:02d}", tm.tm_year + 1900, tm.tm_mon + 1);
}

DeliveryOutcome outcome(DeliveryStatus status, std::string reason) {
    DeliveryOutcome o;
    o.status = status;
    o.reason = std::move(reason);
    return o;
}

}  // namespace

// ---------------------------------------------------------------- Incoming

struct IncomingAccess {
    static Incoming make(int fd, fs::path path, std::string name) {
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

Incoming::Incoming(int fd, fs::path path, std::string name)
    : fd_(fd), path_(std::move(path)), name_(std::move(name)) {}

Incoming::Incoming(Incoming&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::exchange(other.path_, {})),
      name_(std::move(other.name_)),
      buffer_(std::move(other.buffer_)),
      size_(std::exchange(other.size_, 0)),
      flushed_any_(other.flushed_any_),
      error_(other.error_) {}

Incoming& Incoming::operator=(Incoming&& other) noexcept {
    if (this != &other) {
        discard();
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::exchange(other.path_, {});
        name_ = std::move(other.name_);
        buffer_ = std::move(other.buffer_);
        size_ = std::exchange(other.size_, 0);
        flushed_any_ = other.flushed_any_;
        error_ = other.error_;
    }
    return *this;
}

Incoming::~Incoming() {
    discard();
}

void Incoming::discard() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!path_.empty()) {
        detail::remove_file(path_);
        path_.clear();
    }
}

Status Incoming::append(std::string_view bytes) {
    if (error_) {
        return error_;
    }
    if (fd_ < 0) {
        return Errc::Invalid;  // moved from
    }
    buffer_.append(bytes);
    size_ += bytes.size();
    if (buffer_.size() >= kSpoolBuffer) {
        return flush();
    }
    return {};
}

Status Incoming::flush() {
    if (buffer_.empty()) {
        return {};
    }
    if (auto st = detail::write_all(fd_, buffer_, path_); !st) {
        error_ = st.error();
        return st;
    }
    buffer_.clear();
    flushed_any_ = true;
    return {};
}

Status Incoming::finish(
    const std::function<std::string(std::string_view)>& structure_of, std::string& structure
) {
    if (error_) {
        return error_;
    }
    if (fd_ < 0) {
        return Errc::Invalid;
    }
    const bool in_memory = !flushed_any_;
    auto compute = [&](std::string_view bytes) {
        if (!structure_of) {
            return;
        }
        // The parser is foreign code running on our worker thread: a throw must not kill the
        // store, and a message without a structure blob is still a delivered message.
        try {
            structure = structure_of(bytes);
        } catch (const std::exception& e) {
            log::error("store.structure_failed", {{"file", name_}, {"error", e.what()}});
            structure.clear();
        }
    };
    if (in_memory) {
        compute(buffer_);
    }
    if (auto st = flush(); !st) {
        return st;
    }
    if (!in_memory && structure_of) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
        if (p == MAP_FAILED) {
            // fd_ is O_RDWR so this only fails on resource exhaustion.
            log::error("store.io", {{"op", "mmap"}, {"path", path_.string()}});
            return Errc::Io;
        }
        compute({static_cast<const char*>(p), static_cast<std::size_t>(size_)});
        ::munmap(p, size_);
    }
    std::string().swap(buffer_);
    return detail::sync_data(fd_, path_);
}

// ---------------------------------------------------------------- Impl

namespace {

struct Account {
    std::mutex mu;
    std::string name;
    fs::path dir;
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

// A mailbox touched by a batch: counters are kept here and written back once.
struct MailboxState {
    std::int64_t id = 0;
    std::uint32_t uid_validity = 0;
    std::int64_t uid_next = 1;
    std::int64_t highest_modseq = 1;
    std::int64_t count_delta = 0;
    std::int64_t bytes_delta = 0;
};

struct AccountState {
    Quota quota;
    std::int64_t used_bytes = 0;
    std::int64_t used_messages = 0;
};

}  // namespace

class Store::Impl {
public:
    explicit Impl(StoreOptions o) : opt(std::move(o)) {}

    StoreOptions opt;
    fs::path mail_dir;
    fs::path spool_dir;
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

    void start();
    void shutdown();
    void sync_loop();
    void commit_loop();
    void process_batch(std::vector<std::unique_ptr<Job>>& batch);
    void prepare(Job& job);
    void enqueue_commit(std::unique_ptr<Job> job, bool was_syncing);
    /// Runs fns[0] here and the others on the sync threads; returns when all are done.
    void run_parallel(std::vector<std::function<void()>>& fns);

    Result<std::shared_ptr<Account>> account(
        std::string_view name, bool create, std::optional<Quota> quota
    );
    Status create_account_files(Account& acc, Quota quota);
    Status init_index(Account& acc, std::optional<Quota> quota);
    Status ensure_bucket(Account& acc, const std::string& bucket);
    std::uint32_t next_uid_validity(Account& acc);
    Status commit(Account& acc);
    Status sync_dir(const fs::path& dir) {
        ++n_dir_syncs;
        return detail::sync_dir(dir);
    }

    Status recover_account(Account& acc, RecoveryReport& report);
};

void Store::Impl::start() {
    unsigned n = std::max(1U, opt.sync_threads);
    for (unsigned i = 0; i < n; ++i) {
        sync_threads.emplace_back([this] { sync_loop(); });
    }
    committer = std::thread([this] { commit_loop(); });
}

// The committer drains first (it still needs the workers for its per-account tasks), then the
// workers stop.
void Store::Impl::shutdown() {
    {
        std::lock_guard lock(queue_mu);
        stop_commit = true;
    }
    commit_cv.notify_all();
    if (committer.joinable()) {
        committer.join();
    }
    {
        std::lock_guard lock(queue_mu);
        stop_sync = true;
    }
    sync_cv.notify_all();
    for (auto& t : sync_threads) {
        t.join();
    }
}

void Store::Impl::run_parallel(std::vector<std::function<void()>>& fns) {
    if (fns.empty()) {
        return;
    }
    std::latch remaining(static_cast<std::ptrdiff_t>(fns.size() - 1));
    {
        std::lock_guard lock(queue_mu);
        for (std::size_t i = 1; i < fns.size(); ++i) {
            tasks.emplace_back([&fns, &remaining, i] {
                fns[i]();
                remaining.count_down();
            });
        }
    }
    sync_cv.notify_all();
    fns[0]();
    remaining.wait();
}

void Store::Impl::prepare(Job& job) {
    // Step 1 of the durability contract, outside any lock and in parallel with other
    // deliveries: concurrent fdatasyncs share the file system's journal commits.
    job.prepared = IncomingAccess::finish(job.message, opt.structure_of, job.structure);
    ++n_file_syncs;
}

void Store::Impl::enqueue_commit(std::unique_ptr<Job> job, bool was_syncing) {
    {
        std::lock_guard lock(queue_mu);
        commit_queue.push_back(std::move(job));
        if (was_syncing) {
            --syncing;
        }
    }
    commit_cv.notify_one();
}

void Store::Impl::sync_loop() {
    for (;;) {
        std::unique_ptr<Job> job;
        std::function<void()> task;
        {
            std::unique_lock lock(queue_mu);
            sync_cv.wait(lock, [&] { return stop_sync || !sync_queue.empty() || !tasks.empty(); });
            if (!tasks.empty()) {  // the committer is waiting on these: first
                task = std::move(tasks.front());
                tasks.pop_front();
            } else if (!sync_queue.empty()) {
                job = std::move(sync_queue.front());
                sync_queue.pop_front();
                ++syncing;
            } else {
                return;  // stopping, and the committer has drained everything
            }
        }
        if (task) {
            task();
            continue;
        }
        prepare(*job);
        enqueue_commit(std::move(job), true);
    }
}

void Store::Impl::commit_loop() {
    for (;;) {
        std::vector<std::unique_ptr<Job>> batch;
        {
            std::unique_lock lock(queue_mu);
            auto drained = [&] { return sync_queue.empty() && syncing == 0; };
            commit_cv.wait(lock, [&] {
                return !commit_queue.empty() || (stop_commit && drained());
            });
            if (commit_queue.empty()) {
                return;
            }
            // Everything that became ready while the previous batch was syncing forms the next
            // batch: under load batches grow by themselves, idle there is no added latency.
            while (!commit_queue.empty() && batch.size() < std::max<std::size_t>(1, opt.max_batch)
            ) {
                batch.push_back(std::move(commit_queue.front()));
                commit_queue.pop_front();
            }
        }
        process_batch(batch);
    }
}

Status Store::Impl::commit(Account& acc) {
    ++n_commits;
    return acc.db.commit();
}

Status Store::Impl::ensure_bucket(Account& acc, const std::string& bucket) {
    if (acc.known_buckets.contains(bucket)) {
        return {};
    }
    bool created = false;
    if (auto st = detail::make_dir(acc.dir / "msg" / bucket, created); !st) {
        return st;
    }
    if (created) {
        // The new directory's entry in msg/ must be durable before files in it count.
        if (auto st = sync_dir(acc.dir / "msg"); !st) {
            return st;
        }
    }
    acc.known_buckets.insert(bucket);
    return {};
}

// UIDVALIDITY (RFC 3501 §2.3.1.1) must never repeat for a name within the account: take the clock,
// but always more than any value handed out before.
std::uint32_t Store::Impl::next_uid_validity(Account& acc) {
    std::int64_t last = 0;
    if (auto s = acc.db.prepare("SELECT last_uid_validity FROM account WHERE id = 1")) {
        StmtScope scope(**s);
        if (scope->step()) {
            last = scope->int64(0);
        }
    }
    std::int64_t v = std::max<std::int64_t>(to_unix(core::now()), last + 1);
    v = std::clamp<std::int64_t>(v, 1, 0xffffffff);
    if (auto s = acc.db.prepare("UPDATE account SET last_uid_validity = ?1 WHERE id = 1")) {
        StmtScope scope(**s);
        (void)scope->bind(1, v).run();
    }
    return static_cast<std::uint32_t>(v);
}

Status Store::Impl::init_index(Account& acc, std::optional<Quota> quota) {
    Db& db = acc.db;
    // WAL + synchronous=FULL: the WAL is fsync'ed at every COMMIT, so a returned COMMIT is
    // durable (NORMAL would only sync at checkpoints and could lose acknowledged mail).
    if (auto st = db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"); !st) {
        return st;
    }
    std::int64_t version = 0;
    {
        auto s = db.prepare("PRAGMA user_version");
        if (!s) {
            return s.error();
        }
        StmtScope scope(**s);
        if (scope->step()) {
            version = scope->int64(0);
        }
    }
    if (version > kSchemaVersion) {
        log::error("store.index_too_new", {{"path", db.path().string()}, {"version", version}});
        return Errc::Corrupt;
    }
    if (version == kSchemaVersion && !quota) {
        return {};
    }
    if (auto st = db.begin(); !st) {
        return st;
    }
    auto fail = [&](Status st) {
        db.rollback();
        return st;
    };
    if (version == 0) {
        if (auto st = db.exec(kSchema); !st) {
            return fail(st);
        }
        auto s = db.prepare("INSERT OR IGNORE INTO account(id, name) VALUES (1, ?1)");
        if (!s) {
            return fail(s.error());
        }
        StmtScope scope(**s);
        if (auto st = scope->bind(1, acc.name).run(); !st) {
            return fail(st);
        }
    }
    // Idempotent: a crash half way through creating an account is finished here.
    for (const auto& sm : kSpecialMailboxes) {
        auto exists = db.prepare("SELECT 1 FROM mailboxes WHERE name = ?1");
        if (!exists) {
            return fail(exists.error());
        }
        bool found = false;
        {
            StmtScope scope(**exists);
            found = scope->bind(1, sm.name).step();
            if (auto st = scope->error(); !st) {
                return fail(st);
            }
        }
        if (found) {
            continue;
        }
        std::uint32_t uv = next_uid_validity(acc);
        auto ins = db.prepare(
            "INSERT INTO mailboxes(name, special_use, subscribed, uid_validity) VALUES (?1, ?2, 1, "
            "?3)"
        );
        if (!ins) {
            return fail(ins.error());
        }
        StmtScope scope(**ins);
        if (auto st = scope->bind(1, sm.name).bind(2, sm.use).bind(3, uv).run(); !st) {
            return fail(st);
        }
    }
    if (quota) {
        auto s =
            db.prepare("UPDATE account SET quota_bytes = ?1, quota_messages = ?2 WHERE id = 1");
        if (!s) {
            return fail(s.error());
        }
        StmtScope scope(**s);
        auto st = scope->bind(1, static_cast<std::int64_t>(quota->max_bytes))
                      .bind(2, static_cast<std::int64_t>(quota->max_messages))
                      .run();
        if (!st) {
            return fail(st);
        }
    }
    if (version == 0) {
        if (auto st = db.exec("PRAGMA user_version = 1"); !st) {
            return fail(st);
        }
    }
    return commit(acc);
}

Status Store::Impl::create_account_files(Account& acc, Quota quota) {
    bool created_dir = false;
    if (auto st = detail::make_dir(acc.dir, created_dir); !st) {
        return st;
    }
    bool created_msg = false;
    if (auto st = detail::make_dir(acc.dir / "msg", created_msg); !st) {
        return st;
    }
    if (auto st = acc.db.open(acc.dir / "index.db", true); !st) {
        return st;
    }
    if (auto st = init_index(acc, quota); !st) {
        return st;
    }
    // The index file, its WAL and msg/ must be reachable after a crash: sync the account
    // directory, then its entry in mail/.
    if (auto st = sync_dir(acc.dir); !st) {
        return st;
    }
    if (created_dir) {
        return sync_dir(mail_dir);
    }
    return {};
}

Result<std::shared_ptr<Account>> Store::Impl::account(
    std::string_view name, bool create, std::optional<Quota> quota
) {
    if (!Store::is_safe_account_name(name)) {
        log::warn("store.unsafe_account_name", {{"account", name}});
        return Errc::Invalid;
    }
    std::lock_guard lock(accounts_mu);
    if (auto it = accounts.find(std::string(name)); it != accounts.end()) {
        return it->second;
    }
    if (accounts.size() >= kMaxOpenAccounts) {
        // Close idle connections: an entry only the map references is not in use by anyone.
        std::erase_if(accounts, [](const auto& kv) { return kv.second.use_count() == 1; });
    }
    auto acc = std::make_shared<Account>();
    acc->name = std::string(name);
    acc->dir = mail_dir / acc->name;
    if (create) {
        if (auto st = create_account_files(*acc, quota.value_or(Quota{})); !st) {
            return st.error();
        }
    } else {
        struct stat st{};
        if (::stat((acc->dir / "index.db").c_str(), &st) != 0) {
            return Errc::NotFound;
        }
        if (auto s = acc->db.open(acc->dir / "index.db", false); !s) {
            return s.error();
        }
        if (auto s = init_index(*acc, std::nullopt); !s) {
            return s.error();
        }
    }
    accounts.emplace(acc->name, acc);
    return acc;
}

void Store::Impl::process_batch(std::vector<std::unique_ptr<Job>>& batch) {
    ++n_batches;
    std::vector<std::vector<DeliveryOutcome>> outcomes(batch.size());
    struct Item {
        std::size_t job;
        std::size_t rcpt;
    };
    std::map<std::string, std::vector<Item>, std::less<>> by_account;
    for (std::size_t j = 0; j < batch.size(); ++j) {
        Job& job = *batch[j];
        outcomes[j].resize(job.request.recipients.size());
        for (std::size_t r = 0; r < job.request.recipients.size(); ++r) {
            auto& o = outcomes[j][r];
            o.mailbox = job.request.recipients[r].mailbox;
            if (!job.prepared) {
                o = outcome(DeliveryStatus::TempFail, "spool: " + job.prepared.error().message());
                continue;
            }
            if (!Store::is_safe_account_name(job.request.recipients[r].account)) {
                o = outcome(DeliveryStatus::MailboxMissing, "unusable account name");
                continue;
            }
            by_account[job.request.recipients[r].account].push_back({j, r});
        }
    }
    n_deliveries += [&] {
        std::uint64_t n = 0;
        for (auto& [a, items] : by_account) {
            n += items.size();
        }
        return n;
    }();

    struct Work {
        std::shared_ptr<Account> acc;
        std::unique_lock<std::mutex> lock;
        std::vector<Item> items;
        std::vector<fs::path> linked;
        std::set<std::string> buckets;
        bool open_txn = false;
    };
    std::vector<Work> work;
    // Phase 0: resolve accounts before locking any (accounts_mu is never taken under an
    // Account::mu, see remove_account).
    for (auto& [name, items] : by_account) {
        const Recipient& first = batch[items[0].job]->request.recipients[items[0].rcpt];
        const bool create = batch[items[0].job]->request.create_missing_accounts;
        auto acc = account(name, create, first.quota);
        if (!acc) {
            for (const Item& it : items) {
                outcomes[it.job][it.rcpt] =
                    acc.error() == Errc::NotFound
                        ? outcome(DeliveryStatus::MailboxMissing, "no such account")
                        : outcome(DeliveryStatus::TempFail, "account: " + acc.error().message());
            }
            continue;
        }
        work.push_back(Work{std::move(*acc), {}, std::move(items), {}, {}, false});
    }

    const std::int64_t now_s = to_unix(core::now());
    const std::string bucket = bucket_of(now_s);

    auto fail_work = [&](Work& w, const std::string& reason) {
        if (w.open_txn) {
            w.acc->db.rollback();
            w.open_txn = false;
        }
        for (const auto& p : w.linked) {
            detail::remove_file(p);
        }
        w.linked.clear();
        for (const Item& it : w.items) {
            auto& o = outcomes[it.job][it.rcpt];
            if (o.status == DeliveryStatus::Delivered) {
                o = outcome(DeliveryStatus::TempFail, reason);
            }
        }
    };

    // Phase 1: per account, link files and write rows inside one open transaction.
    for (Work& w : work) {
        w.lock = std::unique_lock(w.acc->mu);
        Account& acc = *w.acc;
        for (const Item& it : w.items) {
            outcomes[it.job][it.rcpt] = outcome(DeliveryStatus::TempFail, "not attempted");
        }
        if (acc.removed || !acc.db.is_open()) {
            fail_work(w, "account removed");
            for (const Item& it : w.items) {
                outcomes[it.job][it.rcpt] = outcome(DeliveryStatus::TempFail, "account removed");
            }
            continue;
        }
        if (auto st = acc.db.begin(); !st) {
            for (const Item& it : w.items) {
                outcomes[it.job][it.rcpt] = outcome(DeliveryStatus::TempFail, "index busy");
            }
            continue;
        }
        w.open_txn = true;

        AccountState as;
        {
            auto s = acc.db.prepare(
                "SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM account "
                "WHERE id = 1"
            );
            if (!s) {
                fail_work(w, "index error");
                continue;
            }
            StmtScope scope(**s);
            if (!scope->step()) {
                fail_work(w, "index has no account row");
                continue;
            }
            as.quota.max_bytes = static_cast<std::uint64_t>(scope->int64(0));
            as.quota.max_messages = static_cast<std::uint64_t>(scope->int64(1));
            as.used_bytes = scope->int64(2);
            as.used_messages = scope->int64(3);
        }
        const AccountState before = as;
        std::map<std::string, MailboxState, std::less<>> mailboxes;
        std::map<std::size_t, int> links_of_job;  // a job delivered twice here needs two names

        bool bucket_ok = true;
        if (auto st = ensure_bucket(acc, bucket); !st) {
            bucket_ok = false;
        }

        for (const Item& it : w.items) {
            Job& job = *batch[it.job];
            const Recipient& r = job.request.recipients[it.rcpt];
            auto& o = outcomes[it.job][it.rcpt];
            if (r.quota) {
                as.quota = *r.quota;  // the accounts module is the authority on limits
            }
            std::string mbname = Store::canonical_mailbox_name(r.mailbox);
            if (mbname.empty()) {
                o = outcome(DeliveryStatus::MailboxMissing, "invalid mailbox name");
                continue;
            }
            auto mit = mailboxes.find(mbname);
            if (mit == mailboxes.end()) {
                auto s = acc.db.prepare(
                    "SELECT id, uid_validity, uid_next, highest_modseq FROM mailboxes WHERE name = "
                    "?1"
                );
                if (!s) {
                    o = outcome(DeliveryStatus::TempFail, "index error");
                    continue;
                }
                StmtScope scope(**s);
                if (!scope->bind(1, mbname).step()) {
                    o = scope->error() ? outcome(DeliveryStatus::MailboxMissing, "no such mailbox")
                                       : outcome(DeliveryStatus::TempFail, "index error");
                    continue;
                }
                MailboxState ms;
                ms.id = scope->int64(0);
                ms.uid_validity = static_cast<std::uint32_t>(scope->int64(1));
                ms.uid_next = scope->int64(2);
                ms.highest_modseq = scope->int64(3);
                mit = mailboxes.emplace(mbname, ms).first;
            }
            MailboxState& ms = mit->second;
            const auto size = static_cast<std::int64_t>(job.message.size());
            // RFC 5321 §4.5.3.1.10 / RFC 3463 §3.3: X.2.2 mailbox full is temporary unless the
            // message could never fit.
            if (as.quota.max_bytes != 0 && static_cast<std::uint64_t>(size) > as.quota.max_bytes) {
                o = outcome(DeliveryStatus::MessageTooBigForQuota, "message larger than quota");
                continue;
            }
            if ((as.quota.max_bytes != 0 &&
                 static_cast<std::uint64_t>(as.used_bytes + size) > as.quota.max_bytes) ||
                (as.quota.max_messages != 0 &&
                 static_cast<std::uint64_t>(as.used_messages + 1) > as.quota.max_messages)) {
                o = outcome(DeliveryStatus::QuotaExceeded, "mailbox full");
                continue;
            }
            if (ms.uid_next > 0xffffffffLL - 1) {
                // RFC 3501 §2.3.1.1: UIDs are 32-bit; a new UIDVALIDITY would be needed.
                o = outcome(DeliveryStatus::TempFail, "UID space exhausted");
                continue;
            }
            if (!bucket_ok) {
                o = outcome(DeliveryStatus::TempFail, "cannot create message directory");
                continue;
            }
            int nth = links_of_job[it.job]++;
            std::string file = fmt::format(
                "msg/{}/{}.{}{}",
                bucket,
                now_s,
                IncomingAccess::name(job.message),
                nth == 0 ? std::string() : fmt::format(".{}", nth)
            );
            fs::path target = acc.dir / file;
            bool copied = false;
            // Step 2: the link makes the (already synced) inode reachable from the account; the
            // directory fsync below makes the link durable.
            if (auto st = detail::link_or_copy(job.message.spool_path(), target, copied); !st) {
                o = outcome(DeliveryStatus::TempFail, "cannot store message file");
                continue;
            }
            if (copied) {
                ++n_file_syncs;
            }
            w.linked.push_back(target);
            w.buckets.insert(bucket);

            const std::int64_t uid = ms.uid_next;
            const std::int64_t modseq = ms.highest_modseq + 1;
            const std::uint32_t flags = r.flags & flag::kAll;
            auto kw = normalize_keywords(r.keywords);
            auto s = acc.db.prepare(
                "INSERT INTO messages(mailbox_id, uid, modseq, flags, keywords, internal_date, "
                "save_date, size, file, structure) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            );
            Status ins = s ? Status() : Status(s.error());
            if (s) {
                StmtScope scope(**s);
                ins = scope->bind(1, ms.id)
                          .bind(2, uid)
                          .bind(3, modseq)
                          .bind(4, static_cast<std::int64_t>(flags))
                          .bind(5, join_keywords(kw))
                          .bind(6, r.internal_date ? to_unix(*r.internal_date) : now_s)
                          .bind(7, now_s)
                          .bind(8, size)
                          .bind(9, file)
                          .bind_blob(10, job.structure)
                          .run();
            }
            if (!ins) {
                detail::remove_file(target);
                w.linked.pop_back();
                o = outcome(DeliveryStatus::TempFail, "index insert failed");
                continue;
            }
            ms.uid_next = uid + 1;
            ms.highest_modseq = modseq;
            ms.count_delta += 1;
            ms.bytes_delta += size;
            as.used_bytes += size;
            as.used_messages += 1;
            o.status = DeliveryStatus::Delivered;
            o.uid = static_cast<std::uint32_t>(uid);
            o.uid_validity = ms.uid_validity;
            o.modseq = static_cast<std::uint64_t>(modseq);
            o.mailbox = mbname;
            o.reason.clear();
        }

        // Write back the counters once per mailbox and once for the account.
        bool ok = true;
        for (auto& [name, ms] : mailboxes) {
            if (ms.count_delta == 0) {
                continue;
            }
            auto s = acc.db.prepare(
                "UPDATE mailboxes SET uid_next = ?1, highest_modseq = ?2, "
                "message_count = message_count + ?3, total_size = total_size + ?4 WHERE id = ?5"
            );
            if (!s) {
                ok = false;
                break;
            }
            StmtScope scope(**s);
            ok = scope->bind(1, ms.uid_next)
                     .bind(2, ms.highest_modseq)
                     .bind(3, ms.count_delta)
                     .bind(4, ms.bytes_delta)
                     .bind(5, ms.id)
                     .run()
                     .has_value();
            if (!ok) {
                break;
            }
        }
        if (ok &&
            (as.used_bytes != before.used_bytes || as.quota.max_bytes != before.quota.max_bytes ||
             as.quota.max_messages != before.quota.max_messages)) {
            auto s = acc.db.prepare(
                "UPDATE account SET quota_bytes = ?1, quota_messages = ?2, used_bytes = ?3, "
                "used_messages = ?4 WHERE id = 1"
            );
            ok = s.has_value();
            if (ok) {
                StmtScope scope(**s);
                ok = scope->bind(1, static_cast<std::int64_t>(as.quota.max_bytes))
                         .bind(2, static_cast<std::int64_t>(as.quota.max_messages))
                         .bind(3, as.used_bytes)
                         .bind(4, as.used_messages)
                         .run()
                         .has_value();
            }
        }
        if (!ok) {
            fail_work(w, "index update failed");
        }
    }

    // Phase 2, per account: make the links durable (one fsync per bucket directory), then
    // commit; after COMMIT returns the delivery may be acknowledged. Accounts are independent, so
    // they sync in parallel and their fsyncs share journal commits.
    std::vector<std::function<void()>> finals;
    for (Work& w : work) {
        if (!w.open_txn) {
            continue;
        }
        finals.emplace_back([&w, &fail_work, this] {
            for (const auto& b : w.buckets) {
                if (auto st = sync_dir(w.acc->dir / "msg" / b); !st) {
                    fail_work(w, "directory sync failed");
                    return;
                }
            }
            if (auto st = commit(*w.acc); !st) {
                fail_work(w, "index commit failed");
                return;
            }
            w.open_txn = false;
        });
    }
    run_parallel(finals);
    work.clear();  // unlock accounts before running callbacks

    for (std::size_t j = 0; j < batch.size(); ++j) {
        Job& job = *batch[j];
        for (std::size_t r = 0; r < outcomes[j].size(); ++r) {
            const auto& o = outcomes[j][r];
            if (!o.delivered()) {
                log::info(
                    "store.delivery_failed",
                    {{"trace", job.request.trace_id},
                     {"account", job.request.recipients[r].account},
                     {"reason", o.reason}}
                );
            }
        }
        auto done = std::move(job.done);
        auto result = std::move(outcomes[j]);
        batch[j].reset();  // removes the spool file: it is linked everywhere it is needed
        if (done) {
            done(std::move(result));
        }
    }
}

// ---------------------------------------------------------------- Store

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() {
    impl_->shutdown();
}

Result<std::unique_ptr<Store>> Store::open(StoreOptions options) {
    if (options.data_dir.empty()) {
        return Errc::Invalid;
    }
    auto impl = std::make_unique<Impl>(std::move(options));
    impl->mail_dir = impl->opt.data_dir / "mail";
    impl->spool_dir = impl->opt.data_dir / "tmp";
    bool created = false;
    if (auto st = detail::make_dir(impl->opt.data_dir, created); !st) {
        return st.error();
    }
    bool created_any = false;
    for (const auto& d : {impl->mail_dir, impl->spool_dir}) {
        if (auto st = detail::make_dir(d, created); !st) {
            return st.error();
        }
        created_any = created_any || created;
    }
    if (created_any) {
        if (auto st = detail::sync_dir(impl->opt.data_dir); !st) {
            return st.error();
        }
    }
    impl->start();
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Stats Store::stats() const {
    return Stats{
        impl_->n_batches.load(),
        impl_->n_deliveries.load(),
        impl_->n_file_syncs.load(),
        impl_->n_dir_syncs.load(),
        impl_->n_commits.load(),
    };
}

bool Store::is_safe_account_name(std::string_view account) {
    if (account.empty() || account.size() > 255 || account.front() == '.') {
        return false;
    }
    for (unsigned char c : account) {
        if (c == '/' || c == '\0' || c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

std::string Store::canonical_mailbox_name(std::string_view name) {
    if (name.empty() || name.size() > 1000 || !valid_utf8(name)) {
        return {};
    }
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f) {
            return {};
        }
    }
    // '/' is the hierarchy separator: no empty level.
    if (name.front() == '/' || name.back() == '/' || name.find("//") != std::string_view::npos) {
        return {};
    }
    // RFC 3501 §5.1: INBOX is case-insensitive, so is the INBOX level of its children.
    std::string out(name);
    auto head = name.substr(0, name.find('/'));
    if (head.size() == 5 && std::equal(head.begin(), head.end(), "INBOX", [](char a, char b) {
            return (a & ~0x20) == b;
        })) {
        out.replace(0, 5, "INBOX");
    }
    return out;
}

Result<Incoming> Store::begin_message() {
    std::string name = fmt::format("{}-{}", impl_->token, impl_->counter.fetch_add(1));
    fs::path path = impl_->spool_dir / name;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        log::error(
            "store.io",
            {{"op", "create_spool"}, {"path", path.string()}, {"error", std::strerror(errno)}}
        );
        return Errc::Io;
    }
    return IncomingAccess::make(fd, std::move(path), std::move(name));
}

void Store::deliver_async(
    Incoming message,
    DeliveryRequest request,
    std::function<void(std::vector<DeliveryOutcome>)> done
) {
    auto job =
        std::make_unique<Job>(Job{std::move(message), std::move(request), std::move(done), {}, {}});
    {
        std::lock_guard lock(impl_->queue_mu);
        impl_->sync_queue.push_back(std::move(job));
    }
    impl_->sync_cv.notify_one();
}

std::vector<DeliveryOutcome> Store::deliver(Incoming message, DeliveryRequest request) {
    std::promise<std::vector<DeliveryOutcome>> promise;
    auto future = promise.get_future();
    auto job = std::make_unique<Job>(
        Job{std::move(message),
            std::move(request),
            [&promise](auto outcomes) { promise.set_value(std::move(outcomes)); },
            {},
            {}}
    );
    // The caller blocks anyway: sync here and save a thread hand-off.
    impl_->prepare(*job);
    impl_->enqueue_commit(std::move(job), false);
    return future.get();
}

DeliveryOutcome Store::append(
    Incoming message,
    std::string_view account,
    std::string_view mailbox,
    std::uint32_t flags,
    std::vector<std::string> keywords,
    std::optional<core::WallTime> internal_date
) {
    DeliveryRequest req;
    req.create_missing_accounts = false;
    Recipient r;
    r.account = std::string(account);
    r.mailbox = std::string(mailbox);
    r.flags = flags;
    r.keywords = std::move(keywords);
    r.internal_date = internal_date;
    req.recipients.push_back(std::move(r));
    auto out = deliver(std::move(message), std::move(req));
    return out.empty() ? outcome(DeliveryStatus::TempFail, "no outcome") : std::move(out[0]);
}

Status Store::ensure_account(std::string_view account, Quota quota) {
    auto acc = impl_->account(account, true, quota);
    if (!acc) {
        return acc.error();
    }
    // Already open: only the quota may have changed.
    std::lock_guard lock((*acc)->mu);
    if ((*acc)->removed) {
        return Errc::TempFail;
    }
    return impl_->init_index(**acc, quota);
}

Status Store::remove_account(std::string_view account) {
    if (!is_safe_account_name(account)) {
        return Errc::Invalid;
    }
    fs::path doomed;
    {
        std::lock_guard lock(impl_->accounts_mu);
        fs::path dir = impl_->mail_dir / std::string(account);
        if (auto it = impl_->accounts.find(std::string(account)); it != impl_->accounts.end()) {
            std::lock_guard acc_lock(it->second->mu);
            it->second->removed = true;
            it->second->db.close();
            impl_->accounts.erase(it);
        }
        struct stat st{};
        if (::stat(dir.c_str(), &st) != 0) {
            return Errc::NotFound;
        }
        // Rename first (atomic, durable after the fsync): a crash during the slow recursive
        // removal leaves a ".removed-" directory that recover() finishes, never half an account.
        doomed = impl_->mail_dir /
                 fmt::format("{}{}-{}", kRemovedPrefix, account, detail::random_token());
        if (::rename(dir.c_str(), doomed.c_str()) != 0) {
            log::error(
                "store.io",
                {{"op", "rename"}, {"path", dir.string()}, {"error", std::strerror(errno)}}
            );
            return Errc::Io;
        }
        if (auto s = impl_->sync_dir(impl_->mail_dir); !s) {
            return s;
        }
    }
    std::error_code ec;
    fs::remove_all(doomed, ec);
    log::info("store.account_removed", {{"account", account}});
    return {};
}

Result<QuotaUsage> Store::quota_usage(std::string_view account) {
    auto acc = impl_->account(account, false, std::nullopt);
    if (!acc) {
        return acc.error();
    }
    std::lock_guard lock((*acc)->mu);
    if ((*acc)->removed) {
        return Errc::NotFound;
    }
    auto s = (*acc)->db.prepare(
        "SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM account WHERE id = 1"
    );
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    if (!scope->step()) {
        return Errc::Corrupt;
    }
    QuotaUsage q;
    q.limit.max_bytes = static_cast<std::uint64_t>(scope->int64(0));
    q.limit.max_messages = static_cast<std::uint64_t>(scope->int64(1));
    q.used_bytes = static_cast<std::uint64_t>(scope->int64(2));
    q.used_messages = static_cast<std::uint64_t>(scope->int64(3));
    return q;
}

// ---------------------------------------------------------------- read side and mailboxes

namespace {

constexpr const char* kMailboxColumns =
    "SELECT id, name, special_use, subscribed, uid_validity, uid_next, highest_modseq, "
    "message_count, total_size FROM mailboxes";

MailboxInfo mailbox_row(Stmt& s) {
    MailboxInfo m;
    m.id = s.int64(0);
    m.name = s.text(1);
    m.special_use = s.text(2);
    m.subscribed = s.int64(3) != 0;
    m.uid_validity = static_cast<std::uint32_t>(s.int64(4));
    m.uid_next = static_cast<std::uint32_t>(s.int64(5));
    m.highest_modseq = static_cast<std::uint64_t>(s.int64(6));
    m.messages = static_cast<std::uint32_t>(s.int64(7));
    m.bytes = static_cast<std::uint64_t>(s.int64(8));
    return m;
}

Result<MailboxInfo> find_mailbox(Account& acc, std::string_view name) {
    std::string canonical = Store::canonical_mailbox_name(name);
    if (canonical.empty()) {
        return Errc::Invalid;
    }
    auto s = acc.db.prepare(std::string(kMailboxColumns) + " WHERE name = ?1");
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    if (!scope->bind(1, canonical).step()) {
        if (auto st = scope->error(); !st) {
            return st.error();
        }
        return Errc::NotFound;
    }
    return mailbox_row(*scope);
}

bool valid_special_use(std::string_view use) {
    // RFC 6154 §2 (and §5.3 \All, \Flagged, which clients may also set with CREATE-SPECIAL-USE).
    for (std::string_view v :
         {"", "\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"}) {
        if (use == v) {
            return true;
        }
    }
    return false;
}

class StoreOps {
public:
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

}  // namespace

Result<std::vector<MailboxInfo>> Store::list_mailboxes(std::string_view account) {
    return StoreOps::with_account(
        *impl_,
        account,
        [&](Account& acc) -> Result<std::vector<MailboxInfo>> {
            auto s = acc.db.prepare(std::string(kMailboxColumns) + " ORDER BY name");
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            std::vector<MailboxInfo> out;
            while (scope->step()) {
                out.push_back(mailbox_row(*scope));
            }
            if (auto st = scope->error(); !st) {
                return st.error();
            }
            return out;
        }
    );
}

Result<MailboxInfo> Store::mailbox(std::string_view account, std::string_view name) {
    return StoreOps::with_account(*impl_, account, [&](Account& acc) {
        return find_mailbox(acc, name);
    });
}

Result<MailboxInfo> Store::create_mailbox(
    std::string_view account, std::string_view name, std::string_view special_use
) {
    std::string canonical = canonical_mailbox_name(name);
    if (canonical.empty() || !valid_special_use(special_use)) {
        return Errc::Invalid;
    }
    return StoreOps::with_account(*impl_, account, [&](Account& acc) -> Result<MailboxInfo> {
        if (auto existing = find_mailbox(acc, canonical); existing) {
            return Errc::Exists;
        } else if (existing.error() != Errc::NotFound) {
            return existing.error();
        }
        auto st = StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            std::uint32_t uv = impl_->next_uid_validity(acc);
            auto s = acc.db.prepare(
                "INSERT INTO mailboxes(name, special_use, subscribed, uid_validity) "
                "VALUES (?1, ?2, 0, ?3)"
            );
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            return scope->bind(1, canonical).bind(2, special_use).bind(3, uv).run();
        });
        if (!st) {
            return st.error();
        }
        return find_mailbox(acc, canonical);
    });
}

Status Store::rename_mailbox(std::string_view account, std::string_view from, std::string_view to) {
    std::string src = canonical_mailbox_name(from);
    std::string dst = canonical_mailbox_name(to);
    if (src.empty() || dst.empty()) {
        return Errc::Invalid;
    }
    if (dst == "INBOX" || dst.starts_with(src + "/")) {
        return Errc::Invalid;  // cannot rename onto INBOX or below itself
    }
    return StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto old = find_mailbox(acc, src);
        if (!old) {
            return old.error();
        }
        if (auto existing = find_mailbox(acc, dst); existing) {
            return Errc::Exists;
        }
        return StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            if (src == "INBOX") {
                // RFC 3501 §6.3.5: renaming INBOX moves its messages to a new mailbox and leaves
                // INBOX empty; its inferiors stay. UIDs keep their values, and INBOX keeps its
                // UIDNEXT, so no UID is ever reused under INBOX's UIDVALIDITY.
                std::uint32_t uv = impl_->next_uid_validity(acc);
                auto ins = acc.db.prepare(
                    "INSERT INTO mailboxes(name, subscribed, uid_validity, uid_next, "
                    "highest_modseq, message_count, total_size) VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6)"
                );
                if (!ins) {
                    return ins.error();
                }
                std::int64_t new_id = 0;
                {
                    StmtScope scope(**ins);
                    auto st = scope->bind(1, dst)
                                  .bind(2, uv)
                                  .bind(3, old->uid_next)
                                  .bind(4, static_cast<std::int64_t>(old->highest_modseq))
                                  .bind(5, old->messages)
                                  .bind(6, static_cast<std::int64_t>(old->bytes))
                                  .run();
                    if (!st) {
                        return st;
                    }
                    new_id = sqlite3_last_insert_rowid(acc.db.raw());
                }
                auto mv =
                    acc.db.prepare("UPDATE messages SET mailbox_id = ?1 WHERE mailbox_id = ?2");
                if (!mv) {
                    return mv.error();
                }
                {
                    StmtScope scope(**mv);
                    if (auto st = scope->bind(1, new_id).bind(2, old->id).run(); !st) {
                        return st;
                    }
                }
                auto clr = acc.db.prepare(
                    "UPDATE mailboxes SET message_count = 0, total_size = 0, "
                    "highest_modseq = highest_modseq + 1 WHERE id = ?1"
                );
                if (!clr) {
                    return clr.error();
                }
                StmtScope scope(**clr);
                return scope->bind(1, old->id).run();
            }
            // RFC 3501 §6.3.5: inferior hierarchical names are renamed too.
            auto s = acc.db.prepare(
                "UPDATE mailboxes SET name = ?2 || substr(name, ?3) "
                "WHERE name = ?1 OR substr(name, 1, ?3) = ?1 || '/'"
            );
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            return scope->bind(1, src)
                .bind(2, dst)
                .bind(3, static_cast<std::int64_t>(src.size()) + 1)
                .run();
        });
    });
}

Status Store::delete_mailbox(std::string_view account, std::string_view name) {
    std::string canonical = canonical_mailbox_name(name);
    if (canonical.empty()) {
        return Errc::Invalid;
    }
    if (canonical == "INBOX") {
        return Errc::Invalid;  // RFC 3501 §6.3.4: deleting INBOX is an error
    }
    std::vector<fs::path> files;
    auto st = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto mb = find_mailbox(acc, canonical);
        if (!mb) {
            return mb.error();
        }
        return StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            files.clear();
            std::int64_t bytes = 0;
            std::int64_t count = 0;
            {
                auto s = acc.db.prepare("SELECT file, size FROM messages WHERE mailbox_id = ?1");
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                scope->bind(1, mb->id);
                while (scope->step()) {
                    files.push_back(acc.dir / scope->text(0));
                    bytes += scope->int64(1);
                    ++count;
                }
                if (auto e = scope->error(); !e) {
                    return e;
                }
            }
            for (const char* sql :
                 {"DELETE FROM messages WHERE mailbox_id = ?1",
                  "DELETE FROM expunged WHERE mailbox_id = ?1",
                  "DELETE FROM mailboxes WHERE id = ?1"}) {
                auto s = acc.db.prepare(sql);
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                if (auto e = scope->bind(1, mb->id).run(); !e) {
                    return e;
                }
            }
            auto s = acc.db.prepare(
                "UPDATE account SET used_bytes = used_bytes - ?1, "
                "used_messages = used_messages - ?2 WHERE id = 1"
            );
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            return scope->bind(1, bytes).bind(2, count).run();
        });
    });
    if (!st) {
        files.clear();
        return st;
    }
    // After the commit: a crash before these unlinks leaves orphans that recover() removes.
    for (const auto& f : files) {
        detail::remove_file(f);
    }
    return {};
}

Status Store::set_subscribed(std::string_view account, std::string_view name, bool subscribed) {
    return StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto mb = find_mailbox(acc, name);
        if (!mb) {
            return mb.error();
        }
        return StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            auto s = acc.db.prepare("UPDATE mailboxes SET subscribed = ?1 WHERE id = ?2");
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            return scope->bind(1, subscribed ? 1 : 0).bind(2, mb->id).run();
        });
    });
}

Result<std::vector<MessageInfo>> Store::list_messages(
    std::string_view account, std::string_view mailbox, std::uint32_t from_uid
) {
    return StoreOps::with_account(
        *impl_,
        account,
        [&](Account& acc) -> Result<std::vector<MessageInfo>> {
            auto mb = find_mailbox(acc, mailbox);
            if (!mb) {
                return mb.error();
            }
            auto s = acc.db.prepare(
                "SELECT uid, modseq, flags, keywords, internal_date, save_date, size, structure, "
                "file FROM messages WHERE mailbox_id = ?1 AND uid >= ?2 ORDER BY uid"
            );
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            scope->bind(1, mb->id).bind(2, static_cast<std::int64_t>(from_uid));
            std::vector<MessageInfo> out;
            while (scope->step()) {
                MessageInfo m;
                m.uid = static_cast<std::uint32_t>(scope->int64(0));
                m.modseq = static_cast<std::uint64_t>(scope->int64(1));
                m.flags = static_cast<std::uint32_t>(scope->int64(2));
                m.keywords = split_keywords(scope->text(3));
                m.internal_date = from_unix(scope->int64(4));
                m.save_date = from_unix(scope->int64(5));
                m.size = static_cast<std::uint64_t>(scope->int64(6));
                m.structure = scope->blob(7);
                m.path = acc.dir / scope->text(8);
                out.push_back(std::move(m));
            }
            if (auto st = scope->error(); !st) {
                return st.error();
            }
            return out;
        }
    );
}

Result<std::string> Store::read_message(
    std::string_view account, std::string_view mailbox, std::uint32_t uid
) {
    auto path = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Result<fs::path> {
        auto mb = find_mailbox(acc, mailbox);
        if (!mb) {
            return mb.error();
        }
        auto s = acc.db.prepare("SELECT file FROM messages WHERE mailbox_id = ?1 AND uid = ?2");
        if (!s) {
            return s.error();
        }
        StmtScope scope(**s);
        if (!scope->bind(1, mb->id).bind(2, static_cast<std::int64_t>(uid)).step()) {
            return Errc::NotFound;
        }
        return acc.dir / scope->text(0);
    });
    if (!path) {
        return path.error();
    }
    // Outside the lock: message files are immutable; an expunge racing with this read makes
    // it NotFound, which the caller sees as a vanished message.
    return detail::read_file(*path);
}

Result<std::vector<FlagState>> Store::update_flags(
    std::string_view account,
    std::string_view mailbox,
    const std::vector<std::uint32_t>& uids,
    const FlagChange& change
) {
    const auto change_kw = normalize_keywords(change.keywords);
    return StoreOps::with_account(
        *impl_,
        account,
        [&](Account& acc) -> Result<std::vector<FlagState>> {
            auto mb = find_mailbox(acc, mailbox);
            if (!mb) {
                return mb.error();
            }
            std::vector<FlagState> out;
            auto st = StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
                out.clear();
                auto highest = static_cast<std::int64_t>(mb->highest_modseq);
                {
                    // Re-read inside the transaction: the committer may have raised it.
                    auto s = acc.db.prepare("SELECT highest_modseq FROM mailboxes WHERE id = ?1");
                    if (!s) {
                        return s.error();
                    }
                    StmtScope scope(**s);
                    if (scope->bind(1, mb->id).step()) {
                        highest = scope->int64(0);
                    }
                }
                const std::int64_t start_highest = highest;
                for (std::uint32_t uid : uids) {
                    FlagState fs_;
                    std::string old_kw;
                    {
                        auto s = acc.db.prepare(
                            "SELECT flags, keywords, modseq FROM messages "
                            "WHERE mailbox_id = ?1 AND uid = ?2"
                        );
                        if (!s) {
                            return s.error();
                        }
                        StmtScope scope(**s);
                        if (!scope->bind(1, mb->id)
                                 .bind(2, static_cast<std::int64_t>(uid))
                                 .step()) {
                            if (auto e = scope->error(); !e) {
                                return e;
                            }
                            continue;
                        }
                        fs_.uid = uid;
                        fs_.flags = static_cast<std::uint32_t>(scope->int64(0));
                        old_kw = scope->text(1);
                        fs_.modseq = static_cast<std::uint64_t>(scope->int64(2));
                    }
                    fs_.keywords = split_keywords(old_kw);
                    std::uint32_t flags = fs_.flags;
                    std::vector<std::string> kw = fs_.keywords;
                    const std::uint32_t f = change.flags & flag::kAll;
                    switch (change.mode) {
                        case FlagChange::Mode::Replace:
                            flags = f;
                            kw = change_kw;
                            break;
                        case FlagChange::Mode::Add:
                            flags |= f;
                            kw.insert(kw.end(), change_kw.begin(), change_kw.end());
                            kw = normalize_keywords(std::move(kw));
                            break;
                        case FlagChange::Mode::Remove:
                            flags &= ~f;
                            std::erase_if(kw, [&](const std::string& k) {
                                return std::binary_search(change_kw.begin(), change_kw.end(), k);
                            });
                            break;
                    }
                    std::string new_kw = join_keywords(kw);
                    if (flags != fs_.flags || new_kw != old_kw) {
                        // RFC 7162 §3.1.3: every change gets a mod-sequence above all before.
                        ++highest;
                        auto s = acc.db.prepare(
                            "UPDATE messages SET flags = ?1, keywords = ?2, modseq = ?3 "
                            "WHERE mailbox_id = ?4 AND uid = ?5"
                        );
                        if (!s) {
                            return s.error();
                        }
                        StmtScope scope(**s);
                        auto e = scope->bind(1, static_cast<std::int64_t>(flags))
                                     .bind(2, new_kw)
                                     .bind(3, highest)
                                     .bind(4, mb->id)
                                     .bind(5, static_cast<std::int64_t>(uid))
                                     .run();
                        if (!e) {
                            return e;
                        }
                        fs_.flags = flags;
                        fs_.keywords = std::move(kw);
                        fs_.modseq = static_cast<std::uint64_t>(highest);
                        fs_.changed = true;
                    }
                    out.push_back(std::move(fs_));
                }
                if (highest == start_highest) {
                    return {};
                }
                auto s = acc.db.prepare("UPDATE mailboxes SET highest_modseq = ?1 WHERE id = ?2");
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                return scope->bind(1, highest).bind(2, mb->id).run();
            });
            if (!st) {
                return st.error();
            }
            return out;
        }
    );
}

Result<std::vector<std::uint32_t>> Store::expunge(
    std::string_view account,
    std::string_view mailbox,
    std::optional<std::vector<std::uint32_t>> uids
) {
    std::vector<fs::path> files;
    std::vector<std::uint32_t> removed;
    std::unordered_set<std::uint32_t> wanted;
    if (uids) {
        wanted.insert(uids->begin(), uids->end());
    }
    auto st = StoreOps::with_account(*impl_, account, [&](Account& acc) -> Status {
        auto mb = find_mailbox(acc, mailbox);
        if (!mb) {
            return mb.error();
        }
        return StoreOps::in_transaction(acc, *impl_, [&]() -> Status {
            files.clear();
            removed.clear();
            std::int64_t bytes = 0;
            {
                auto s = acc.db.prepare(
                    "SELECT uid, file, size FROM messages WHERE mailbox_id = ?1 AND "
                    "(flags & ?2) != 0 ORDER BY uid"
                );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                scope->bind(1, mb->id).bind(2, static_cast<std::int64_t>(flag::kDeleted));
                while (scope->step()) {
                    auto uid = static_cast<std::uint32_t>(scope->int64(0));
                    if (uids && !wanted.contains(uid)) {
                        continue;
                    }
                    removed.push_back(uid);
                    files.push_back(acc.dir / scope->text(1));
                    bytes += scope->int64(2);
                }
                if (auto e = scope->error(); !e) {
                    return e;
                }
            }
            if (removed.empty()) {
                return {};
            }
            // RFC 7162 §3.2.7: one new mod-sequence for the expunge, remembered per UID.
            std::int64_t modseq = 0;
            {
                auto s = acc.db.prepare(
                    "UPDATE mailboxes SET highest_modseq = highest_modseq + 1, "
                    "message_count = message_count - ?1, total_size = total_size - ?2 "
                    "WHERE id = ?3 RETURNING highest_modseq"
                );
                if (!s) {
                    return s.error();
                }
                StmtScope scope(**s);
                scope->bind(1, static_cast<std::int64_t>(removed.size()))
                    .bind(2, bytes)
                    .bind(3, mb->id);
                if (scope->step()) {
                    modseq = scope->int64(0);
                }
                if (auto e = scope->run(); !e) {
                    return e;
                }
            }
            for (std::uint32_t uid : removed) {
                for (const char* sql :
                     {"DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
                      "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)"
                     }) {
                    auto s = acc.db.prepare(sql);
                    if (!s) {
                        return s.error();
                    }
                    StmtScope scope(**s);
                    scope->bind(1, mb->id).bind(2, static_cast<std::int64_t>(uid));
                    if (std::string_view(sql).starts_with("INSERT")) {
                        scope->bind(3, modseq);
                    }
                    if (auto e = scope->run(); !e) {
                        return e;
                    }
                }
            }
            auto s = acc.db.prepare(
                "UPDATE account SET used_bytes = used_bytes - ?1, "
                "used_messages = used_messages - ?2 WHERE id = 1"
            );
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            return scope->bind(1, bytes).bind(2, static_cast<std::int64_t>(removed.size())).run();
        });
    });
    if (!st) {
        return st.error();
    }
    // Rows first, files after the commit (see the header).
    for (const auto& f : files) {
        detail::remove_file(f);
    }
    return removed;
}

// ---------------------------------------------------------------- recovery
//
// How each broken state can arise, and why the repair is right:
// - Spool leftovers (<data>/tmp): a crash while a message was being received or between the
//   commit and the unlink of the spool. Either it was never acknowledged, or it is already linked
//   into every account it was delivered to; removing it is safe either way. Files of live
//   Incomings (this store's token) are kept, so recover() may run while accepting mail.
// - Message files without an index row: a crash after the link and before (or during) the index
//   commit, a failed commit whose cleanup did not run, or a crash after an expunge or mailbox
//   deletion committed and before its files were unlinked. No row means it was never
//   acknowledged or the user already removed it: delete the file.
// - Index rows whose file is missing: cannot arise from our own write order (files are durable
//   before rows, rows go before files). It means outside damage (a file deleted by hand, fsck
//   moving it to lost+found, a partial restore). The row is dropped, loudly, so IMAP never serves
//   a message it cannot read; the file may be found in lost+found and re-imported.
// - Counters (message count/size, UIDNEXT, HIGHESTMODSEQ, quota usage) are derived data kept in
//   the same transactions as the rows, so they only drift through the repairs above or hand edits:
//   they are recomputed, UIDNEXT and HIGHESTMODSEQ only ever upwards (RFC 3501 §2.3.1.1: UIDs
//   are never reused within a UIDVALIDITY).
// - ".removed-*" account directories: remove_account() crashed after its atomic rename.
// SQLite itself replays or discards its WAL on open, so the index is at the last commit.

Result<RecoveryReport> Store::recover() {
    RecoveryReport report;
    Impl& impl = *impl_;
    std::error_code ec;
    const std::string live_prefix = impl.token + "-";
    for (const auto& e : fs::directory_iterator(impl.spool_dir, ec)) {
        std::string name = e.path().filename().string();
        if (name.starts_with(live_prefix)) {
            continue;
        }
        detail::remove_file(e.path());
        ++report.spool_files_removed;
    }
    if (ec) {
        log::error("store.recover.spool", {{"error", ec.message()}});
        return Errc::Io;
    }
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(impl.mail_dir, ec)) {
        std::string name = e.path().filename().string();
        if (name.starts_with(kRemovedPrefix)) {
            std::error_code rm;
            fs::remove_all(e.path(), rm);
            ++report.removed_accounts_finished;
            continue;
        }
        if (e.is_directory()) {
            names.push_back(std::move(name));
        }
    }
    if (ec) {
        log::error("store.recover.mail_dir", {{"error", ec.message()}});
        return Errc::Io;
    }
    for (const auto& name : names) {
        if (!is_safe_account_name(name)) {
            log::warn("store.recover.skipped", {{"dir", name}, {"reason", "unsafe name"}});
            continue;
        }
        auto acc = impl.account(name, false, std::nullopt);
        if (!acc) {
            log::warn(
                "store.recover.skipped", {{"account", name}, {"reason", acc.error().message()}}
            );
            continue;
        }
        std::lock_guard lock((*acc)->mu);
        if ((*acc)->removed) {
            continue;
        }
        if (auto st = impl.recover_account(**acc, report); !st) {
            return st.error();
        }
        ++report.accounts_checked;
    }
    log::info(
        "store.recovered",
        {{"accounts", report.accounts_checked},
         {"spool_removed", report.spool_files_removed},
         {"orphans_removed", report.orphan_files_removed},
         {"rows_dropped", report.rows_dropped},
         {"counters_fixed", report.counters_fixed}}
    );
    return report;
}

Status Store::Impl::recover_account(Account& acc, RecoveryReport& report) {
    Db& db = acc.db;
    // Files on disk, relative to the account ("msg/<bucket>/<name>").
    std::unordered_set<std::string> on_disk;
    std::error_code ec;
    for (const auto& b : fs::directory_iterator(acc.dir / "msg", ec)) {
        if (!b.is_directory()) {
            continue;
        }
        std::string bucket = b.path().filename().string();
        for (const auto& f : fs::directory_iterator(b.path(), ec)) {
            if (f.is_regular_file()) {
                on_disk.insert("msg/" + bucket + "/" + f.path().filename().string());
            }
        }
    }
    if (ec) {
        log::error("store.recover.scan", {{"account", acc.name}, {"error", ec.message()}});
        return Errc::Io;
    }

    if (auto st = db.begin(); !st) {
        return st;
    }
    auto fail = [&](Status st) {
        db.rollback();
        return st;
    };
    std::unordered_set<std::string> indexed;
    std::vector<std::pair<std::int64_t, std::string>> missing;  // (row id, file)
    {
        auto s = db.prepare(
            "SELECT m.id, m.mailbox_id, m.uid, m.file, b.id IS NULL FROM messages m "
            "LEFT JOIN mailboxes b ON b.id = m.mailbox_id"
        );
        if (!s) {
            return fail(s.error());
        }
        StmtScope scope(**s);
        while (scope->step()) {
            std::string file = scope->text(3);
            const bool homeless = scope->int64(4) != 0;
            if (!on_disk.contains(file)) {
                log::error(
                    "store.recover.file_missing",
                    {{"account", acc.name},
                     {"mailbox_id", scope->int64(1)},
                     {"uid", scope->int64(2)},
                     {"file", file}}
                );
                missing.emplace_back(scope->int64(0), file);
            } else if (homeless) {
                missing.emplace_back(scope->int64(0), file);
            } else {
                indexed.insert(file);
            }
        }
        if (auto st = scope->error(); !st) {
            return fail(st);
        }
    }
    for (const auto& [id, file] : missing) {
        auto s = db.prepare("DELETE FROM messages WHERE id = ?1");
        if (!s) {
            return fail(s.error());
        }
        StmtScope scope(**s);
        if (auto st = scope->bind(1, id).run(); !st) {
            return fail(st);
        }
        ++report.rows_dropped;
    }
    // Recompute the derived counters; UIDNEXT and HIGHESTMODSEQ only move up.
    {
        auto s = db.prepare(
            "SELECT b.id, b.uid_next, b.highest_modseq, b.message_count, b.total_size, "
            "count(m.uid), coalesce(sum(m.size), 0), coalesce(max(m.uid), 0), "
            "coalesce(max(m.modseq), 0) "
            "FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id GROUP BY b.id"
        );
        if (!s) {
            return fail(s.error());
        }
        struct Fix {
            std::int64_t id, uid_next, modseq, count, size;
        };
        std::vector<Fix> fixes;
        {
            StmtScope scope(**s);
            while (scope->step()) {
                Fix f{
                    scope->int64(0),
                    std::max(scope->int64(1), scope->int64(7) + 1),
                    std::max(scope->int64(2), scope->int64(8)),
                    scope->int64(5),
                    scope->int64(6)
                };
                if (f.uid_next != scope->int64(1) || f.modseq != scope->int64(2) ||
                    f.count != scope->int64(3) || f.size != scope->int64(4)) {
                    // A vanished message is a change a CONDSTORE client must notice.
                    if (!missing.empty()) {
                        f.modseq += 1;
                    }
                    fixes.push_back(f);
                }
            }
            if (auto st = scope->error(); !st) {
                return fail(st);
            }
        }
        for (const Fix& f : fixes) {
            auto u = db.prepare(
                "UPDATE mailboxes SET uid_next = ?2, highest_modseq = ?3, message_count = ?4, "
                "total_size = ?5 WHERE id = ?1"
            );
            if (!u) {
                return fail(u.error());
            }
            StmtScope scope(**u);
            auto st = scope->bind(1, f.id)
                          .bind(2, f.uid_next)
                          .bind(3, f.modseq)
                          .bind(4, f.count)
                          .bind(5, f.size)
                          .run();
            if (!st) {
                return fail(st);
            }
            ++report.counters_fixed;
        }
    }
    {
        auto s = db.prepare(
            "UPDATE account SET used_bytes = (SELECT coalesce(sum(size), 0) FROM messages), "
            "used_messages = (SELECT count(*) FROM messages) WHERE id = 1 AND "
            "(used_bytes != (SELECT coalesce(sum(size), 0) FROM messages) OR "
            "used_messages != (SELECT count(*) FROM messages))"
        );
        if (!s) {
            return fail(s.error());
        }
        StmtScope scope(**s);
        if (auto st = scope->run(); !st) {
            return fail(st);
        }
        if (db.changes() > 0) {
            ++report.counters_fixed;
        }
    }
    if (auto st = commit(acc); !st) {
        return fail(st);
    }
    // Only after the commit: files that no committed row references.
    for (const auto& file : on_disk) {
        if (!indexed.contains(file)) {
            log::info("store.recover.orphan_removed", {{"account", acc.name}, {"file", file}});
            detail::remove_file(acc.dir / file);
            ++report.orphan_files_removed;
        }
    }
    return {};
}

}  // namespace sov::store
