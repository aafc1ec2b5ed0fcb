#include "imap/engine/mailbox_view.hpp"

#include <algorithm>

#include "imap/engine/flags.hpp"

namespace sov::imap {

Result<MailboxView> MailboxView::open(
    store::Store& store, std::string account, std::string mailbox, bool read_only
) {
    MailboxView view;
    view.account_ = std::move(account);
    view.name_ = std::move(mailbox);
    view.read_only_ = read_only;
    // Claim \Recent before listing, so every message we list either is ours to call recent or
    // was claimed by another session earlier.
    std::uint32_t first_recent = 0;
    if (!read_only) {
        auto claimed = store.claim_recent(view.account_, view.name_);
        if (!claimed) {
            return claimed.error();
        }
        first_recent = *claimed;
    }
    auto info = store.mailbox(view.account_, view.name_);
    if (!info) {
        return info.error();
    }
    view.info_ = *info;
    if (read_only) {
        first_recent = info->first_recent_uid;
    }
    auto messages = store.list_messages(
        view.account_,
        view.name_,
        1,
        store::ListOptions{.structure = false, .path = false, .narrow = true}
    );
    if (!messages) {
        return messages.error();
    }
    view.uids_.reserve(messages->size());
    view.modseq_.reserve(messages->size());
    std::uint64_t highest = info->highest_modseq;
    for (const auto& m : *messages) {
        if (view.first_unseen_ == 0 && (m.flags & store::flag::kSeen) == 0) {
            view.first_unseen_ = static_cast<std::uint32_t>(view.uids_.size()) + 1;
        }
        for (const auto& k : m.keywords) {
            view.add_keyword(k);
        }
        view.uids_.push_back(m.uid);
        view.modseq_.push_back(m.modseq);
        highest = std::max(highest, m.modseq);
    }
    view.first_recent_uid_ = first_recent;
    view.highest_modseq_ = highest;
    view.uid_next_ = std::max(info->uid_next, view.uids_.empty() ? 1U : view.uids_.back() + 1);
    return view;
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
    if (first_recent_uid_ == 0) {
        return 0;
    }
    const auto it = std::lower_bound(uids_.begin(), uids_.end(), first_recent_uid_);
    return static_cast<std::uint32_t>(uids_.end() - it);
}

std::uint32_t MailboxView::seq_of(std::uint32_t uid) const {
    const auto it = std::lower_bound(uids_.begin(), uids_.end(), uid);
    if (it == uids_.end() || *it != uid) {
        return 0;
    }
    return static_cast<std::uint32_t>(it - uids_.begin()) + 1;
}

std::vector<std::uint32_t> MailboxView::resolve(const wire::SequenceSet& set, bool by_uid) const {
    std::vector<std::uint32_t> out;
    if (uids_.empty()) {
        return out;
    }
    const std::uint32_t largest = by_uid ? uids_.back() : exists();
    for (const auto& range : set.ranges) {
        std::uint32_t lo = range.first == wire::kStar ? largest : range.first;
        std::uint32_t hi = range.last == wire::kStar ? largest : range.last;
        if (lo > hi) {
            std::swap(lo, hi);
        }
        if (by_uid) {
            auto it = std::lower_bound(uids_.begin(), uids_.end(), lo);
            for (; it != uids_.end() && *it <= hi; ++it) {
                out.push_back(*it);
            }
        } else {
            hi = std::min(hi, exists());
            for (std::uint32_t seq = lo; seq <= hi && seq >= 1; ++seq) {
                out.push_back(uids_[seq - 1]);
            }
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void MailboxView::note_reported(const std::vector<store::FlagState>& states) {
    for (const auto& s : states) {
        if (const auto seq = seq_of(s.uid); seq != 0) {
            modseq_[seq - 1] = std::max(modseq_[seq - 1], s.modseq);
        }
    }
}

void MailboxView::note_expunged(const std::vector<std::uint32_t>& uids) {
    for (const auto uid : uids) {
        if (const auto seq = seq_of(uid); seq != 0) {
            uids_.erase(uids_.begin() + (seq - 1));
            modseq_.erase(modseq_.begin() + (seq - 1));
        }
        const auto it = std::lower_bound(pending_expunges_.begin(), pending_expunges_.end(), uid);
        if (it != pending_expunges_.end() && *it == uid) {
            pending_expunges_.erase(it);
        }
    }
}

void MailboxView::report_expunged(
    const std::vector<std::uint32_t>& uids, bool qresync, wire::ResponseWriter& w
) {
    if (uids.empty()) {
        return;
    }
    if (qresync) {
        // RFC 7162 §3.2.10: VANISHED replaces EXPUNGE once QRESYNC is enabled.
        w.begin_untagged().atom("VANISHED").sequence_set(wire::sequence_set_of(uids)).end();
    } else {
        // Highest first: each EXPUNGE renumbers the messages after it (RFC 9051 §7.5.1).
        std::vector<std::uint32_t> seqs;
        for (const auto uid : uids) {
            if (const auto seq = seq_of(uid); seq != 0) {
                seqs.push_back(seq);
            }
        }
        std::sort(seqs.rbegin(), seqs.rend());
        for (const auto seq : seqs) {
            w.begin_untagged().number(seq).atom("EXPUNGE").end();
        }
    }
    note_expunged(uids);
}

Status MailboxView::poll(store::Store& store, const PollMode& mode, wire::ResponseWriter& w) {
    auto changes = store.changes_since(
        account_, name_, highest_modseq_, store::ListOptions{.structure = false, .path = false}
    );
    if (!changes) {
        return changes.error();
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
    if (mode.allow_expunge && !pending_expunges_.empty()) {
        const auto gone = pending_expunges_;
        report_expunged(gone, mode.qresync, w);
    }
    const std::uint32_t last_known = uids_.empty() ? 0 : uids_.back();
    std::vector<store::FlagState> added;
    for (const auto& s : changes->changed) {
        if (s.uid > last_known) {
            added.push_back(s);
            continue;
        }
        const auto seq = seq_of(s.uid);
        if (seq == 0 || modseq_[seq - 1] >= s.modseq ||
            std::binary_search(pending_expunges_.begin(), pending_expunges_.end(), s.uid)) {
            continue;
        }
        modseq_[seq - 1] = s.modseq;
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
    if (!added.empty()) {
        std::sort(added.begin(), added.end(), [](auto& a, auto& b) { return a.uid < b.uid; });
        bool claimed_new = false;
        if (!read_only_) {
            auto claimed = store.claim_recent(account_, name_);
            claimed_new = claimed && *claimed <= added.front().uid;
        }
        for (const auto& s : added) {
            uids_.push_back(s.uid);
            modseq_.push_back(s.modseq);
        }
        if (claimed_new && first_recent_uid_ == 0) {
            first_recent_uid_ = added.front().uid;
        }
        w.begin_untagged().number(exists()).atom("EXISTS").end();
        if (mode.recent) {
            w.begin_untagged().number(recent_count()).atom("RECENT").end();
        }
    }
    highest_modseq_ = std::max(highest_modseq_, changes->highest_modseq);
    uid_next_ = std::max(uid_next_, changes->uid_next);
    return {};
}

}  // namespace sov::imap
