#include "imap/wire/command_writer.hpp"

#include <array>
#include <string>
#include <type_traits>

#include "imap/wire/chars.hpp"
#include "imap/wire/response.hpp"
#include "mime/mutf7.hpp"

namespace sov::imap::wire {
namespace {

std::string_view search_word(SearchOp op) noexcept {
    static constexpr std::array<std::string_view, 46> kWords = {
        "ALL",        "ANSWERED", "DELETED",   "DRAFT",       "FLAGGED",
        "NEW",        "OLD",      "RECENT",    "SEEN",        "UNANSWERED",
        "UNDELETED",  "UNDRAFT",  "UNFLAGGED", "UNSEEN",      "SAVEDATESUPPORTED",
        "BCC",        "BODY",     "CC",        "FROM",        "SUBJECT",
        "TEXT",       "TO",       "KEYWORD",   "UNKEYWORD",   "EMAILID",
        "THREADID",   "HEADER",   "BEFORE",    "ON",          "SINCE",
        "SENTBEFORE", "SENTON",   "SENTSINCE", "SAVEDBEFORE", "SAVEDON",
        "SAVEDSINCE", "LARGER",   "SMALLER",   "OLDER",       "YOUNGER",
        "MODSEQ",     "UID",      "",          "NOT",         "OR",
        "",
    };
    return kWords[static_cast<std::size_t>(op)];
}

std::string date_text(const Date& d) {
    static constexpr std::array<std::string_view, 12> kMonths = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    std::string s = std::to_string(d.day) + "-";
    s += kMonths[static_cast<std::size_t>(d.month >= 1 && d.month <= 12 ? d.month - 1 : 0)];
    // date-year = 4DIGIT (RFC 9051 §9): year 220 is "0220", or it would not parse back.
    const std::string year = std::to_string(d.year);
    s += "-" + std::string(year.size() < 4 ? 4 - year.size() : 0, '0') + year;
    return s;
}

void write_key(ResponseWriter& w, const SearchKey& k, bool top) {
    switch (k.op) {
        case SearchOp::And:
            if (!top) {
                w.begin_list();
            }
            for (const auto& c : k.children) {
                write_key(w, c, false);
            }
            if (!top) {
                w.end_list();
            }
            return;
        case SearchOp::Sequence:
            w.sequence_set(k.set);
            return;
        default:
            break;
    }
    w.atom(search_word(k.op));
    switch (k.op) {
        case SearchOp::Bcc:
        case SearchOp::Body:
        case SearchOp::Cc:
        case SearchOp::From:
        case SearchOp::Subject:
        case SearchOp::Text:
        case SearchOp::To:
            w.astring(k.text);
            break;
        case SearchOp::Keyword:
        case SearchOp::Unkeyword:
        case SearchOp::EmailId:
        case SearchOp::ThreadId:
            w.atom(k.text);
            break;
        case SearchOp::Header:
            w.astring(k.field).astring(k.text);
            break;
        case SearchOp::Before:
        case SearchOp::On:
        case SearchOp::Since:
        case SearchOp::SentBefore:
        case SearchOp::SentOn:
        case SearchOp::SentSince:
        case SearchOp::SaveDateBefore:
        case SearchOp::SaveDateOn:
        case SearchOp::SaveDateSince:
            w.atom(date_text(k.date));
            break;
        case SearchOp::Larger:
        case SearchOp::Smaller:
        case SearchOp::Older:
        case SearchOp::Younger:
            w.number(k.number);
            break;
        case SearchOp::ModSeq:
            if (!k.field.empty()) {
                w.string(k.field).atom(k.text);
            }
            w.number(k.number);
            break;
        case SearchOp::Uid:
            w.sequence_set(k.set);
            break;
        case SearchOp::Not:
        case SearchOp::Or:
            for (const auto& c : k.children) {
                write_key(w, c, false);
            }
            break;
        default:
            break;
    }
}

void write_return(ResponseWriter& w, const SearchReturn& r) {
    if (!r.present) {
        return;
    }
    w.atom("RETURN").begin_list();
    if (r.min) {
        w.atom("MIN");
    }
    if (r.max) {
        w.atom("MAX");
    }
    if (r.all) {
        w.atom("ALL");
    }
    if (r.count) {
        w.atom("COUNT");
    }
    if (r.save) {
        w.atom("SAVE");
    }
    if (r.context) {
        w.atom("CONTEXT");
    }
    if (r.update) {
        w.atom("UPDATE");
    }
    if (r.partial) {
        w.atom("PARTIAL").atom(to_string(*r.partial));
    }
    w.end_list();
}

std::string_view status_word(StatusItem i) noexcept {
    static constexpr std::array<std::string_view, 10> kWords = {
        "MESSAGES",
        "RECENT",
        "UIDNEXT",
        "UIDVALIDITY",
        "UNSEEN",
        "DELETED",
        "SIZE",
        "HIGHESTMODSEQ",
        "APPENDLIMIT",
        "MAILBOXID"
    };
    return kWords[static_cast<std::size_t>(i)];
}

void write_status_items(ResponseWriter& w, const std::vector<StatusItem>& items) {
    w.begin_list();
    for (const auto i : items) {
        w.atom(status_word(i));
    }
    w.end_list();
}

// list-mailbox = 1*list-char / string: patterns keep their wildcards unquoted.
void write_pattern(ResponseWriter& w, std::string_view pattern, bool utf8) {
    std::string encoded(pattern);
    if (!utf8) {
        if (auto e = mime::mutf7_encode(pattern)) {
            encoded = std::move(*e);
        }
    }
    bool plain = !encoded.empty() && !iequals(encoded, "NIL");
    for (const char ch : encoded) {
        plain = plain && is_list_char(ch);
    }
    if (plain) {
        w.atom(encoded);
    } else {
        w.mailbox(pattern);
    }
}

std::string literal_marker(const StreamedLiteral& l) {
    return (l.binary ? "~{" : "{") + std::to_string(l.size) + "}";
}

struct ArgsWriter {
    ResponseWriter& w;
    bool utf8;

    void operator()(const std::monostate&) const {}
    void operator()(const AuthenticateArgs& a) const {
        w.atom(a.mechanism);
        if (a.initial_response) {
            w.atom(*a.initial_response);
        }
    }
    void operator()(const LoginArgs& a) const { w.astring(a.user).astring(a.password); }
    void operator()(const AtomListArgs& a) const {
        for (const auto& s : a.atoms) {
            w.atom(s);
        }
    }
    void operator()(const TagListArgs& a) const {
        for (const auto& s : a.tags) {
            w.string(s);
        }
    }
    void operator()(const SelectArgs& a) const {
        w.mailbox(a.mailbox);
        if (!a.condstore && !a.qresync) {
            return;
        }
        w.begin_list();
        if (a.condstore) {
            w.atom("CONDSTORE");
        }
        if (a.qresync) {
            const auto& q = *a.qresync;
            w.atom("QRESYNC").begin_list().number(q.uid_validity).number(q.mod_seq);
            if (q.known_uids) {
                w.sequence_set(*q.known_uids);
            }
            if (q.seq_match) {
                w.begin_list()
                    .sequence_set(q.seq_match->first)
                    .sequence_set(q.seq_match->second)
                    .end_list();
            }
            w.end_list();
        }
        w.end_list();
    }
    void operator()(const CreateArgs& a) const {
        w.mailbox(a.mailbox);
        if (!a.special_use.empty()) {
            w.begin_list().atom("USE").flag_list(a.special_use).end_list();
        }
    }
    void operator()(const MailboxArgs& a) const { w.mailbox(a.mailbox); }
    void operator()(const RenameArgs& a) const { w.mailbox(a.from).mailbox(a.to); }
    void operator()(const ListArgs& a) const {
        if (!a.select_options.empty()) {
            w.begin_list();
            for (const auto& o : a.select_options) {
                w.atom(o);
            }
            w.end_list();
        }
        w.mailbox(a.reference);
        if (a.multiple_patterns) {
            w.begin_list();
        }
        for (const auto& p : a.patterns) {
            write_pattern(w, p, utf8);
        }
        if (a.multiple_patterns) {
            w.end_list();
        }
        if (!a.return_options.empty() || a.return_status) {
            w.atom("RETURN").begin_list();
            for (const auto& o : a.return_options) {
                w.atom(o);
            }
            if (a.return_status) {
                w.atom("STATUS");
                write_status_items(w, *a.return_status);
            }
            w.end_list();
        }
    }
    void operator()(const StatusArgs& a) const {
        w.mailbox(a.mailbox);
        write_status_items(w, a.items);
    }
    void operator()(const AppendArgs& a) const {
        w.mailbox(a.mailbox);
        for (const auto& m : a.messages) {
            if (!m.flags.empty()) {
                w.flag_list(m.flags);
            }
            if (m.internal_date) {
                w.date_time(*m.internal_date);
            }
            if (m.catenate) {
                w.atom("CATENATE").begin_list();
                for (const auto& p : *m.catenate) {
                    if (p.is_url) {
                        w.atom("URL").astring(p.url);
                    } else {
                        w.atom("TEXT").atom(literal_marker(p.text));
                    }
                }
                w.end_list();
            } else if (m.utf8) {
                w.atom("UTF8").begin_list().atom(literal_marker(m.literal)).end_list();
            } else {
                w.atom(literal_marker(m.literal));
            }
        }
    }
    void operator()(const SequenceArgs& a) const { w.sequence_set(a.set); }
    void operator()(const SearchArgs& a) const {
        write_return(w, a.ret);
        if (!a.charset.empty()) {
            w.atom("CHARSET").astring(a.charset);
        }
        write_key(w, a.key, true);
    }
    void operator()(const SortArgs& a) const {
        static constexpr std::array<std::string_view, 9> kCrit = {
            "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"
        };
        write_return(w, a.ret);
        w.begin_list();
        for (const auto& k : a.criteria) {
            if (k.reverse) {
                w.atom("REVERSE");
            }
            w.atom(kCrit[static_cast<std::size_t>(k.criterion)]);
        }
        w.end_list().astring(a.charset);
        write_key(w, a.key, true);
    }
    void operator()(const ThreadArgs& a) const {
        w.atom(a.algorithm).astring(a.charset);
        write_key(w, a.key, true);
    }
    void operator()(const FetchArgs& a) const {
        w.sequence_set(a.set);
        switch (a.macro) {
            case FetchMacro::All:
                w.atom("ALL");
                break;
            case FetchMacro::Fast:
                w.atom("FAST");
                break;
            case FetchMacro::Full:
                w.atom("FULL");
                break;
            case FetchMacro::None:
                if (!a.single_att) {
                    w.begin_list();
                }
                for (const auto& att : a.atts) {
                    w.atom(format_fetch_att(att));
                }
                if (!a.single_att) {
                    w.end_list();
                }
                break;
        }
        if (a.changed_since || a.vanished || a.partial) {
            w.begin_list();
            if (a.changed_since) {
                w.atom("CHANGEDSINCE").number(*a.changed_since);
            }
            if (a.vanished) {
                w.atom("VANISHED");
            }
            if (a.partial) {
                w.atom("PARTIAL").atom(to_string(*a.partial));
            }
            w.end_list();
        }
    }
    void operator()(const StoreArgs& a) const {
        w.sequence_set(a.set);
        if (a.unchanged_since) {
            w.begin_list().atom("UNCHANGEDSINCE").number(*a.unchanged_since).end_list();
        }
        std::string op = a.mode == StoreMode::Add ? "+" : a.mode == StoreMode::Remove ? "-" : "";
        op += a.silent ? "FLAGS.SILENT" : "FLAGS";
        w.atom(op).flag_list(a.flags);
    }
    void operator()(const CopyArgs& a) const { w.sequence_set(a.set).mailbox(a.mailbox); }
    void operator()(const IdArgs& a) const {
        if (a.nil) {
            w.nil();
            return;
        }
        w.begin_list();
        for (const auto& [k, v] : a.params) {
            w.string(k).nstring(v ? std::optional<std::string_view>(*v) : std::nullopt);
        }
        w.end_list();
    }
    void operator()(const QuotaRootArgs& a) const { w.astring(a.root); }
    void operator()(const SetQuotaArgs& a) const {
        w.astring(a.root).begin_list();
        for (const auto& [res, limit] : a.limits) {
            w.atom(res).number(limit);
        }
        w.end_list();
    }
};

}  // namespace

std::string format_fetch_att(const FetchAtt& att) {
    static constexpr std::array<std::string_view, 18> kNames = {
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.SIZE",
        "RFC822.TEXT",
        "BODY",
        "BODYSTRUCTURE",
        "UID",
        "BODY",
        "BINARY",
        "BINARY.SIZE",
        "MODSEQ",
        "EMAILID",
        "THREADID",
        "SAVEDATE",
        "PREVIEW"
    };
    std::string s(kNames[static_cast<std::size_t>(att.item)]);
    if (att.item == FetchItem::Preview && att.lazy) {
        return s + " (LAZY)";
    }
    if (att.item != FetchItem::BodySection && att.item != FetchItem::BinarySection &&
        att.item != FetchItem::BinarySize) {
        return s;
    }
    if (att.peek) {
        s += ".PEEK";
    }
    s += '[';
    for (std::size_t i = 0; i < att.section.part.size(); ++i) {
        if (i != 0) {
            s += '.';
        }
        s += std::to_string(att.section.part[i]);
    }
    const bool dot = !att.section.part.empty() && att.section.text != SectionText::None;
    if (dot) {
        s += '.';
    }
    switch (att.section.text) {
        case SectionText::None:
            break;
        case SectionText::Header:
            s += "HEADER";
            break;
        case SectionText::HeaderFields:
        case SectionText::HeaderFieldsNot: {
            s += att.section.text == SectionText::HeaderFields ? "HEADER.FIELDS ("
                                                               : "HEADER.FIELDS.NOT (";
            std::string fields;
            ResponseWriter fw(fields);
            for (const auto& f : att.section.fields) {
                fw.astring(f);
            }
            s += fields + ")";
            break;
        }
        case SectionText::Text:
            s += "TEXT";
            break;
        case SectionText::Mime:
            s += "MIME";
            break;
    }
    s += ']';
    if (att.partial) {
        s += '<' + std::to_string(att.partial->offset) + '.' + std::to_string(att.partial->length) +
             '>';
    }
    return s;
}

std::string format_search_key(const SearchKey& key, bool utf8) {
    std::string out;
    ResponseWriter w(out, WriterOptions{utf8, 1024});
    write_key(w, key, key.op == SearchOp::And);
    return out;
}

std::string format_command(const Command& command, bool utf8) {
    std::string out;
    ResponseWriter w(out, WriterOptions{utf8, 1024});
    w.atom(command.tag);
    if (command.uid) {
        w.atom("UID");
    }
    w.atom(command_keyword(command.name));
    std::visit(ArgsWriter{w, utf8}, command.args);
    return out;
}

}  // namespace sov::imap::wire
