#pragma once
// What the MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3) TXT records share: a version tag
// first, "field; field" lists with optional WSP, and the rule that exactly one record carrying the
// version must exist. Private to the two record parsers.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "tls/errors.hpp"

namespace sov::tls::detail {

inline bool is_wsp(char c) noexcept {
    return c == ' ' || c == '\t';
}

inline std::size_t skip_wsp(std::string_view s, std::size_t i) noexcept {
    while (i < s.size() && is_wsp(s[i])) {
        ++i;
    }
    return i;
}

/// True if `txt` begins with `version` followed by *WSP ";": both RFCs discard records that do
/// not begin with "v=<version>;", allowing the WSP their field delimiter allows.
inline bool begins_with_version(std::string_view txt, std::string_view version) noexcept {
    if (!txt.starts_with(version)) {
        return false;
    }
    const std::size_t i = skip_wsp(txt, version.size());
    return i < txt.size() && txt[i] == ';';
}

/// The one TXT record that begins with `version`, parsed: records without it are discarded, and
/// none or several mean "no policy" (NoRecord / MultipleRecords).
template <class Parse>
auto select_single_record(
    const std::vector<std::string>& txts, std::string_view version, Parse parse
) noexcept -> decltype(parse(txts.front())) {
    const std::string* found = nullptr;
    for (const auto& txt : txts) {
        if (!begins_with_version(txt, version)) {
            continue;
        }
        if (found != nullptr) {
            return Errc::MultipleRecords;
        }
        found = &txt;
    }
    if (found == nullptr) {
        return Errc::NoRecord;
    }
    return parse(*found);
}

}  // namespace sov::tls::detail
