// Fuzzes the pure parsers of Maildir import: file names (":2,<info>", S=/W= written by
// unique_name), dovecot-keywords, dovecot-uidlist, Dovecot `subscriptions` and Maildir++ folder
// directory names. Every parser sees every input; properties checked:
// - parse_file_name: the base is the name up to ':'; flags are known bits; keyword letters are
//   sorted, unique and a..z; base + info_suffix(flags, letters) parses to the same result;
// - keywords/uidlist: what format_* writes for the parsed data parses back to the same data;
// - subscriptions: every name has acceptable UTF-8 levels, and format_subscriptions of the names
//   parses back to them;
// - Maildir++ names and levels: decode → encode → decode is stable, and encoded levels are safe
//   path parts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "exchange/maildir.hpp"
#include "exchange/names.hpp"
#include "fuzz_check.hpp"
#include "mime/mutf7.hpp"
#include "store/store.hpp"

namespace {

namespace maildir = sov::exchange::maildir;
namespace ex = sov::exchange;

using sov::fuzz::check;

// format_* end lines with '\n' and the parsers drop one '\r' before it, so a value that itself
// ends with '\r' cannot survive a round trip (and is never written by Dovecot).
bool ends_with_cr(std::string_view s) {
    return !s.empty() && s.back() == '\r';
}

void fuzz_file_name(std::string_view input) {
    const auto parsed = maildir::parse_file_name(input);
    check(parsed.base == input.substr(0, input.find(':')));
    check((parsed.flags & ~sov::store::flag::kAll) == 0);
    check(std::is_sorted(parsed.keyword_letters.begin(), parsed.keyword_letters.end()));
    check(
        std::adjacent_find(parsed.keyword_letters.begin(), parsed.keyword_letters.end()) ==
        parsed.keyword_letters.end()
    );
    check(std::all_of(parsed.keyword_letters.begin(), parsed.keyword_letters.end(), [](char c) {
        return c >= 'a' && c <= 'z';
    }));
    const auto again = maildir::parse_file_name(
        parsed.base + maildir::info_suffix(parsed.flags, parsed.keyword_letters)
    );
    check(again.base == parsed.base);
    check(again.flags == parsed.flags);
    check(again.keyword_letters == parsed.keyword_letters);
}

void fuzz_unique_name(std::string_view input) {
    // Numbers for unique_name from the input bytes: its names must parse to themselves.
    std::uint64_t v[5] = {};
    for (std::size_t i = 0; i < input.size() && i < 40; ++i) {
        v[i / 8] = (v[i / 8] << 8) | static_cast<unsigned char>(input[i]);
    }
    const auto name = maildir::unique_name(
        static_cast<std::int64_t>(v[0]), v[1], static_cast<long>(v[2]), v[3], v[4]
    );
    const std::uint32_t flags = static_cast<std::uint32_t>(v[4]) & sov::store::flag::kAll;
    const auto parsed = maildir::parse_file_name(name + maildir::info_suffix(flags, "zab"));
    check(parsed.base == name);
    check(parsed.flags == flags);
    check(parsed.keyword_letters == "abz");
}

void fuzz_keywords(std::string_view input) {
    const auto table = maildir::parse_keywords_file(input);
    std::vector<std::string> names;
    for (const auto& name : table) {
        if (name.empty() || ends_with_cr(name) || name.find('\n') != std::string::npos) {
            break;
        }
        names.push_back(name);
    }
    const auto again = maildir::parse_keywords_file(maildir::format_keywords_file(names));
    for (std::size_t i = 0; i < again.size(); ++i) {
        check(again[i] == (i < names.size() ? names[i] : std::string{}));
    }
}

void fuzz_uidlist(std::string_view input) {
    const auto list = maildir::parse_uidlist(input);
    if (!list) {
        return;
    }
    maildir::UidList kept = *list;
    kept.entries.clear();
    for (const auto& [uid, base] : list->entries) {
        check(!base.empty() && base.find('\n') == std::string::npos);
        if (!ends_with_cr(base)) {
            kept.entries.emplace_back(uid, base);
        }
    }
    const auto again = maildir::parse_uidlist(maildir::format_uidlist(kept));
    check(again.has_value());
    check(again->uid_validity == kept.uid_validity && again->next_uid == kept.next_uid);
    check(again->entries == kept.entries);
}

void check_level(std::string_view level) {
    check(!level.empty() && level != "." && level != "..");
    check(std::none_of(level.begin(), level.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f || c == '/';
    }));
    check(sov::mime::mutf7_encode(level).has_value());  // valid UTF-8
}

void fuzz_subscriptions(std::string_view input) {
    const auto names = ex::parse_subscriptions(input);
    for (const auto& name : names) {
        for (const auto& level : ex::split_levels(name)) {
            check_level(level);
        }
    }
    check(ex::parse_subscriptions(ex::format_subscriptions(names)) == names);
}

void fuzz_folder_names(std::string_view input) {
    if (auto name = ex::maildirpp_folder_name(input)) {
        for (const auto& level : ex::split_levels(*name)) {
            check_level(level);
        }
        const auto dir = ex::maildirpp_dir_name(*name);
        check(dir.has_value());
        const auto back = ex::maildirpp_folder_name(*dir);
        check(back && *back == *name);
        (void)ex::map_special_use_name(*name);
    }
    if (auto level = ex::decode_level(input)) {
        check_level(*level);
        const auto encoded = ex::encode_level(*level);
        check(encoded.has_value());
        check(!encoded->empty() && encoded->front() != '.');
        check(encoded->find_first_of("/.") == std::string::npos);
        const auto back = ex::decode_level(*encoded);
        check(back && *back == *level);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    fuzz_file_name(input);
    fuzz_unique_name(input);
    fuzz_keywords(input);
    fuzz_uidlist(input);
    fuzz_subscriptions(input);
    fuzz_folder_names(input);
    return 0;
}
