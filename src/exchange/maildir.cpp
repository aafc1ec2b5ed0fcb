#include "exchange/maildir.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "store/store.hpp"

namespace sov::exchange::maildir {
namespace {

struct FlagLetter {
    char letter;
    std::uint32_t flag;
};
// In ASCII order, as the Maildir specification requires of writers.
constexpr std::array kFlagLetters = {
    FlagLetter{'D', store::flag::kDraft},
    FlagLetter{'F', store::flag::kFlagged},
    FlagLetter{'R', store::flag::kAnswered},
    FlagLetter{'S', store::flag::kSeen},
    FlagLetter{'T', store::flag::kDeleted},
};

bool parse_u32(std::string_view s, std::uint32_t& out) {
    const auto* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, out);
    return ec == std::errc{} && ptr == end && !s.empty();
}

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') {
            ++i;
        }
        const auto start = i;
        while (i < line.size() && line[i] != ' ') {
            ++i;
        }
        if (i > start) {
            out.push_back(line.substr(start, i - start));
        }
    }
    return out;
}

template <class F>
void for_each_line(std::string_view text, F&& f) {
    while (!text.empty()) {
        const auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        f(line);
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
}

}  // namespace

FileName parse_file_name(std::string_view name) {
    FileName out;
    // Dovecot's maildir_info_separator defaults to ':'; only ":2," carries flags.
    const auto colon = name.find(':');
    out.base = std::string(name.substr(0, colon));
    if (colon == std::string_view::npos) {
        return out;
    }
    const auto info = name.substr(colon + 1);
    if (info.substr(0, 2) != "2,") {
        return out;
    }
    for (char c : info.substr(2)) {
        for (const auto& fl : kFlagLetters) {
            if (c == fl.letter) {
                out.flags |= fl.flag;
            }
        }
        if (c >= 'a' && c <= 'z' && out.keyword_letters.find(c) == std::string::npos) {
            out.keyword_letters += c;
        }
    }
    std::sort(out.keyword_letters.begin(), out.keyword_letters.end());
    return out;
}

std::string info_suffix(std::uint32_t flags, std::string_view keyword_letters) {
    std::string out = ":2,";
    for (const auto& fl : kFlagLetters) {
        if ((flags & fl.flag) != 0) {
            out += fl.letter;
        }
    }
    std::string letters(keyword_letters);
    std::sort(letters.begin(), letters.end());
    letters.erase(std::unique(letters.begin(), letters.end()), letters.end());
    return out + letters;
}

KeywordTable parse_keywords_file(std::string_view text) {
    KeywordTable table;
    for_each_line(text, [&](std::string_view line) {
        const auto sp = line.find(' ');
        std::uint32_t index = 0;
        if (sp == std::string_view::npos || !parse_u32(line.substr(0, sp), index) || index >= 26) {
            return;
        }
        table[index] = std::string(line.substr(sp + 1));
    });
    return table;
}

std::string format_keywords_file(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < 26; ++i) {
        out += fmt::format("{} {}\n", i, names[i]);
    }
    return out;
}

std::optional<UidList> parse_uidlist(std::string_view text) {
    UidList list;
    bool header = true;
    bool ok = true;
    int version = 0;
    for_each_line(text, [&](std::string_view line) {
        if (!ok) {
            return;
        }
        if (header) {
            header = false;
            const auto w = words(line);
            if (w.empty() || !(w[0] == "1" || w[0] == "3")) {
                ok = false;
                return;
            }
            version = w[0] == "1" ? 1 : 3;
            if (version == 1) {
                ok = w.size() >= 3 && parse_u32(w[1], list.uid_validity) &&
                     parse_u32(w[2], list.next_uid);
                return;
            }
            for (std::size_t i = 1; i < w.size(); ++i) {
                if (w[i].front() == 'V') {
                    ok = ok && parse_u32(w[i].substr(1), list.uid_validity);
                } else if (w[i].front() == 'N') {
                    ok = ok && parse_u32(w[i].substr(1), list.next_uid);
                }
            }
            return;
        }
        if (line.empty()) {
            return;
        }
        std::uint32_t uid = 0;
        const auto sp = line.find(' ');
        if (sp == std::string_view::npos || !parse_u32(line.substr(0, sp), uid)) {
            return;  // a damaged line: Dovecot would rebuild; we just lose its order
        }
        auto rest = line.substr(sp + 1);
        if (version == 3) {
            // "<uid> [<key><value> ...] :<base>": the base follows the first " :" or leading ':'.
            // "<uid> " with nothing after it (found by exchange_maildir_fuzz: front() of empty).
            if (rest.empty()) {
                return;
            }
            const auto colon = rest.front() == ':' ? 0 : rest.find(" :");
            if (colon == std::string_view::npos) {
                return;
            }
            rest = rest.substr(colon == 0 ? 1 : colon + 2);
        }
        if (!rest.empty()) {
            list.entries.emplace_back(uid, std::string(rest));
        }
    });
    if (!ok || header) {
        return std::nullopt;
    }
    return list;
}

std::string format_uidlist(const UidList& list) {
    std::string out = fmt::format("3 V{} N{}\n", list.uid_validity, list.next_uid);
    for (const auto& [uid, base] : list.entries) {
        out += fmt::format("{} :{}\n", uid, base);
    }
    return out;
}

std::string unique_name(
    std::int64_t seconds, std::uint64_t counter, long pid, std::uint64_t size, std::uint64_t vsize
) {
    // "<time>.M<n>P<pid>.<host>": the counter makes names unique within one export; the host part
    // is fixed so a file name says nothing about where it was made.
    return fmt::format("{}.M{}P{}.sovereign,S={},W={}", seconds, counter, pid, size, vsize);
}

}  // namespace sov::exchange::maildir
