#pragma once
// RFC 5322 §3.3 date-time, with the §4.3 obsolete forms (2/3-digit years, alphabetic zones,
// comments and folding anywhere).
#include <cstdint>
#include <optional>
#include <string_view>

namespace sov::mime {

struct DateTime {
    int year = 0;
    int month = 0;  // 1..12
    int day = 0;    // 1..31
    int hour = 0;
    int minute = 0;
    int second = 0;
    int zone_minutes = 0;  // offset east of UTC: "-0330" -> -210

    /// Seconds since 1970-01-01T00:00:00Z.
    [[nodiscard]] std::int64_t unix_time() const noexcept;
    bool operator==(const DateTime&) const = default;
};

/// Parses a Date: field value (or the part after the last ';' of a Received: field). Unknown
/// alphabetic zones and military zones mean +0000 (RFC 5322 §4.3: their sense is unreliable).
[[nodiscard]] std::optional<DateTime> parse_date(std::string_view raw) noexcept;

}  // namespace sov::mime
