#pragma once
// A client connection without a socket: bytes go in through the real command parser, the
// session answers them as the driver (imap/server/connection.cpp) has it answer, and what a
// client would read comes out. For the engine's tests and its fuzz target; the driver adds
// TLS, deadlines, the hand-over to worker threads and IDLE's waiting.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "imap/engine/session.hpp"
#include "imap/wire/parser.hpp"

namespace sov::imap::detail {

class SessionHarness {
public:
    SessionHarness(
        Services services,
        SessionConfig config,
        std::string remote_ip = "192.0.2.1",
        wire::ParserLimits limits = {}
    );

    /// Feeds `input` and returns what the session wrote meanwhile. Continuation requests of
    /// synchronising literals are written as "+ Ready". After LOGOUT or a fatal parse error
    /// the rest of the input is not read (closed()).
    std::string send(std::string_view input);
    /// Session::idle_poll: what an IDLE session is told of the store's changes.
    std::string idle_poll();
    /// Session::set_spill, as the driver does: what it hands over goes to `spilled`.
    void collect_spills();

    [[nodiscard]] const std::string& greeting() const { return greeting_; }
    [[nodiscard]] bool closed() const { return closed_; }

    std::vector<std::string> spilled;
    /// Try Session::handle(..., quick) first, as the driver does.
    bool quick = false;
    /// The last command ran on the quick path.
    bool ran_quick = false;
    /// A command the quick path refused had written something (the driver would send it
    /// twice): always a bug.
    bool quick_refusal_wrote = false;

private:
    void run_command(std::string& out);

    Session session_;
    wire::CommandParser parser_;
    std::string greeting_;
    bool in_idle_ = false;
    bool closed_ = false;
};

}  // namespace sov::imap::detail
