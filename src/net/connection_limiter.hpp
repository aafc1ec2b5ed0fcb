#pragma once
// Caps on concurrent connections, in total and per client IP (config [connections]). A listener
// asks for a Permit before it starts a session; the session holds it until it ends. Over a cap the
// listener answers with its protocol's "too busy" reply and closes (SMTP: 421 4.7.0).
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sov::net {

class ConnectionLimiter {
public:
    class Permit {
    public:
        Permit() = default;
        Permit(Permit&& other) noexcept;
        Permit& operator=(Permit&& other) noexcept;
        Permit(const Permit&) = delete;
        Permit& operator=(const Permit&) = delete;
        ~Permit();

        explicit operator bool() const { return owner_ != nullptr; }

    private:
        friend class ConnectionLimiter;
        Permit(ConnectionLimiter* owner, std::string ip) : owner_(owner), ip_(std::move(ip)) {}
        void release();

        ConnectionLimiter* owner_ = nullptr;
        std::string ip_;
    };

    ConnectionLimiter(std::uint32_t max_total, std::uint32_t max_per_ip)
        : max_total_(max_total), max_per_ip_(max_per_ip) {}

    /// An empty Permit (false) when a cap is reached.
    Permit try_acquire(const std::string& ip);

    std::uint32_t active() const;

private:
    void release(const std::string& ip);

    const std::uint32_t max_total_;
    const std::uint32_t max_per_ip_;
    mutable std::mutex mutex_;
    std::uint32_t total_ = 0;
    std::unordered_map<std::string, std::uint32_t> per_ip_;
};

}  // namespace sov::net
