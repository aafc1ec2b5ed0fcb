#include "imap/search/search.hpp"

#include <algorithm>
#include <optional>

#include "imap/search/detail/text_match.hpp"
#include "mime/date.hpp"
#include "mime/header.hpp"
#include "mime/text.hpp"
#include "store/store.hpp"

namespace sov::imap::search {

using wire::SearchOp;

// Evaluation cost of a subtree: AND/OR test their cheap children first.
enum class Cost : std::uint8_t {
    Facts,     // flags, numbers, dates of the message record
    Envelope,  // the cached structure's envelope
    Header,    // the raw header block
    FullText,  // decoded body text
};

struct Matcher::Node {
    SearchOp op = SearchOp::All;
    std::string text;   // folded needle for text keys; keyword / object id as given
    std::string field;  // HEADER field name
    std::uint64_t number = 0;
    std::int64_t day = 0;  // date keys: day number of the argument
    wire::SequenceSet set;
    std::vector<std::uint32_t> children;  // indices into nodes_
    Cost cost = Cost::Facts;              // of the whole subtree
};

namespace {

bool is_text_op(SearchOp op) noexcept {
    switch (op) {
        case SearchOp::Bcc:
        case SearchOp::Body:
        case SearchOp::Cc:
        case SearchOp::From:
        case SearchOp::Subject:
        case SearchOp::Text:
        case SearchOp::To:
        case SearchOp::Header:
            return true;
        default:
            return false;
    }
}

Cost own_cost(SearchOp op) noexcept {
    switch (op) {
        case SearchOp::Bcc:
        case SearchOp::Cc:
        case SearchOp::From:
        case SearchOp::Subject:
        case SearchOp::To:
        case SearchOp::SentBefore:
        case SearchOp::SentOn:
        case SearchOp::SentSince:
            return Cost::Envelope;
        case SearchOp::Header:
            return Cost::Header;
        case SearchOp::Body:
        case SearchOp::Text:
            return Cost::FullText;
        default:
            return Cost::Facts;
    }
}

ContentNeed need_of(Cost c) noexcept {
    switch (c) {
        case Cost::Facts:
            return ContentNeed::None;
        case Cost::Envelope:
            return ContentNeed::Structure;
        default:
            return ContentNeed::Bytes;
    }
}

Cost max_cost(const wire::SearchKey& key) noexcept {
    Cost c = own_cost(key.op);
    for (const auto& child : key.children) {
        c = std::max(c, max_cost(child));
    }
    return c;
}

bool has_keyword(const std::vector<std::string>* keywords, std::string_view kw) noexcept {
    if (keywords == nullptr) {
        return false;
    }
    // RFC 9051 §9 note 1: atoms (flag-keyword) are case-insensitive.
    return std::any_of(keywords->begin(), keywords->end(), [&](const std::string& k) {
        return mime::iequals(k, kw);
    });
}

bool in_saved(const Context& ctx, std::uint32_t uid) noexcept {
    // RFC 5182 §2: "$" is the saved result, whatever kind of set it stands in.
    return ctx.saved != nullptr && std::binary_search(ctx.saved->begin(), ctx.saved->end(), uid);
}

// The content of one message, loaded as the keys ask for it.
class Loaded {
public:
    Loaded(MessageContent& content, const MessageFacts& facts) : content_(content), facts_(facts) {}

    const mime::MessageStructure* structure() {
        if (!structure_done_) {
            structure_done_ = true;
            structure_ = content_.structure();
            if (structure_ == nullptr) {
                const std::string_view bytes = content_.bytes();
                if (!bytes.empty()) {
                    own_structure_ = mime::parse_message(bytes);
                    structure_ = &*own_structure_;
                }
            }
        }
        return structure_;
    }

    const mime::Envelope* envelope() {
        const mime::MessageStructure* s = structure();
        if (s == nullptr || s->envelopes.empty()) {
            return nullptr;
        }
        const std::uint32_t idx = s->parts.empty() ? 0U : s->parts[0].envelope;
        return idx < s->envelopes.size() ? &s->envelopes[idx] : &s->envelopes[0];
    }

    const std::vector<mime::HeaderField>& header_fields() {
        if (!fields_) {
            const std::string_view bytes = content_.bytes();
            std::string_view block = bytes;
            const mime::MessageStructure* s = structure();
            if (s != nullptr && !s->parts.empty()) {
                const mime::Part& root = s->parts[0];
                const std::uint64_t end = std::min<std::uint64_t>(root.body_offset, bytes.size());
                const std::uint64_t begin = std::min<std::uint64_t>(root.header_offset, end);
                block = bytes.substr(begin, end - begin);
            }
            fields_ = mime::header_fields(block);
        }
        return *fields_;
    }

    // Folded searchable text: first = headers, second = body.
    const std::pair<std::string, std::string>& text() {
        if (!text_) {
            text_.emplace();
            const mime::MessageStructure* s = structure();
            if (s != nullptr) {
                const mime::SearchableText t = mime::searchable_text(content_.bytes(), *s);
                mime::append_folded(text_->first, t.headers);
                mime::append_folded(text_->second, t.body);
            }
        }
        return *text_;
    }

    // RFC 9051 §6.4.4 SENT*: the Date header's date "disregarding time and timezone", i.e. the
    // calendar day written in the header. Without a usable Date, the internal date's day.
    std::int64_t sent_day() {
        if (!sent_day_) {
            const mime::Envelope* env = envelope();
            std::optional<mime::DateTime> dt;
            if (env != nullptr && !env->date.empty()) {
                dt = mime::parse_date(env->date);
            }
            sent_day_ = dt ? detail::day_number(dt->year, dt->month, dt->day)
                           : detail::local_day(facts_.internal_date, facts_.internal_zone_minutes);
        }
        return *sent_day_;
    }

    std::string& scratch() { return scratch_; }

private:
    MessageContent& content_;
    const MessageFacts& facts_;
    bool structure_done_ = false;
    const mime::MessageStructure* structure_ = nullptr;
    std::optional<mime::MessageStructure> own_structure_;
    std::optional<std::vector<mime::HeaderField>> fields_;
    std::optional<std::pair<std::string, std::string>> text_;
    std::optional<std::int64_t> sent_day_;
    std::string scratch_;
};

class Evaluator {
public:
    Evaluator(
        const std::vector<Matcher::Node>& nodes,
        const MessageFacts& m,
        MessageContent& content,
        const Context& ctx
    )
        : nodes_(nodes), m_(m), ctx_(ctx), loaded_(content, m) {}

    bool eval(std::uint32_t index) {  // NOLINT(readability-function-cognitive-complexity)
        const Matcher::Node& n = nodes_[index];
        const std::uint32_t f = m_.flags;
        switch (n.op) {
            case SearchOp::All:
                return true;
            case SearchOp::Answered:
                return (f & store::flag::kAnswered) != 0;
            case SearchOp::Deleted:
                return (f & store::flag::kDeleted) != 0;
            case SearchOp::Draft:
                return (f & store::flag::kDraft) != 0;
            case SearchOp::Flagged:
                return (f & store::flag::kFlagged) != 0;
            case SearchOp::Seen:
                return (f & store::flag::kSeen) != 0;
            case SearchOp::Unanswered:
                return (f & store::flag::kAnswered) == 0;
            case SearchOp::Undeleted:
                return (f & store::flag::kDeleted) == 0;
            case SearchOp::Undraft:
                return (f & store::flag::kDraft) == 0;
            case SearchOp::Unflagged:
                return (f & store::flag::kFlagged) == 0;
            case SearchOp::Unseen:
                return (f & store::flag::kSeen) == 0;
            case SearchOp::Recent:
                return m_.recent;
            case SearchOp::New:  // RFC 3501 §6.4.4: "equivalent to (RECENT UNSEEN)"
                return m_.recent && (f & store::flag::kSeen) == 0;
            case SearchOp::Old:  // "equivalent to NOT RECENT"
                return !m_.recent;
            case SearchOp::Keyword:
                return has_keyword(m_.keywords, n.text);
            case SearchOp::Unkeyword:
                return !has_keyword(m_.keywords, n.text);
            case SearchOp::SaveDateSupported:
                return ctx_.save_date_supported;
            case SearchOp::EmailId:  // RFC 8474 §5: objectids compare exactly
                return !m_.email_id.empty() && m_.email_id == n.text;
            case SearchOp::ThreadId:
                return !m_.thread_id.empty() && m_.thread_id == n.text;
            case SearchOp::Before:  // internal date's own day, "disregarding time and timezone"
                return internal_day() < n.day;
            case SearchOp::On:
                return internal_day() == n.day;
            case SearchOp::Since:
                return internal_day() >= n.day;
            case SearchOp::SentBefore:
                return loaded_.sent_day() < n.day;
            case SearchOp::SentOn:
                return loaded_.sent_day() == n.day;
            case SearchOp::SentSince:
                return loaded_.sent_day() >= n.day;
            // RFC 8514 §4.2; a message without a save date matches none of them.
            case SearchOp::SaveDateBefore:
                return m_.save_date != 0 && save_day() < n.day;
            case SearchOp::SaveDateOn:
                return m_.save_date != 0 && save_day() == n.day;
            case SearchOp::SaveDateSince:
                return m_.save_date != 0 && save_day() >= n.day;
            case SearchOp::Larger:
                return m_.size > n.number;
            case SearchOp::Smaller:
                return m_.size < n.number;
            case SearchOp::Older:  // RFC 5032 §2: "less recent than or equal to the target"
                return m_.internal_date <= ctx_.now - static_cast<std::int64_t>(n.number);
            case SearchOp::Younger:  // "more recent than or equal to the target time"
                return m_.internal_date >= ctx_.now - static_cast<std::int64_t>(n.number);
            case SearchOp::ModSeq:
                // RFC 7162 §3.1.5: "equal to or greater than"; per-flag mod-sequences are not
                // kept, so the message's own one stands for every entry (allowed there).
                return m_.modseq >= n.number;
            case SearchOp::Uid:
                return n.set.saved ? in_saved(ctx_, m_.uid) : n.set.contains(m_.uid, ctx_.max_uid);
            case SearchOp::Sequence:
                return n.set.saved ? in_saved(ctx_, m_.uid) : n.set.contains(m_.seq, ctx_.max_seq);
            case SearchOp::Not:
                return n.children.empty() || !eval(n.children[0]);
            case SearchOp::Or:
                return std::any_of(n.children.begin(), n.children.end(), [&](std::uint32_t c) {
                    return eval(c);
                });
            case SearchOp::And:
                return std::all_of(n.children.begin(), n.children.end(), [&](std::uint32_t c) {
                    return eval(c);
                });
            case SearchOp::Subject:
                return subject(n.text);
            case SearchOp::From:
            case SearchOp::To:
            case SearchOp::Cc:
            case SearchOp::Bcc:
                return address(n.op, n.text);
            case SearchOp::Header:
                return header(n.field, n.text);
            case SearchOp::Body:
                return detail::contains_folded(loaded_.text().second, n.text);
            case SearchOp::Text:
                return detail::contains_folded(loaded_.text().first, n.text) ||
                       detail::contains_folded(loaded_.text().second, n.text);
        }
        return false;
    }

private:
    [[nodiscard]] std::int64_t internal_day() const noexcept {
        return detail::local_day(m_.internal_date, m_.internal_zone_minutes);
    }

    [[nodiscard]] std::int64_t save_day() const noexcept {
        return detail::local_day(m_.save_date, 0);  // a server timestamp: its UTC day
    }

    bool subject(std::string_view needle) {
        const mime::Envelope* env = loaded_.envelope();
        if (env == nullptr) {
            return needle.empty();
        }
        std::string& s = loaded_.scratch();
        detail::fold_header_value(env->subject, s);
        return detail::contains_folded(s, needle);
    }

    bool address(SearchOp op, std::string_view needle) {
        const mime::Envelope* env = loaded_.envelope();
        if (env == nullptr) {
            return needle.empty();
        }
        switch (op) {
            case SearchOp::From:
                return detail::address_contains(
                    env->from_addr, env->from, needle, loaded_.scratch()
                );
            case SearchOp::To:
                return detail::address_contains(env->to_addr, env->to, needle, loaded_.scratch());
            case SearchOp::Cc:
                return detail::address_contains(env->cc_addr, env->cc, needle, loaded_.scratch());
            default:
                return detail::address_contains(env->bcc_addr, env->bcc, needle, loaded_.scratch());
        }
    }

    // RFC 9051 §6.4.4 HEADER: any field of that name whose value contains the string; "" means
    // the field is present.
    bool header(std::string_view name, std::string_view needle) {
        for (const mime::HeaderField& hf : loaded_.header_fields()) {
            if (!mime::iequals(hf.name, name)) {
                continue;
            }
            if (needle.empty()) {
                return true;
            }
            std::string& s = loaded_.scratch();
            detail::fold_header_value(hf.value, s);
            if (detail::contains_folded(s, needle)) {
                return true;
            }
        }
        return false;
    }

    const std::vector<Matcher::Node>& nodes_;
    const MessageFacts& m_;
    const Context& ctx_;
    Loaded loaded_;
};

std::uint32_t compile(const wire::SearchKey& key, std::vector<Matcher::Node>& nodes) {
    const auto index = static_cast<std::uint32_t>(nodes.size());
    nodes.emplace_back();
    {
        Matcher::Node& n = nodes.back();
        n.op = key.op;
        n.number = key.number;
        n.set = key.set;
        n.cost = own_cost(key.op);
        if (is_text_op(key.op)) {
            n.text = mime::fold_case(key.text);
        } else {
            n.text = key.text;
        }
        n.field = key.field;
        switch (key.op) {
            case SearchOp::Before:
            case SearchOp::On:
            case SearchOp::Since:
            case SearchOp::SentBefore:
            case SearchOp::SentOn:
            case SearchOp::SentSince:
            case SearchOp::SaveDateBefore:
            case SearchOp::SaveDateOn:
            case SearchOp::SaveDateSince:
                n.day = detail::day_number(key.date.year, key.date.month, key.date.day);
                break;
            default:
                break;
        }
    }
    std::vector<std::uint32_t> children;
    children.reserve(key.children.size());
    Cost cost = own_cost(key.op);
    for (const auto& child : key.children) {
        const std::uint32_t c = compile(child, nodes);  // invalidates references into nodes
        children.push_back(c);
        cost = std::max(cost, nodes[c].cost);
    }
    if (key.op == SearchOp::And || key.op == SearchOp::Or) {
        // Cheapest first: a failed flag test spares loading the message. Keys have no side
        // effects, so the order does not change the result.
        std::stable_sort(children.begin(), children.end(), [&](std::uint32_t a, std::uint32_t b) {
            return nodes[a].cost < nodes[b].cost;
        });
    }
    nodes[index].children = std::move(children);
    nodes[index].cost = cost;
    return index;
}

// SUBJECT compares with the decoded subject, which the index's text has as its "Subject:" line
// (mime::searchable_text); FROM, TO, CC and BCC with the addresses' display form, which it has
// as lines of their own (mime::folded_searchable_text), or with the decoded field where it has
// no addresses. The texts are decoded alike but may differ in blanks (runs of them collapse
// around folds in one and not the other), so only the needle's blank-free pieces are index
// terms: each is inside a blank-free run of the compared text, and such runs are in the index
// (test Search.HeaderTextIsInTheIndexedText). Pieces under 3 bytes cannot narrow anything.
void collect_blank_free_terms(
    std::string_view folded, std::vector<std::pair<bool, std::string>>& out
) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    std::size_t i = 0;
    while (i < folded.size()) {
        while (i < folded.size() && blank(folded[i])) {
            ++i;
        }
        std::size_t j = i;
        while (j < folded.size() && !blank(folded[j])) {
            ++j;
        }
        if (j - i >= 3) {
            out.emplace_back(true, std::string(folded.substr(i, j - i)));
        }
        i = j;
    }
}

void collect_terms(const wire::SearchKey& key, std::vector<std::pair<bool, std::string>>& out) {
    switch (key.op) {
        case SearchOp::And:
            for (const auto& child : key.children) {
                collect_terms(child, out);
            }
            break;
        case SearchOp::Body:
        case SearchOp::Text:
            if (!key.text.empty()) {
                out.emplace_back(key.op == SearchOp::Text, mime::fold_case(key.text));
            }
            break;
        case SearchOp::Subject:
        case SearchOp::From:
        case SearchOp::To:
        case SearchOp::Cc:
        case SearchOp::Bcc:
            collect_blank_free_terms(mime::fold_case(key.text), out);
            break;
        default:
            break;
    }
}

}  // namespace

Matcher::Matcher(const wire::SearchKey& key) {
    (void)compile(key, nodes_);
}

Matcher::~Matcher() = default;
Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;

bool Matcher::matches(const MessageFacts& m, MessageContent& content, const Context& ctx) const {
    Evaluator e(nodes_, m, content, ctx);
    return e.eval(0);
}

ContentNeed Matcher::content_need() const noexcept {
    return need_of(nodes_[0].cost);
}

bool matches(
    const wire::SearchKey& key, const MessageFacts& m, MessageContent& content, const Context& ctx
) {
    return Matcher(key).matches(m, content, ctx);
}

ContentNeed content_need(const wire::SearchKey& key) noexcept {
    return need_of(max_cost(key));
}

bool needs_content(const wire::SearchKey& key) noexcept {
    return content_need(key) != ContentNeed::None;
}

std::vector<std::pair<bool, std::string>> required_text_terms(const wire::SearchKey& key) {
    std::vector<std::pair<bool, std::string>> out;
    collect_terms(key, out);
    return out;
}

}  // namespace sov::imap::search
