// Command dispatch and the small commands (RFC 9051 §6, §9 "command").
#include <array>
#include <utility>

#include "imap/wire/chars.hpp"
#include "imap/wire/detail/grammar.hpp"

namespace sov::imap::wire {
namespace {

struct NameEntry {
    std::string_view word;
    CommandName name;
};

constexpr std::array<NameEntry, 37> kNames = {{
    {"CAPABILITY", CommandName::Capability},
    {"NOOP", CommandName::Noop},
    {"LOGOUT", CommandName::Logout},
    {"ID", CommandName::Id},
    {"STARTTLS", CommandName::Starttls},
    {"AUTHENTICATE", CommandName::Authenticate},
    {"LOGIN", CommandName::Login},
    {"ENABLE", CommandName::Enable},
    {"SELECT", CommandName::Select},
    {"EXAMINE", CommandName::Examine},
    {"CREATE", CommandName::Create},
    {"DELETE", CommandName::Delete},
    {"RENAME", CommandName::Rename},
    {"SUBSCRIBE", CommandName::Subscribe},
    {"UNSUBSCRIBE", CommandName::Unsubscribe},
    {"LIST", CommandName::List},
    {"LSUB", CommandName::Lsub},
    {"NAMESPACE", CommandName::Namespace},
    {"STATUS", CommandName::Status},
    {"APPEND", CommandName::Append},
    {"IDLE", CommandName::Idle},
    {"GETQUOTA", CommandName::GetQuota},
    {"GETQUOTAROOT", CommandName::GetQuotaRoot},
    {"SETQUOTA", CommandName::SetQuota},
    {"COMPRESS", CommandName::Compress},
    {"CHECK", CommandName::Check},
    {"CLOSE", CommandName::Close},
    {"UNSELECT", CommandName::Unselect},
    {"EXPUNGE", CommandName::Expunge},
    {"SEARCH", CommandName::Search},
    {"FETCH", CommandName::Fetch},
    {"STORE", CommandName::Store},
    {"COPY", CommandName::Copy},
    {"MOVE", CommandName::Move},
    {"SORT", CommandName::Sort},
    {"THREAD", CommandName::Thread},
    {"CANCELUPDATE", CommandName::CancelUpdate},
}};

bool lookup(std::string_view word, CommandName& out) noexcept {
    for (const auto& e : kNames) {
        if (iequals(word, e.word)) {
            out = e.name;
            return true;
        }
    }
    return false;
}

bool uid_allowed(CommandName n) noexcept {
    switch (n) {
        case CommandName::Copy:
        case CommandName::Move:
        case CommandName::Fetch:
        case CommandName::Search:
        case CommandName::Store:
        case CommandName::Expunge:
        case CommandName::Sort:
        case CommandName::Thread:
            return true;
        default:
            return false;
    }
}

using detail::Cursor;

// AUTHENTICATE auth-type [SP (base64 / "=")] (RFC 9051 §6.2.2, RFC 4959 §3)
bool parse_authenticate(Cursor& c, AuthenticateArgs& a) {
    if (!c.sp() || !c.atom_upper(a.mechanism, "a SASL mechanism")) {
        return false;
    }
    if (!c.eat(' ')) {
        return true;
    }
    if (c.eat('=')) {
        a.initial_response = "=";
        return true;
    }
    // base64 = *(4base64-char) [base64-terminal]
    std::string ir;
    while (!c.at_end()) {
        const char ch = c.peek();
        const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                        (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || ch == '=';
        if (!ok) {
            break;
        }
        ir += ch;
        (void)c.eat(ch);
    }
    if (ir.empty() || ir.size() % 4 != 0) {
        return c.fail("Invalid base64 initial response");
    }
    a.initial_response = std::move(ir);
    return true;
}

// ENABLE 1*(SP capability) (RFC 5161 §3.1)
bool parse_enable(Cursor& c, AtomListArgs& a) {
    do {
        std::string cap;
        if (!c.sp() || !c.atom_upper(cap, "a capability") || !c.count_arg()) {
            return false;
        }
        a.atoms.push_back(std::move(cap));
    } while (!c.at_end());
    return true;
}

// ID ("(" *(string SP nstring) ")" / nil) (RFC 2971 §3.1). The RFC writes the pairs without
// separators between them, but every client sends SP, which is what RFC 2971 §4 examples show.
bool parse_id(Cursor& c, IdArgs& a) {
    if (!c.sp()) {
        return false;
    }
    if (c.keyword("NIL")) {
        a.nil = true;
        return true;
    }
    if (!c.open_paren()) {
        return false;
    }
    bool first = true;
    while (!c.eat(')')) {
        if (!first && !c.sp()) {
            return false;
        }
        first = false;
        std::string key;
        std::optional<std::string> value;
        if (!c.string(key) || !c.sp() || !c.nstring(value) || !c.count_arg()) {
            return false;
        }
        a.params.emplace_back(std::move(key), std::move(value));
    }
    return true;
}

// SETQUOTA quota-root-name SP "(" [resource-name SP number64 *(...)] ")" (RFC 9208 §4.3)
bool parse_setquota(Cursor& c, SetQuotaArgs& a) {
    if (!c.sp() || !c.astring(a.root) || !c.sp() || !c.open_paren()) {
        return false;
    }
    bool first = true;
    while (!c.eat(')')) {
        if (!first && !c.sp()) {
            return false;
        }
        first = false;
        std::string res;
        std::uint64_t limit = 0;
        if (!c.atom_upper(res, "a resource name") || !c.sp() || !c.number64(limit) ||
            !c.count_arg()) {
            return false;
        }
        a.limits.emplace_back(std::move(res), limit);
    }
    return true;
}

bool parse_copy(Cursor& c, CopyArgs& a) {
    return c.sp() && c.sequence_set(a.set) && c.sp() && c.mailbox(a.mailbox);
}

bool parse_args(Cursor& c, Command& cmd) {
    switch (cmd.name) {
        case CommandName::Capability:
        case CommandName::Noop:
        case CommandName::Logout:
        case CommandName::Starttls:
        case CommandName::Namespace:
        case CommandName::Idle:
        case CommandName::Check:
        case CommandName::Close:
        case CommandName::Unselect:
            return true;
        case CommandName::Expunge:
            if (cmd.uid) {  // UID EXPUNGE sequence-set (RFC 4315 §2.1)
                auto& a = cmd.args.emplace<SequenceArgs>();
                return c.sp() && c.sequence_set(a.set);
            }
            return true;
        case CommandName::Id:
            return parse_id(c, cmd.args.emplace<IdArgs>());
        case CommandName::Authenticate:
            return parse_authenticate(c, cmd.args.emplace<AuthenticateArgs>());
        case CommandName::Login: {
            auto& a = cmd.args.emplace<LoginArgs>();
            return c.sp() && c.astring(a.user) && c.sp() && c.astring(a.password);
        }
        case CommandName::Enable:
            return parse_enable(c, cmd.args.emplace<AtomListArgs>());
        case CommandName::Compress: {  // COMPRESS SP algorithm (RFC 4978 §3)
            auto& a = cmd.args.emplace<AtomListArgs>();
            a.atoms.emplace_back();
            return c.sp() && c.atom_upper(a.atoms.back(), "a compression algorithm");
        }
        case CommandName::Select:
        case CommandName::Examine:
            return parse_select(c, cmd.args.emplace<SelectArgs>());
        case CommandName::Create:
            return parse_create(c, cmd.args.emplace<CreateArgs>());
        case CommandName::Delete:
        case CommandName::Subscribe:
        case CommandName::Unsubscribe:
        case CommandName::GetQuotaRoot: {
            auto& a = cmd.args.emplace<MailboxArgs>();
            return c.sp() && c.mailbox(a.mailbox);
        }
        case CommandName::Rename: {
            auto& a = cmd.args.emplace<RenameArgs>();
            return c.sp() && c.mailbox(a.from) && c.sp() && c.mailbox(a.to);
        }
        case CommandName::List:
        case CommandName::Lsub:
            return parse_list(c, cmd.args.emplace<ListArgs>(), cmd.name == CommandName::Lsub);
        case CommandName::Status:
            return parse_status(c, cmd.args.emplace<StatusArgs>());
        case CommandName::Append:
            return parse_append(c, cmd.args.emplace<AppendArgs>());
        case CommandName::GetQuota: {
            auto& a = cmd.args.emplace<QuotaRootArgs>();
            return c.sp() && c.astring(a.root);
        }
        case CommandName::SetQuota:
            return parse_setquota(c, cmd.args.emplace<SetQuotaArgs>());
        case CommandName::Search:
            return parse_search(c, cmd.args.emplace<SearchArgs>());
        case CommandName::Sort:
            return parse_sort(c, cmd.args.emplace<SortArgs>());
        case CommandName::Thread:
            return parse_thread(c, cmd.args.emplace<ThreadArgs>());
        case CommandName::Fetch:
            return parse_fetch(c, cmd.args.emplace<FetchArgs>());
        case CommandName::Store:
            return parse_store(c, cmd.args.emplace<StoreArgs>());
        case CommandName::Copy:
        case CommandName::Move:
            return parse_copy(c, cmd.args.emplace<CopyArgs>());
        case CommandName::CancelUpdate: {  // "CANCELUPDATE" 1*(SP quoted) (RFC 5267 §5)
            auto& a = cmd.args.emplace<TagListArgs>();
            do {
                a.tags.emplace_back();
                if (!c.sp() || !c.string(a.tags.back())) {
                    return false;
                }
            } while (c.peek() == ' ');
            return true;
        }
    }
    return c.fail("Unknown command");
}

}  // namespace

std::string_view command_keyword(CommandName name) noexcept {
    for (const auto& e : kNames) {
        if (e.name == name) {
            return e.word;
        }
    }
    return "NOOP";
}

namespace detail {

bool parse_tag(Cursor& c, std::string& tag) {
    const std::size_t start = c.pos();
    while (!c.at_end() && is_tag_char(c.peek())) {
        tag += c.peek();
        (void)c.eat(c.peek());
    }
    if (c.pos() == start) {
        return c.fail(c.at_end() ? "Empty command" : "Invalid tag");
    }
    return true;
}

GrammarResult parse_command_text(
    std::string_view text,
    std::span<const LiteralInfo> literals,
    const ParserLimits& limits,
    const ParserOptions& options
) {
    GrammarResult r;
    Cursor c(text, literals, limits, options);
    Command& cmd = r.command;
    if (!parse_tag(c, cmd.tag)) {
        cmd.tag.clear();  // reply untagged: "* BAD"
        r.error_text = c.error_text();
        return r;
    }
    if (!c.at_end() && c.peek() != ' ') {
        cmd.tag.clear();  // "a(b" is not a tag followed by something: answer untagged
        r.error_text = "Invalid tag";
        return r;
    }
    auto name_word = [&c]() {
        const auto w = c.atom();
        return w;
    };
    bool ok = c.sp();
    std::string_view word;
    if (ok) {
        word = name_word();
        if (word.empty()) {
            ok = c.fail(
                !c.at_end() && static_cast<unsigned char>(c.peek()) >= 0x80
                    ? "8-bit byte in a command name"
                    : "Missing command"
            );
        }
    }
    if (ok && iequals(word, "UID")) {
        cmd.uid = true;
        ok = c.sp();
        word = ok ? name_word() : std::string_view{};
        if (ok && (!lookup(word, cmd.name) || !uid_allowed(cmd.name))) {
            ok = c.fail("Unknown UID command");
        }
    } else if (ok && !lookup(word, cmd.name)) {
        ok = c.fail(
            !c.at_end() && static_cast<unsigned char>(c.peek()) >= 0x80
                ? "8-bit byte in a command name"
                : "Unknown command"
        );
    }
    if (ok) {
        ok = parse_args(c, cmd);
    }
    if (ok && !c.at_end()) {
        ok = c.fail("Unexpected extra arguments");
    }
    if (!ok) {
        r.error_text = c.error_text();
        r.error_code = c.error_code();
        cmd.args = std::monostate{};
        return r;
    }
    cmd.bad_mailbox_encoding = c.bad_mailbox_encoding();
    r.ok = true;
    return r;
}

}  // namespace detail
}  // namespace sov::imap::wire
