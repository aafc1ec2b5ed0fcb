#pragma once
// Command line framing and verb recognition for the SMTP/LMTP server (RFC 5321 §4.1, RFC 2033).
// No allocation, no exceptions: the parser looks at bytes and returns a verdict (STYLE.md §3.11).
#include <cstddef>
#include <string_view>

namespace sov::smtp::wire {

/// Limits on command lines. Each says what happens when it is exceeded and why.
struct CommandLimits {
    /// Longest command line in octets including CRLF. RFC 5321 §4.5.3.1.4 requires at least
    /// 512; ESMTP parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY, ORCPT, AUTH) push real
    /// MAIL/RCPT lines past that, so we allow 2048 by default. Exceeding it is recoverable:
    /// "500 5.5.2 Line too long" and the rest of the line is discarded (§4.5.3.1.4 "500 Line too
    /// long"), since the peer may be a legitimate client with a long ORCPT.
    std::size_t max_line = 2048;
    /// Accept "\n" alone as a command terminator. Harmless for commands (nothing is relayed
    /// from the command line) and many scripts send it; SMTP smuggling concerns DATA only.
    bool allow_bare_lf = true;
};

enum class ParseStatus {
    Complete,     ///< `line` holds one command without its terminator
    NeedMore,     ///< no terminator yet and under the limit: read more, `consumed` is 0
    LineTooLong,  ///< over max_line: `consumed` bytes are part of the overlong line
    BadBytes,     ///< complete line containing NUL, or a bare CR: `consumed` covers it
};

struct ParseResult {
    ParseStatus status = ParseStatus::NeedMore;
    std::size_t consumed = 0;  ///< bytes of the input that belong to this line
    std::string_view line;     ///< view into the input, valid while the input is
    bool bare_lf = false;      ///< the line ended in "\n" without "\r"
    bool terminated = false;   ///< for LineTooLong: the consumed part includes the line end
};

/// Frames one command line at the start of `input` (RFC 5321 §2.3.8: lines end in CRLF).
/// For LineTooLong, `consumed` covers everything up to and including the line end if it is in
/// `input` (`terminated` true), else all of `input`; the caller then skips bytes with
/// `skip_to_line_end()` until the end is found.
[[nodiscard]] ParseResult parse_command_line(
    std::string_view input, const CommandLimits& limits
) noexcept;

/// While discarding an overlong line: how many bytes of `input` to drop, and whether the line
/// end was among them.
struct SkipResult {
    std::size_t consumed = 0;
    bool found_end = false;
};
[[nodiscard]] SkipResult skip_to_line_end(std::string_view input) noexcept;

/// Commands known to the server. `Lhlo` is RFC 2033; `Bdat` RFC 3030; `Starttls` RFC 3207;
/// `Auth` RFC 4954 (not yet handled by the engine: answered 502).
enum class Verb {
    Helo,
    Ehlo,
    Lhlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Expn,
    Help,
    Starttls,
    Auth,
    Unknown,
};

/// A command split into verb and argument text. Views into the line.
struct Command {
    Verb verb = Verb::Unknown;
    std::string_view verb_text;  ///< as sent
    std::string_view args;       ///< after the verb and one run of spaces; trailing spaces kept
    bool has_args = false;       ///< something other than spaces follows the verb
};

/// Splits a framed line into verb and arguments. Verbs are case-insensitive (RFC 5321 §2.4).
/// "MAIL FROM:" and "RCPT TO:" keep their "FROM:"/"TO:" in `args`; see parse_mail_args().
[[nodiscard]] Command parse_command(std::string_view line) noexcept;

/// Parses BDAT arguments (RFC 3030 §2: "BDAT" SP chunk-size [ SP end-marker ]).
struct BdatArgs {
    bool ok = false;
    std::size_t size = 0;
    bool last = false;
};
[[nodiscard]] BdatArgs parse_bdat_args(std::string_view args) noexcept;

}  // namespace sov::smtp::wire
