#pragma once
// What one session knows about its selected mailbox: the message sequence numbers it has been
// told about (RFC 9051 §2.3.1.2), the mod-sequence up to which it has been told of changes, and
// its \Recent messages. Other sessions and deliveries change the mailbox underneath; poll() turns
// those changes into the untagged EXISTS / EXPUNGE (or VANISHED) / FETCH responses at the
// moments the RFC allows (§7.5.1: no EXPUNGE during FETCH, STORE or SEARCH, since the client
// may be using sequence numbers).
//
// Memory (issue 3: thousands of idle sessions): the UID list is shared with every other session
// that knows the same set of UIDs (uid_list.hpp), and instead of a mod-sequence per message the
// view keeps one HIGHESTMODSEQ plus the few changes above it that this session reported itself
// (STORE, FETCH setting \Seen), so a session costs O(changes), not O(messages).
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "imap/engine/uid_list.hpp"
#include "imap/wire/response.hpp"
#include "imap/wire/sequence_set.hpp"
#include "store/store.hpp"

namespace sov::imap {

struct PollMode {
    bool allow_expunge = true;
    bool condstore = false;  // add MODSEQ to FETCH responses (RFC 7162 §3.2.4)
    bool qresync = false;    // VANISHED instead of EXPUNGE (RFC 7162 §3.2.10)
    bool recent = true;      // "* n RECENT" (IMAP4rev1 only; RFC 9051 removed \Recent)
    /// New messages make poll() return std::errc::operation_would_block before it changes
    /// anything: claiming their \Recent flags is a store write (Session::handle's `quick`).
    bool defer_new = false;
};

class MailboxView {
public:
    /// Opens the view at SELECT/EXAMINE; SELECT claims the \Recent messages (RFC 3501 §2.3.2).
    /// The UID list comes from `pool` (UidListPool::shared() if null).
    static Result<MailboxView> open(
        store::Store& store,
        std::string account,
        std::string mailbox,
        bool read_only,
        UidListPool* pool = nullptr
    );

    [[nodiscard]] const std::string& account() const { return account_; }
    [[nodiscard]] const std::string& name() const { return name_; }
    /// What the store calls of this view name: the mailbox opened, by identity. A rename by
    /// another session leaves the view working; a delete makes them fail with NotFound.
    [[nodiscard]] store::MailboxKey key() const {
        return store::MailboxKey::identity(info_.id, info_.uid_validity);
    }
    [[nodiscard]] bool read_only() const { return read_only_; }
    [[nodiscard]] const store::MailboxInfo& info() const { return info_; }
    [[nodiscard]] std::uint32_t exists() const { return static_cast<std::uint32_t>(uids_->size()); }
    /// Valid until the view next changes (poll, note_expunged, report_expunged).
    [[nodiscard]] const std::vector<std::uint32_t>& uids() const { return uids_->uids(); }
    /// The shared list itself (tests: sessions of one mailbox state share it).
    [[nodiscard]] const UidListPtr& uid_list() const { return uids_; }
    [[nodiscard]] std::uint32_t recent_count() const;
    /// \Recent for this session: a UID this session claimed (RFC 3501 §2.3.2: a message is
    /// recent in one session only; Store::claim_recent_range), or, read-only, one that no
    /// session had claimed when this one learnt of it.
    [[nodiscard]] bool is_recent(std::uint32_t uid) const;
    [[nodiscard]] std::uint64_t highest_modseq() const { return highest_modseq_; }
    [[nodiscard]] std::uint32_t uid_next() const { return uid_next_; }
    /// Keywords used in the mailbox at SELECT time, and new ones stored since (FLAGS response).
    [[nodiscard]] const std::vector<std::string>& keywords() const { return keywords_; }
    /// Returns true if `keyword` was not known yet (the session then resends FLAGS).
    bool add_keyword(const std::string& keyword);
    /// Sequence number of the first message without \Seen at SELECT time, or 0.
    [[nodiscard]] std::uint32_t first_unseen() const { return first_unseen_; }

    /// Sequence number of `uid`, or 0.
    [[nodiscard]] std::uint32_t seq_of(std::uint32_t uid) const;
    /// The UIDs (ascending) a sequence set names: message numbers, or UIDs with `by_uid`
    /// (RFC 9051 §6.4.9: UIDs that do not exist are ignored; "*" is the highest).
    [[nodiscard]] std::vector<std::uint32_t> resolve(const wire::SequenceSet& set, bool by_uid)
        const;
    /// Whether resolve(set, by_uid) names at most `limit` messages (overlapping ranges may
    /// count twice: never true when it names more), without building the list.
    [[nodiscard]] bool names_at_most(const wire::SequenceSet& set, bool by_uid, std::size_t limit)
        const;

    /// Reports changes made since the last poll; `out` gets the untagged responses.
    Status poll(store::Store& store, const PollMode& mode, wire::ResponseWriter& w);
    /// This session changed these messages itself and already told the client (STORE, FETCH
    /// setting \Seen): poll() will not report them again.
    void note_reported(const std::vector<store::FlagState>& states);
    /// The mod-sequence this session reported for `uid` itself above highest_modseq(), or 0.
    [[nodiscard]] std::uint64_t reported_modseq(std::uint32_t uid) const;
    /// This session expunged these UIDs and reported them (EXPUNGE, MOVE, CLOSE).
    void note_expunged(const std::vector<std::uint32_t>& uids);
    /// Called with the UIDs (ascending) whose EXPUNGE or VANISHED is about to be written,
    /// while their sequence numbers are still valid (update contexts, RFC 5267 §4.3.4).
    using ExpungeListener =
        std::function<void(const std::vector<std::uint32_t>& gone, wire::ResponseWriter& w)>;
    void set_expunge_listener(ExpungeListener listener) { expunge_listener_ = std::move(listener); }
    /// Writes "* n EXPUNGE" (highest first so numbers stay valid) or "* VANISHED uids".
    void report_expunged(
        const std::vector<std::uint32_t>& uids, bool qresync, wire::ResponseWriter& w
    );

private:
    MailboxView() = default;
    /// Writes the responses for `gone` (ascending, all in the view) without changing the view.
    void write_expunged(
        const std::vector<std::uint32_t>& gone, bool qresync, wire::ResponseWriter& w
    ) const;
    /// The positions in uids_ (a half-open span) that one range of a sequence set names:
    /// "*" is the largest UID or message number, "4:2" is "2:4", numbers past the end name
    /// nothing (resolve and names_at_most must agree on this).
    [[nodiscard]] std::pair<std::size_t, std::size_t> span_of(
        const wire::SeqRange& range, bool by_uid
    ) const;
    /// Drops reported_ entries that highest_modseq_ has caught up with.
    void forget_reported();
    /// The messages no session has claimed yet become this session's \Recent ones (claimed
    /// unless read-only); called at open and when a poll finds new messages.
    Status take_recent(store::Store& store);
    /// Adds the UIDs [first, end) to recent_.
    void add_recent(std::uint32_t first, std::uint32_t end);

    std::string account_;
    std::string name_;
    bool read_only_ = false;
    store::MailboxInfo info_;
    UidListPool* pool_ = nullptr;
    UidListPtr uids_;  // ascending: message n is uids_->uids()[n-1]; shared, never null
    // (uid, modseq) ascending by UID: changes above highest_modseq_ that this session reported
    // itself, so poll() does not report them again (RFC 7162 §3.2: a FETCH for a change the
    // client already saw would be harmless but noisy). Emptied as highest_modseq_ catches up.
    std::vector<std::pair<std::uint32_t, std::uint64_t>> reported_;
    // [first, end) UID ranges, ascending and disjoint: this session's \Recent messages. Claims
    // continue where the last one ended unless another session claimed in between, so there
    // is usually one range, grown in place (a few bytes per session, not one per message).
    std::vector<std::pair<std::uint32_t, std::uint32_t>> recent_;
    // Every change up to here has been reported (or was the session's own, in reported_); the
    // next poll asks the store for what is above it.
    std::uint64_t highest_modseq_ = 0;
    std::uint32_t uid_next_ = 1;
    std::vector<std::string> keywords_;  // sorted
    std::uint32_t first_unseen_ = 0;
    ExpungeListener expunge_listener_;
    std::vector<std::uint32_t> pending_expunges_;  // expunged, not yet reported (ascending)
};

}  // namespace sov::imap
