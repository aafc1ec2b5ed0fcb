#pragma once
// Settings that SIGHUP replaces while the server runs.
#include <mutex>
#include <utility>

namespace sov::roles {

/// A copy of the settings in force, swapped whole by a reload: a reader takes one copy and
/// works with it to the end (a session its lifetime, a report sender one report), so nothing
/// ever mixes two versions of the configuration.
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

}  // namespace sov::roles
