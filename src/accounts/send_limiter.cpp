#include "accounts/send_limiter.hpp"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

namespace sov::accounts {
namespace {

using Clock = SendLimiter::Clock;
constexpr auto kWindowMinutes = static_cast<std::int64_t>(SendLimiter::kBuckets);

std::int64_t minute_of(Clock::time_point t) {
    return std::chrono::floor<std::chrono::minutes>(t.time_since_epoch()).count();
}

bool in_window(std::int64_t bucket_minute, std::int64_t minute) {
    return bucket_minute > minute - kWindowMinutes && bucket_minute <= minute;
}

// How long until `used + wanted <= limit`, given the per-minute counts still in the window: the
// oldest buckets leave it first, each kBuckets minutes after its own minute.
Clock::duration time_until_room(
    std::vector<std::pair<std::int64_t, std::uint32_t>> buckets,  // (minute, count), in window
    std::uint64_t used,
    std::uint64_t wanted,
    std::uint64_t limit,
    Clock::time_point now
) {
    if (wanted > limit) {
        return SendLimiter::kWindow;  // never fits; the caller refuses it as such
    }
    std::sort(buckets.begin(), buckets.end());
    const std::uint64_t excess = used + wanted - limit;
    std::uint64_t freed = 0;
    for (const auto& [minute, count] : buckets) {
        freed += count;
        if (freed >= excess) {
            const Clock::time_point leaves{std::chrono::minutes{minute + kWindowMinutes}};
            return std::max<Clock::duration>(leaves - now, Clock::duration::zero());
        }
    }
    return SendLimiter::kWindow;  // unreachable while used counts what the buckets hold
}

}  // namespace

SendLimiter::Verdict SendLimiter::check_locked(
    const Window* window, std::uint64_t messages, std::uint64_t recipients, Clock::time_point now
) const {
    const std::int64_t minute = minute_of(now);
    std::vector<std::pair<std::int64_t, std::uint32_t>> message_buckets;
    std::vector<std::pair<std::int64_t, std::uint32_t>> recipient_buckets;
    std::uint64_t used_messages = 0;
    std::uint64_t used_recipients = 0;
    if (window != nullptr) {
        for (std::size_t i = 0; i < kBuckets; ++i) {
            if (!in_window(window->minute[i], minute)) {
                continue;
            }
            used_messages += window->messages[i];
            used_recipients += window->recipients[i];
            message_buckets.emplace_back(window->minute[i], window->messages[i]);
            recipient_buckets.emplace_back(window->minute[i], window->recipients[i]);
        }
    }
    const Limits& limits = options_.limits;
    if (limits.messages_per_hour > 0 && used_messages + messages > limits.messages_per_hour) {
        return Verdict{
            Verdict::Kind::MessageLimit,
            time_until_room(
                std::move(message_buckets), used_messages, messages, limits.messages_per_hour, now
            )
        };
    }
    if (limits.recipients_per_hour > 0 &&
        used_recipients + recipients > limits.recipients_per_hour) {
        return Verdict{
            Verdict::Kind::RecipientLimit,
            time_until_room(
                std::move(recipient_buckets),
                used_recipients,
                recipients,
                limits.recipients_per_hour,
                now
            )
        };
    }
    return Verdict{};
}

SendLimiter::Window& SendLimiter::window_for(const std::string& account, std::int64_t minute) {
    if (auto it = windows_.find(account); it != windows_.end()) {
        return it->second;
    }
    if (windows_.size() >= options_.max_accounts) {
        // Accounts idle for a whole window count nothing: drop them first. If every tracked
        // account is active, drop the least recently active rather than grow.
        std::erase_if(windows_, [&](const auto& kv) {
            return kv.second.last_minute <= minute - kWindowMinutes;
        });
        if (windows_.size() >= options_.max_accounts && !windows_.empty()) {
            const auto oldest = std::min_element(
                windows_.begin(),
                windows_.end(),
                [](const auto& a, const auto& b) {
                    return a.second.last_minute < b.second.last_minute;
                }
            );
            windows_.erase(oldest);
        }
    }
    return windows_[account];
}

namespace {

bool unlimited(const SendLimiter::Limits& limits) {
    return limits.messages_per_hour == 0 && limits.recipients_per_hour == 0;
}

}  // namespace

SendLimiter::Verdict SendLimiter::check_message(std::string_view account, Clock::time_point now) {
    return check_recipient_count(account, 0, now);
}

SendLimiter::Verdict SendLimiter::check_recipient(
    std::string_view account, std::size_t accepted, Clock::time_point now
) {
    return check_recipient_count(account, static_cast<std::uint64_t>(accepted) + 1, now);
}

SendLimiter::Verdict SendLimiter::check_recipient_count(
    std::string_view account, std::uint64_t recipients, Clock::time_point now
) const {
    if (unlimited(options_.limits)) {
        return Verdict{};
    }
    const std::lock_guard lock(mutex_);
    const auto it = windows_.find(std::string(account));
    return check_locked(it == windows_.end() ? nullptr : &it->second, 1, recipients, now);
}

SendLimiter::Verdict SendLimiter::check_and_record(
    std::string_view account, std::size_t recipients, Clock::time_point now
) {
    if (unlimited(options_.limits)) {
        return Verdict{};
    }
    const std::string key(account);
    const std::lock_guard lock(mutex_);
    const auto it = windows_.find(key);
    const Verdict verdict = check_locked(
        it == windows_.end() ? nullptr : &it->second, 1, static_cast<std::uint64_t>(recipients), now
    );
    if (!verdict.allowed()) {
        return verdict;
    }
    const std::int64_t minute = minute_of(now);
    Window& window = window_for(key, minute);
    const auto slot =
        static_cast<std::size_t>(((minute % kWindowMinutes) + kWindowMinutes) % kWindowMinutes);
    if (window.minute[slot] != minute) {
        window.minute[slot] = minute;
        window.messages[slot] = 0;
        window.recipients[slot] = 0;
    }
    // Saturating: the checks above keep real counts far below, but limits are only 32 bits.
    const auto add = [](std::uint32_t& counter, std::uint64_t n) {
        counter = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(counter + n, std::numeric_limits<std::uint32_t>::max())
        );
    };
    add(window.messages[slot], 1);
    add(window.recipients[slot], recipients);
    window.last_minute = std::max(window.last_minute, minute);
    return verdict;
}

SendLimiter::Usage SendLimiter::usage(std::string_view account, Clock::time_point now) const {
    const std::int64_t minute = minute_of(now);
    const std::lock_guard lock(mutex_);
    Usage out;
    const auto it = windows_.find(std::string(account));
    if (it == windows_.end()) {
        return out;
    }
    for (std::size_t i = 0; i < kBuckets; ++i) {
        if (in_window(it->second.minute[i], minute)) {
            out.messages += it->second.messages[i];
            out.recipients += it->second.recipients[i];
        }
    }
    return out;
}

std::size_t SendLimiter::tracked_for_test() const {
    const std::lock_guard lock(mutex_);
    return windows_.size();
}

}  // namespace sov::accounts
