#pragma once
// mboxrd reading and writing (the format of Dovecot, mutt and most exporters; see
// https://www.loc.gov/preservation/digital/formats/fdd/fdd000385.shtml and RFC 4155).
//
// A message starts with a "From <sender> <asctime date>" line at the start of the file or after an
// empty line; its body lines matching /^>*From / carry one extra '>' (reversed on reading); the
// writer ends each message with an empty line, which the reader drops. Dovecot and mutt keep
// flags in headers that are hidden from the message: Status (R = \Seen, O = old), X-Status
// (A = \Answered, F = \Flagged, T = \Draft, D = \Deleted) and X-Keywords; X-UID, X-IMAPbase and
// Content-Length are bookkeeping, and a first message with an X-IMAP header is Dovecot's/UW-IMAP's
// pseudo message ("FOLDER INTERNAL DATA"), not mail.
//
// Dovecot (and mutt) do not quote: they write a Content-Length header and rely on it. So, as
// Dovecot reads, a message with a Content-Length header is not unquoted, and "From " lines within
// its Content-Length bytes of body do not start a new message; other messages are mboxrd.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace sov::exchange::mbox {

struct Meta {
    std::uint32_t flags = 0;  // store::flag::k*
    std::vector<std::string> keywords;
    std::uint32_t uid = 0;  // writer only: X-UID when non-zero (the reader leaves it 0)
};

/// "X-IMAPbase: <uidvalidity> <uidnext> <keywords>\n" for the first message of a file: Dovecot
/// keeps UIDs from X-UID only with it, and ignores X-Keywords names it does not list.
std::string imapbase_header(
    std::uint32_t uid_validity, std::uint32_t uid_next, const std::vector<std::string>& keywords
);

/// Parses the date of a "From " line (without its line end), e.g.
/// "From MAILER-DAEMON Wed Jul 14 00:44:25 2021" or with a numeric zone after the time or year.
/// A date without a zone is UTC (what Dovecot writes); one after the end of WallTime (2262) is
/// clamped to that end. nullopt if the line is not a "From " line.
std::optional<core::WallTime> parse_from_line(std::string_view line) noexcept;
/// "From MAILER-DAEMON <asctime in UTC>\n".
std::string format_from_line(core::WallTime date);

/// True for the names of the headers that carry mbox metadata (hidden from the message).
bool is_metadata_header(std::string_view name) noexcept;

/// Pushes messages found by the Parser.
class Sink {
public:
    virtual ~Sink() = default;
    /// A message starts; its bytes (LF or CRLF line ends as in the file) follow via on_data.
    virtual void on_message(core::WallTime internal_date, const Meta& meta) = 0;
    virtual void on_data(std::string_view bytes) = 0;
    virtual void on_end() = 0;
};

/// A streaming mboxrd reader: bytes in any chunking, messages out. Memory is bounded: a line is
/// handled in pieces of at most Limits::max_line bytes and the header section is buffered up to
/// Limits::max_header bytes (beyond that its metadata is no longer looked for).
class Parser {
public:
    static constexpr std::size_t kMaxLine = 64 * 1024;
    static constexpr std::size_t kMaxHeader = 1024 * 1024;
    /// Smaller limits let tests and the fuzzer reach the overflow paths with small inputs.
    struct Limits {
        std::size_t max_line = kMaxLine;  // at least 1
        std::size_t max_header = kMaxHeader;
    };

    explicit Parser(Sink& sink) : Parser(sink, Limits{}) {}
    Parser(Sink& sink, Limits limits) : sink_(sink), limits_(limits) {
        if (limits_.max_line == 0) {
            limits_.max_line = 1;
        }
    }

    void feed(std::string_view bytes);
    /// End of input: ends the last message.
    void finish();

    /// False if the input did not start with a "From " line (it is not an mbox file); the
    /// parser then ignores the rest.
    bool is_mbox() const { return state_ != State::NotMbox; }
    std::uint64_t pseudo_messages() const { return pseudo_; }

private:
    enum class State {
        Start,
        NotMbox,
        Headers,
        Body,
        Pseudo,
    };
    void line(std::string_view text, bool at_start);
    void end_headers();
    void end_message();

    Sink& sink_;
    Limits limits_;
    State state_ = State::Start;
    std::string line_;           // the current line, up to limits_.max_line
    bool line_at_start_ = true;  // line_ begins a line (not the rest of a long one)
    bool prev_blank_ = false;    // the previous complete line was empty
    std::string held_;           // an empty line held back: it may be the separator
    std::string headers_;
    core::WallTime date_;
    std::uint64_t pseudo_ = 0;
    bool counted_ = false;  // the message has Content-Length: no unquoting
    std::uint64_t content_length_ = 0;
    std::uint64_t body_seen_ = 0;
};

/// Writes one message as mboxrd: the "From " line, the header section without any metadata
/// headers it had, then X-UID/Status/X-Status/X-Keywords for `meta`, the body with /^>*From /
/// quoted, and the separating empty line. A message without a final line end is written with
/// one, and its header section is the one that message has (so it is where the reader finds
/// it). `message` should have LF ends. `first_headers` (imapbase_header() for a file's first
/// message) goes before the metadata.
std::string format_message(
    std::string_view message,
    core::WallTime date,
    const Meta& meta,
    std::string_view first_headers = {}
);

}  // namespace sov::exchange::mbox
