#pragma once
// IMAP response writer (RFC 9051 §7): status responses (tagged, untagged, continuation) and a
// token builder for data responses that chooses atom / quoted string / literal for each string.
// It appends to a caller-owned std::string; no I/O, no exceptions (except std::bad_alloc).
//
//   ResponseWriter w(out, {.utf8 = session_utf8});
//   w.begin_untagged().number(12).atom("FETCH").begin_list()
//       .atom("UID").number(4827).atom("BODY[HEADER.FIELDS (SUBJECT)]").string(hdr)
//       .end_list().end();                  // * 12 FETCH (UID 4827 BODY[...] "...")\r\n
//   w.tagged("a1", Condition::Ok, "", "FETCH completed");
//
// Quoting uses the character classes of chars.hpp, the same ones the command parser reads
// with, so a string written here reads back unchanged (tested in response_test.cpp).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "imap/wire/ast.hpp"
#include "imap/wire/parser.hpp"

namespace sov::imap::wire {

/// resp-cond-state / resp-cond-bye / greeting conditions (RFC 9051 §7.1).
enum class Condition {
    Ok,
    No,
    Bad,
    Preauth,
    Bye,
};

struct WriterOptions {
    /// UTF-8 may appear in quoted strings and mailbox names are written in UTF-8 (IMAP4rev2,
    /// UTF8=ACCEPT RFC 6855 §3); otherwise 8-bit strings become literals and mailbox names
    /// modified UTF-7.
    bool utf8 = false;
    /// Longest string written quoted; longer ones become literals (cheaper to parse for the
    /// client, and no escaping pass).
    std::size_t max_quoted = 1024;
    /// The session has enabled IMAP4rev2 (RFC 9051 §6.3.1), whose grammar differs from
    /// IMAP4rev1's in FETCH data: MESSAGE/GLOBAL is body-type-msg only in IMAP4rev2.
    bool imap4rev2 = false;
};

class ResponseWriter {
public:
    explicit ResponseWriter(std::string& out, WriterOptions options = {}) noexcept
        : out_(out), options_(options) {}

    /// "tag OK [CODE] text\r\n". `code` is written inside brackets verbatim ("UIDNEXT 5");
    /// CR/LF in `text` become spaces.
    void tagged(
        std::string_view tag, Condition condition, std::string_view code, std::string_view text
    );
    /// "* OK [CODE] text\r\n" (also "* BYE ...", "* PREAUTH ...").
    void untagged(Condition condition, std::string_view code, std::string_view text);
    /// "+ text\r\n" (RFC 9051 §7.5); `text` may be empty ("+ \r\n" is what Dovecot sends for
    /// SASL challenges are base64 and go here too).
    void continuation(std::string_view text);
    /// The reply for a parser Error (tagged BAD/NO, or "* BAD" without a tag) or, with
    /// `fatal`, "* BYE [TOOBIG] ...".
    void parse_error(const ParseError& error, bool fatal);

    // Data response builder. Tokens are separated by single spaces automatically, except
    // right after "(" and before ")".
    ResponseWriter& begin_untagged();
    ResponseWriter& begin_continuation();          ///< "+ " then tokens (e.g. base64 challenge)
    ResponseWriter& atom(std::string_view token);  ///< verbatim: caller vouches it is an atom
    ResponseWriter& number(std::uint64_t n);
    ResponseWriter& string(std::string_view s);   ///< quoted if safe, else literal
    ResponseWriter& astring(std::string_view s);  ///< atom if all ASTRING-CHAR, else string
    ResponseWriter& nstring(std::optional<std::string_view> s);
    ResponseWriter& nil();
    ResponseWriter& literal(std::string_view s);   ///< "{n}\r\n" + bytes
    ResponseWriter& literal8(std::string_view s);  ///< "~{n}\r\n" + bytes (RFC 3516 §4.3)
    ResponseWriter& mailbox(std::string_view utf8_name);
    ResponseWriter& sequence_set(const SequenceSet& set);
    ResponseWriter& date_time(const DateTime& dt);  ///< quoted RFC 9051 date-time
    ResponseWriter& flag_list(std::span<const std::string> flags);
    ResponseWriter& begin_list();
    ResponseWriter& end_list();
    /// Appends without a separator (e.g. "<0>" after "BODY[]"). Caller vouches.
    ResponseWriter& raw(std::string_view bytes);
    /// Appends text another writer (same options) rendered as one or more tokens, separated
    /// like a token (the FETCH render cache). Caller vouches.
    ResponseWriter& rendered(std::string_view tokens);
    void end();  ///< "\r\n"
    /// Makes room for `more` bytes ahead, so a large literal and the tokens after it make the
    /// reply grow (and move) once, not once for the literal and again for its ")\r\n".
    void reserve(std::size_t more);

    [[nodiscard]] const WriterOptions& options() const noexcept { return options_; }

    /// How string() would write `s`.
    enum class StringForm {
        Quoted,
        Literal,
    };
    [[nodiscard]] StringForm string_form(std::string_view s) const noexcept;

private:
    void separate();
    void text(std::string_view t, Condition c);

    std::string& out_;
    WriterOptions options_;
    bool need_space_ = false;
};

[[nodiscard]] std::string_view condition_name(Condition c) noexcept;

}  // namespace sov::imap::wire
