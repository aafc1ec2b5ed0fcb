#pragma once
// Fans out the store's change notifications (store.hpp subscribe_changes) to the IMAP
// connections of the account concerned, so an IDLE session hears about a delivery at once
// (issue 3: within 100 ms; RFC 2177). Callbacks run on the committing thread and must only post
// to the connection's strand.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace sov::store {
class Store;
}

namespace sov::imap::server {

class ChangeHub {
public:
    using Wake = std::function<void(const std::string& mailbox)>;
    explicit ChangeHub(store::Store& store);
    ~ChangeHub();
    ChangeHub(const ChangeHub&) = delete;
    ChangeHub& operator=(const ChangeHub&) = delete;

    std::uint64_t add(const std::string& account, Wake wake);
    void remove(std::uint64_t id);

private:
    void notify(const std::string& account, const std::string& mailbox);

    store::Store& store_;
    std::uint64_t store_subscription_ = 0;
    std::mutex mutex_;
    std::uint64_t next_id_ = 1;
    std::multimap<std::string, std::pair<std::uint64_t, Wake>> by_account_;
    std::map<std::uint64_t, std::string> accounts_;
};

}  // namespace sov::imap::server
