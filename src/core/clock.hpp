#pragma once
// The one place that reads the wall clock (STYLE.md §3.8: inject the clock), so tests can pin time.
#include <chrono>
#include <cstdint>

namespace sov::core {

using WallTime = std::chrono::system_clock::time_point;

/// Current wall-clock time, or the pinned time set by pin_clock_for_test().
WallTime now();

/// Pins now() to `t` (tests only); a default-constructed time point unpins it.
void pin_clock_for_test(WallTime t);

/// Seconds since the Unix epoch.
std::int64_t unix_seconds(WallTime t);

}  // namespace sov::core
