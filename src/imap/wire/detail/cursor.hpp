#pragma once
// Recursive-descent helpers over one framed command (private to the imap module). The text is
// the command as received, literal data included, except for streamed literals whose bytes went
// to the driver; `literals` says where each literal's data starts and whether it is present.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "imap/wire/ast.hpp"
#include "imap/wire/limits.hpp"

namespace sov::imap::wire::detail {

struct LiteralInfo {
    std::size_t offset = 0;  ///< where the data starts in the command text (after the CRLF)
    std::uint64_t size = 0;
    bool streamed = false;  ///< data not in the text (sent to the driver)
    bool binary = false;    ///< literal8
};

class Cursor {
public:
    Cursor(
        std::string_view text,
        std::span<const LiteralInfo> literals,
        const ParserLimits& limits,
        const ParserOptions& options
    ) noexcept
        : text_(text), literals_(literals), limits_(limits), options_(options) {}

    [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
    [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
    [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
    /// What is left to parse, to look ahead.
    [[nodiscard]] std::string_view rest() const noexcept {
        return at_end() ? std::string_view{} : text_.substr(pos_);
    }
    [[nodiscard]] const ParserOptions& options() const noexcept { return options_; }
    [[nodiscard]] bool failed() const noexcept { return failed_; }
    /// A mailbox name was not valid modified UTF-7 and was kept as sent.
    void note_bad_mailbox_encoding() noexcept { bad_mailbox_encoding_ = true; }
    [[nodiscard]] bool bad_mailbox_encoding() const noexcept { return bad_mailbox_encoding_; }
    [[nodiscard]] const std::string& error_text() const noexcept { return error_; }
    [[nodiscard]] const std::string& error_code() const noexcept { return code_; }

    /// Records the first error; always returns false so callers can `return fail(...)`.
    bool fail(std::string_view text, std::string_view code = {});

    bool eat(char c) noexcept;
    bool expect(char c);
    bool sp() { return expect(' '); }
    /// Consumes `word` (case-insensitive) if it is next and not followed by an atom char.
    bool keyword(std::string_view word) noexcept;
    /// 1*ATOM-CHAR (may be empty: caller decides). `extra` also accepts resp-specials "]"
    /// (astring) or list-wildcards (list-mailbox).
    std::string_view atom() noexcept;
    std::string_view astring_atom() noexcept;
    /// Upper-cased atom; fails if empty.
    bool atom_upper(std::string& out, std::string_view what);

    bool number(std::uint32_t& out);       ///< number (32-bit, RFC 9051 §9)
    bool nz_number(std::uint32_t& out);    ///< nz-number
    bool number64(std::uint64_t& out);     ///< number64 (63-bit, RFC 9051 §9)
    bool nz_number64(std::uint64_t& out);  ///< mod-sequence-value etc.

    /// string = quoted / literal; the literal must be collected (not streamed).
    bool string(std::string& out);
    bool astring(std::string& out);
    bool nstring(std::optional<std::string>& out);
    /// mailbox = "INBOX" / astring, decoded to UTF-8 (see ParserOptions::utf8).
    bool mailbox(std::string& out);
    /// list-mailbox = 1*list-char / string, decoded like mailbox (RFC 9051 §9).
    bool list_mailbox(std::string& out);
    /// flag, flag-list: "(" [flag *(SP flag)] ")"
    bool flag(std::string& out, bool allow_recent = false);
    bool flag_list(std::vector<std::string>& out);
    bool sequence_set(SequenceSet& out);
    bool date(Date& out);  ///< date = date-text / DQUOTE date-text DQUOTE
    bool date_time(DateTime& out);

    /// A literal at the cursor: "{" number64 ["+"] "}" CRLF, or "~{...}" if binary_ok.
    /// Returns its info (data not consumed when collected? it is consumed in both cases).
    bool streamed_literal(StreamedLiteral& out, bool binary_ok);
    /// True if what remains is exactly one literal marker with no CRLF after it: the framer
    /// probes commands up to a literal it has not yet decided about (see parser.cpp).
    [[nodiscard]] bool at_pending_literal() const noexcept;

    bool open_paren();   ///< "(" with the depth limit
    bool close_paren();  ///< ")"
    bool count_arg();    ///< one more AST element (limits.max_args)

private:
    bool quoted(std::string& out);
    bool literal_marker(std::uint64_t& size, bool& sync, bool& binary);
    const LiteralInfo* find_literal(std::size_t offset) const noexcept;

    std::string_view text_;
    std::span<const LiteralInfo> literals_;
    const ParserLimits& limits_;
    const ParserOptions& options_;
    std::size_t pos_ = 0;
    unsigned depth_ = 0;
    std::size_t args_ = 0;
    bool failed_ = false;
    bool bad_mailbox_encoding_ = false;
    std::string error_;
    std::string code_;
};

}  // namespace sov::imap::wire::detail
