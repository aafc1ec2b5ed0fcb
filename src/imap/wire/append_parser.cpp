// APPEND arguments (RFC 9051 §6.3.12, MULTIAPPEND RFC 3502 §6, CATENATE RFC 4469 §5, BINARY
// literal8 RFC 3516 §4.3) and the probe that tells the framer which literals are messages.
#include <utility>

#include "imap/wire/chars.hpp"
#include "imap/wire/detail/grammar.hpp"

namespace sov::imap::wire::detail {
namespace {

// What stopped a walk over the APPEND arguments.
enum class Stop {
    Done,   // parsed to the end
    Error,  // syntax error (cursor has it)
    PendingMailbox,
    PendingUrl,
    PendingMessage,
    PendingText,
};

// cat-part = cat-url / cat-text; cat-url = "URL" SP url; cat-text = "TEXT" SP literal
Stop walk_catenate(Cursor& c, std::vector<CatenatePart>& parts, bool probe) {
    if (!c.open_paren()) {
        return Stop::Error;
    }
    do {
        CatenatePart part;
        if (!c.count_arg()) {
            return Stop::Error;
        }
        if (c.keyword("URL")) {
            part.is_url = true;
            if (!c.sp()) {
                return Stop::Error;
            }
            if (probe && c.at_pending_literal()) {
                return Stop::PendingUrl;
            }
            if (!c.astring(part.url)) {
                return Stop::Error;
            }
        } else if (c.keyword("TEXT")) {
            if (!c.sp()) {
                return Stop::Error;
            }
            if (probe && c.at_pending_literal()) {
                return Stop::PendingText;
            }
            if (!c.streamed_literal(part.text, false)) {
                return Stop::Error;
            }
        } else {
            c.fail("Expected URL or TEXT");
            return Stop::Error;
        }
        parts.push_back(std::move(part));
    } while (c.eat(' '));
    return c.close_paren() ? Stop::Done : Stop::Error;
}

// append = "APPEND" SP mailbox 1*append-message
// append-message = append-opts SP append-data
// append-opts = [SP flag-list] [SP date-time]
// append-data = literal / literal8 / "CATENATE" SP "(" cat-part *(SP cat-part) ")" /
//               "UTF8" SP "(" literal8 ")"   (RFC 6855 §4)
Stop walk_append(Cursor& c, AppendArgs& args, bool probe) {
    if (!c.sp()) {
        return Stop::Error;
    }
    if (probe && c.at_pending_literal()) {
        return Stop::PendingMailbox;
    }
    if (!c.mailbox(args.mailbox)) {
        return Stop::Error;
    }
    do {
        AppendMessage m;
        if (!c.sp() || !c.count_arg()) {
            return Stop::Error;
        }
        if (c.peek() == '(') {
            if (!c.flag_list(m.flags) || !c.sp()) {
                return Stop::Error;
            }
        }
        if (c.peek() == '"') {
            DateTime dt;
            if (!c.date_time(dt) || !c.sp()) {
                return Stop::Error;
            }
            m.internal_date = dt;
        }
        args.messages.push_back(std::move(m));
        AppendMessage& msg = args.messages.back();
        if (c.keyword("CATENATE")) {
            msg.catenate.emplace();
            if (!c.sp()) {
                return Stop::Error;
            }
            const Stop s = walk_catenate(c, *msg.catenate, probe);
            if (s != Stop::Done) {
                return s;
            }
            continue;
        }
        // RFC 6855 §4: a message with UTF-8 header fields comes as `UTF8 (literal8)`.
        msg.utf8 = c.keyword("UTF8");
        if (msg.utf8 && (!c.sp() || !c.open_paren())) {
            return Stop::Error;
        }
        if (probe && c.at_pending_literal()) {
            return Stop::PendingMessage;
        }
        if (!c.streamed_literal(msg.literal, true) || (msg.utf8 && !c.close_paren())) {
            return Stop::Error;
        }
    } while (!c.at_end());
    return Stop::Done;
}

}  // namespace

bool parse_append(Cursor& c, AppendArgs& args) {
    return walk_append(c, args, false) == Stop::Done;
}

AppendProbe probe_append(
    std::string_view text,
    std::span<const LiteralInfo> literals,
    const ParserLimits& limits,
    const ParserOptions& options
) {
    AppendProbe probe;
    Cursor c(text, literals, limits, options);
    if (!parse_tag(c, probe.tag) || !c.eat(' ') || !c.keyword("APPEND")) {
        return probe;
    }
    AppendArgs args;
    const Stop s = walk_append(c, args, true);
    if (s != Stop::PendingMessage && s != Stop::PendingText) {
        return probe;
    }
    probe.role = s == Stop::PendingMessage ? LiteralRole::Message : LiteralRole::CatenateText;
    probe.mailbox = std::move(args.mailbox);
    probe.index = args.messages.size() - 1;
    probe.message = std::move(args.messages.back());
    return probe;
}

}  // namespace sov::imap::wire::detail
