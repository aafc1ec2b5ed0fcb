#pragma once
// Limits and session options of the IMAP command parser. Recoverable limits end the command
// with a tagged BAD or NO and the parser skips the rest of it, staying in sync; only a
// non-synchronising literal too large to read and drop is fatal (BYE and close).
#include <cstddef>
#include <cstdint>

namespace sov::imap::wire {

struct ParserLimits {
    /// Command text in octets, excluding literal data but including every CRLF. RFC 9051 §4
    /// sets no maximum; RFC 7162 §4 asks servers to accept at least 8192 because QRESYNC and
    /// CONDSTORE sequence sets get long. Dovecot allows 64 KiB. Exceeding it: tagged BAD,
    /// the rest of the line is skipped (recoverable: a client with a huge UID set is not
    /// hostile).
    std::size_t max_line = 64 * 1024;
    /// One literal collected into the command (mailbox names, passwords, search strings:
    /// everything but APPEND messages). Over it: a synchronising literal gets BAD [TOOBIG]
    /// before the client sends it; a non-synchronising one is read and dropped, then BAD.
    std::uint64_t max_literal = 64 * 1024;
    /// All collected bytes of one command (text and collected literals): bounds the memory a
    /// client can pin with many literals of allowed size.
    std::size_t max_command = 1024 * 1024;
    /// Largest APPEND message, advertised as APPENDLIMIT (RFC 7889). A larger one gets
    /// NO [TOOBIG] (RFC 7889 §4, RFC 4469 §4) without asking the engine.
    std::uint64_t max_append = 50ULL * 1024 * 1024;
    /// Largest refused non-synchronising literal the parser reads and throws away to stay in
    /// sync (RFC 7888 §4 choice 1). Beyond it, reading would let a client make us swallow
    /// gigabytes: the parser reports Fatal and the driver sends BYE [TOOBIG] (choice 2).
    std::uint64_t max_discard = 50ULL * 1024 * 1024;
    /// Parenthesis nesting (search keys, BODY[HEADER.FIELDS (...)], QRESYNC, lists). Each level
    /// costs stack in the recursive descent; 32 is far beyond any real client.
    unsigned max_depth = 32;
    /// Items in one command: list elements, search keys, sequence ranges, fetch attributes.
    /// Bounds the AST size independently of max_line (e.g. "1,1,1,..." is 2 bytes per range).
    std::size_t max_args = 20000;
};

struct ParserOptions {
    /// Mailbox names are UTF-8 (IMAP4rev2 RFC 9051 §5.1, or UTF8=ACCEPT RFC 6855 enabled),
    /// else they are decoded from modified UTF-7 (RFC 3501 §5.1.3).
    bool utf8 = false;
    /// LITERAL- is advertised instead of LITERAL+ (RFC 7888 §5): non-synchronising literals
    /// over 4096 octets are refused.
    bool literal_minus = false;
};

/// RFC 7888 §5: the LITERAL- ceiling for non-synchronising literals.
inline constexpr std::uint64_t kLiteralMinusMax = 4096;

}  // namespace sov::imap::wire
