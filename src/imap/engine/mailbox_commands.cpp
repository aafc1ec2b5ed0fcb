// Mailbox-level commands: SELECT/EXAMINE (with CONDSTORE/QRESYNC), CREATE, DELETE, RENAME,
// (UN)SUBSCRIBE, LIST/LSUB (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), NAMESPACE, STATUS,
// CLOSE/UNSELECT, EXPUNGE, QUOTA.
#include <algorithm>
#include <map>
#include <set>

#include "imap/engine/flags.hpp"
#include "imap/engine/handlers.hpp"
#include "imap/engine/list_match.hpp"

namespace sov::imap {

using wire::Condition;

namespace {

constexpr char kSeparator = '/';

std::string mailbox_id(const store::MailboxInfo& m) {
    // RFC 8474 §4: stable across RENAME, never reused. The row id is never reused by the
    // account's index (INTEGER PRIMARY KEY without reuse after the max), and the UIDVALIDITY
    // tells apart a mailbox deleted and created again.
    char buf[40];
    std::snprintf(
        buf, sizeof buf, "F%08x%llx", m.uid_validity, static_cast<unsigned long long>(m.id)
    );
    return buf;
}

/// Maps a store error on a named mailbox to the IMAP response code (RFC 5530).
void mailbox_error(
    Session::Handlers::W& w, const wire::Command& c, const std::error_code& ec, bool trycreate
) {
    if (ec == store::Errc::NotFound) {
        w.tagged(c.tag, Condition::No, trycreate ? "TRYCREATE" : "NONEXISTENT", "No such mailbox");
    } else if (ec == store::Errc::Exists) {
        w.tagged(c.tag, Condition::No, "ALREADYEXISTS", "Mailbox already exists");
    } else if (ec == store::Errc::Invalid) {
        w.tagged(c.tag, Condition::No, "CANNOT", "Unacceptable mailbox name");
    } else if (ec == store::Errc::QuotaExceeded) {
        w.tagged(c.tag, Condition::No, "OVERQUOTA", "Quota exceeded");
    } else {
        w.tagged(c.tag, Condition::No, "SERVERBUG", "Internal error, see the server log");
    }
}

}  // namespace

void Session::Handlers::select(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::SelectArgs>(c.args);
    const bool read_only = c.name == wire::CommandName::Examine;
    // RFC 9051 §6.3.1: a SELECT deselects the current mailbox first, even if it then fails.
    if (s.view_) {
        s.view_.reset();
        s.contexts_.clear();
        s.state_ = State::Authenticated;
        // RFC 9051 §7.1 (from RFC 7162 §3.2.11): the boundary between the two mailboxes'
        // responses; unknown response codes are ignored by older clients.
        w.untagged(Condition::Ok, "CLOSED", "Previous mailbox closed");
    }
    if (args.qresync && !s.qresync_) {
        bad(w, c, "QRESYNC is not enabled");  // RFC 7162 §3.2.5
        return;
    }
    auto view = MailboxView::open(*s.services_.store, s.account_, args.mailbox, read_only);
    if (!view) {
        mailbox_error(w, c, view.error(), false);
        return;
    }
    if (args.condstore) {
        s.condstore_ = true;
    }
    s.view_ = std::make_unique<MailboxView>(std::move(*view));
    s.state_ = State::Selected;
    s.saved_search_.reset();
    s.contexts_.clear();  // RFC 5267 §4.3: updates cease when the mailbox is closed
    s.view_->set_expunge_listener([&s](const std::vector<std::uint32_t>& gone, W& out) {
        contexts_expunged(s, gone, out);
    });
    const MailboxView& v = *s.view_;
    w.begin_untagged().atom("FLAGS");
    write_flag_list(w, v.keywords(), false);
    w.end();
    w.begin_untagged().number(v.exists()).atom("EXISTS").end();
    if (s.imap4rev2_) {
        // RFC 9051 §6.3.2: a LIST response with the mailbox name and accurate attributes.
        write_list_entry(s, v.name(), w);
    } else {
        w.begin_untagged().number(v.recent_count()).atom("RECENT").end();
        if (v.first_unseen() != 0) {
            w.untagged(Condition::Ok, "UNSEEN " + std::to_string(v.first_unseen()), "First unseen");
        }
    }
    {
        std::string perm;
        W pw(perm);
        write_flag_list(pw, v.keywords(), !read_only);
        if (read_only) {
            perm = "()";
        }
        w.untagged(Condition::Ok, "PERMANENTFLAGS " + perm, "Flags permitted");
    }
    w.untagged(Condition::Ok, "UIDVALIDITY " + std::to_string(v.info().uid_validity), "UIDs valid");
    w.untagged(Condition::Ok, "UIDNEXT " + std::to_string(v.uid_next()), "Predicted next UID");
    w.untagged(Condition::Ok, "HIGHESTMODSEQ " + std::to_string(v.highest_modseq()), "Highest");
    w.untagged(Condition::Ok, "MAILBOXID (" + mailbox_id(v.info()) + ")", "Ok");
    if (args.qresync && args.qresync->uid_validity == v.info().uid_validity) {
        // RFC 7162 §3.2.5.1: what changed since the client's mod-sequence, limited to the UIDs
        // it says it knows.
        auto changes = s.services_.store->changes_since(
            s.account_,
            v.name(),
            args.qresync->mod_seq,
            store::ListOptions{.structure = false, .path = false}
        );
        if (changes) {
            const std::uint32_t largest = v.uids().empty() ? 0 : v.uids().back();
            std::vector<std::uint32_t> vanished;
            for (const auto uid : changes->expunged) {
                if (!args.qresync->known_uids || args.qresync->known_uids->contains(uid, largest)) {
                    vanished.push_back(uid);
                }
            }
            if (!vanished.empty()) {
                w.begin_untagged().atom("VANISHED").atom("(EARLIER)");
                w.sequence_set(wire::sequence_set_of(vanished)).end();
            }
            for (const auto& ch : changes->changed) {
                const auto seq = v.seq_of(ch.uid);
                if (seq == 0) {
                    continue;
                }
                w.begin_untagged().number(seq).atom("FETCH").begin_list();
                w.atom("UID").number(ch.uid).atom("FLAGS");
                write_flags(w, ch.flags, ch.keywords, v.is_recent(ch.uid));
                w.atom("MODSEQ").begin_list().number(ch.modseq).end_list();
                w.end_list().end();
            }
        }
    }
    w.tagged(
        c.tag,
        Condition::Ok,
        read_only ? "READ-ONLY" : "READ-WRITE",
        read_only ? "EXAMINE completed" : "SELECT completed"
    );
}

void Session::Handlers::write_list_entry(Session& s, const std::string& name, W& w) {
    auto boxes = s.services_.store->list_mailboxes(s.account_);
    bool children = false;
    std::string special;
    if (boxes) {
        const std::string prefix = name + std::string(1, kSeparator);
        for (const auto& b : *boxes) {
            children = children || b.name.rfind(prefix, 0) == 0;
            if (b.name == name) {
                special = b.special_use;
            }
        }
    }
    w.begin_untagged().atom("LIST").begin_list();
    w.atom(children ? "\\HasChildren" : "\\HasNoChildren");
    if (!special.empty()) {
        w.atom(special);
    }
    w.end_list().string("/").mailbox(name).end();
}

void Session::Handlers::create(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::CreateArgs>(c.args);
    if (c.bad_mailbox_encoding) {
        bad(w, c, "Mailbox name is not valid modified UTF-7");  // RFC 3501 §5.1.3
        return;
    }
    std::string name = args.mailbox;
    // RFC 9051 §6.3.4: a trailing separator only says the client plans children.
    while (!name.empty() && name.back() == kSeparator) {
        name.pop_back();
    }
    if (store::Store::canonical_mailbox_name(name).empty()) {
        no(w, c, "CANNOT", "Unacceptable mailbox name");
        return;
    }
    if (args.special_use.size() > 1) {
        no(w, c, "USEATTR", "One special-use attribute per mailbox");  // RFC 6154 §3
        return;
    }
    std::string use;
    if (!args.special_use.empty()) {
        static const std::set<std::string, std::less<>> kKnown{
            "\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"
        };
        use = args.special_use.front();
        const auto it = std::find_if(kKnown.begin(), kKnown.end(), [&](const std::string& k) {
            return std::equal(k.begin(), k.end(), use.begin(), use.end(), [](char a, char b) {
                return (a | 0x20) == (b | 0x20);
            });
        });
        if (it == kKnown.end() || *it == "\\All" || *it == "\\Flagged") {
            no(w, c, "USEATTR", "Special-use attribute not supported");
            return;
        }
        use = *it;
    }
    // Parents are created too (RFC 9051 §6.3.4: "foo/bar" creates "foo" if needed).
    for (std::size_t pos = name.find(kSeparator); pos != std::string::npos;
         pos = name.find(kSeparator, pos + 1)) {
        const auto parent = name.substr(0, pos);
        if (auto r = s.services_.store->create_mailbox(s.account_, parent);
            !r && r.error() != store::Errc::Exists) {
            mailbox_error(w, c, r.error(), false);
            return;
        }
    }
    auto r = s.services_.store->create_mailbox(s.account_, name, use);
    if (!r) {
        mailbox_error(w, c, r.error(), false);
        return;
    }
    ok(w, c, "MAILBOXID (" + mailbox_id(*r) + ")");
}

void Session::Handlers::remove(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::MailboxArgs>(c.args);
    if (s.view_) {
        // RFC 9051 §6.3.5 lets the server refuse; deleting under our own feet is confusing. By
        // identity: the selected mailbox may have been renamed since SELECT.
        const auto target = s.services_.store->mailbox(s.account_, args.mailbox);
        if (target && target->id == s.view_->info().id) {
            no(w, c, "INUSE", "Mailbox is selected");
            return;
        }
    }
    if (auto st = s.services_.store->delete_mailbox(s.account_, args.mailbox); !st) {
        mailbox_error(w, c, st.error(), false);
        return;
    }
    ok(w, c);
}

void Session::Handlers::rename(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::RenameArgs>(c.args);
    if (c.bad_mailbox_encoding) {
        bad(w, c, "Mailbox name is not valid modified UTF-7");  // RFC 3501 §5.1.3
        return;
    }
    std::string to = args.to;
    while (!to.empty() && to.back() == kSeparator) {
        to.pop_back();
    }
    if (auto st = s.services_.store->rename_mailbox(s.account_, args.from, to); !st) {
        mailbox_error(w, c, st.error(), false);
        return;
    }
    ok(w, c);
}

void Session::Handlers::subscribe(Session& s, const Cmd& c, W& w, bool on) {
    const auto& args = std::get<wire::MailboxArgs>(c.args);
    if (c.bad_mailbox_encoding) {
        bad(w, c, "Mailbox name is not valid modified UTF-7");
        return;
    }
    // RFC 9051 §6.3.7: the name need not exist; the subscription outlives the mailbox.
    if (auto st = s.services_.store->subscribe(s.account_, args.mailbox, on); !st) {
        mailbox_error(w, c, st.error(), false);
        return;
    }
    ok(w, c);
}

void Session::Handlers::list(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::ListArgs>(c.args);
    const bool lsub = c.name == wire::CommandName::Lsub;
    const auto has = [](const std::vector<std::string>& v, std::string_view x) {
        return std::find(v.begin(), v.end(), x) != v.end();
    };
    // RFC 5258 §3: unknown options are errors; RECURSIVEMATCH needs another selection option
    // besides REMOTE (§3.1).
    static const std::set<std::string, std::less<>> kSelect{
        "SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"
    };
    static const std::set<std::string, std::less<>> kReturn{
        "SUBSCRIBED", "CHILDREN", "SPECIAL-USE"
    };
    for (const auto& o : args.select_options) {
        if (!kSelect.contains(o)) {
            bad(w, c, "Unknown LIST selection option");
            return;
        }
    }
    for (const auto& o : args.return_options) {
        if (!kReturn.contains(o)) {
            bad(w, c, "Unknown LIST return option");
            return;
        }
    }
    if (has(args.select_options, "RECURSIVEMATCH") &&
        std::none_of(args.select_options.begin(), args.select_options.end(), [](auto& o) {
            return o != "RECURSIVEMATCH" && o != "REMOTE";
        })) {
        bad(w, c, "RECURSIVEMATCH needs another selection option");
        return;
    }
    const bool sel_subscribed = lsub || has(args.select_options, "SUBSCRIBED");
    const bool sel_special = has(args.select_options, "SPECIAL-USE");
    const bool recursive = has(args.select_options, "RECURSIVEMATCH");
    const bool extended = !args.select_options.empty() || !args.return_options.empty() ||
                          args.return_status.has_value() || args.multiple_patterns;
    const bool ret_subscribed = has(args.return_options, "SUBSCRIBED") || sel_subscribed;
    const bool ret_special = has(args.return_options, "SPECIAL-USE") || sel_special || !extended;

    // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter and root.
    if (args.patterns.size() == 1 && args.patterns[0].empty() && !extended) {
        w.begin_untagged().atom(lsub ? "LSUB" : "LIST").begin_list().atom("\\Noselect");
        w.end_list().string("/").string("").end();
        ok(w, c);
        return;
    }
    auto boxes = s.services_.store->list_mailboxes(s.account_);
    if (!boxes) {
        store_error(s, w, c, boxes.error());
        return;
    }
    std::map<std::string, const store::MailboxInfo*> by_name;
    for (const auto& b : *boxes) {
        by_name[b.name] = &b;
    }
    // Names that exist only as parents of other mailboxes are listed \NonExistent (LIST-
    // EXTENDED) or \Noselect; every existing mailbox knows whether it has children.
    std::set<std::string> all_names;
    for (const auto& b : *boxes) {
        all_names.insert(b.name);
        for (auto pos = b.name.find(kSeparator); pos != std::string::npos;
             pos = b.name.find(kSeparator, pos + 1)) {
            all_names.insert(b.name.substr(0, pos));
        }
    }
    const auto has_children = [&](const std::string& name) {
        const auto prefix = name + std::string(1, kSeparator);
        const auto lb = all_names.lower_bound(prefix);
        return lb != all_names.end() && lb->compare(0, prefix.size(), prefix) == 0;
    };
    std::vector<std::string> patterns;
    for (const auto& p : args.patterns) {
        patterns.push_back(list_pattern(args.reference, p, kSeparator));
    }
    const auto matches = [&](const std::string& name) {
        return std::any_of(patterns.begin(), patterns.end(), [&](auto& p) {
            return list_match(p, name, kSeparator);
        });
    };
    // Subscriptions are names, kept even when their mailbox is gone (RFC 9051 §6.3.7).
    std::set<std::string> subscribed;
    if (sel_subscribed || ret_subscribed) {
        auto subs = s.services_.store->subscriptions(s.account_);
        if (!subs) {
            store_error(s, w, c, subs.error());
            return;
        }
        subscribed.insert(subs->begin(), subs->end());
    }
    const auto has_subscribed_child = [&](const std::string& name) {
        const std::string prefix = name + std::string(1, kSeparator);
        const auto lb = subscribed.lower_bound(prefix);
        return lb != subscribed.end() && lb->compare(0, prefix.size(), prefix) == 0;
    };
    // What to consider: every mailbox (and implied parent), or with SUBSCRIBED/LSUB the
    // subscribed names plus their parents (a parent may be listed for a subscribed child).
    std::set<std::string> candidates = all_names;
    if (sel_subscribed) {
        candidates.clear();
        for (const auto& name : subscribed) {
            candidates.insert(name);
            for (auto pos = name.find(kSeparator); pos != std::string::npos;
                 pos = name.find(kSeparator, pos + 1)) {
                candidates.insert(name.substr(0, pos));
            }
        }
    }
    for (const auto& name : candidates) {
        if (!matches(name)) {
            continue;
        }
        const auto it = by_name.find(name);
        const store::MailboxInfo* box = it == by_name.end() ? nullptr : it->second;
        const bool is_subscribed = subscribed.contains(name);
        bool child_info = false;
        bool noselect_parent = false;
        if (sel_subscribed && !is_subscribed) {
            if (!has_subscribed_child(name)) {
                continue;
            }
            if (lsub) {
                // RFC 3501 §6.3.9: "%" matching a parent of a subscribed mailbox lists the parent
                // as \Noselect; "*" would list the child itself instead.
                noselect_parent = true;
            } else if (recursive) {
                // RFC 5258 §3.5: the parent is listed with CHILDINFO (SUBSCRIBED) only when no
                // matching subscribed child is listed itself.
                const std::string prefix = name + std::string(1, kSeparator);
                bool child_listed = false;
                for (auto sub = subscribed.lower_bound(prefix);
                     sub != subscribed.end() && sub->compare(0, prefix.size(), prefix) == 0;
                     ++sub) {
                    child_listed = child_listed || matches(*sub);
                }
                if (child_listed) {
                    continue;
                }
                child_info = true;
            } else {
                continue;
            }
        }
        if (sel_special && (box == nullptr || box->special_use.empty())) {
            continue;
        }
        w.begin_untagged().atom(lsub ? "LSUB" : "LIST").begin_list();
        if (lsub) {
            if (noselect_parent) {
                w.atom("\\Noselect");
            }
        } else {
            if (box == nullptr) {
                w.atom(extended || is_subscribed ? "\\NonExistent" : "\\Noselect");
            } else {
                w.atom(has_children(name) ? "\\HasChildren" : "\\HasNoChildren");
            }
            if (ret_subscribed && is_subscribed) {
                w.atom("\\Subscribed");
            }
            if (ret_special && box != nullptr && !box->special_use.empty()) {
                w.atom(box->special_use);
            }
        }
        w.end_list().string("/").mailbox(name);
        if (child_info) {
            w.begin_list().string("CHILDINFO").begin_list().string("SUBSCRIBED");
            w.end_list().end_list();
        }
        w.end();
        if (args.return_status && box != nullptr) {
            (void)write_status(s, name, *args.return_status, w);
        }
    }
    ok(w, c);
}

void Session::Handlers::namespace_(Session& /*s*/, const Cmd& c, W& w) {
    // RFC 2342: one personal namespace, no shared or other users' namespaces.
    w.begin_untagged().atom("NAMESPACE").begin_list().begin_list().string("").string("/");
    w.end_list().end_list().nil().nil().end();
    ok(w, c);
}

bool Session::Handlers::write_status(
    Session& s, std::string_view mailbox, const std::vector<wire::StatusItem>& items, W& w
) {
    auto info = s.services_.store->mailbox(s.account_, mailbox);
    if (!info) {
        return false;
    }
    w.begin_untagged().atom("STATUS").mailbox(info->name).begin_list();
    for (const auto item : items) {
        switch (item) {
            case wire::StatusItem::Messages:
                w.atom("MESSAGES").number(info->messages);
                break;
            case wire::StatusItem::Recent: {
                std::uint32_t recent = 0;
                if (info->first_recent_uid != 0) {
                    auto msgs = s.services_.store->list_messages(
                        s.account_,
                        info->name,
                        info->first_recent_uid,
                        store::ListOptions{.structure = false, .path = false}
                    );
                    recent = msgs ? static_cast<std::uint32_t>(msgs->size()) : 0;
                }
                w.atom("RECENT").number(recent);
                break;
            }
            case wire::StatusItem::UidNext:
                w.atom("UIDNEXT").number(info->uid_next);
                break;
            case wire::StatusItem::UidValidity:
                w.atom("UIDVALIDITY").number(info->uid_validity);
                break;
            case wire::StatusItem::Unseen:
                w.atom("UNSEEN").number(info->unseen);
                break;
            case wire::StatusItem::Deleted:
                w.atom("DELETED").number(info->deleted);
                break;
            case wire::StatusItem::Size:
                w.atom("SIZE").number(info->bytes);
                break;
            case wire::StatusItem::HighestModSeq:
                w.atom("HIGHESTMODSEQ").number(info->highest_modseq);
                break;
            case wire::StatusItem::AppendLimit:
                w.atom("APPENDLIMIT").number(s.config_.max_append);
                break;
            case wire::StatusItem::MailboxId:
                w.atom("MAILBOXID").begin_list().atom(mailbox_id(*info)).end_list();
                break;
        }
    }
    w.end_list().end();
    return true;
}

void Session::Handlers::status(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::StatusArgs>(c.args);
    if (std::find(args.items.begin(), args.items.end(), wire::StatusItem::HighestModSeq) !=
        args.items.end()) {
        s.condstore_ = true;  // RFC 7162 §3.1: a CONDSTORE-enabling command
    }
    if (!write_status(s, args.mailbox, args.items, w)) {
        no(w, c, "NONEXISTENT", "No such mailbox");
        return;
    }
    ok(w, c);
}

void Session::Handlers::close(Session& s, const Cmd& c, W& w, bool expunge) {
    // CLOSE expunges silently (RFC 9051 §6.4.1); UNSELECT does not (RFC 3691).
    if (expunge && !s.view_->read_only()) {
        auto gone = s.services_.store->expunge(s.account_, s.view_->key());
        if (!gone) {
            store_error(s, w, c, gone.error());
            return;
        }
    }
    s.view_.reset();
    s.state_ = State::Authenticated;
    s.saved_search_.reset();
    s.contexts_.clear();
    ok(w, c);
}

void Session::Handlers::expunge(Session& s, const Cmd& c, W& w) {
    if (s.view_->read_only()) {
        no(w, c, "READ-ONLY", "Mailbox is read-only");
        return;
    }
    std::optional<std::vector<std::uint32_t>> only;
    if (c.uid) {  // UID EXPUNGE (RFC 4315 §2.1)
        const auto& args = std::get<wire::SequenceArgs>(c.args);
        if (args.set.saved) {
            only = s.saved_search_.value_or(std::vector<std::uint32_t>{});
        } else {
            only = s.view_->resolve(args.set, true);
        }
    }
    auto gone = s.services_.store->expunge(s.account_, s.view_->key(), only);
    if (!gone) {
        store_error(s, w, c, gone.error());
        return;
    }
    std::vector<std::uint32_t> uids = *gone;
    std::sort(uids.begin(), uids.end());
    s.view_->report_expunged(uids, s.qresync_, w);
    ok(w, c);
}

void Session::Handlers::quota(Session& s, const Cmd& c, W& w) {
    // RFC 9208: one quota root per account, named "".
    if (c.name == wire::CommandName::SetQuota) {
        no(w, c, "NOPERM", "Quotas are set by the administrator (sovereign user add --quota)");
        return;
    }
    if (c.name == wire::CommandName::GetQuotaRoot) {
        const auto& args = std::get<wire::MailboxArgs>(c.args);
        if (!s.services_.store->mailbox(s.account_, args.mailbox)) {
            no(w, c, "NONEXISTENT", "No such mailbox");
            return;
        }
        w.begin_untagged().atom("QUOTAROOT").mailbox(args.mailbox).string("").end();
    } else if (std::get<wire::QuotaRootArgs>(c.args).root != "") {
        no(w, c, "NONEXISTENT", "No such quota root");
        return;
    }
    auto usage = s.services_.store->quota_usage(s.account_);
    if (!usage) {
        store_error(s, w, c, usage.error());
        return;
    }
    w.begin_untagged().atom("QUOTA").string("").begin_list();
    if (usage->limit.max_bytes != 0) {
        // STORAGE is in units of 1024 octets (RFC 9208 §5.1).
        w.atom("STORAGE").number((usage->used_bytes + 1023) / 1024);
        w.number(usage->limit.max_bytes / 1024);
    }
    if (usage->limit.max_messages != 0) {
        w.atom("MESSAGE").number(usage->used_messages).number(usage->limit.max_messages);
    }
    w.end_list().end();
    ok(w, c);
}

}  // namespace sov::imap
