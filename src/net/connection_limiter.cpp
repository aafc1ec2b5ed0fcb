#include "net/connection_limiter.hpp"

#include <utility>

namespace sov::net {

ConnectionLimiter::Permit::Permit(Permit&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), ip_(std::move(other.ip_)) {}

ConnectionLimiter::Permit& ConnectionLimiter::Permit::operator=(Permit&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
        ip_ = std::move(other.ip_);
    }
    return *this;
}

ConnectionLimiter::Permit::~Permit() {
    release();
}

void ConnectionLimiter::Permit::release() {
    if (owner_ != nullptr) {
        owner_->release(ip_);
        owner_ = nullptr;
    }
}

ConnectionLimiter::Permit ConnectionLimiter::try_acquire(const std::string& ip) {
    const std::lock_guard lock(mutex_);
    if (total_ >= max_total_) {
        return {};
    }
    auto& count = per_ip_[ip];
    if (count >= max_per_ip_) {
        if (count == 0) {
            per_ip_.erase(ip);
        }
        return {};
    }
    ++count;
    ++total_;
    return Permit{this, ip};
}

void ConnectionLimiter::release(const std::string& ip) {
    const std::lock_guard lock(mutex_);
    --total_;
    const auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second == 0) {
        per_ip_.erase(it);
    }
}

std::uint32_t ConnectionLimiter::active() const {
    const std::lock_guard lock(mutex_);
    return total_;
}

}  // namespace sov::net
