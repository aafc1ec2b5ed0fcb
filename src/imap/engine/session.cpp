#include "imap/engine/session.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "imap/engine/append_state.hpp"
#include "imap/engine/handlers.hpp"
#include "imap/engine/sasl_state.hpp"

namespace sov::imap {

using wire::CommandName;
using wire::Condition;
using H = Session::Handlers;

namespace {

/// Commands after which the client may be using sequence numbers: no EXPUNGE then
/// (RFC 9051 §7.5.1). UID variants may hear them.
bool forbids_expunge_report(const wire::Command& c) {
    switch (c.name) {
        case CommandName::Fetch:
        case CommandName::Store:
        case CommandName::Search:
        case CommandName::Sort:
        case CommandName::Thread:
            return !c.uid;
        default:
            return false;
    }
}

bool allowed_in(CommandName name, bool authenticated, bool selected) {
    switch (name) {
        case CommandName::Capability:
        case CommandName::Noop:
        case CommandName::Logout:
        case CommandName::Id:
            return true;
        case CommandName::Starttls:
        case CommandName::Authenticate:
        case CommandName::Login:
            return !authenticated;
        case CommandName::Check:
        case CommandName::Close:
        case CommandName::Unselect:
        case CommandName::Expunge:
        case CommandName::Search:
        case CommandName::Fetch:
        case CommandName::Store:
        case CommandName::Copy:
        case CommandName::Move:
        case CommandName::Sort:
        case CommandName::Thread:
        case CommandName::CancelUpdate:
            return selected;
        default:
            return authenticated;
    }
}

}  // namespace

Session::Session(Services services, SessionConfig config, std::string remote_ip)
    : services_(services), config_(std::move(config)), remote_ip_(std::move(remote_ip)) {}

Session::~Session() = default;

void Session::greeting(std::string& out) {
    wire::ResponseWriter w(out, H::writer_options(*this));
    w.untagged(Condition::Ok, "CAPABILITY " + H::capabilities(*this), "Sovereign ready");
}

wire::ParserOptions Session::parser_options() const {
    return wire::ParserOptions{.utf8 = imap4rev2_ || utf8_accept_, .literal_minus = false};
}

std::chrono::milliseconds Session::take_delay() {
    return std::exchange(delay_, {});
}

std::string Session::selected_mailbox() const {
    return view_ ? view_->name() : std::string();
}

void Session::tls_started() {
    config_.tls_active = true;
}

bool Session::quick_command(const wire::Command& c) const {
    // With update contexts, any change means searching again (Handlers::update_contexts).
    if (state_ != State::Selected || !view_ || !contexts_.empty()) {
        return false;
    }
    switch (c.name) {
        case CommandName::Noop:
        case CommandName::Check:
            return true;  // the poll only
        case CommandName::Fetch:
            return H::fetch_is_quick(*this, c);
        default:
            return false;
    }
}

After Session::handle(const wire::Command& c, std::string& out, bool quick) {
    if (quick && !quick_command(c)) {
        return After::Offload;
    }
    quick_ = quick;
    quick_refused_ = false;
    // A quick command only reads (handlers refuse what would write, see quick_refused_): it
    // and the poll after it read one snapshot, on one read transaction.
    const store::ReadScope snapshot =
        quick ? services_.store->read_scope(account_) : store::ReadScope{};
    const After after = run(c, out);
    quick_ = false;
    out_ = nullptr;
    if (quick_refused_ && !must_close()) {  // a BYE (mailbox deleted) goes out as it is
        // Nothing of it goes out: the worker thread runs it again from the same state.
        out.resize(run_start_);
        condstore_ = condstore_before_;
        quick_refused_ = false;
        return After::Offload;
    }
    return after;
}

After Session::run(const wire::Command& c, std::string& out) {
    run_start_ = out.size();
    out_ = &out;
    condstore_before_ = condstore_;
    wire::ResponseWriter w(out, H::writer_options(*this));
    const bool authenticated = state_ != State::NotAuthenticated;
    if (!allowed_in(c.name, authenticated, state_ == State::Selected)) {
        H::bad(w, c, authenticated ? "Command not valid in this state" : "Log in first");
        return After::Continue;
    }
    After after = After::Continue;
    switch (c.name) {
        case CommandName::Capability:
            H::capability(*this, w);
            H::ok(w, c);
            break;
        case CommandName::Noop:
        case CommandName::Check:
            H::ok(w, c);  // the poll below reports changes before the tagged OK
            break;
        case CommandName::Logout:
            w.untagged(Condition::Bye, "", "Logging out");
            H::ok(w, c);
            state_ = State::Logout;
            view_.reset();
            return After::Logout;
        case CommandName::Id:
            H::id(*this, c, w);
            break;
        case CommandName::Enable:
            H::enable(*this, c, w);
            break;
        case CommandName::Starttls:
            return H::starttls(*this, c, w);
        case CommandName::Login:
            return H::login(*this, c, w);
        case CommandName::Authenticate:
            return H::authenticate(*this, c, w);
        case CommandName::Select:
        case CommandName::Examine:
            H::select(*this, c, w);
            return After::Continue;  // SELECT reports the new mailbox itself
        case CommandName::Create:
            H::create(*this, c, w);
            break;
        case CommandName::Delete:
            H::remove(*this, c, w);
            break;
        case CommandName::Rename:
            H::rename(*this, c, w);
            break;
        case CommandName::Subscribe:
            H::subscribe(*this, c, w, true);
            break;
        case CommandName::Unsubscribe:
            H::subscribe(*this, c, w, false);
            break;
        case CommandName::List:
        case CommandName::Lsub:
            H::list(*this, c, w);
            break;
        case CommandName::Namespace:
            H::namespace_(*this, c, w);
            break;
        case CommandName::Status:
            H::status(*this, c, w);
            break;
        case CommandName::Append:
            H::append(*this, c, w);
            break;
        case CommandName::Idle:
            if (view_) {
                (void)poll_view(H::poll_mode(*this, true), w);
            }
            idle_tag_ = c.tag;
            w.continuation("idling");
            return After::Idle;
        case CommandName::GetQuota:
        case CommandName::GetQuotaRoot:
        case CommandName::SetQuota:
            H::quota(*this, c, w);
            break;
        case CommandName::Compress: {
            // RFC 4978 §3: DEFLATE is the only mechanism; once on, it stays on.
            const auto& args = std::get<wire::AtomListArgs>(c.args);
            if (compressed_) {
                H::no(w, c, "COMPRESSIONACTIVE", "Compression is already active");
                break;
            }
            if (args.atoms.size() != 1 || args.atoms[0] != "DEFLATE") {
                H::bad(w, c, "Unknown compression mechanism");
                break;
            }
            compressed_ = true;
            w.tagged(c.tag, wire::Condition::Ok, "", "DEFLATE active");
            return After::Compress;  // nothing may follow uncompressed
        }
        case CommandName::Close:
            H::close(*this, c, w, true);
            return After::Continue;  // no mailbox left to report on
        case CommandName::Unselect:
            H::close(*this, c, w, false);
            return After::Continue;  // no mailbox left to report on
        case CommandName::Expunge:
            H::expunge(*this, c, w);
            break;
        case CommandName::Search:
            H::search(*this, c, w);
            break;
        case CommandName::Fetch:
            H::fetch(*this, c, w);
            break;
        case CommandName::Store:
            H::store(*this, c, w);
            break;
        case CommandName::Copy:
            H::copy(*this, c, w, false);
            break;
        case CommandName::Move:
            H::copy(*this, c, w, true);
            break;
        case CommandName::Sort:
            H::sort(*this, c, w);
            break;
        case CommandName::Thread:
            H::thread(*this, c, w);
            break;
        case CommandName::CancelUpdate:
            H::cancel_update(*this, c, w);
            break;
    }
    report_changes(c, out);
    return must_close() ? After::Logout : after;
}

void Session::poll_failed(std::error_code error, wire::ResponseWriter& w) {
    if (error == store::Errc::NotFound) {
        // Deleted by another session (a rename keeps the view: MailboxView::key). RFC 9051
        // §7.1.5 allows BYE at any time; the messages this session knows are gone.
        log::info("imap.selected.deleted", {{"account", account_}, {"mailbox", view_->name()}});
        w.untagged(wire::Condition::Bye, "", "Selected mailbox was deleted");
        view_.reset();
        state_ = State::Logout;
        return;
    }
    log::warn("imap.poll.failed", {{"account", account_}, {"error", error.message()}});
}

void Session::spill_if_large() {
    // Large enough that handing over costs little per byte, small enough that the client
    // starts reading early and the buffer stays out of mmap territory.
    constexpr std::size_t kSpillBytes = 64 * 1024;
    if (!spill_ || quick_ || out_ == nullptr || out_->size() < kSpillBytes) {
        return;
    }
    std::string responses;
    responses.swap(*out_);
    out_->reserve(kSpillBytes + kSpillBytes / 4);
    run_start_ = 0;
    spill_(std::move(responses));
}

// Every handler ends with its tagged reply; what other sessions and deliveries changed meanwhile
// must come before it (RFC 9051 §7: untagged data, then the completion). The tagged reply is
// the last line of `out` (never a literal), so the updates are inserted in front of it.
void Session::report_changes(const wire::Command& c, std::string& out) {
    if (!view_ || state_ != State::Selected) {
        return;
    }
    const std::size_t start = run_start_;  // 0 once some of it was spilled
    std::string updates;
    wire::ResponseWriter uw(updates, H::writer_options(*this));
    if (!condstore_before_ && condstore_) {
        // RFC 7162 §3.1: the first CONDSTORE enabling command with a mailbox selected reports
        // its HIGHESTMODSEQ.
        uw.untagged(
            wire::Condition::Ok,
            "HIGHESTMODSEQ " + std::to_string(view_->highest_modseq()),
            "Highest"
        );
    }
    auto mode = H::poll_mode(*this, !forbids_expunge_report(c));
    mode.defer_new = quick_;
    if (auto st = poll_view(mode, uw); !st) {
        if (quick_ && st.error() == std::errc::operation_would_block) {
            quick_refused_ = true;  // new messages: claiming \Recent writes (handle)
            return;
        }
        poll_failed(st.error(), uw);
        if (must_close()) {
            // BYE instead of the command's own answer, which is moot (or a failure of its own:
            // the mailbox was gone already).
            out.resize(start);
            out += updates;
        }
        return;
    }
    if (updates.empty()) {
        return;
    }
    std::size_t line = out.size() >= 2 ? out.rfind("\r\n", out.size() - 3) : std::string::npos;
    line = line == std::string::npos ? start : std::max(start, line + 2);
    out.insert(line, updates);
}

Status Session::poll_view(const PollMode& mode, wire::ResponseWriter& w) {
    auto st = view_->poll(*services_.store, mode, w);
    if (st) {
        H::update_contexts(*this, w);  // after the EXISTS of new messages (RFC 5267 §4.3.3)
    }
    return st;
}

void Session::idle_poll(std::string& out) {
    if (!view_) {
        return;
    }
    wire::ResponseWriter w(out, H::writer_options(*this));
    if (auto st = poll_view(H::poll_mode(*this, true), w); !st) {
        poll_failed(st.error(), w);
    }
}

void Session::idle_done(std::string_view line, std::string& out) {
    wire::ResponseWriter w(out, H::writer_options(*this));
    const std::string tag = std::exchange(idle_tag_, {});
    std::string upper(line);
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) {
        return static_cast<char>(std::toupper(ch));
    });
    if (upper != "DONE") {
        w.tagged(tag, Condition::Bad, "", "Expected DONE");  // RFC 2177 §3
        return;
    }
    if (view_) {
        if (auto st = poll_view(H::poll_mode(*this, true), w); !st) {
            poll_failed(st.error(), w);
            if (must_close()) {
                return;
            }
        }
    }
    w.tagged(tag, Condition::Ok, "", "IDLE terminated");
}

void Session::parse_error(const wire::ParseError& error, bool fatal, std::string& out) {
    wire::ResponseWriter w(out, H::writer_options(*this));
    w.parse_error(error, fatal);
}

// ---- small handlers and helpers

wire::WriterOptions Session::Handlers::writer_options(const Session& s) {
    return wire::WriterOptions{
        .utf8 = s.imap4rev2_ || s.utf8_accept_, .max_quoted = 1024, .imap4rev2 = s.imap4rev2_
    };
}

PollMode Session::Handlers::poll_mode(const Session& s, bool allow_expunge) {
    return PollMode{
        .allow_expunge = allow_expunge,
        .condstore = s.condstore_,
        .qresync = s.qresync_,
        .recent = !s.imap4rev2_,
    };
}

void Session::Handlers::ok(W& w, const Cmd& c, std::string_view code) {
    std::string text(wire::command_keyword(c.name));
    text += " completed";
    w.tagged(c.tag, Condition::Ok, code, text);
}

void Session::Handlers::no(W& w, const Cmd& c, std::string_view code, std::string_view text) {
    w.tagged(c.tag, Condition::No, code, text);
}

void Session::Handlers::bad(W& w, const Cmd& c, std::string_view text) {
    w.tagged(c.tag, Condition::Bad, "", text);
}

void Session::Handlers::store_error(Session& s, W& w, const Cmd& c, const std::error_code& ec) {
    log::warn(
        "imap.command.failed",
        {{"account", s.account_},
         {"command", std::string(wire::command_keyword(c.name))},
         {"error", ec.message()}}
    );
    no(w, c, "SERVERBUG", "Internal error, see the server log");
}

std::string Session::Handlers::capabilities(const Session& s) {
    std::string caps = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE";
    const bool auth_ok = s.config_.tls_active || !s.config_.require_tls_for_auth;
    if (s.state_ == State::NotAuthenticated) {
        if (s.config_.starttls_available && !s.config_.tls_active) {
            caps += " STARTTLS";
        }
        if (auth_ok) {
            caps += " AUTH=PLAIN AUTH=SCRAM-SHA-256";
        } else {
            caps += " LOGINDISABLED";  // RFC 9051 §6.2.3, §11.1
        }
        return caps;
    }
    caps +=
        " IDLE NAMESPACE UIDPLUS MULTIAPPEND CATENATE MOVE SPECIAL-USE CREATE-SPECIAL-USE"
        " LIST-EXTENDED LIST-STATUS CHILDREN CONDSTORE QRESYNC ESEARCH SEARCHRES SORT"
        " SORT=DISPLAY ESORT CONTEXT=SEARCH CONTEXT=SORT PARTIAL WITHIN THREAD=REFERENCES "
        "THREAD=ORDEREDSUBJECT"
        " UNSELECT BINARY UTF8=ACCEPT"
        " STATUS=SIZE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE OBJECTID SAVEDATE PREVIEW"
        " COMPRESS=DEFLATE"
        " APPENDLIMIT=" +
        std::to_string(s.config_.max_append);
    return caps;
}

void Session::Handlers::capability(Session& s, W& w) {
    w.begin_untagged().atom("CAPABILITY");
    w.raw(" ").raw(capabilities(s)).end();
}

void Session::Handlers::enable(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::AtomListArgs>(c.args);
    std::vector<std::string> enabled;
    for (const auto& cap : args.atoms) {
        if (cap == "IMAP4REV2" && !s.imap4rev2_) {
            s.imap4rev2_ = true;
            enabled.emplace_back("IMAP4rev2");
        } else if (cap == "UTF8=ACCEPT" && !s.utf8_accept_) {
            s.utf8_accept_ = true;
            enabled.emplace_back("UTF8=ACCEPT");
        } else if (cap == "CONDSTORE" && !s.condstore_) {
            s.condstore_ = true;
            enabled.emplace_back("CONDSTORE");
        } else if (cap == "QRESYNC" && !s.qresync_) {
            s.qresync_ = true;
            s.condstore_ = true;  // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE
            enabled.emplace_back("QRESYNC");
        }
    }
    // RFC 5161 §3.1: the ENABLED response lists what this command turned on (maybe nothing).
    w.begin_untagged().atom("ENABLED");
    for (const auto& e : enabled) {
        w.atom(e);
    }
    w.end();
    ok(w, c);
}

void Session::Handlers::id(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::IdArgs>(c.args);
    std::string client;
    for (const auto& [key, value] : args.params) {
        if (value) {
            client += key + "=" + *value + " ";
        }
    }
    log::info("imap.id", {{"ip", s.remote_ip_}, {"client", client}});
    // RFC 2971 §3.3: the server's identity; no version number, it only helps attackers.
    w.begin_untagged().atom("ID").begin_list().string("name").string("Sovereign").end_list().end();
    ok(w, c);
}

}  // namespace sov::imap
