#include "core/clock.hpp"

#include <atomic>

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

}  // namespace sov::core
