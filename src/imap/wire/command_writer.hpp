#pragma once
// Prints a Command in canonical IMAP syntax (upper-case keywords, one space between tokens,
// strings through ResponseWriter's quoting rules). Used by the tests and fuzzer as a readable,
// comparable form of the AST (parse → format → parse must be a fixed point), and usable by a
// client. Streamed literals (APPEND, CATENATE TEXT) have no data here: they print as the bare
// marker "{n}" / "~{n}" without CRLF.
#include <string>

#include "imap/wire/ast.hpp"

namespace sov::imap::wire {

/// `utf8`: mailbox names in UTF-8 (else modified UTF-7), as ParserOptions::utf8.
[[nodiscard]] std::string format_command(const Command& command, bool utf8 = false);

[[nodiscard]] std::string format_search_key(const SearchKey& key, bool utf8 = false);
[[nodiscard]] std::string format_fetch_att(const FetchAtt& att);

}  // namespace sov::imap::wire
