#pragma once
// Knows every live session so SIGTERM can drain them: stop_all() asks each one (on its own strand)
// to finish; wait until empty() or the grace period ends, then stop the io_context.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace sov::net {

class SessionRegistry {
public:
    /// `stop` runs when shutdown starts; it must be thread-safe (post to the session's strand).
    std::uint64_t add(std::function<void()> stop);
    void remove(std::uint64_t id);
    /// Calls every registered stop function; sessions added later are stopped at once.
    void stop_all();
    bool stopping() const;
    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::uint64_t next_id_ = 1;
    bool stopping_ = false;
    std::map<std::uint64_t, std::function<void()>> sessions_;
};

}  // namespace sov::net
