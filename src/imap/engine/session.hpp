#pragma once
// One IMAP session's state and command handling (RFC 9051, RFC 3501 and the extensions of
// issue 3). The driver (imap/server/connection.cpp) owns the socket and the parser; it hands
// each parsed command to handle() on a blocking worker thread (the store and the accounts
// database are synchronous SQLite), or first on its I/O thread when the command is cheap (see
// handle), and writes what handle() appended to `out`.
//
// A Session is used by one thread at a time (the driver awaits each call), so it has no locks.
// Its only shared state lives behind Services: the store, the directory and the throttle.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imap/engine/mailbox_view.hpp"
#include "imap/wire/ast.hpp"
#include "imap/wire/parser.hpp"
#include "imap/wire/response.hpp"
#include "store/store.hpp"

namespace sov::accounts {
class Directory;
class LoginThrottle;
}  // namespace sov::accounts

namespace sov::imap {

/// Process-wide services; their owners outlive every session.
struct Services {
    store::Store* store = nullptr;
    accounts::Directory* directory = nullptr;
    accounts::LoginThrottle* throttle = nullptr;
};

struct SessionConfig {
    std::string hostname;
    std::uint64_t max_append = std::uint64_t{50} << 20;  // APPENDLIMIT (RFC 7889)
    bool starttls_available = false;                     // STARTTLS offered on this listener
    bool tls_active = false;                             // implicit TLS, or after STARTTLS
    /// RFC 9051 §11.1: without TLS no password may cross the wire (LOGINDISABLED). Only a test
    /// configuration turns this off.
    bool require_tls_for_auth = true;
};

/// What the driver does after a command's output is written.
enum class After {
    Continue,
    StartTls,      // "OK Begin TLS" was written: handshake now, then tls_started()
    Logout,        // BYE and the tagged OK were written: close
    Idle,          // "+ idling" was written: wait for DONE or a store change (idle_poll)
    SaslContinue,  // a "+ challenge" was written: the next line goes to sasl_response()
    Compress,      // "OK DEFLATE active" was written: wrap the stream (RFC 4978)
    Offload,       // handle(..., quick): nothing was written; run it again on a worker thread
};

class Session {
public:
    Session(Services services, SessionConfig config, std::string remote_ip);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// The greeting: "* OK [CAPABILITY ...] ..." (RFC 9051 §7.1.1).
    void greeting(std::string& out);
    /// `quick`: the driver calls from its I/O thread, where nothing may block for long. Only
    /// commands that read little and write nothing run then (a FETCH of a few messages without
    /// \Seen, NOOP); any other, or one that turns out to need more (a large message, a render
    /// cache miss, new messages to claim \Recent for), returns After::Offload with `out` and the
    /// session as they were, and the driver calls again without `quick` on a worker thread.
    /// Two thread hops cost more than such a command (issue 3: 500 x UID FETCH BODY.PEEK[]).
    After handle(const wire::Command& command, std::string& out, bool quick = false);
    /// Receives complete responses while handle() is still running on a worker thread (a
    /// FETCH of thousands of messages is megabytes): the driver sends them meanwhile, so the
    /// client reads while the rest is made and no answer is built whole in memory. Called on
    /// the thread running handle(). Without one, everything goes to `out`.
    using Spill = std::function<void(std::string&& responses)>;
    void set_spill(Spill spill) { spill_ = std::move(spill); }
    /// One client line during AUTHENTICATE (RFC 9051 §6.2.2): base64, or "*" to cancel.
    After sasl_response(std::string_view line, std::string& out);
    /// During IDLE (RFC 2177): report what changed in the selected mailbox.
    void idle_poll(std::string& out);
    /// "DONE" ends IDLE; any other line is a protocol error (tagged BAD).
    void idle_done(std::string_view line, std::string& out);

    // APPEND message literals stream through here (wire/parser.hpp contract).
    /// Decides whether to accept the announced literal; on refusal the tagged reply is written
    /// and the driver calls parser.reject_literal().
    bool append_begin(const wire::PendingAppend& pending, std::string& out);
    void append_data(std::string_view bytes);
    /// The parser reported an Error after literal data: forget what was received.
    void append_abort();

    void tls_started();
    /// A parser error while in a state that needs cleanup (e.g. a failed APPEND).
    void parse_error(const wire::ParseError& error, bool fatal, std::string& out);

    /// Parser options for the next command (UTF-8 mailbox names after ENABLE).
    [[nodiscard]] wire::ParserOptions parser_options() const;
    /// A delay the driver applies before sending the output (failed login throttling).
    [[nodiscard]] std::chrono::milliseconds take_delay();
    /// The account logged in ("" before) and the selected mailbox ("" when none): the driver
    /// subscribes to store changes for them.
    [[nodiscard]] const std::string& account() const { return account_; }
    [[nodiscard]] std::string selected_mailbox() const;
    [[nodiscard]] bool logged_in() const { return state_ != State::NotAuthenticated; }
    /// The selected mailbox was deleted by another session: "* BYE" was written and the driver
    /// closes the connection (as after LOGOUT) once it has sent it.
    [[nodiscard]] bool must_close() const { return state_ == State::Logout; }

    class Handlers;  // command implementations, split over several .cpp files

private:
    friend class Handlers;
    enum class State {
        NotAuthenticated,
        Authenticated,
        Selected,
        Logout,
    };
    After run(const wire::Command& c, std::string& out);
    void report_changes(const wire::Command& c, std::string& out);
    /// The selected mailbox's changes since the last poll, then the updates of the search
    /// contexts they bring (Handlers::update_contexts).
    Status poll_view(const PollMode& mode, wire::ResponseWriter& w);
    /// After a poll of the selected mailbox failed: if the mailbox is gone, says BYE and moves
    /// to the logout state (must_close); any other error is logged.
    void poll_failed(std::error_code error, wire::ResponseWriter& w);
    /// Hands what the current command wrote so far to spill_ once it is large enough. Only
    /// between complete responses (a FETCH calls it after each message).
    void spill_if_large();
    /// Whether `c` may run on the I/O thread at all (handle's `quick`).
    [[nodiscard]] bool quick_command(const wire::Command& c) const;
    struct SaslState;
    struct AppendState;
    /// A SEARCH or SORT with RETURN (UPDATE) (RFC 5267 §4.3): the client is told of changes to
    /// its result (ADDTO, REMOVEFROM) until CANCELUPDATE or the mailbox is closed.
    struct SearchContext {
        std::string tag;
        bool uid = false;                                // results in UIDs, else message numbers
        std::optional<std::vector<wire::SortKey>> sort;  // none: SEARCH, in mailbox order
        wire::SearchKey key;
        std::vector<std::uint32_t> uids;  // the result the client has, in order
    };

    Services services_;
    SessionConfig config_;
    std::string remote_ip_;
    State state_ = State::NotAuthenticated;
    std::string account_;
    // ENABLE'd extensions (RFC 5161) and CONDSTORE activation (RFC 7162 §3.1).
    bool imap4rev2_ = false;
    bool utf8_accept_ = false;
    bool condstore_ = false;
    bool qresync_ = false;
    bool compressed_ = false;
    bool condstore_before_ =
        false;  // condstore_ when the current command started  // COMPRESS=DEFLATE (RFC 4978) is on
    std::unique_ptr<MailboxView> view_;
    std::optional<std::vector<std::uint32_t>> saved_search_;  // SEARCHRES "$" (UIDs)
    std::vector<SearchContext> contexts_;
    // The view's (highest mod-sequence, message count) when contexts_ were last brought up to
    // date: unchanged, the results cannot have changed either.
    std::pair<std::uint64_t, std::uint32_t> contexts_stamp_{};
    std::unique_ptr<SaslState> sasl_;
    std::unique_ptr<AppendState> append_;
    std::string idle_tag_;
    std::chrono::milliseconds delay_{0};
    unsigned bad_commands_ = 0;
    bool quick_ = false;          // handle() runs on the I/O thread (see handle)
    bool quick_refused_ = false;  // ... and the command found it must not: After::Offload
    std::size_t run_start_ = 0;   // where the current command's output begins in `out`
    std::string* out_ = nullptr;  // the current command's `out`
    Spill spill_;
};

}  // namespace sov::imap
