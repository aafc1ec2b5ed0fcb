#pragma once
// Helpers shared by the evaluator, SORT and THREAD (private to imap/search).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mime/address.hpp"

namespace sov::imap::search::detail {

/// Whether `needle_folded` occurs in `haystack_folded` (both mime::fold_case output).
[[nodiscard]] bool contains_folded(
    std::string_view haystack_folded, std::string_view needle_folded
) noexcept;

/// Folds an unstructured header value (raw, unfolded or folded), decoding RFC 2047 words first
/// when it has any, into `out` (cleared first).
void fold_header_value(std::string_view raw, std::string& out);

/// What an address field test compares with (folded): the display form of `list`
/// (mime::append_address_display), or, when the list could not be parsed into anything, the
/// decoded raw value.
void address_text(const std::vector<mime::Address>& list, std::string_view raw, std::string& out);

/// Address field test: the display form of `list` contains the needle, or, when the list could
/// not be parsed into anything, the decoded raw value does.
[[nodiscard]] bool address_contains(
    const std::vector<mime::Address>& list,
    std::string_view raw,
    std::string_view needle_folded,
    std::string& scratch
);

/// Days since 1970-01-01 of a calendar date (proleptic Gregorian).
[[nodiscard]] std::int64_t day_number(int year, int month, int day) noexcept;

/// Day number of a unix time seen in a zone `zone_minutes` east of UTC.
[[nodiscard]] std::int64_t local_day(std::int64_t unix_seconds, int zone_minutes) noexcept;

/// The msg-ids "<left@right>" in a field value, in order, normalised as RFC 5256 §4 REFERENCES
/// requires: quotes and quoted-pair backslashes removed, whitespace and comments outside quotes
/// dropped, so <"01KF8J"@x.y> equals <01KF8J@x.y>. Invalid ones (no '@', an empty side) are
/// skipped; comments and quoted strings between msg-ids are ignored.
[[nodiscard]] std::vector<std::string> message_ids(std::string_view value);

}  // namespace sov::imap::search::detail
