// SEARCH, SORT and THREAD arguments (RFC 9051 §6.4.4, §9 "search"; RFC 4731 ESEARCH; RFC 5182
// SEARCHRES; RFC 5256 SORT/THREAD; RFC 5267 ESORT; RFC 7162 MODSEQ; RFC 8474 EMAILID/THREADID;
// RFC 8514 SAVEDATE; RFC 5032 OLDER/YOUNGER).
#include <array>
#include <utility>

#include "imap/wire/chars.hpp"
#include "imap/wire/detail/grammar.hpp"

namespace sov::imap::wire::detail {
namespace {

enum class ArgKind {
    None,
    Astring,
    Keyword,
    ObjectId,
    Header,
    Date,
    Number,
    NzNumber,
    Set,
    ModSeq,
};

struct KeyEntry {
    std::string_view word;
    SearchOp op;
    ArgKind arg;
};

// Longer words first where one is a prefix of another is not needed: keyword() requires a
// delimiter after the word.
constexpr std::array<KeyEntry, 44> kKeys = {{
    {"ALL", SearchOp::All, ArgKind::None},
    {"ANSWERED", SearchOp::Answered, ArgKind::None},
    {"DELETED", SearchOp::Deleted, ArgKind::None},
    {"DRAFT", SearchOp::Draft, ArgKind::None},
    {"FLAGGED", SearchOp::Flagged, ArgKind::None},
    {"NEW", SearchOp::New, ArgKind::None},
    {"OLD", SearchOp::Old, ArgKind::None},
    {"RECENT", SearchOp::Recent, ArgKind::None},
    {"SEEN", SearchOp::Seen, ArgKind::None},
    {"UNANSWERED", SearchOp::Unanswered, ArgKind::None},
    {"UNDELETED", SearchOp::Undeleted, ArgKind::None},
    {"UNDRAFT", SearchOp::Undraft, ArgKind::None},
    {"UNFLAGGED", SearchOp::Unflagged, ArgKind::None},
    {"UNSEEN", SearchOp::Unseen, ArgKind::None},
    {"SAVEDATESUPPORTED", SearchOp::SaveDateSupported, ArgKind::None},
    {"BCC", SearchOp::Bcc, ArgKind::Astring},
    {"BODY", SearchOp::Body, ArgKind::Astring},
    {"CC", SearchOp::Cc, ArgKind::Astring},
    {"FROM", SearchOp::From, ArgKind::Astring},
    {"SUBJECT", SearchOp::Subject, ArgKind::Astring},
    {"TEXT", SearchOp::Text, ArgKind::Astring},
    {"TO", SearchOp::To, ArgKind::Astring},
    {"KEYWORD", SearchOp::Keyword, ArgKind::Keyword},
    {"UNKEYWORD", SearchOp::Unkeyword, ArgKind::Keyword},
    {"EMAILID", SearchOp::EmailId, ArgKind::ObjectId},
    {"THREADID", SearchOp::ThreadId, ArgKind::ObjectId},
    {"HEADER", SearchOp::Header, ArgKind::Header},
    {"BEFORE", SearchOp::Before, ArgKind::Date},
    {"ON", SearchOp::On, ArgKind::Date},
    {"SINCE", SearchOp::Since, ArgKind::Date},
    {"SENTBEFORE", SearchOp::SentBefore, ArgKind::Date},
    {"SENTON", SearchOp::SentOn, ArgKind::Date},
    {"SENTSINCE", SearchOp::SentSince, ArgKind::Date},
    {"SAVEDBEFORE", SearchOp::SaveDateBefore, ArgKind::Date},
    {"SAVEDON", SearchOp::SaveDateOn, ArgKind::Date},
    {"SAVEDSINCE", SearchOp::SaveDateSince, ArgKind::Date},
    {"LARGER", SearchOp::Larger, ArgKind::Number},
    {"SMALLER", SearchOp::Smaller, ArgKind::Number},
    {"OLDER", SearchOp::Older, ArgKind::NzNumber},
    {"YOUNGER", SearchOp::Younger, ArgKind::NzNumber},
    {"MODSEQ", SearchOp::ModSeq, ArgKind::ModSeq},
    {"UID", SearchOp::Uid, ArgKind::Set},
    {"NOT", SearchOp::Not, ArgKind::None},
    {"OR", SearchOp::Or, ArgKind::None},
}};

bool parse_key(Cursor& c, SearchKey& key);

// objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 §4)
bool parse_objectid(Cursor& c, std::string& out) {
    out.clear();
    while (!c.at_end()) {
        const char ch = c.peek();
        const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                        (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok) {
            break;
        }
        out += ch;
        (void)c.eat(ch);
    }
    if (out.empty() || out.size() > 255) {
        return c.fail("Invalid object id");
    }
    return true;
}

// search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer
// search-modseq-ext = SP entry-name SP entry-type-req  (RFC 7162 §3.1.5)
bool parse_modseq(Cursor& c, SearchKey& key) {
    if (!c.sp()) {
        return false;
    }
    if (c.peek() == '"') {
        // entry-name = DQUOTE "/flags/" attr-flag DQUOTE (RFC 7162 §7)
        if (!c.string(key.field)) {
            return false;
        }
        if (key.field.size() <= 7 ||
            !iequals(std::string_view(key.field).substr(0, 7), "/flags/")) {
            return c.fail("Invalid MODSEQ entry name");
        }
        if (!c.sp() || !c.atom_upper(key.text, "an entry type")) {
            return false;
        }
        if (key.text != "PRIV" && key.text != "SHARED" && key.text != "ALL") {
            return c.fail("Invalid MODSEQ entry type");
        }
        if (!c.sp()) {
            return false;
        }
    }
    return c.number64(key.number);  // mod-sequence-valzer: 0 allowed
}

bool parse_arg(Cursor& c, SearchKey& key, ArgKind kind) {
    switch (kind) {
        case ArgKind::None:
            return true;
        case ArgKind::Astring:
            return c.sp() && c.astring(key.text);
        case ArgKind::Keyword:  // flag-keyword = "$MDNSent" / "$Forwarded" / ... / atom
            if (!c.sp()) {
                return false;
            }
            key.text.assign(c.atom());
            return !key.text.empty() || c.fail("Expected a keyword");
        case ArgKind::ObjectId:
            return c.sp() && parse_objectid(c, key.text);
        case ArgKind::Header:  // "HEADER" SP header-fld-name SP astring
            return c.sp() && c.astring(key.field) && c.sp() && c.astring(key.text);
        case ArgKind::Date:
            return c.sp() && c.date(key.date);
        case ArgKind::Number:
            return c.sp() && c.number64(key.number);
        case ArgKind::NzNumber:
            return c.sp() && c.nz_number64(key.number);
        case ArgKind::Set:
            return c.sp() && c.sequence_set(key.set);
        case ArgKind::ModSeq:
            return parse_modseq(c, key);
    }
    return false;
}

bool parse_key(Cursor& c, SearchKey& key) {
    if (!c.count_arg()) {
        return false;
    }
    const char first = c.peek();
    if (first == '(') {  // "(" search-key *(SP search-key) ")"
        if (!c.open_paren()) {
            return false;
        }
        key.op = SearchOp::And;
        do {
            key.children.emplace_back();
            if (!parse_key(c, key.children.back())) {
                return false;
            }
        } while (c.eat(' '));
        return c.close_paren();
    }
    if ((first >= '0' && first <= '9') || first == '*' || first == '$') {
        key.op = SearchOp::Sequence;
        return c.sequence_set(key.set);
    }
    for (const auto& e : kKeys) {
        if (!c.keyword(e.word)) {
            continue;
        }
        key.op = e.op;
        if (e.op == SearchOp::Not) {
            key.children.resize(1);
            return c.sp() && parse_key(c, key.children[0]);
        }
        if (e.op == SearchOp::Or) {
            key.children.resize(2);
            return c.sp() && parse_key(c, key.children[0]) && c.sp() &&
                   parse_key(c, key.children[1]);
        }
        return parse_arg(c, key, e.arg);
    }
    if (!c.at_end() && static_cast<unsigned char>(c.peek()) >= 0x80) {
        return c.fail("8-bit byte in a search key");
    }
    return c.fail(c.at_end() ? "Missing search key" : "Unknown search key");
}

// charset = atom / quoted
bool parse_charset(Cursor& c, std::string& out) {
    if (c.peek() == '"') {
        if (!c.string(out)) {
            return false;
        }
        for (auto& ch : out) {
            ch = ascii_upper(ch);
        }
        return !out.empty() || c.fail("Empty charset");
    }
    return c.atom_upper(out, "a charset");
}

}  // namespace

// search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
// (RFC 4731 §3.1; SAVE from RFC 5182 §2; CONTEXT, UPDATE and PARTIAL from RFC 5267 §4). The
// cursor is after the leading SP.
bool parse_search_return(Cursor& c, SearchReturn& ret) {
    ret.present = true;
    if (!c.sp() || !c.open_paren()) {
        return false;
    }
    bool first = true;
    while (!c.eat(')')) {
        if (!first && !c.sp()) {
            return false;
        }
        first = false;
        if (c.keyword("MIN")) {
            ret.min = true;
        } else if (c.keyword("MAX")) {
            ret.max = true;
        } else if (c.keyword("ALL")) {
            ret.all = true;
        } else if (c.keyword("COUNT")) {
            ret.count = true;
        } else if (c.keyword("SAVE")) {
            ret.save = true;
        } else if (c.keyword("CONTEXT")) {
            ret.context = true;
        } else if (c.keyword("UPDATE")) {
            ret.update = true;
        } else if (c.keyword("PARTIAL")) {
            PartialRange range;
            if (!parse_partial_range(c, range)) {
                return false;
            }
            ret.partial = range;
        } else {
            return c.fail("Unknown RETURN option");
        }
    }
    // RFC 5267 §4.4: at most one of PARTIAL and ALL.
    return !(ret.partial && ret.all) || c.fail("PARTIAL and ALL exclude each other");
}

// partial-range = nz-number ":" nz-number / "-" nz-number ":" "-" nz-number; "500:400" is
// "400:500", "-500:-400" is "-400:-500" (RFC 9394 §4).
bool parse_partial_range(Cursor& c, PartialRange& range) {
    if (!c.sp()) {
        return false;
    }
    range.from_end = c.eat('-');
    if (!c.nz_number(range.low) || !c.eat(':') || (range.from_end && !c.eat('-')) ||
        !c.nz_number(range.high)) {
        return c.fail("PARTIAL needs a range low:high or -low:-high");
    }
    if (range.low > range.high) {
        std::swap(range.low, range.high);
    }
    return true;
}

bool parse_search_keys(Cursor& c, SearchKey& key) {
    key.op = SearchOp::And;
    do {
        key.children.emplace_back();
        if (!parse_key(c, key.children.back())) {
            return false;
        }
    } while (c.eat(' '));
    return c.at_end() || c.fail("Unexpected character after a search key");
}

// search = "SEARCH" [search-return-opts] SP search-program
// search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
bool parse_search(Cursor& c, SearchArgs& args) {
    if (!c.sp()) {
        return false;
    }
    if (c.keyword("RETURN")) {
        if (!parse_search_return(c, args.ret) || !c.sp()) {
            return false;
        }
    }
    if (c.keyword("CHARSET")) {
        if (!c.sp() || !parse_charset(c, args.charset) || !c.sp()) {
            return false;
        }
    }
    return parse_search_keys(c, args.key);
}

// sort = ["UID" SP] "SORT" [sort-return-opts] SP sort-criteria SP search-criteria
// sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"; search-criteria = charset 1*(SP
// search-key)  (RFC 5256 §5, ESORT RFC 5267 §3.2)
bool parse_sort(Cursor& c, SortArgs& args) {
    static constexpr std::array<std::pair<std::string_view, SortCriterion>, 9> kCriteria = {{
        {"ARRIVAL", SortCriterion::Arrival},
        {"CC", SortCriterion::Cc},
        {"DATE", SortCriterion::Date},
        {"FROM", SortCriterion::From},
        {"SIZE", SortCriterion::Size},
        {"SUBJECT", SortCriterion::Subject},
        {"TO", SortCriterion::To},
        {"DISPLAYFROM", SortCriterion::DisplayFrom},
        {"DISPLAYTO", SortCriterion::DisplayTo},
    }};
    if (!c.sp()) {
        return false;
    }
    if (c.keyword("RETURN")) {
        if (!parse_search_return(c, args.ret) || !c.sp()) {
            return false;
        }
    }
    if (!c.open_paren()) {
        return false;
    }
    do {
        SortKey k;
        if (c.keyword("REVERSE")) {
            k.reverse = true;
            if (!c.sp()) {
                return false;
            }
        }
        bool found = false;
        for (const auto& [word, crit] : kCriteria) {
            if (c.keyword(word)) {
                k.criterion = crit;
                found = true;
                break;
            }
        }
        if (!found) {
            return c.fail("Unknown sort criterion");
        }
        if (!c.count_arg()) {
            return false;
        }
        args.criteria.push_back(k);
    } while (c.eat(' '));
    return c.close_paren() && c.sp() && parse_charset(c, args.charset) && c.sp() &&
           parse_search_keys(c, args.key);
}

// thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria (RFC 5256 §5)
bool parse_thread(Cursor& c, ThreadArgs& args) {
    return c.sp() && c.atom_upper(args.algorithm, "a thread algorithm") && c.sp() &&
           parse_charset(c, args.charset) && c.sp() && parse_search_keys(c, args.key);
}

}  // namespace sov::imap::wire::detail
