#include "imap/engine/flags.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "store/store.hpp"

namespace sov::imap {

namespace {

constexpr std::array<std::pair<std::string_view, std::uint32_t>, 5> kSystemFlags{{
    {"\\Seen", store::flag::kSeen},
    {"\\Answered", store::flag::kAnswered},
    {"\\Flagged", store::flag::kFlagged},
    {"\\Deleted", store::flag::kDeleted},
    {"\\Draft", store::flag::kDraft},
}};

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return (x | 0x20) == (y | 0x20);
    });
}

// Opens the list and writes its system flags, \Recent included, before the keywords.
void begin_flags(wire::ResponseWriter& w, std::uint32_t flags, bool recent) {
    w.begin_list();
    for (const auto& [name, bit] : kSystemFlags) {
        if ((flags & bit) != 0) {
            w.atom(name);
        }
    }
    if (recent) {
        w.atom("\\Recent");
    }
}

}  // namespace

void write_flags(
    wire::ResponseWriter& w,
    std::uint32_t flags,
    const std::vector<std::string>& keywords,
    bool recent
) {
    begin_flags(w, flags, recent);
    for (const auto& k : keywords) {
        w.atom(k);
    }
    w.end_list();
}

void write_flags(
    wire::ResponseWriter& w, std::uint32_t flags, std::string_view keywords, bool recent
) {
    begin_flags(w, flags, recent);
    for_each_keyword(keywords, [&w](std::string_view k) { w.atom(k); });
    w.end_list();
}

ParsedFlags parse_flags(const std::vector<std::string>& list) {
    ParsedFlags parsed;
    for (const auto& f : list) {
        if (!f.empty() && f[0] == '\\') {
            if (iequals(f, "\\Recent")) {
                continue;
            }
            const auto it = std::find_if(kSystemFlags.begin(), kSystemFlags.end(), [&](auto& s) {
                return iequals(s.first, f);
            });
            if (it == kSystemFlags.end()) {
                parsed.ok = false;
                continue;
            }
            parsed.flags |= it->second;
            continue;
        }
        parsed.keywords.push_back(f);
    }
    std::sort(parsed.keywords.begin(), parsed.keywords.end());
    parsed.keywords.erase(
        std::unique(parsed.keywords.begin(), parsed.keywords.end()), parsed.keywords.end()
    );
    return parsed;
}

void write_flag_list(wire::ResponseWriter& w, const std::vector<std::string>& keywords, bool perm) {
    w.begin_list();
    for (const auto& [name, bit] : kSystemFlags) {
        w.atom(name);
    }
    for (const auto& k : keywords) {
        w.atom(k);
    }
    if (perm) {
        w.atom("\\*");  // new keywords may be created (RFC 9051 §7.1 PERMANENTFLAGS)
    }
    w.end_list();
}

}  // namespace sov::imap
