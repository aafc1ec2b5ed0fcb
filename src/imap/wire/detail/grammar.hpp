#pragma once
// Per-command argument grammars (RFC 9051 §9 and the extension RFCs), private to the module.
// Each parse_* consumes its arguments from the cursor (starting at the SP after the command
// name) and returns false with the cursor's error set on a syntax error.
#include <span>
#include <string>
#include <string_view>

#include "imap/wire/ast.hpp"
#include "imap/wire/detail/cursor.hpp"
#include "imap/wire/limits.hpp"

namespace sov::imap::wire::detail {

struct GrammarResult {
    bool ok = false;
    Command command;  ///< tag set whenever it could be parsed, even on error
    std::string error_text;
    std::string error_code;  ///< response code atom, usually empty
};

/// Parses one complete framed command (without its final CRLF).
[[nodiscard]] GrammarResult parse_command_text(
    std::string_view text,
    std::span<const LiteralInfo> literals,
    const ParserLimits& limits,
    const ParserOptions& options
);

/// tag = 1*<any ASTRING-CHAR except "+">
bool parse_tag(Cursor& c, std::string& tag);

// search_parser.cpp
bool parse_search_return(Cursor& c, SearchReturn& ret);
/// "PARTIAL" SP partial-range, the cursor after "PARTIAL" (RFC 9394 §4).
bool parse_partial_range(Cursor& c, PartialRange& range);
/// search-key *(SP search-key) into an And key, then end of command.
bool parse_search_keys(Cursor& c, SearchKey& key);
bool parse_search(Cursor& c, SearchArgs& args);
bool parse_sort(Cursor& c, SortArgs& args);
bool parse_thread(Cursor& c, ThreadArgs& args);

// fetch_parser.cpp
bool parse_fetch(Cursor& c, FetchArgs& args);
/// section = "[" [section-spec] "]", as in BODY[...] (not BINARY's).
bool parse_section_spec(Cursor& c, Section& s);
bool parse_store(Cursor& c, StoreArgs& args);

// mailbox_commands.cpp
bool parse_select(Cursor& c, SelectArgs& args);
bool parse_create(Cursor& c, CreateArgs& args);
bool parse_list(Cursor& c, ListArgs& args, bool lsub);
bool parse_status(Cursor& c, StatusArgs& args);
bool parse_status_items(Cursor& c, std::vector<StatusItem>& items);

// append_parser.cpp
bool parse_append(Cursor& c, AppendArgs& args);

/// What a literal announced at the end of a partly received command is for.
enum class LiteralRole {
    Collected,     ///< an argument (mailbox name, search string ...): collect it
    Message,       ///< an APPEND message: stream it (RFC 9051 §6.3.12)
    CatenateText,  ///< a CATENATE TEXT part (RFC 4469 §5): stream it too
};

struct AppendProbe {
    LiteralRole role = LiteralRole::Collected;
    std::string tag;
    std::string mailbox;
    AppendMessage message;  ///< flags and date of the message the literal belongs to
    std::size_t index = 0;  ///< 0-based message number within the command (MULTIAPPEND)
};

/// Looks at a command received up to and including a literal marker (no CRLF yet) and says
/// whether that literal is an APPEND message. Never fails: anything odd is Collected and the
/// full parse reports the error later.
[[nodiscard]] AppendProbe probe_append(
    std::string_view text,
    std::span<const LiteralInfo> literals,
    const ParserLimits& limits,
    const ParserOptions& options
);

}  // namespace sov::imap::wire::detail
