#include "net/session_registry.hpp"

#include <vector>

namespace sov::net {

std::uint64_t SessionRegistry::add(std::function<void()> stop) {
    std::unique_lock lock(mutex_);
    const auto id = next_id_++;
    if (stopping_) {
        lock.unlock();
        stop();
        lock.lock();
    }
    sessions_.emplace(id, std::move(stop));
    return id;
}

void SessionRegistry::remove(std::uint64_t id) {
    const std::lock_guard lock(mutex_);
    sessions_.erase(id);
}

void SessionRegistry::stop_all() {
    std::vector<std::function<void()>> stops;
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        for (const auto& [id, stop] : sessions_) {
            stops.push_back(stop);
        }
    }
    for (const auto& stop : stops) {
        stop();
    }
}

bool SessionRegistry::stopping() const {
    const std::lock_guard lock(mutex_);
    return stopping_;
}

std::size_t SessionRegistry::size() const {
    const std::lock_guard lock(mutex_);
    return sessions_.size();
}

}  // namespace sov::net
