// SEARCH (RFC 9051 §6.4.4, ESEARCH RFC 4731, SEARCHRES RFC 5182, CONDSTORE RFC 7162 §3.1.5),
// SORT and THREAD (RFC 5256). Criteria on flags, sizes and dates use the index only; text
// criteria ask the store's full-text index for candidates first, then verify each candidate on
// its decoded content (imap/search).
#include <algorithm>
#include <optional>

#include "core/clock.hpp"
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

/// Runs the search key over the selected mailbox; nullopt after writing an error reply.
std::optional<Evaluated> evaluate(
    Session::Handlers::W& w,
    const wire::Command& c,
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
            w.tagged(c.tag, Condition::No, "SERVERBUG", "Internal error, see the server log");
            return std::nullopt;
        }
        return ev;
    }
    auto listed = candidates ? st.get_messages(account, view.key(), *candidates, options)
                             : st.list_messages(account, view.key(), 1, options);
    if (!listed) {
        w.tagged(c.tag, Condition::No, "SERVERBUG", "Internal error, see the server log");
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

/// The UIDs SAVE keeps (RFC 5182 §2.4): the whole result, or with MIN and/or MAX alone just
/// the messages those return. Kept ascending: "$" is a set.
std::vector<std::uint32_t> saved_result(const wire::SearchReturn& ret, const Results& r) {
    std::vector<std::uint32_t> keep;
    if ((ret.min || ret.max) && !ret.all && !ret.count) {
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
    if (ret.save && !ret.min && !ret.max && !ret.all && !ret.count) {
        return;  // RFC 5182 §2.4: SAVE alone returns no ESEARCH response
    }
    // RFC 4731 §3.1: "RETURN ()" means ALL.
    const bool all = ret.all || (!ret.min && !ret.max && !ret.count && !ret.save);
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

void Session::Handlers::search(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::SearchArgs>(c.args);
    if (!charset_ok(args.charset)) {
        no(w, c, "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
        return;
    }
    const bool modseq = uses_modseq(args.key);
    if (modseq) {
        s.condstore_ = true;
    }
    const std::vector<std::uint32_t>* saved = s.saved_search_ ? &*s.saved_search_ : nullptr;
    auto ev = evaluate(w, c, *s.services_.store, s.account_, *s.view_, args.key, saved, false);
    if (!ev) {
        return;
    }
    Results results;
    for (const auto& m : ev->matches) {
        results.add(m, c.uid);
    }
    if (args.ret.save) {
        s.saved_search_ = saved_result(args.ret, results);
    }
    write_results(w, c, "SEARCH", args.ret, results, modseq);
    ok(w, c);
}

void Session::Handlers::sort(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::SortArgs>(c.args);
    if (!charset_ok(args.charset)) {
        no(w, c, "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
        return;
    }
    const bool modseq = uses_modseq(args.key);
    if (modseq) {
        s.condstore_ = true;  // as for SEARCH, which SORT extends (RFC 7162 §3.1.9)
    }
    const std::vector<std::uint32_t>* saved = s.saved_search_ ? &*s.saved_search_ : nullptr;
    auto ev = evaluate(w, c, *s.services_.store, s.account_, *s.view_, args.key, saved, true);
    if (!ev) {
        return;
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
    Results results;
    for (const auto i : search::sort(args.criteria, input)) {
        results.add(ev->matches[i], c.uid);
    }
    if (args.ret.save) {
        s.saved_search_ = saved_result(args.ret, results);
    }
    write_results(w, c, "SORT", args.ret, results, modseq);
    ok(w, c);
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
    auto ev = evaluate(w, c, *s.services_.store, s.account_, *s.view_, args.key, saved, true);
    if (!ev) {
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

}  // namespace sov::imap
