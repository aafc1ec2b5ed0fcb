#include "accounts/login_throttle.hpp"

#include <algorithm>

namespace sov::accounts {

unsigned LoginThrottle::bump(const std::string& key, std::chrono::steady_clock::time_point now) {
    if (entries_.size() >= options_.max_tracked && !entries_.contains(key)) {
        // Drop what has decayed; if everything is fresh, start over rather than grow.
        std::erase_if(entries_, [&](const auto& kv) {
            return now - kv.second.last > options_.forget_after;
        });
        if (entries_.size() >= options_.max_tracked) {
            entries_.clear();
        }
    }
    Entry& e = entries_[key];
    if (e.failures > 0 && now - e.last > options_.forget_after) {
        e.failures = 0;
    }
    ++e.failures;
    e.last = now;
    return e.failures;
}

std::chrono::milliseconds LoginThrottle::delay_for(unsigned failures) const {
    if (failures <= options_.free_failures) {
        return std::chrono::milliseconds{0};
    }
    const unsigned doublings = std::min(failures - options_.free_failures - 1, 20U);
    const auto delay = options_.first_delay * (std::int64_t{1} << doublings);
    return std::min<std::chrono::milliseconds>(delay, options_.max_delay);
}

std::chrono::milliseconds LoginThrottle::record_failure(
    std::string_view ip, std::string_view account
) {
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(mutex_);
    const unsigned by_ip = bump("ip:" + std::string(ip), now);
    const unsigned by_account = account.empty() ? 0 : bump("acct:" + std::string(account), now);
    return delay_for(std::max(by_ip, by_account));
}

void LoginThrottle::record_success(std::string_view account) {
    const std::lock_guard lock(mutex_);
    entries_.erase("acct:" + std::string(account));
}

unsigned LoginThrottle::failures(std::string_view key) const {
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(std::string(key));
    return it == entries_.end() ? 0 : it->second.failures;
}

}  // namespace sov::accounts
