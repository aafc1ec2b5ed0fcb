#include "imap/engine/mailbox_view.hpp"

#include <algorithm>
#include <iterator>

#include "imap/engine/flags.hpp"

namespace sov::imap {

Result<MailboxView> MailboxView::open(
    store::Store& store, std::string account, std::string mailbox, bool read_only, UidListPool* pool
) {
    MailboxView view;
    view.pool_ = pool != nullptr ? pool : &UidListPool::shared();
    view.account_ = std::move(account);
    view.name_ = std::move(mailbox);
    view.read_only_ = read_only;
    auto info = store.mailbox(view.account_, view.name_);
    if (!info) {
        return info.error();
    }
    view.info_ = *info;
    std::vector<std::uint32_t> uids;
    uids.reserve(info->messages);
    std::uint64_t highest = info->highest_modseq;
    // Row by row from the index: a MessageInfo per message would cost more than the rest.
    auto listed =
        store.for_each_flags(view.account_, view.key(), 1, false, [&](const store::MessageRow& m) {
            if (view.first_unseen_ == 0 && (m.flags & store::flag::kSeen) == 0) {
                view.first_unseen_ = static_cast<std::uint32_t>(uids.size()) + 1;
            }
            for_each_keyword(m.keywords, [&](std::string_view k) {
                view.add_keyword(std::string(k));
            });
            uids.push_back(m.uid);
            highest = std::max(highest, m.modseq);
            return Status{};
        });
    if (!listed) {
        return listed.error();
    }
    view.uid_next_ = std::max(info->uid_next, uids.empty() ? 1U : uids.back() + 1);
    view.uids_ = view.pool_->intern(std::move(uids));
    view.highest_modseq_ = highest;
    // Claimed after listing: every listed message is then either ours to call recent or was
    // claimed by another session; claimed messages not listed yet come with the next poll.
    if (read_only) {
        view.add_recent(view.info_.first_recent_uid, view.info_.uid_next);  // see take_recent()
    } else if (auto st = view.take_recent(store); !st) {
        return st.error();
    }
    return view;
}

Status MailboxView::take_recent(store::Store& store) {
    if (!read_only_) {
        auto claim = store.claim_recent_range(account_, key());
        if (!claim) {
            return claim.error();
        }
        add_recent(claim->first, claim->end);
        return {};
    }
    // EXAMINE claims nothing (RFC 3501 §6.3.2: it "MUST NOT cause messages to lose the \Recent
    // flag"); it shows as recent what no session has claimed yet.
    auto info = store.mailbox(account_, key());
    if (!info) {
        return info.error();
    }
    add_recent(info->first_recent_uid, info->uid_next);
    return {};
}

void MailboxView::add_recent(std::uint32_t first, std::uint32_t end) {
    if (first >= end) {
        return;
    }
    // Claims only move forward (the store's marker only grows), so a range goes at the end,
    // or extends the last one when it continues or overlaps it (read-only views re-read an
    // unclaimed range).
    if (!recent_.empty() && first <= recent_.back().second) {
        recent_.back().second = std::max(recent_.back().second, end);
        return;
    }
    recent_.emplace_back(first, end);
}

bool MailboxView::is_recent(std::uint32_t uid) const {
    // The last range starting at or below uid.
    const auto it =
        std::upper_bound(recent_.begin(), recent_.end(), uid, [](std::uint32_t u, const auto& r) {
            return u < r.first;
        });
    return it != recent_.begin() && uid < std::prev(it)->second;
}

bool MailboxView::add_keyword(const std::string& keyword) {
    const auto it = std::lower_bound(keywords_.begin(), keywords_.end(), keyword);
    if (it != keywords_.end() && *it == keyword) {
        return false;
    }
    keywords_.insert(it, keyword);
    return true;
}

std::uint32_t MailboxView::recent_count() const {
    const auto& uids = uids_->uids();
    std::uint32_t n = 0;
    for (const auto& [first, end] : recent_) {
        const auto b = std::lower_bound(uids.begin(), uids.end(), first);
        n += static_cast<std::uint32_t>(std::lower_bound(b, uids.end(), end) - b);
    }
    return n;
}

std::uint32_t MailboxView::seq_of(std::uint32_t uid) const {
    const auto& uids = uids_->uids();
    const auto it = std::lower_bound(uids.begin(), uids.end(), uid);
    if (it == uids.end() || *it != uid) {
        return 0;
    }
    return static_cast<std::uint32_t>(it - uids.begin()) + 1;
}

std::pair<std::size_t, std::size_t> MailboxView::span_of(const wire::SeqRange& range, bool by_uid)
    const {
    const auto& uids = uids_->uids();
    const std::uint32_t largest = by_uid ? (uids.empty() ? 0 : uids.back()) : exists();
    std::uint32_t lo = range.first == wire::kStar ? largest : range.first;
    std::uint32_t hi = range.last == wire::kStar ? largest : range.last;
    if (lo > hi) {
        std::swap(lo, hi);
    }
    if (by_uid) {
        const auto b = std::lower_bound(uids.begin(), uids.end(), lo);
        const auto e = std::upper_bound(b, uids.end(), hi);
        return {
            static_cast<std::size_t>(b - uids.begin()), static_cast<std::size_t>(e - uids.begin())
        };
    }
    lo = std::max<std::uint32_t>(lo, 1);
    hi = std::min(hi, exists());
    return lo <= hi ? std::pair<std::size_t, std::size_t>{lo - 1, hi}
                    : std::pair<std::size_t, std::size_t>{0, 0};
}

std::vector<std::uint32_t> MailboxView::resolve(const wire::SequenceSet& set, bool by_uid) const {
    std::vector<std::uint32_t> out;
    const auto& uids = uids_->uids();
    for (const auto& range : set.ranges) {
        const auto [b, e] = span_of(range, by_uid);
        out.insert(
            out.end(),
            uids.begin() + static_cast<std::ptrdiff_t>(b),
            uids.begin() + static_cast<std::ptrdiff_t>(e)
        );
    }
    if (set.ranges.size() > 1) {  // one range is a slice of the sorted UID list already
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    return out;
}

bool MailboxView::names_at_most(const wire::SequenceSet& set, bool by_uid, std::size_t limit)
    const {
    std::size_t n = 0;
    for (const auto& range : set.ranges) {
        const auto [b, e] = span_of(range, by_uid);
        n += e - b;
        if (n > limit) {
            return false;
        }
    }
    return true;
}

std::uint64_t MailboxView::reported_modseq(std::uint32_t uid) const {
    const auto it = std::lower_bound(
        reported_.begin(),
        reported_.end(),
        uid,
        [](const auto& entry, std::uint32_t u) { return entry.first < u; }
    );
    return it != reported_.end() && it->first == uid ? it->second : 0;
}

void MailboxView::note_reported(const std::vector<store::FlagState>& states) {
    // Only changes above highest_modseq_ can come back from the next poll (it asks for those).
    std::vector<std::pair<std::uint32_t, std::uint64_t>> fresh;
    for (const auto& s : states) {
        if (s.modseq > highest_modseq_ && seq_of(s.uid) != 0) {
            fresh.emplace_back(s.uid, s.modseq);
        }
    }
    if (fresh.empty()) {
        return;
    }
    std::sort(fresh.begin(), fresh.end());
    std::vector<std::pair<std::uint32_t, std::uint64_t>> merged;
    merged.reserve(reported_.size() + fresh.size());
    std::merge(
        reported_.begin(), reported_.end(), fresh.begin(), fresh.end(), std::back_inserter(merged)
    );
    // Sorted by (uid, modseq): keep the last, highest, entry of each UID.
    std::size_t n = 0;
    for (std::size_t i = 0; i < merged.size(); ++i) {
        if (i + 1 < merged.size() && merged[i + 1].first == merged[i].first) {
            continue;
        }
        merged[n++] = merged[i];
    }
    merged.resize(n);
    reported_ = std::move(merged);
}

void MailboxView::forget_reported() {
    std::erase_if(reported_, [this](const auto& e) { return e.second <= highest_modseq_; });
    if (reported_.empty()) {
        reported_ = {};  // a STORE 1:* may have left 10,000 entries' worth of capacity
    }
}

void MailboxView::note_expunged(const std::vector<std::uint32_t>& uids) {
    std::vector<std::uint32_t> sorted(uids);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    uids_ = pool_->apply(uids_, sorted, {});
    std::erase_if(pending_expunges_, [&](std::uint32_t uid) {
        return std::binary_search(sorted.begin(), sorted.end(), uid);
    });
    std::erase_if(reported_, [&](const auto& e) {
        return std::binary_search(sorted.begin(), sorted.end(), e.first);
    });
    if (pending_expunges_.empty()) {
        pending_expunges_ = {};
    }
}

void MailboxView::write_expunged(
    const std::vector<std::uint32_t>& gone, bool qresync, wire::ResponseWriter& w
) const {
    if (gone.empty()) {
        return;
    }
    if (expunge_listener_) {
        expunge_listener_(gone, w);
    }
    if (qresync) {
        // RFC 7162 §3.2.10: VANISHED replaces EXPUNGE once QRESYNC is enabled.
        w.begin_untagged().atom("VANISHED").sequence_set(wire::sequence_set_of(gone)).end();
        return;
    }
    // Highest first: each EXPUNGE renumbers the messages after it (RFC 9051 §7.5.1).
    std::vector<std::uint32_t> seqs;
    for (const auto uid : gone) {
        if (const auto seq = seq_of(uid); seq != 0) {
            seqs.push_back(seq);
        }
    }
    std::sort(seqs.rbegin(), seqs.rend());
    for (const auto seq : seqs) {
        w.begin_untagged().number(seq).atom("EXPUNGE").end();
    }
}

void MailboxView::report_expunged(
    const std::vector<std::uint32_t>& uids, bool qresync, wire::ResponseWriter& w
) {
    write_expunged(uids, qresync, w);
    note_expunged(uids);
}

Status MailboxView::poll(store::Store& store, const PollMode& mode, wire::ResponseWriter& w) {
    auto changes = store.changes_since(
        account_, key(), highest_modseq_, store::ListOptions{.structure = false, .path = false}
    );
    if (!changes) {
        return changes.error();
    }
    if (mode.defer_new) {
        const std::uint32_t last = uids_->uids().empty() ? 0 : uids_->uids().back();
        if (std::any_of(changes->changed.begin(), changes->changed.end(), [&](const auto& s) {
                return s.uid > last;
            })) {
            return make_error_code(std::errc::operation_would_block);
        }
    }
    for (const auto uid : changes->expunged) {
        if (seq_of(uid) != 0) {
            const auto it =
                std::lower_bound(pending_expunges_.begin(), pending_expunges_.end(), uid);
            if (it == pending_expunges_.end() || *it != uid) {
                pending_expunges_.insert(it, uid);
            }
        }
    }
    // Expunges are reported first; the sequence numbers of the FETCH responses after them are
    // those of the list without the expunged messages (RFC 9051 §7.5.1).
    std::vector<std::uint32_t> gone;
    if (mode.allow_expunge && !pending_expunges_.empty()) {
        gone.swap(pending_expunges_);
        write_expunged(gone, mode.qresync, w);
    }
    const auto seq_after_expunge = [&](std::uint32_t uid) -> std::uint32_t {
        const auto seq = seq_of(uid);
        if (seq == 0 || gone.empty()) {
            return seq;
        }
        const auto it = std::lower_bound(gone.begin(), gone.end(), uid);
        if (it != gone.end() && *it == uid) {
            return 0;
        }
        return seq - static_cast<std::uint32_t>(it - gone.begin());
    };
    const auto& known = uids_->uids();
    const std::uint32_t last_known = known.empty() ? 0 : known.back();
    std::vector<store::FlagState> added;
    for (const auto& s : changes->changed) {
        if (s.uid > last_known) {
            added.push_back(s);
            continue;
        }
        const auto seq = seq_after_expunge(s.uid);
        // Not what this session already reported itself, nor a message it will report as
        // expunged (its sequence number may not be in use for much longer).
        if (seq == 0 || reported_modseq(s.uid) >= s.modseq ||
            std::binary_search(pending_expunges_.begin(), pending_expunges_.end(), s.uid)) {
            continue;
        }
        w.begin_untagged().number(seq).atom("FETCH").begin_list();
        if (mode.qresync) {
            w.atom("UID").number(s.uid);  // RFC 7162 §3.2.4: UID is required with QRESYNC
        }
        w.atom("FLAGS");
        write_flags(w, s.flags, s.keywords, is_recent(s.uid));
        if (mode.condstore) {
            w.atom("MODSEQ").begin_list().number(s.modseq).end_list();
        }
        w.end_list().end();
    }
    std::vector<std::uint32_t> new_uids;
    if (!added.empty()) {
        std::sort(added.begin(), added.end(), [](auto& a, auto& b) { return a.uid < b.uid; });
        // RFC 3501 §2.3.2: of the new messages, those no other session has claimed are ours.
        // A failure only means fewer \Recent flags; the EXISTS must still go out.
        (void)take_recent(store);
        new_uids.reserve(added.size());
        for (const auto& s : added) {
            new_uids.push_back(s.uid);
        }
    }
    if (!gone.empty() || !new_uids.empty()) {
        // One new list for all of it, the same one every other session reaching this state
        // holds.
        uids_ = pool_->apply(uids_, gone, new_uids);
        std::erase_if(reported_, [&](const auto& e) {
            return std::binary_search(gone.begin(), gone.end(), e.first);
        });
    }
    if (!new_uids.empty()) {
        w.begin_untagged().number(exists()).atom("EXISTS").end();
        if (mode.recent) {
            w.begin_untagged().number(recent_count()).atom("RECENT").end();
        }
    }
    highest_modseq_ = std::max(highest_modseq_, changes->highest_modseq);
    uid_next_ = std::max(uid_next_, changes->uid_next);
    forget_reported();
    return {};
}

}  // namespace sov::imap
