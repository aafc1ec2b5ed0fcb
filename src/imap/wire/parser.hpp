#pragma once
// Sans-I/O IMAP command parser (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1 and the extensions of
// issue 3). No sockets, no Asio, no logging, no exceptions (only std::bad_alloc can escape).
//
// The driver owns the socket and an input buffer; the (future) engine owns the session state
// (not authenticated / authenticated / selected / logout). Each turn:
//
//   CommandParser parser{limits, options};
//   for (;;) {
//       Step s = parser.feed(buffer_view);     // never blocks
//       buffer.consume(s.consumed);            // always exactly that (STYLE.md §3.11 #3)
//       switch (s.status) {
//       case ParseStatus::NeedMore:      flush replies; read_some(); break;
//       case ParseStatus::Continue:      write "+ Ready\r\n" (RFC 9051 §7.5); break;
//       case ParseStatus::Command:       engine handles parser.command();
//                                        (IDLE / AUTHENTICATE: then parser.expect_line())
//       case ParseStatus::Line:          s.data is a raw line: "DONE" (RFC 2177) or a SASL
//                                        response (RFC 9051 §6.2.2); the engine may call
//                                        expect_line() again for the next round
//       case ParseStatus::AppendLiteral: parser.pending_append() describes the message; open a
//                                        store writer and parser.accept_literal(), or reply
//                                        (NO [TRYCREATE] ...) and parser.reject_literal()
//       case ParseStatus::LiteralData:   writer.write(s.data); if (s.last) writer.finish();
//                                        // the Command step for the APPEND follows; an Error
//                                        // step instead means: discard what was written
//       case ParseStatus::Error:         reply parser.error() (tagged if it has a tag, else
//                                        "* BAD"); the parser is already back in sync
//       case ParseStatus::Fatal:         "* BYE" + parser.error(), close
//       }
//   }
//
// Contract:
// - feed() returns at the first event. `consumed` is exact and may be 0 for events (Continue,
//   AppendLiteral, Error, zero-length LiteralData); unconsumed bytes must be given again with
//   more appended. NeedMore consumes everything it was given (the parser copies partial
//   commands into its own buffer), so the driver's buffer never grows beyond one read.
// - Commands own their data (ast.hpp); command() stays valid until the next feed().
//   LiteralData `data` views into the input of that feed() call; Line `data` views into the
//   parser and is valid until the next feed() (it is wiped then: SASL data).
// - Synchronising literals inside a command (mailbox names, passwords, search strings) are
//   collected up to ParserLimits::max_literal; the parser asks for "+" with Continue.
//   APPEND message literals (and CATENATE TEXT parts) never enter the parser's buffer: they
//   stream through LiteralData (Dovecot's LITERAL_SIZE idea, STYLE.md §3.6). For a
//   synchronising one, Continue comes after accept_literal().
// - Peer errors are steps, never C++ errors: overlong lines, oversized literals, NUL bytes,
//   8-bit atoms, unbalanced parentheses give Error with the command's tag and the parser skips
//   the rest of that command, including announced non-synchronising literals, so pipelined
//   commands after it are parsed normally. Only a non-synchronising literal larger than
//   max_discard is Fatal (RFC 7888 §4): reading it would cost unbounded time.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imap/wire/ast.hpp"
#include "imap/wire/detail/cursor.hpp"
#include "imap/wire/limits.hpp"

namespace sov::imap::wire {

enum class ParseStatus {
    NeedMore,       ///< read more input (after consuming `consumed`)
    Continue,       ///< send a continuation request "+ ..." then read (RFC 9051 §7.5)
    Command,        ///< command() is complete
    Line,           ///< a raw line asked for with expect_line(); in `data` without CRLF
    AppendLiteral,  ///< an APPEND message literal is announced: pending_append()
    LiteralData,    ///< `data` holds the next bytes of the accepted message literal
    Error,          ///< error(): reply with it; the command is over
    Fatal,          ///< error(): send BYE with it and close
};

/// The reply the engine should send for Error/Fatal (RFC 9051 §7.1).
struct ParseError {
    enum class Kind {
        Bad,
        No,
    };
    Kind kind = Kind::Bad;
    std::string tag;   ///< "" when the tag itself was unreadable: answer "* BAD"
    std::string code;  ///< response code atom without brackets ("TOOBIG"), or ""
    std::string text;  ///< human-readable text (no CR/LF)
};

/// Describes an announced APPEND message literal (ParseStatus::AppendLiteral).
struct PendingAppend {
    std::string tag;
    std::string mailbox;    ///< decoded like every mailbox name
    AppendMessage message;  ///< flags, internal date (CATENATE parts received so far)
    std::size_t index = 0;  ///< 0-based message number within the command (MULTIAPPEND)
    std::uint64_t size = 0;
    bool binary = false;         ///< literal8 (RFC 3516)
    bool sync = true;            ///< accept_literal() will be followed by Continue
    bool catenate_text = false;  ///< a CATENATE TEXT part rather than a whole message
};

struct Step {
    ParseStatus status = ParseStatus::NeedMore;
    std::size_t consumed = 0;
    std::string_view data;  ///< LiteralData, Line
    bool last = false;      ///< LiteralData: the literal ends with this chunk
};

class CommandParser {
public:
    explicit CommandParser(ParserLimits limits = {}, ParserOptions options = {});

    /// Processes input until the next event. See the contract above.
    [[nodiscard]] Step feed(std::string_view input);

    [[nodiscard]] const Command& command() const noexcept { return command_; }
    [[nodiscard]] Command& command() noexcept { return command_; }
    [[nodiscard]] const ParseError& error() const noexcept { return error_; }
    [[nodiscard]] const PendingAppend& pending_append() const noexcept { return append_; }

    /// After AppendLiteral: stream the literal (Continue first if it is synchronising).
    void accept_literal();
    /// After AppendLiteral: the engine replies itself (NO [TRYCREATE], NO [OVERQUOTA] ...).
    /// A synchronising literal is never sent by the client, so the command simply ends; a
    /// non-synchronising one is read and discarded with the rest of the command (or Fatal if
    /// larger than max_discard).
    void reject_literal();
    /// The next line is not a command but a raw line (IDLE's "DONE", RFC 2177 §3; SASL
    /// responses, RFC 9051 §6.2.2). Call right after the Command step of IDLE/AUTHENTICATE.
    void expect_line();

    /// ENABLE IMAP4rev2 / UTF8=ACCEPT switches mailbox names to UTF-8 for later commands.
    void set_options(const ParserOptions& options) { options_ = options; }
    [[nodiscard]] const ParserOptions& options() const noexcept { return options_; }
    [[nodiscard]] const ParserLimits& limits() const noexcept { return limits_; }

private:
    enum class State {
        Line,           // collecting command text (RFC 9051 §2.2.1: lines end in CRLF)
        Literal,        // collecting a literal's data into the command
        AwaitDecision,  // AppendLiteral reported, waiting for accept/reject
        Stream,         // passing a message literal through LiteralData
        Discard,        // dropping a refused non-synchronising literal
        SkipLine,       // dropping the rest of a failed command up to its line end
        RawLine,        // expect_line() was called
        Closed,         // after Fatal
    };

    std::optional<Step> on_line_end(std::size_t consumed);
    Step fail(std::size_t consumed, ParseError::Kind kind, std::string code, std::string text);
    Step fail_literal(
        std::size_t consumed, ParseError::Kind kind, bool sync, std::uint64_t size, std::string text
    );
    Step fatal(std::size_t consumed, std::string text);
    Step finish_skip_line(std::size_t consumed, std::string_view tail);
    void start_command();
    [[nodiscard]] std::string current_tag() const;

    ParserLimits limits_;
    ParserOptions options_;
    State state_ = State::Line;
    bool fresh_ = true;              // the next byte starts a new command
    bool pending_continue_ = false;  // report Continue at the next feed()
    std::string buf_;                // the command so far (text and collected literals)
    std::size_t segment_start_ = 0;  // where the current line starts in buf_
    std::size_t text_bytes_ = 0;     // non-literal bytes of the command (max_line)
    std::vector<detail::LiteralInfo> literals_;
    std::uint64_t remaining_ = 0;  // Literal, Stream, Discard
    std::string skip_tail_;        // end of the line being skipped (for literal markers)
    std::string raw_;              // RawLine result
    Command command_;
    ParseError error_;
    PendingAppend append_;
};

}  // namespace sov::imap::wire
