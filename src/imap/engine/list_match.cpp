#include "imap/engine/list_match.hpp"

#include <vector>

namespace sov::imap {

std::string list_pattern(std::string_view reference, std::string_view pattern, char separator) {
    std::string out(reference);
    if (!out.empty() && out.back() == separator && !pattern.empty() && pattern[0] == separator) {
        out.pop_back();
    }
    out.append(pattern);
    return out;
}

namespace {

bool is_inbox_prefix(std::string_view s) {
    if (s.size() < 5) {
        return false;
    }
    static constexpr std::string_view kInbox = "INBOX";
    for (std::size_t i = 0; i < 5; ++i) {
        if ((s[i] & ~0x20) != kInbox[i]) {
            return false;
        }
    }
    return s.size() == 5 || s[5] == '/';
}

// Dynamic programming over (pattern position, name position): O(|p|·|n|) whatever the
// wildcards, so a hostile pattern like "*%*%*%..." cannot make matching exponential.
bool match_from(std::string_view p, std::string_view n, char sep) {
    std::vector<char> next(n.size() + 1, 0);  // row for pattern position i+1
    std::vector<char> cur(n.size() + 1, 0);
    next[n.size()] = 1;  // empty pattern matches the empty rest
    for (std::size_t i = p.size(); i-- > 0;) {
        const char c = p[i];
        cur[n.size()] = (c == '*' || c == '%') ? next[n.size()] : 0;
        for (std::size_t j = n.size(); j-- > 0;) {
            if (c == '*') {
                cur[j] = static_cast<char>(next[j] || cur[j + 1]);
            } else if (c == '%') {
                cur[j] = static_cast<char>(next[j] || (n[j] != sep && cur[j + 1]));
            } else {
                cur[j] = static_cast<char>(n[j] == c && next[j + 1]);
            }
        }
        std::swap(cur, next);
    }
    return next[0] != 0;
}

}  // namespace

bool list_match(std::string_view pattern, std::string_view name, char separator) {
    std::string p(pattern);
    if (is_inbox_prefix(p)) {
        p.replace(0, 5, "INBOX");
    }
    return match_from(p, name, separator);
}

}  // namespace sov::imap
