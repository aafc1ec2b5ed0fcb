#include "core/clock.hpp"

#include <time.h>

#include <array>
#include <atomic>

#include <fmt/format.h>

namespace sov::core {
namespace {
std::atomic<std::int64_t> pinned_ns{0};
}

WallTime now() {
    const auto pinned = pinned_ns.load(std::memory_order_relaxed);
    if (pinned != 0) {
        return WallTime{
            std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds{pinned})
        };
    }
    return std::chrono::system_clock::now();
}

void pin_clock_for_test(WallTime t) {
    pinned_ns.store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count(),
        std::memory_order_relaxed
    );
}

std::int64_t unix_seconds(WallTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string rfc5322_date(WallTime t) {
    static constexpr std::array<const char*, 7> kDays{
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
    };
    static constexpr std::array<const char*, 12> kMonths{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    const time_t secs = unix_seconds(t);
    struct tm parts{};
    gmtime_r(&secs, &parts);
    return fmt::format(
        "{}, {} {} {} {:02}:{:02}:{:02} +0000",
        kDays.at(static_cast<std::size_t>(parts.tm_wday)),
        parts.tm_mday,
        kMonths.at(static_cast<std::size_t>(parts.tm_mon)),
        parts.tm_year + 1900,
        parts.tm_hour,
        parts.tm_min,
        parts.tm_sec
    );
}

}  // namespace sov::core
