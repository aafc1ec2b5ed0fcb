#include "imap/server/change_hub.hpp"

#include "store/store.hpp"

namespace sov::imap::server {

ChangeHub::ChangeHub(store::Store& store) : store_(store) {
    store_subscription_ =
        store_.subscribe_changes([this](const std::string& account, const std::string& mailbox) {
            notify(account, mailbox);
        });
}

ChangeHub::~ChangeHub() {
    store_.unsubscribe_changes(store_subscription_);
}

std::uint64_t ChangeHub::add(const std::string& account, Wake wake) {
    const std::lock_guard lock(mutex_);
    const auto id = next_id_++;
    by_account_.emplace(account, std::make_pair(id, std::move(wake)));
    accounts_.emplace(id, account);
    return id;
}

void ChangeHub::remove(std::uint64_t id) {
    const std::lock_guard lock(mutex_);
    const auto it = accounts_.find(id);
    if (it == accounts_.end()) {
        return;
    }
    auto [lo, hi] = by_account_.equal_range(it->second);
    for (auto j = lo; j != hi; ++j) {
        if (j->second.first == id) {
            by_account_.erase(j);
            break;
        }
    }
    accounts_.erase(it);
}

void ChangeHub::notify(const std::string& account, const std::string& mailbox) {
    const std::lock_guard lock(mutex_);
    auto [lo, hi] = by_account_.equal_range(account);
    for (auto it = lo; it != hi; ++it) {
        it->second.second(mailbox);  // posts to the connection's strand; never blocks
    }
}

}  // namespace sov::imap::server
