#pragma once
// Pieces every protocol's listener wiring shares.
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "core/log.hpp"
#include "net/connection_limiter.hpp"

namespace sov::roles {

// The settings new sessions of one listener start with; SIGHUP swaps them (limits, timeouts,
// hostname), sessions already running keep theirs.
template <class Settings>
class SettingsSlot {
public:
    explicit SettingsSlot(Settings settings) : settings_(std::move(settings)) {}
    Settings get() const {
        const std::lock_guard lock(mutex_);
        return settings_;
    }
    void set(Settings settings) {
        const std::lock_guard lock(mutex_);
        settings_ = std::move(settings);
    }

private:
    mutable std::mutex mutex_;
    Settings settings_;
};

// Completion of a session coroutine: expected ends return normally; anything thrown is a bug or
// an unexpected I/O failure, logged once here with the session id (STYLE.md §3.11 #5). It also
// holds the connection-limit permit for the life of the session.
struct SessionEnded {
    std::string id;
    std::shared_ptr<net::ConnectionLimiter::Permit> permit;
    void operator()(const std::exception_ptr& error) const {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                log::error("session.failed", {{"session", id}, {"error", e.what()}});
            }
        }
    }
};

}  // namespace sov::roles
