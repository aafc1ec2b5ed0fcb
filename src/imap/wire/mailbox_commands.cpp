// SELECT/EXAMINE, CREATE, LIST/LSUB and STATUS arguments (RFC 9051 §6.3; RFC 7162 §3.2.5
// QRESYNC; RFC 6154 CREATE-SPECIAL-USE; RFC 5258 LIST-EXTENDED; RFC 5819 LIST-STATUS).
#include <array>
#include <utility>

#include "imap/wire/chars.hpp"
#include "imap/wire/detail/grammar.hpp"

namespace sov::imap::wire::detail {
namespace {

// QRESYNC SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
//   [SP seq-match-data] ")"; seq-match-data = "(" known-sequence-set SP known-uid-set ")"
bool parse_qresync(Cursor& c, QresyncParams& q) {
    if (!c.sp() || !c.open_paren() || !c.nz_number(q.uid_validity) || !c.sp() ||
        !c.nz_number64(q.mod_seq)) {
        return false;
    }
    if (c.eat(' ')) {
        if (c.peek() != '(') {
            SequenceSet known;
            if (!c.sequence_set(known)) {
                return false;
            }
            q.known_uids = std::move(known);
            if (!c.eat(' ')) {
                return c.close_paren();
            }
        }
        std::pair<SequenceSet, SequenceSet> match;
        if (!c.open_paren() || !c.sequence_set(match.first) || !c.sp() ||
            !c.sequence_set(match.second) || !c.close_paren()) {
            return false;
        }
        q.seq_match = std::move(match);
    }
    return c.close_paren();
}

}  // namespace

// select = "SELECT" SP mailbox [select-params]
// select-params = SP "(" select-param *(SP select-param) ")"  (RFC 4466 §2.1)
bool parse_select(Cursor& c, SelectArgs& args) {
    if (!c.sp() || !c.mailbox(args.mailbox)) {
        return false;
    }
    if (!c.eat(' ')) {
        return true;
    }
    if (!c.open_paren()) {
        return false;
    }
    do {
        if (c.keyword("CONDSTORE")) {
            args.condstore = true;
        } else if (c.keyword("QRESYNC")) {
            QresyncParams q;
            if (!parse_qresync(c, q)) {
                return false;
            }
            args.qresync = std::move(q);
        } else {
            return c.fail("Unknown SELECT parameter");
        }
    } while (c.eat(' '));
    return c.close_paren();
}

// create = "CREATE" SP mailbox [create-params]; create-param = "USE" SP "(" [use-attr *(SP
// use-attr)] ")"  (RFC 6154 §6)
bool parse_create(Cursor& c, CreateArgs& args) {
    if (!c.sp() || !c.mailbox(args.mailbox)) {
        return false;
    }
    if (!c.eat(' ')) {
        return true;
    }
    if (!c.open_paren() || !c.keyword("USE")) {
        return c.fail("Unknown CREATE parameter");
    }
    return c.sp() && c.flag_list(args.special_use) && c.close_paren();
}

// status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" / "SIZE" /
// "RECENT" (3501) / "HIGHESTMODSEQ" (7162) / "APPENDLIMIT" (7889) / "MAILBOXID" (8474)
bool parse_status_items(Cursor& c, std::vector<StatusItem>& items) {
    static constexpr std::array<std::pair<std::string_view, StatusItem>, 10> kItems = {{
        {"MESSAGES", StatusItem::Messages},
        {"RECENT", StatusItem::Recent},
        {"UIDNEXT", StatusItem::UidNext},
        {"UIDVALIDITY", StatusItem::UidValidity},
        {"UNSEEN", StatusItem::Unseen},
        {"DELETED", StatusItem::Deleted},
        {"SIZE", StatusItem::Size},
        {"HIGHESTMODSEQ", StatusItem::HighestModSeq},
        {"APPENDLIMIT", StatusItem::AppendLimit},
        {"MAILBOXID", StatusItem::MailboxId},
    }};
    if (!c.open_paren()) {
        return false;
    }
    do {
        bool found = false;
        for (const auto& [word, item] : kItems) {
            if (c.keyword(word)) {
                items.push_back(item);
                found = true;
                break;
            }
        }
        if (!found) {
            return c.fail("Unknown STATUS item");
        }
        if (!c.count_arg()) {
            return false;
        }
    } while (c.eat(' '));
    return c.close_paren();
}

// status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
bool parse_status(Cursor& c, StatusArgs& args) {
    return c.sp() && c.mailbox(args.mailbox) && c.sp() && parse_status_items(c, args.items);
}

// list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
// list-select-opts = "(" [list-select-option *(SP list-select-option)] ")"
// mbox-or-pat = list-mailbox / patterns; patterns = "(" list-mailbox *(SP list-mailbox) ")"
// list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
// (RFC 5258 §6; status-option RFC 5819 §4). LSUB takes only mailbox SP list-mailbox.
bool parse_list(Cursor& c, ListArgs& args, bool lsub) {
    if (!c.sp()) {
        return false;
    }
    if (!lsub && c.peek() == '(') {
        if (!c.open_paren()) {
            return false;
        }
        while (!c.eat(')')) {
            if (!args.select_options.empty() && !c.sp()) {
                return false;
            }
            std::string opt;
            if (!c.atom_upper(opt, "a LIST selection option") || !c.count_arg()) {
                return false;
            }
            args.select_options.push_back(std::move(opt));
        }
        if (!c.sp()) {
            return false;
        }
    }
    if (!c.mailbox(args.reference) || !c.sp()) {
        return false;
    }
    if (!lsub && c.peek() == '(') {
        args.multiple_patterns = true;
        if (!c.open_paren()) {
            return false;
        }
        do {
            std::string p;
            if (!c.list_mailbox(p) || !c.count_arg()) {
                return false;
            }
            args.patterns.push_back(std::move(p));
        } while (c.eat(' '));
        if (!c.close_paren()) {
            return false;
        }
    } else {
        std::string p;
        if (!c.list_mailbox(p)) {
            return false;
        }
        args.patterns.push_back(std::move(p));
    }
    if (lsub || !c.eat(' ')) {
        return true;
    }
    if (!c.keyword("RETURN") || !c.sp() || !c.open_paren()) {
        return c.fail("Expected RETURN options");
    }
    bool first = true;
    while (!c.eat(')')) {
        if (!first && !c.sp()) {
            return false;
        }
        first = false;
        if (c.keyword("STATUS")) {
            std::vector<StatusItem> items;
            if (!c.sp() || !parse_status_items(c, items)) {
                return false;
            }
            args.return_status = std::move(items);
            continue;
        }
        std::string opt;
        if (!c.atom_upper(opt, "a LIST return option") || !c.count_arg()) {
            return false;
        }
        args.return_options.push_back(std::move(opt));
    }
    return true;
}

}  // namespace sov::imap::wire::detail
