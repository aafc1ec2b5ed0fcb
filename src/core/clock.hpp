#pragma once
// The one place that reads the wall clock (STYLE.md §3.8: inject the clock), so tests can pin time.
#include <chrono>
#include <cstdint>
#include <string>

namespace sov::core {

using WallTime = std::chrono::system_clock::time_point;

/// Current wall-clock time, or the pinned time set by pin_clock_for_test().
WallTime now();

/// Pins now() to `t` (tests only); a default-constructed time point unpins it.
void pin_clock_for_test(WallTime t);

/// Seconds since the Unix epoch.
std::int64_t unix_seconds(WallTime t);

/// RFC 5322 §3.3 date-time in UTC, e.g. "Sat, 28 Nov 2026 21:58:05 +0000".
std::string rfc5322_date(WallTime t);

}  // namespace sov::core
