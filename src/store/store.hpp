#pragma once
// The durable message store (ARCHITECTURE.md §3, §4).
//
// On disk, everything readable with standard tools:
//
//   <data>/tmp/<token>-<n>                    spool: a message being received (Incoming)
//   <data>/mail/<account>/index.db            SQLite (WAL, synchronous=FULL): mailboxes, messages,
//                                            quota usage; `sqlite3` opens it
//   <data>/mail/<account>/text.db             SQLite FTS5 full-text index (derived: rebuilt if
//                                            deleted)
//   <data>/mail/<account>/msg/<YYYYMM>/<name> one plain RFC 5322 file per message, never modified
//   <data>/mail/.removed-<account>-<token>    an account being removed (finished by recover())
//
// Message files are bucketed by the month (UTC) they were stored, not by a hash: concurrent
// deliveries to one account then land in one directory, so a batch costs one directory fsync
// instead of one per message, and a bucket stays small enough for ext4's htree. The file name
// `<unix-seconds>.<store-token>.<counter>` is unique across restarts and says nothing about the
// mailbox (a message can move between mailboxes without renaming its file).
//
// Durability (ARCHITECTURE.md §4): a delivery is reported only after (1) the spool file is
// fdatasync'ed, (2) it is hard-linked into the account (or copied and fdatasync'ed if linking is
// impossible) and the bucket directory is fsync'ed, (3) the index transaction has committed; WAL
// with synchronous=FULL syncs the WAL on every commit, so COMMIT returning means durable.
// Concurrent deliveries are grouped: a committer thread takes every delivery whose file is synced
// and writes one transaction and one directory fsync per account for the whole batch.
// Because the file is durable before its row, a crash leaves either both or a file with no row
// (never acknowledged; recover() removes it). COPY follows the same order (new hard links, bucket
// fsync, then the commit); MOVE only rewrites rows, in one transaction.
//
// Derived data whose loss in a crash is harmless (the \Recent marker, text index bookkeeping)
// is committed without the WAL fsync; the next durable commit syncs it anyway.
//
// Full-text index: when StoreOptions::text_of is set, each message's decoded, case-folded text is
// indexed in text.db: for every 3-byte substring, the texts that have it (fts.cpp; about the
// size of the indexed text on disk). A background thread indexes new messages shortly after their
// delivery commits, on text.db's own connection, never holding the account lock for that work
// (fts.cpp says why not in the delivery transaction); copies share the text row, the rows of
// expunged messages are removed in the background too. A message without a text row (not indexed
// yet, delivered before text_of was set, text over 1 MiB, text_of threw) is returned by
// search_text() as a candidate whatever the needle, so a search never misses a match.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/result.hpp"
#include "store/errors.hpp"
#include "store/mailbox_key.hpp"

namespace sov::store {

using Quota = core::Quota;  // 0 = unlimited, for bytes and for messages

/// System flags as bits (RFC 3501 §2.3.2). \Recent is per-session state and is not stored.
namespace flag {
inline constexpr std::uint32_t kSeen = 1U << 0;
inline constexpr std::uint32_t kAnswered = 1U << 1;
inline constexpr std::uint32_t kFlagged = 1U << 2;
inline constexpr std::uint32_t kDeleted = 1U << 3;
inline constexpr std::uint32_t kDraft = 1U << 4;
inline constexpr std::uint32_t kAll = (1U << 5) - 1;
}  // namespace flag

/// The searchable text of a message, as the MIME module decodes it (UTF-8).
/// Both already case-folded, by the function the searcher folds its needles and texts with
/// (search_text() compares bytes).
struct IndexedText {
    std::string headers;  // unfolded header fields, decoded (RFC 2047)
    std::string body;     // text of the body parts, transfer- and charset-decoded
};

struct StoreOptions {
    std::filesystem::path data_dir;
    /// Computes the opaque `structure` blob of a message (the MIME module's serializer); called on
    /// a store worker thread with the complete message. Empty: an empty blob is stored.
    std::function<std::string(std::string_view message_bytes)> structure_of;
    /// Computes the text the full-text index keeps for a message (the MIME module's decoder);
    /// called on the store's maintenance thread, with the file's bytes, after the delivery.
    /// Empty: nothing is indexed (search_text() then returns every message as a candidate).
    std::function<IndexedText(std::string_view message_bytes)> text_of;
    /// Threads that fdatasync spool files and compute structures; concurrent fdatasyncs share the
    /// file system's journal commits, so a few more than the cores pays off (see store_bench).
    unsigned sync_threads = 8;
    std::size_t max_batch = 512;  // deliveries per group commit
};

/// A message being received into the spool. Destroying it without delivering it removes the spool
/// file: a message never acknowledged leaves no trace.
class Incoming {
public:
    Incoming(Incoming&& other) noexcept;
    Incoming& operator=(Incoming&& other) noexcept;
    Incoming(const Incoming&) = delete;
    Incoming& operator=(const Incoming&) = delete;
    ~Incoming();

    /// Appends message bytes (already dot-unstuffed, CRLF line ends as received).
    Status append(std::string_view bytes);
    std::uint64_t size() const { return size_; }
    const std::filesystem::path& spool_path() const { return path_; }
    /// The whole message so far (for the outbound queue, which keeps its own copy). Blocking.
    Result<std::string> contents();

private:
    friend struct IncomingAccess;
    Incoming(int fd, std::filesystem::path path, std::string name);
    Status flush();
    /// Writes what is buffered, computes the structure blob and fdatasyncs (store worker thread).
    Status finish(
        const std::function<std::string(std::string_view)>& structure_of, std::string& structure
    );
    void discard() noexcept;

    int fd_ = -1;
    std::filesystem::path path_;
    std::string name_;  // unique token, reused for the final file name
    std::string buffer_;
    std::uint64_t size_ = 0;
    bool flushed_any_ = false;
    std::error_code error_;  // sticky: a failed append fails the delivery
};

struct Recipient {
    std::string account;  // canonical address, validated by the accounts module
    std::string mailbox = "INBOX";
    /// The account's quota from the accounts module (stored as the new limit); nullopt keeps the
    /// stored limit (IMAP APPEND, import).
    std::optional<Quota> quota;
    std::uint32_t flags = 0;  // flag::k*
    std::vector<std::string> keywords;
    std::optional<core::WallTime> internal_date;  // default: time of delivery
    /// The SMTP envelope this copy arrived with (sender, recipient, DSN parameters), stored as
    /// text in the index; empty for IMAP APPEND and import.
    std::string envelope;
};

struct DeliveryRequest {
    std::vector<Recipient> recipients;
    std::string trace_id;  // message/session id for logs
    /// Delivery (LMTP/SMTP) creates a missing account store; IMAP APPEND and import do not.
    bool create_missing_accounts = true;
};

enum class DeliveryStatus {
    Delivered,
    QuotaExceeded,          // temporary: 452 4.2.2 mailbox full
    MessageTooBigForQuota,  // permanent: 552 5.2.2 (the message alone exceeds the quota)
    MailboxMissing,         // permanent: no such mailbox, or an unusable account name
    TempFail,               // temporary: I/O or index failure; `reason` says which
};

struct DeliveryOutcome {
    DeliveryStatus status = DeliveryStatus::TempFail;
    std::uint32_t uid = 0;
    std::uint32_t uid_validity = 0;
    std::uint64_t modseq = 0;
    std::string mailbox;
    std::string reason;

    bool delivered() const { return status == DeliveryStatus::Delivered; }
};

struct MailboxInfo {
    std::int64_t id = 0;      // row id; a deleted mailbox's id may be reused
    std::string name;         // UTF-8, '/' separates levels, "INBOX" is canonical
    std::string special_use;  // RFC 6154 attribute ("\\Sent") or empty
    bool subscribed = false;
    std::uint32_t uid_validity = 0;
    std::uint32_t uid_next = 1;
    std::uint64_t highest_modseq = 0;
    std::uint32_t messages = 0;
    std::uint64_t bytes = 0;
    /// Messages without \Seen / with \Deleted (STATUS UNSEEN, RFC 9051 §6.3.11): counters kept
    /// in the mailbox row by every writer, like `messages`, so mailbox() and list_mailboxes()
    /// fill them at no extra cost; recover() recomputes them.
    std::uint32_t unseen = 0;
    std::uint32_t deleted = 0;
    /// RFC 3501 §2.3.2: messages with uid >= first_recent_uid are \Recent and not yet claimed
    /// by any session (see Store::claim_recent).
    std::uint32_t first_recent_uid = 0;
};

/// UIDs first <= uid < end: the \Recent messages one claim took (Store::claim_recent_range).
struct RecentClaim {
    std::uint32_t first = 0;
    std::uint32_t end = 0;
};

/// What list_messages()/get_messages() read.
struct ListOptions {
    /// false: MessageInfo::structure stays empty and the blob is not read (SELECT, FETCH FLAGS).
    bool structure = true;
    /// false: MessageInfo::path stays empty. Building a std::filesystem::path costs more than
    /// reading the row (libstdc++ splits it into components): 10,000 of them are ~2/3 of a
    /// SELECT's time. Callers that do not open the files (SELECT, FETCH FLAGS) should say false.
    bool path = true;
    /// true: MessageInfo::cache gets the first part of the message's render cache (see
    /// Store::set_render_cache).
    bool cache = false;
    /// true: MessageInfo::structure_cache gets its second part, kept in a narrow table of its
    /// own so that a listing of it alone (FETCH 1:* BODYSTRUCTURE) reads few pages.
    bool structure_cache = false;
    /// With structure and cache and/or structure_cache: the structure only of messages missing
    /// one of the parts asked for (the others' stays empty; a caller that finds their cache
    /// unusable must get it otherwise). FETCH 1:* BODYSTRUCTURE then does not copy 10,000 unused
    /// blobs out of SQLite.
    bool structure_if_uncached = false;
    /// true: only messages without \Seen (SEARCH UNSEEN), read through an index of those
    /// (list_messages only).
    bool unseen_only = false;
    /// true: only the narrow columns are read (uid, modseq, flags, keywords); each column costs
    /// SQLite more than a step to the next row. list_messages: implies structure = path = cache
    /// = false (SELECT and flag searches use for_each_flags, which builds no MessageInfo).
    /// for_each_message (FETCH of flags and cached items): structure and cache still come from
    /// message_data; path, dates and sizes are not read.
    bool narrow = false;
    /// false (with narrow, for_each_message only): modseq, flags and keywords are not read
    /// either (0 and empty): FETCH of BODYSTRUCTURE or ENVELOPE alone needs the UID only.
    bool flags = true;
};

struct MessageInfo {
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    std::uint32_t flags = 0;
    std::vector<std::string> keywords;  // sorted
    core::WallTime internal_date;
    core::WallTime save_date;
    std::uint64_t size = 0;
    std::string structure;
    std::filesystem::path path;  // absolute path of the RFC 5322 file
    /// RFC 8474 §5.1 EMAILID: "M" + 24 hex digits; kept by COPY and MOVE, never changes.
    std::string email_id;
    /// Opaque data the protocol layer derived from the (immutable) message and stored with
    /// set_render_cache(); empty if there is none or ListOptions::cache was false.
    std::string cache;
    /// The second part of it; empty if there is none or ListOptions::structure_cache was false.
    std::string structure_cache;
};

/// One message of Store::append_all.
struct AppendItem {
    Incoming message;
    std::uint32_t flags = 0;
    std::vector<std::string> keywords;
    std::optional<core::WallTime> internal_date;
};

/// A message's render cache (Store::set_render_cache): ListOptions::cache reads `cache`,
/// ListOptions::structure_cache reads `structure_cache`.
struct RenderCache {
    std::uint32_t uid = 0;
    std::string cache;
    std::string structure_cache;
};

/// One message as Store::for_each_message() hands it to its callback: views into the store's
/// current row, valid only during the call (no per-row allocation, for FETCH of 10,000).
struct MessageRow {
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    std::uint32_t flags = 0;
    std::string_view keywords;  // as stored: sorted, separated by single spaces
    core::WallTime internal_date;
    core::WallTime save_date;
    std::uint64_t size = 0;
    std::string_view email_id;
    std::string_view structure;        // empty unless ListOptions::structure
    std::string_view cache;            // empty unless ListOptions::cache
    std::string_view structure_cache;  // empty unless ListOptions::structure_cache
    /// The RFC 5322 file is `dir` + "/" + `file` (ListOptions::path is ignored: no path object
    /// is built).
    std::string_view dir;
    std::string_view file;
    /// `dir` opened (O_PATH) for the duration of the call, to open `file` relative to it, which
    /// spares the kernel the walk of the whole path per message; -1 if the store has none.
    int dir_fd = -1;
};

struct QuotaUsage {
    Quota limit;
    std::uint64_t used_bytes = 0;
    std::uint64_t used_messages = 0;
};

struct FlagChange {
    enum class Mode {
        Replace,  // STORE FLAGS
        Add,      // STORE +FLAGS
        Remove,   // STORE -FLAGS
    };
    Mode mode = Mode::Replace;
    std::uint32_t flags = 0;
    std::vector<std::string> keywords;
};

struct FlagState {
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    std::uint32_t flags = 0;
    std::vector<std::string> keywords;
    bool changed = false;
};

/// COPYUID / MOVE result (RFC 4315 §3, RFC 6851 §4.3).
struct CopyResult {
    std::uint32_t uid_validity = 0;  // of the target mailbox
    /// (source uid, new uid) in ascending source uid order; source UIDs that do not exist are
    /// left out.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> uids;
};

/// CONDSTORE/QRESYNC resynchronisation data (RFC 7162 §3.1, §3.2.5, §3.2.10).
struct Changes {
    std::uint64_t highest_modseq = 0;
    std::uint32_t uid_next = 0;
    std::uint32_t uid_validity = 0;
    /// Messages with modseq > since, in UID order (`changed` is true for all).
    std::vector<FlagState> changed;
    /// UIDs expunged (or moved away) with modseq > since, ascending.
    std::vector<std::uint32_t> expunged;
};

enum class TextField {
    Body,  // SEARCH BODY
    Text,  // SEARCH TEXT: headers + body (RFC 9051 §6.4.4)
};

/// Called after a change to a mailbox has committed (see Store::subscribe_changes).
using ChangeListener = std::function<void(const std::string& account, const std::string& mailbox)>;

struct RecoveryReport {
    std::uint64_t accounts_checked = 0;
    std::uint64_t spool_files_removed = 0;
    std::uint64_t orphan_files_removed = 0;  // files never indexed: never acknowledged
    std::uint64_t rows_dropped = 0;          // index rows whose file is gone
    std::uint64_t counters_fixed = 0;        // mailboxes/accounts whose counters were repaired
    std::uint64_t removed_accounts_finished = 0;
    std::uint64_t text_index_fixed = 0;  // text.db rows orphaned or missing (derived data)
};

namespace detail {
struct ReadScopeState;
}

/// See Store::read_scope(). Empty when default-constructed; ends on destruction, on the thread
/// that began it.
class ReadScope {
public:
    ReadScope() noexcept;
    ReadScope(ReadScope&&) noexcept;
    ReadScope& operator=(ReadScope&&) = delete;
    ReadScope(const ReadScope&) = delete;
    ReadScope& operator=(const ReadScope&) = delete;
    ~ReadScope();

private:
    friend class Store;
    explicit ReadScope(std::unique_ptr<detail::ReadScopeState> state) noexcept;
    std::unique_ptr<detail::ReadScopeState> state_;
};

class Store {
public:
    /// Creates <data>/mail and <data>/tmp if needed and starts the worker threads.
    static Result<std::unique_ptr<Store>> open(StoreOptions options);
    ~Store();  // waits for queued deliveries to finish
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    /// Startup check (run before accepting mail; safe, but slow, while running). See recovery.cpp.
    Result<RecoveryReport> recover();

    /// While the scope lives, the reads of `account` this thread makes through the store
    /// (listings, for_each_message, changes_since, mailbox) share one read transaction, begun by
    /// the first of them: one snapshot and one WAL read lock where each would take its own
    /// (an IMAP FETCH and the poll after it). Nothing committed meanwhile is seen, by this
    /// thread's own writes neither: for read-only work only. Scopes nest (the inner one is
    /// the one in force).
    [[nodiscard]] ReadScope read_scope(std::string_view account);

    // ---- accounts
    /// Creates the account's directory, index and special-use mailboxes (INBOX, Sent, Drafts,
    /// Trash, Junk, Archive); on an existing account only updates the quota limit.
    Status ensure_account(std::string_view account, Quota quota);
    Status remove_account(std::string_view account);
    Result<QuotaUsage> quota_usage(std::string_view account);

    // ---- writing messages
    Result<Incoming> begin_message();
    /// Queues a delivery; `done` runs on the committer thread once the durability contract holds
    /// (or failed), with one outcome per recipient in order. Never blocks on I/O. A missing
    /// account store is created (with the recipient's quota); a missing mailbox is not.
    void deliver_async(
        Incoming message,
        DeliveryRequest request,
        std::function<void(std::vector<DeliveryOutcome>)> done
    );
    /// Blocking wrapper (CLI, import, tests, or a caller already on a blocking worker): syncs the
    /// file in the calling thread, then waits for the group commit. Must not be called from a
    /// `done` callback (that runs on the committer thread, which it would wait for).
    std::vector<DeliveryOutcome> deliver(Incoming message, DeliveryRequest request);
    /// IMAP MULTIAPPEND (RFC 3502): every item into `mailbox`, in order, with consecutive UIDs,
    /// or none of them. Same durability path as append(), in one index transaction that no other
    /// delivery shares. One outcome per item; if any is not Delivered, none is: the items that
    /// were not refused themselves say TempFail ("not stored: another message of the group was
    /// refused"). Blocking, like deliver().
    std::vector<DeliveryOutcome> append_all(
        std::string_view account, std::string_view mailbox, std::vector<AppendItem> items
    );
    /// IMAP APPEND / import: one recipient, the stored quota, same durability path.
    DeliveryOutcome append(
        Incoming message,
        std::string_view account,
        std::string_view mailbox,
        std::uint32_t flags,
        std::vector<std::string> keywords,
        std::optional<core::WallTime> internal_date
    );

    // ---- mailboxes
    Result<std::vector<MailboxInfo>> list_mailboxes(std::string_view account);
    Result<MailboxInfo> mailbox(std::string_view account, MailboxKey name);
    Result<MailboxInfo> create_mailbox(
        std::string_view account, std::string_view name, std::string_view special_use = {}
    );
    /// RFC 3501 §6.3.5: children move along; renaming INBOX moves its messages to a new mailbox.
    Status rename_mailbox(std::string_view account, std::string_view from, std::string_view to);
    /// Deletes the mailbox and its messages (not its children); INBOX cannot be deleted.
    Status delete_mailbox(std::string_view account, std::string_view name);
    Status set_subscribed(std::string_view account, std::string_view name, bool subscribed);
    /// IMAP SUBSCRIBE/UNSUBSCRIBE: any valid name, whether the mailbox exists or not; kept when
    /// the mailbox is deleted (RFC 9051 §6.3.7). See subscriptions.cpp.
    Status subscribe(std::string_view account, std::string_view name, bool on);
    /// Every subscribed name, sorted.
    Result<std::vector<std::string>> subscriptions(std::string_view account);

    /// RFC 3501 §2.3.2 \Recent: claims the messages no session has claimed yet, atomically:
    /// returns [first_recent_uid, UIDNEXT) and sets first_recent_uid to UIDNEXT. The caller (a
    /// session SELECTing the mailbox, or learning of new messages) owns the \Recent flag of
    /// exactly those UIDs; messages delivered later belong to whoever claims next. A second
    /// claim returns an empty range. The marker is committed without fsync: after a crash
    /// messages may be \Recent once more.
    Result<RecentClaim> claim_recent_range(std::string_view account, MailboxKey mailbox);
    /// claim_recent_range(...).first.
    Result<std::uint32_t> claim_recent(std::string_view account, MailboxKey mailbox);

    // ---- messages
    /// Messages with uid >= `from_uid`, in UID order.
    Result<std::vector<MessageInfo>> list_messages(
        std::string_view account,
        MailboxKey mailbox,
        std::uint32_t from_uid = 1,
        ListOptions options = {}
    );
    /// The listed messages (ascending UIDs expected; unsorted input is sorted, duplicates
    /// dropped) that exist, in UID order; missing UIDs are skipped.
    Result<std::vector<MessageInfo>> get_messages(
        std::string_view account,
        MailboxKey mailbox,
        const std::vector<std::uint32_t>& uids,
        ListOptions options = {}
    );
    /// get_messages() without the vector: `on_row` runs for each listed message that exists,
    /// in UID order, on one read snapshot; an error it returns stops the walk and is returned.
    /// The walk holds one of the account's read-only connections, not the account lock.
    /// ListOptions::narrow here: only uid, modseq, flags, keywords (and structure and cache if
    /// asked for) are read, from an index; dates, size, email_id and file stay empty.
    Status for_each_message(
        std::string_view account,
        MailboxKey mailbox,
        const std::vector<std::uint32_t>& uids,
        ListOptions options,
        const std::function<Status(const MessageRow&)>& on_row
    );
    /// The messages with uid >= `from_uid` (only those without \Seen if `unseen_only`), in UID
    /// order, on one read snapshot, reading only those columns and without building a
    /// MessageInfo each: `on_row` gets uid, modseq, flags and keywords, the other fields empty
    /// (SELECT and flag-only SEARCHes of large mailboxes). An error it returns stops the walk.
    Status for_each_flags(
        std::string_view account,
        MailboxKey mailbox,
        std::uint32_t from_uid,
        bool unseen_only,
        const std::function<Status(const MessageRow&)>& on_row
    );
    /// Stores each message's render cache (`uid`, two parts of opaque bytes; an empty part is
    /// left as it is): what IMAP computed from the message's structure (ENVELOPE, BODYSTRUCTURE
    /// text) so that later FETCHes need not decode it again. Only for data derived from the
    /// message itself, which never changes, so it cannot go stale; the caller versions its
    /// format. Committed without the WAL fsync (derived data, like the \Recent marker); missing
    /// UIDs are skipped. COPY does not copy it.
    Status set_render_cache(
        std::string_view account, MailboxKey mailbox, const std::vector<RenderCache>& entries
    );
    Result<std::string> read_message(
        std::string_view account, MailboxKey mailbox, std::uint32_t uid
    );
    /// Changes flags/keywords of the listed messages in one transaction; each message whose
    /// flags actually change gets a new MODSEQ (RFC 7162 §3.2). Returns the new state of every
    /// listed message that exists, in UID order (missing UIDs are skipped, as STORE does;
    /// duplicates are reported once). Committed without the WAL fsync (see RelaxedSync): a
    /// power failure may lose the latest flag changes, never a message.
    Result<std::vector<FlagState>> update_flags(
        std::string_view account,
        MailboxKey mailbox,
        const std::vector<std::uint32_t>& uids,
        const FlagChange& change
    );
    /// Removes messages flagged \Deleted (restricted to `uids` if given, UID EXPUNGE); returns the
    /// expunged UIDs. The rows go first, then the files: a crash in between leaves orphan files,
    /// which recover() removes, never rows without files. RFC 7162 §3.2.7: the mailbox gets one
    /// new HIGHESTMODSEQ, remembered with each expunged UID for changes_since().
    Result<std::vector<std::uint32_t>> expunge(
        std::string_view account,
        MailboxKey mailbox,
        std::optional<std::vector<std::uint32_t>> uids = std::nullopt
    );

    /// COPY (RFC 3501 §6.4.7, COPYUID RFC 4315): new rows in `to` with new UIDs and MODSEQs, the
    /// same flags, keywords, INTERNALDATE and EMAILID, SAVEDATE = now; each file gets a new hard
    /// link (a copy where linking is impossible), so expunging one copy never touches the other.
    /// All or nothing. Errors: NotFound (account or source mailbox), NoSuchMailbox (target:
    /// IMAP [TRYCREATE]), QuotaExceeded (IMAP [OVERQUOTA], RFC 9208 §4.3), Invalid (names).
    Result<CopyResult> copy_messages(
        std::string_view account,
        MailboxKey from,
        const std::vector<std::uint32_t>& uids,
        std::string_view to
    );
    /// MOVE (RFC 6851), atomically: the rows change mailbox and get new UIDs and MODSEQs (and
    /// SAVEDATE = now); the source UIDs are recorded as expunged with one new source MODSEQ
    /// (RFC 7162 §3.2.7). Files and text index rows stay. Same errors as copy_messages() but
    /// quota is not checked (usage does not change). `from` == `to` is allowed (new UIDs).
    Result<CopyResult> move_messages(
        std::string_view account,
        MailboxKey from,
        const std::vector<std::uint32_t>& uids,
        std::string_view to
    );

    /// RFC 7162 CONDSTORE/QRESYNC: messages whose MODSEQ is above `since_modseq` and UIDs
    /// expunged above it. `since_modseq` = 0 lists every message and every remembered expunge.
    /// `options` is reserved (FlagState carries no structure).
    Result<Changes> changes_since(
        std::string_view account,
        MailboxKey mailbox,
        std::uint64_t since_modseq,
        ListOptions options = {}
    );

    // ---- full-text search
    /// UIDs (ascending) of the messages whose indexed text contains every 3-byte piece of
    /// `needle`, which the caller folded as text_of folds (headers and body alike whatever
    /// `field` says: the index keeps no columns or positions), plus every message without an
    /// index row: a superset the caller verifies, never missing a message whose folded text
    /// contains the folded needle. nullopt when the index cannot answer: a needle shorter than 3
    /// bytes, or an account where nothing was ever indexed; the caller then scans. Runs on its
    /// own connection, without the account lock: a slow search does not hold up deliveries.
    Result<std::optional<std::vector<std::uint32_t>>> search_text(
        std::string_view account, MailboxKey mailbox, TextField field, std::string_view needle
    );
    /// Brings the account's text index up to date now, in the calling thread: removes rows of
    /// deleted messages and indexes every message not indexed yet (reading each file and running
    /// text_of outside the account lock, in batches). The background thread does the same on
    /// its own (after deliveries, and when an account is opened with work left); this is for
    /// tests, import and tools. Returns how many messages it indexed; Invalid when
    /// StoreOptions::text_of is empty.
    Result<std::uint64_t> reindex_text(std::string_view account);

    // ---- change notification (IMAP IDLE, concurrent sessions)
    /// `listener` runs after every committed change to a mailbox's messages (delivery or APPEND
    /// batch, update_flags that changed something, expunge that removed something, copy: the
    /// target, move: both) and after create/delete/rename of a mailbox (once per name involved,
    /// old and new), on whichever thread committed it, after the account lock is released.
    /// It must be cheap and must not throw or call back into the Store synchronously (post the
    /// work to an executor instead); unsubscribe_changes of itself is tolerated. Returns an id.
    std::uint64_t subscribe_changes(ChangeListener listener);
    /// After this returns, `id`'s listener is not running (unless this very call comes from it)
    /// and is never called again. Unknown ids are ignored.
    void unsubscribe_changes(std::uint64_t id);

    /// Defence in depth: the accounts module validated the name already.
    static bool is_safe_account_name(std::string_view account);
    /// Canonical mailbox name ("inbox/x" -> "INBOX/x"), or empty if unacceptable.
    static std::string canonical_mailbox_name(std::string_view name);

    struct Stats {
        std::uint64_t batches = 0;
        std::uint64_t deliveries = 0;  // recipients processed
        std::uint64_t file_syncs = 0;  // fdatasync of message files
        std::uint64_t dir_syncs = 0;
        std::uint64_t commits = 0;
    };
    Stats stats() const;

    class Impl;

private:
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace sov::store
