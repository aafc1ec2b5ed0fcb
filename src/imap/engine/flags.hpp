#pragma once
// IMAP flag lists (RFC 9051 §2.3.2) ↔ the store's flag bits and keyword list.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "imap/wire/response.hpp"

namespace sov::imap {

/// "(\Seen \Answered $Label)" — \Recent added when `recent`.
void write_flags(
    wire::ResponseWriter& w,
    std::uint32_t flags,
    const std::vector<std::string>& keywords,
    bool recent
);

/// Calls f(keyword) for each keyword of a list as the store keeps it: one string, separated by
/// single spaces (store::MessageRow::keywords).
template <class F>
void for_each_keyword(std::string_view keywords, F&& f) {
    while (!keywords.empty()) {
        const auto sp = keywords.find(' ');
        if (sp != 0) {
            f(keywords.substr(0, sp));
        }
        if (sp == std::string_view::npos) {
            break;
        }
        keywords.remove_prefix(sp + 1);
    }
}

/// The same with the keywords as the store keeps them (for_each_keyword), so that no list is
/// built per message.
void write_flags(
    wire::ResponseWriter& w, std::uint32_t flags, std::string_view keywords, bool recent
);

struct ParsedFlags {
    std::uint32_t flags = 0;
    std::vector<std::string> keywords;  // sorted, unique
    bool ok = true;                     // false: an unknown \System flag (BAD)
};
/// System flags case-insensitively; \Recent is ignored (it cannot be set, RFC 3501 §2.3.2);
/// other "\X" flags are errors; keywords keep their spelling.
ParsedFlags parse_flags(const std::vector<std::string>& list);

/// The FLAGS and PERMANENTFLAGS lists of SELECT: the system flags plus the keywords in use.
void write_flag_list(wire::ResponseWriter& w, const std::vector<std::string>& keywords, bool perm);

}  // namespace sov::imap
