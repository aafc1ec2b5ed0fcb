// Store's lifetime: open() creates the data directories and starts the workers, the destructor
// drains them; the counters behind stats(); EMAILIDs; and change listeners.
#include "store/store.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "core/log.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/store_impl.hpp"

namespace sov::store {

namespace {

// The listener this thread is running, so that a listener unsubscribing itself does not wait
// for its own return.
thread_local const detail::ListenerEntry* tl_running_listener = nullptr;

}  // namespace

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() {
    impl_->shutdown();
}

Result<std::unique_ptr<Store>> Store::open(StoreOptions options) {
    if (options.data_dir.empty()) {
        return Errc::Invalid;
    }
    auto impl = std::make_unique<Impl>(std::move(options));
    impl->mail_dir = impl->opt.data_dir / "mail";
    impl->spool_dir = impl->opt.data_dir / "tmp";
    bool created = false;
    if (auto st = detail::make_dir(impl->opt.data_dir, created); !st) {
        return st.error();
    }
    bool created_any = false;
    for (const auto& d : {impl->mail_dir, impl->spool_dir}) {
        if (auto st = detail::make_dir(d, created); !st) {
            return st.error();
        }
        created_any = created_any || created;
    }
    if (created_any) {
        if (auto st = detail::sync_dir(impl->opt.data_dir); !st) {
            return st.error();
        }
    }
    impl->start();
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Stats Store::stats() const {
    return Stats{
        impl_->n_batches.load(),
        impl_->n_deliveries.load(),
        impl_->n_file_syncs.load(),
        impl_->n_dir_syncs.load(),
        impl_->n_commits.load(),
    };
}

}  // namespace sov::store

namespace sov::store {

std::string Store::Impl::new_email_id() {
    // RFC 8474 §8.1: 1-255 characters of base64url; the token is random per Store::open and the
    // counter never repeats within it. 24 hex digits, like the ids a migration invents.
    return fmt::format("M{}{:08x}", token, counter.fetch_add(1) & 0xffffffffU);
}

void Store::Impl::notify(const std::string& account, const std::string& mailbox) {
    std::vector<std::shared_ptr<detail::ListenerEntry>> snapshot;
    {
        std::lock_guard lock(listeners_mu);
        if (listeners.empty()) {
            return;
        }
        snapshot = listeners;
    }
    for (const auto& e : snapshot) {
        {
            std::lock_guard lock(listeners_mu);
            if (e->removed) {
                continue;  // unsubscribed since the snapshot: must not run any more
            }
            ++e->running;
        }
        const auto* outer = std::exchange(tl_running_listener, e.get());
        try {
            e->fn(account, mailbox);
        } catch (const std::exception& ex) {
            // A listener must not throw; if one does, the committer thread must survive it.
            log::error("store.listener_failed", {{"account", account}, {"error", ex.what()}});
        }
        tl_running_listener = outer;
        {
            std::lock_guard lock(listeners_mu);
            --e->running;
        }
        listeners_cv.notify_all();
    }
}

std::uint64_t Store::subscribe_changes(ChangeListener listener) {
    auto e = std::make_shared<detail::ListenerEntry>();
    e->fn = std::move(listener);
    std::lock_guard lock(impl_->listeners_mu);
    e->id = impl_->next_listener_id++;
    impl_->listeners.push_back(e);
    return e->id;
}

void Store::unsubscribe_changes(std::uint64_t id) {
    std::unique_lock lock(impl_->listeners_mu);
    auto& all = impl_->listeners;
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& e) { return e->id == id; });
    if (it == all.end()) {
        return;
    }
    auto e = *it;
    all.erase(it);
    e->removed = true;
    const int own = tl_running_listener == e.get() ? 1 : 0;
    impl_->listeners_cv.wait(lock, [&] { return e->running <= own; });
    if (own == 0) {
        // Destroy the callable here, not on whichever thread drops the last snapshot.
        ChangeListener dead = std::move(e->fn);
        lock.unlock();
    }
}

}  // namespace sov::store
