#pragma once
// When to try a deferred recipient again, and when to give up (RFC 5321 §4.5.4.1: retry at least
// 30 minutes apart, give up after at least 4-5 days). The interval doubles from `first` up to
// `max`; a message older than `max_age` is returned as failed instead of deferred.
#include <algorithm>
#include <chrono>

#include "core/clock.hpp"

namespace sov::smtp::queue {

struct RetryPolicy {
    std::chrono::seconds first{std::chrono::minutes{5}};
    std::chrono::seconds max{std::chrono::hours{4}};
    std::chrono::seconds max_age{std::chrono::hours{24 * 5}};
    /// A delay warning (RFC 3464 Action: delayed) once a message has waited this long; 0 = never.
    std::chrono::seconds delay_warning{std::chrono::hours{4}};

    /// The wait after the `attempts`-th failed attempt (1 = the first).
    [[nodiscard]] std::chrono::seconds interval(unsigned attempts) const {
        auto wait = first;
        for (unsigned i = 1; i < attempts && wait < max; ++i) {
            wait *= 2;
        }
        return std::min(wait, max);
    }

    /// True once the message has been in the queue longer than max_age.
    [[nodiscard]] bool expired(core::WallTime created, core::WallTime now) const {
        return now - created >= max_age;
    }
};

}  // namespace sov::smtp::queue
