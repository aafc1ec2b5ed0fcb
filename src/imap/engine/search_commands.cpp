// SEARCH (RFC 9051 §6.4.4, ESEARCH RFC 4731, SEARCHRES RFC 5182, CONDSTORE RFC 7162 §3.1.5),
// SORT and THREAD (RFC 5256). Criteria on flags, sizes and dates use the index only; text
// criteria ask the store's full-text index for candidates first, then verify each candidate on
// its decoded content (imap/search).
#include <algorithm>
#include <iterator>
#include <optional>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "imap/engine/flags.hpp"
#include "imap/engine/handlers.hpp"
#include "imap/engine/message_file.hpp"
#include "imap/search/search.hpp"
#include "mime/serialize.hpp"
#include "mime/text.hpp"

namespace sov::imap {

using wire::Condition;

namespace {

/// Loads a candidate's structure and bytes at most once, and only if a criterion needs them.
class LazyContent final : public search::MessageContent {
public:
    explicit LazyContent(const store::MessageInfo& m) : m_(m) {}
    const mime::MessageStructure* structure() override {
        if (!structure_) {
            if (!m_.structure.empty()) {
                if (auto s = mime::deserialize(m_.structure)) {
                    structure_ = std::move(*s);
                }
            }
            if (!structure_) {
                structure_ = mime::parse_message(bytes());
            }
        }
        return &*structure_;
    }
    std::string_view bytes() override {
        if (!tried_) {
            tried_ = true;
            (void)file_.load(m_.path);
        }
        return file_.bytes();
    }

private:
    const store::MessageInfo& m_;
    std::optional<mime::MessageStructure> structure_;
    MessageFile file_;
    bool tried_ = false;
};

bool charset_ok(std::string_view charset) {
    // RFC 9051 §6.4.4: UTF-8 must be supported; US-ASCII is a subset of it.
    return charset.empty() || charset == "UTF-8" || charset == "US-ASCII";
}

/// Only unseen messages can match (UNSEEN at the top or in a top-level AND): the store then
/// lists those alone, through its index of them.
bool requires_unseen(const wire::SearchKey& key) {
    if (key.op == wire::SearchOp::Unseen) {
        return true;
    }
    return key.op == wire::SearchOp::And &&
           std::any_of(key.children.begin(), key.children.end(), requires_unseen);
}

/// Whether `key` looks at no more than a narrow listing reads (ListOptions::narrow: UID,
/// MODSEQ, flags, keywords; sequence numbers and \Recent are the session's).
bool narrow_enough(const wire::SearchKey& key) {
    using wire::SearchOp;
    switch (key.op) {
        case SearchOp::All:
        case SearchOp::Answered:
        case SearchOp::Deleted:
        case SearchOp::Draft:
        case SearchOp::Flagged:
        case SearchOp::New:
        case SearchOp::Old:
        case SearchOp::Recent:
        case SearchOp::Seen:
        case SearchOp::Unanswered:
        case SearchOp::Undeleted:
        case SearchOp::Undraft:
        case SearchOp::Unflagged:
        case SearchOp::Unseen:
        case SearchOp::Keyword:
        case SearchOp::Unkeyword:
        case SearchOp::ModSeq:
        case SearchOp::Uid:
        case SearchOp::Sequence:
            return true;
        case SearchOp::Not:
        case SearchOp::Or:
        case SearchOp::And:
            return std::all_of(key.children.begin(), key.children.end(), narrow_enough);
        default:
            return false;
    }
}

bool uses_modseq(const wire::SearchKey& key) {
    if (key.op == wire::SearchOp::ModSeq) {
        return true;
    }
    return std::any_of(key.children.begin(), key.children.end(), uses_modseq);
}

struct Match {
    std::uint32_t seq = 0;
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    std::size_t index = 0;  // into the message list
};

struct Evaluated {
    std::vector<store::MessageInfo> messages;
    std::vector<Match> matches;  // in sequence order
};

/// Runs the search key over the selected mailbox; nullopt if the store failed.
std::optional<Evaluated> evaluate(
    store::Store& st,
    const std::string& account,
    const MailboxView& view,
    const wire::SearchKey& key,
    const std::vector<std::uint32_t>* saved,
    bool want_structure
) {
    const search::Matcher matcher(key);
    const bool content = matcher.content_need() != search::ContentNeed::None || want_structure;
    // Candidates from the full-text index first: each required term narrows the set, and then
    // only the candidates are read from the store (listing every message with its structure
    // and path cost more than the text search itself on a large mailbox).
    std::optional<std::vector<std::uint32_t>> candidates;
    for (const auto& [is_text, needle] : search::required_text_terms(key)) {
        auto hits = st.search_text(
            account, view.key(), is_text ? store::TextField::Text : store::TextField::Body, needle
        );
        if (!hits || !*hits) {
            continue;  // the index cannot answer: verify every message
        }
        if (!candidates) {
            candidates = std::move(**hits);
        } else {
            std::vector<std::uint32_t> both;
            std::set_intersection(
                candidates->begin(),
                candidates->end(),
                (*hits)->begin(),
                (*hits)->end(),
                std::back_inserter(both)
            );
            candidates = std::move(both);
        }
    }
    const store::ListOptions options{
        .structure = content,
        .path = content,
        .cache = false,
        .unseen_only = requires_unseen(key),
        .narrow = !content && narrow_enough(key),
    };
    search::Context ctx{
        .max_seq = view.exists(),
        .max_uid = view.uids().empty() ? 0 : view.uids().back(),
        .now = core::unix_seconds(core::now()),
        .saved = saved,
    };
    Evaluated ev;
    // One message, matched against the key unless this session has not been told of it yet.
    const auto consider = [&](const store::MessageInfo& m, std::size_t index) {
        const auto seq = view.seq_of(m.uid);
        if (seq == 0) {
            return;
        }
        const search::MessageFacts facts{
            .seq = seq,
            .uid = m.uid,
            .modseq = m.modseq,
            .flags = m.flags,
            .keywords = &m.keywords,
            .recent = view.is_recent(m.uid),
            .internal_date = core::unix_seconds(m.internal_date),
            .internal_zone_minutes = 0,
            .save_date = core::unix_seconds(m.save_date),
            .size = m.size,
            .email_id = m.email_id,
            .thread_id = {},
        };
        LazyContent lazy(m);
        if (matcher.matches(facts, lazy, ctx)) {
            ev.matches.push_back(Match{.seq = seq, .uid = m.uid, .modseq = m.modseq, .index = index}
            );
        }
    };
    if (options.narrow && !candidates) {
        // Flags only (SEARCH UNSEEN and the like on a whole mailbox): row by row from the
        // index, no message list (Evaluated::messages stays empty).
        store::MessageInfo row;  // what a narrow row holds; the other fields stay empty
        auto walked = st.for_each_flags(
            account,
            view.key(),
            1,
            options.unseen_only,
            [&](const store::MessageRow& m) {
                row.uid = m.uid;
                row.modseq = m.modseq;
                row.flags = m.flags;
                row.keywords.clear();
                for_each_keyword(m.keywords, [&](std::string_view k) {
                    row.keywords.emplace_back(k);
                });
                consider(row, 0);
                return Status{};
            }
        );
        if (!walked) {
            return std::nullopt;
        }
        return ev;
    }
    auto listed = candidates ? st.get_messages(account, view.key(), *candidates, options)
                             : st.list_messages(account, view.key(), 1, options);
    if (!listed) {
        return std::nullopt;
    }
    ev.messages = std::move(*listed);
    for (std::size_t i = 0; i < ev.messages.size(); ++i) {
        consider(ev.messages[i], i);
    }
    return ev;
}

/// What a SEARCH or SORT returns, in the order it returns it: ascending for SEARCH, the
/// requested order for SORT (RFC 5267 §3.1: MIN is the first sorted message, MAX the last).
struct Results {
    std::vector<std::uint32_t> numbers;  // sequence numbers or UIDs, as the command asked
    std::vector<std::uint32_t> uids;
    std::vector<std::uint64_t> modseqs;

    void add(const Match& m, bool uid) {
        numbers.push_back(uid ? m.uid : m.seq);
        uids.push_back(m.uid);
        modseqs.push_back(m.modseq);
    }
    std::uint64_t highest_modseq() const {
        return modseqs.empty() ? 0 : *std::max_element(modseqs.begin(), modseqs.end());
    }
};

/// The part of `all` (a result, in its order) that a PARTIAL range names.
std::vector<std::uint32_t> window_of(
    const std::vector<std::uint32_t>& all, const wire::PartialRange& range
) {
    const auto [begin, end] = range.window(all.size());
    return {
        all.begin() + static_cast<std::ptrdiff_t>(begin),
        all.begin() + static_cast<std::ptrdiff_t>(end)
    };
}

/// The UIDs SAVE keeps (RFC 5182 §2.4): the whole result, or with MIN and/or MAX alone just
/// the messages those return; with PARTIAL and no COUNT, the messages PARTIAL returns and
/// those of MIN and MAX (RFC 9394 §3.2, table 1). Kept ascending: "$" is a set.
std::vector<std::uint32_t> saved_result(const wire::SearchReturn& ret, const Results& r) {
    std::vector<std::uint32_t> keep;
    if (ret.partial && !ret.count) {
        keep = window_of(r.uids, *ret.partial);
        if (ret.min && !r.uids.empty()) {
            keep.push_back(r.uids.front());
        }
        if (ret.max && !r.uids.empty()) {
            keep.push_back(r.uids.back());
        }
    } else if ((ret.min || ret.max) && !ret.all && !ret.count) {
        if (ret.min && !r.uids.empty()) {
            keep.push_back(r.uids.front());
        }
        if (ret.max && !r.uids.empty()) {
            keep.push_back(r.uids.back());
        }
    } else {
        keep = r.uids;
    }
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
    return keep;
}

/// The untagged answer of a SEARCH or SORT: `* SEARCH` / `* SORT` (with the highest
/// mod-sequence when a MODSEQ criterion was given, RFC 7162 §3.1.6 and §3.1.9), or with RETURN
/// options `* ESEARCH` (RFC 4731 §3.1, RFC 5267 §3.1). `name` is "SEARCH" or "SORT".
void write_results(
    wire::ResponseWriter& w,
    const wire::Command& c,
    std::string_view name,
    const wire::SearchReturn& ret,
    const Results& r,
    bool modseq
) {
    if (!ret.present) {
        w.begin_untagged().atom(name);
        for (const auto n : r.numbers) {
            w.number(n);
        }
        if (modseq && !r.numbers.empty()) {
            w.begin_list().atom("MODSEQ").number(r.highest_modseq()).end_list();
        }
        w.end();
        return;
    }
    const bool results = ret.min || ret.max || ret.all || ret.count || ret.partial;
    if (ret.save && !results) {
        return;  // RFC 5182 §2.4: SAVE alone returns no ESEARCH response
    }
    // RFC 4731 §3.1: "RETURN ()" means ALL; so do options that ask for no result of their
    // own (CONTEXT, UPDATE: RFC 5267 §4), so that the client has the result to update.
    const bool all = ret.all || !results;
    w.begin_untagged().atom("ESEARCH").begin_list().atom("TAG").string(c.tag).end_list();
    if (c.uid) {
        w.atom("UID");
    }
    if (!r.numbers.empty()) {
        if (ret.min) {
            w.atom("MIN").number(r.numbers.front());
        }
        if (ret.max) {
            w.atom("MAX").number(r.numbers.back());
        }
        if (all) {
            // In the result's order; only increasing runs become ranges (RFC 5267 §3.2).
            w.atom("ALL").atom(wire::to_string(wire::sequence_set_of(r.numbers)));
        }
    }
    if (ret.count) {
        w.atom("COUNT").number(r.numbers.size());
    }
    if (ret.partial) {
        // RFC 5267 §4.4, RFC 9394 §3.1: the range as asked, then the results in it that
        // exist, or NIL.
        w.atom("PARTIAL").begin_list().atom(wire::to_string(*ret.partial));
        const auto part = window_of(r.numbers, *ret.partial);
        if (part.empty()) {
            w.nil();
        } else {
            w.atom(wire::to_string(wire::sequence_set_of(part)));
        }
        w.end_list();
    }
    if (modseq && !r.numbers.empty()) {
        // RFC 4731 §3.2 (RFC 7162 §3.1.5): with only MIN or only MAX, the mod-sequence of
        // that one message; otherwise the highest of all matches.
        std::uint64_t reported = r.highest_modseq();
        if (ret.min != ret.max && !all && !ret.count) {
            reported = ret.min ? r.modseqs.front() : r.modseqs.back();
        }
        w.atom("MODSEQ").number(reported);
    }
    w.end();
}

}  // namespace

namespace {

/// A SEARCH's result (mailbox order) or, with `sort`, a SORT's; nullopt if the store failed.
std::optional<Results> run_search(
    store::Store& st,
    const std::string& account,
    const MailboxView& view,
    const std::vector<std::uint32_t>* saved,
    const wire::SearchKey& key,
    const std::vector<wire::SortKey>* sort,
    bool uid
) {
    auto ev = evaluate(st, account, view, key, saved, sort != nullptr);
    if (!ev) {
        return std::nullopt;
    }
    Results results;
    if (sort == nullptr) {
        for (const auto& m : ev->matches) {
            results.add(m, uid);
        }
        return results;
    }
    std::vector<mime::MessageStructure> structures;
    structures.reserve(ev->matches.size());
    std::vector<search::SortInput> input;
    input.reserve(ev->matches.size());
    for (const auto& m : ev->matches) {
        const auto& info = ev->messages[m.index];
        LazyContent lazy(info);
        structures.push_back(*lazy.structure());
    }
    for (std::size_t i = 0; i < ev->matches.size(); ++i) {
        const auto& m = ev->matches[i];
        const auto& info = ev->messages[m.index];
        input.push_back(search::SortInput{
            .seq = m.seq,
            .uid = m.uid,
            .internal_date = core::unix_seconds(info.internal_date),
            .size = info.size,
            .envelope = structures[i].envelopes.empty() ? nullptr : &structures[i].envelopes[0],
        });
    }
    for (const auto i : search::sort(*sort, input)) {
        results.add(ev->matches[i], uid);
    }
    return results;
}

/// Update contexts a session may hold at once; beyond, NOUPDATE (RFC 5267 §4.3.1). Each one is
/// searched again whenever the mailbox changes.
constexpr std::size_t kMaxUpdateContexts = 8;

/// Whether updates to this search can be computed later: message numbers and "$" are
/// evaluated when the command is received (RFC 5267 §4.3), so such programs get NOUPDATE.
bool updatable(const wire::SearchKey& key) {
    if (key.op == wire::SearchOp::Sequence || key.set.saved) {
        return false;
    }
    return std::all_of(key.children.begin(), key.children.end(), updatable);
}

}  // namespace

/// SEARCH and SORT share everything but the order (RFC 5267 §4.1: SEARCH is in mailbox order).
void Session::Handlers::search_or_sort(
    Session& s,
    const Cmd& c,
    W& w,
    const wire::SearchReturn& ret,
    const std::string& charset,
    const wire::SearchKey& key,
    const std::vector<wire::SortKey>* sort
) {
    if (!charset_ok(charset)) {
        no(w, c, "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
        return;
    }
    if (ret.update && std::any_of(s.contexts_.begin(), s.contexts_.end(), [&](const auto& x) {
            return x.tag == c.tag;
        })) {
        bad(w, c, "Tag reuse");  // RFC 5267 §4.3
        return;
    }
    const bool modseq = uses_modseq(key);
    if (modseq) {
        s.condstore_ = true;  // SORT as SEARCH, which it extends (RFC 7162 §3.1.9)
    }
    const std::vector<std::uint32_t>* saved = s.saved_search_ ? &*s.saved_search_ : nullptr;
    auto results = run_search(*s.services_.store, s.account_, *s.view_, saved, key, sort, c.uid);
    if (!results) {
        no(w, c, "SERVERBUG", "Internal error, see the server log");
        return;
    }
    if (ret.save) {
        s.saved_search_ = saved_result(ret, *results);
    }
    write_results(w, c, sort == nullptr ? "SEARCH" : "SORT", ret, *results, modseq);
    if (ret.update) {
        if (!updatable(key) || s.contexts_.size() >= kMaxUpdateContexts) {
            std::string code = "NOUPDATE ";
            wire::ResponseWriter(code).string(c.tag);
            w.untagged(
                Condition::No,
                code,
                s.contexts_.size() >= kMaxUpdateContexts ? "Too many update contexts"
                                                         : "Message numbers or $ in the search"
            );
        } else {
            if (s.contexts_.empty()) {
                s.contexts_stamp_ = {s.view_->highest_modseq(), s.view_->exists()};
            }
            s.contexts_.push_back(SearchContext{
                .tag = c.tag,
                .uid = c.uid,
                .sort = sort == nullptr ? std::nullopt : std::optional(*sort),
                .key = key,
                .uids = std::move(results->uids),
            });
        }
    }
    ok(w, c);
}

void Session::Handlers::search(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::SearchArgs>(c.args);
    search_or_sort(s, c, w, args.ret, args.charset, args.key, nullptr);
}

void Session::Handlers::sort(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::SortArgs>(c.args);
    search_or_sort(s, c, w, args.ret, args.charset, args.key, &args.criteria);
}

void Session::Handlers::thread(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::ThreadArgs>(c.args);
    if (args.algorithm != "REFERENCES" && args.algorithm != "ORDEREDSUBJECT") {
        bad(w, c, "Unsupported threading algorithm");
        return;
    }
    if (!charset_ok(args.charset)) {
        no(w, c, "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
        return;
    }
    const std::vector<std::uint32_t>* saved = s.saved_search_ ? &*s.saved_search_ : nullptr;
    auto ev = evaluate(*s.services_.store, s.account_, *s.view_, args.key, saved, true);
    if (!ev) {
        no(w, c, "SERVERBUG", "Internal error, see the server log");
        return;
    }
    // Keep the strings the inputs point into alive for the whole computation.
    struct Texts {
        std::string message_id, in_reply_to, references, subject;
        std::int64_t sent = 0;
    };
    std::vector<Texts> texts(ev->matches.size());
    std::vector<search::ThreadInput> input;
    for (std::size_t i = 0; i < ev->matches.size(); ++i) {
        const auto& m = ev->matches[i];
        const auto& info = ev->messages[m.index];
        LazyContent lazy(info);
        const auto* st = lazy.structure();
        Texts& t = texts[i];
        if (!st->envelopes.empty()) {
            const auto& env = st->envelopes[0];
            t.message_id = env.message_id;
            t.in_reply_to = env.in_reply_to;
            t.subject = env.subject;
        }
        if (args.algorithm == "REFERENCES" && !st->parts.empty()) {
            t.references = mime::header_value(lazy.bytes(), st->parts[0], "References");
        }
        t.sent = search::sent_date(
            st->envelopes.empty() ? nullptr : &st->envelopes[0],
            core::unix_seconds(info.internal_date)
        );
    }
    for (std::size_t i = 0; i < ev->matches.size(); ++i) {
        const auto& m = ev->matches[i];
        input.push_back(search::ThreadInput{
            .id = c.uid ? m.uid : m.seq,
            .sent_date = texts[i].sent,
            .message_id = texts[i].message_id,
            .in_reply_to = texts[i].in_reply_to,
            .references = texts[i].references,
            .subject = texts[i].subject,
        });
    }
    const auto threads = search::thread(args.algorithm, input);
    w.begin_untagged().atom("THREAD");
    const auto text = search::format_threads(threads);
    if (!text.empty()) {
        w.raw(" ").raw(text);
    }
    w.end();
    ok(w, c);
}

// Update contexts (RFC 5267 §4.3) --------------------------------------------------------------

namespace {

/// (context position, UIDs in the requested order) pairs of ADDTO or REMOVEFROM.
using ContextGroups = std::vector<std::pair<std::uint32_t, std::vector<std::uint32_t>>>;

/// The REMOVEFROM groups that turn `before` into the results it shares with `after`, and the
/// ADDTO groups that then turn those into `after` (RFC 5267 §4.3.3-4.3.4: positions count
/// from 1 in the list as it is when the group is applied). A sorted context's shared results
/// keep their relative order: no sort criterion of RFC 5256 depends on what can change.
void positioned_changes(
    const std::vector<std::uint32_t>& before,
    const std::vector<std::uint32_t>& after,
    ContextGroups& removed,
    ContextGroups& added
) {
    std::vector<std::uint32_t> before_set(before);
    std::vector<std::uint32_t> after_set(after);
    std::sort(before_set.begin(), before_set.end());
    std::sort(after_set.begin(), after_set.end());
    std::uint32_t position = 1;
    bool in_group = false;
    for (const auto uid : before) {
        if (std::binary_search(after_set.begin(), after_set.end(), uid)) {
            ++position;
            in_group = false;
            continue;
        }
        if (!in_group) {
            removed.push_back({position, {}});  // the next results shift into this position
        }
        removed.back().second.push_back(uid);
        in_group = true;
    }
    position = 0;
    in_group = false;
    for (const auto uid : after) {
        ++position;
        if (std::binary_search(before_set.begin(), before_set.end(), uid)) {
            in_group = false;
            continue;
        }
        if (!in_group) {
            added.push_back({position, {}});
        }
        added.back().second.push_back(uid);
        in_group = true;
    }
}

/// A SEARCH context's changes: position 0, in mailbox order (RFC 5267 §4.3.3 recommends it
/// for the shortest sets). Both lists are ascending UIDs.
void unpositioned_changes(
    const std::vector<std::uint32_t>& before,
    const std::vector<std::uint32_t>& after,
    ContextGroups& removed,
    ContextGroups& added
) {
    std::vector<std::uint32_t> gone;
    std::vector<std::uint32_t> fresh;
    std::set_difference(
        before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(gone)
    );
    std::set_difference(
        after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(fresh)
    );
    if (!gone.empty()) {
        removed.push_back({0, std::move(gone)});
    }
    if (!fresh.empty()) {
        added.push_back({0, std::move(fresh)});
    }
}

/// "* ESEARCH (TAG t) [UID] REMOVEFROM (...) ADDTO (...)" for a context whose result went from
/// `before` to `after`; nothing if it did not change. Message numbers are the view's now.
void write_context_changes(
    wire::ResponseWriter& w,
    const MailboxView& view,
    std::string_view tag,
    bool uid,
    bool sorted,
    const std::vector<std::uint32_t>& before,
    const std::vector<std::uint32_t>& after
) {
    ContextGroups removed;
    ContextGroups added;
    if (sorted) {
        positioned_changes(before, after, removed, added);
    } else {
        unpositioned_changes(before, after, removed, added);
    }
    if (removed.empty() && added.empty()) {
        return;
    }
    w.begin_untagged().atom("ESEARCH").begin_list().atom("TAG").string(tag).end_list();
    if (uid) {
        w.atom("UID");
    }
    const auto write = [&](std::string_view name, const ContextGroups& groups) {
        if (groups.empty()) {
            return;
        }
        w.atom(name).begin_list();
        std::vector<std::uint32_t> numbers;
        for (const auto& [position, uids] : groups) {
            numbers.clear();
            for (const auto u : uids) {
                numbers.push_back(uid ? u : view.seq_of(u));
            }
            // In the requested order; only increasing runs become ranges (as for ESORT).
            w.number(position).atom(wire::to_string(wire::sequence_set_of(numbers)));
        }
        w.end_list();
    };
    write("REMOVEFROM", removed);
    write("ADDTO", added);
    w.end();
}

}  // namespace

void Session::Handlers::update_contexts(Session& s, W& w) {
    if (s.contexts_.empty() || !s.view_) {
        return;
    }
    const MailboxView& view = *s.view_;
    const std::pair stamp{view.highest_modseq(), view.exists()};
    if (stamp == s.contexts_stamp_) {
        return;
    }
    s.contexts_stamp_ = stamp;
    for (auto& context : s.contexts_) {
        const auto* sort = context.sort ? &*context.sort : nullptr;
        // No "$" in a context (updatable): the saved result is not needed.
        auto now =
            run_search(*s.services_.store, s.account_, view, nullptr, context.key, sort, true);
        if (!now) {
            log::warn("imap.context.failed", {{"account", s.account_}, {"tag", context.tag}});
            continue;  // tried again at the next change
        }
        write_context_changes(
            w, view, context.tag, context.uid, sort != nullptr, context.uids, now->uids
        );
        context.uids = std::move(now->uids);
    }
}

void Session::Handlers::contexts_expunged(
    Session& s, const std::vector<std::uint32_t>& gone, W& w
) {
    for (auto& context : s.contexts_) {
        std::vector<std::uint32_t> after;
        after.reserve(context.uids.size());
        std::copy_if(
            context.uids.begin(),
            context.uids.end(),
            std::back_inserter(after),
            [&](std::uint32_t uid) { return !std::binary_search(gone.begin(), gone.end(), uid); }
        );
        if (after.size() == context.uids.size()) {
            continue;
        }
        write_context_changes(
            w, *s.view_, context.tag, context.uid, context.sort.has_value(), context.uids, after
        );
        context.uids = std::move(after);
    }
}

void Session::Handlers::cancel_update(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::TagListArgs>(c.args);
    const auto known = [&](const std::string& tag) {
        return std::any_of(s.contexts_.begin(), s.contexts_.end(), [&](const auto& context) {
            return context.tag == tag;
        });
    };
    if (!std::all_of(args.tags.begin(), args.tags.end(), known)) {
        bad(w, c, "No update context has that tag");
        return;
    }
    std::erase_if(s.contexts_, [&](const auto& context) {
        return std::find(args.tags.begin(), args.tags.end(), context.tag) != args.tags.end();
    });
    ok(w, c);
}

}  // namespace sov::imap
