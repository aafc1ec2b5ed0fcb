#pragma once
// Maildir file names and Dovecot's per-folder metadata files, as pure functions (no I/O).
//
// A file name is "<unique>[,S=<size>][,W=<vsize>][:2,<info>]" (cr.yp.to/proprio/maildir.html;
// Dovecot adds S= and W=, wiki "MailboxFormat/Maildir"). Info letters: D draft, F flagged,
// R replied (\Answered), S seen, T trashed (\Deleted), in ASCII order; lowercase a..z are keywords
// whose names are line "<n> <name>" (a = 0) of the folder's `dovecot-keywords`.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sov::exchange::maildir {

struct FileName {
    std::string base;             // the name without ":2,<info>" (the key of dovecot-uidlist)
    std::uint32_t flags = 0;      // store::flag::k*
    std::string keyword_letters;  // 'a'..'z' present in the info, sorted, unique
};

/// Parses a cur/ or new/ file name. Unknown info letters are ignored (Maildir allows them).
FileName parse_file_name(std::string_view name);

/// ":2," followed by the flag letters in ASCII order and then the keyword letters (sorted).
std::string info_suffix(std::uint32_t flags, std::string_view keyword_letters);

/// Keyword names by letter index (0 = 'a'); an empty entry is an undefined letter.
using KeywordTable = std::array<std::string, 26>;
KeywordTable parse_keywords_file(std::string_view text);
/// `names[i]` gets letter 'a' + i (at most 26 names).
std::string format_keywords_file(const std::vector<std::string>& names);

/// dovecot-uidlist, version 1 ("1 <uidvalidity> <nextuid>") or 3 ("3 V<uidvalidity> N<nextuid>
/// ...", lines "<uid> [<ext>...] :<base>").
struct UidList {
    std::uint32_t uid_validity = 0;
    std::uint32_t next_uid = 0;
    std::vector<std::pair<std::uint32_t, std::string>> entries;  // (uid, base) in file order
};
std::optional<UidList> parse_uidlist(std::string_view text);
/// Version 3, entries must be in ascending UID order.
std::string format_uidlist(const UidList& list);

/// Dovecot's W= is the size with CRLF line ends; for a file with LF ends that is size + LF count.
std::string unique_name(
    std::int64_t seconds, std::uint64_t counter, long pid, std::uint64_t size, std::uint64_t vsize
);

}  // namespace sov::exchange::maildir
