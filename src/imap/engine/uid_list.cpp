#include "imap/engine/uid_list.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace sov::imap {

struct UidList::Private {
    explicit Private() = default;
};

/// The pool's table: lists by (size, digest). It holds them weakly; a list removes its own
/// entry when the last session lets go of it.
struct UidList::Registry {
    struct Entry {
        const UidList* list = nullptr;
        std::weak_ptr<const UidList> weak;
    };
    mutable std::mutex mutex;
    std::unordered_multimap<std::uint64_t, Entry> lists;
};

namespace {

/// splitmix64's finalizer: a well-spread 64-bit value per UID, so that the sum over a set
/// (order-free, and updatable by adding and subtracting) tells different sets apart.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31U);
}

std::uint64_t key_of(std::size_t size, std::uint64_t digest) {
    return digest ^ mix(size ^ 0x5bd1e995ULL);
}

/// Calls `f` with each UID of base - removed + added, ascending, until it returns false.
template <class F>
bool for_each_applied(
    const std::vector<std::uint32_t>& base,
    std::span<const std::uint32_t> removed,
    std::span<const std::uint32_t> added,
    F&& f
) {
    std::size_t r = 0;
    std::size_t a = 0;
    for (const auto uid : base) {
        while (r < removed.size() && removed[r] < uid) {
            ++r;
        }
        if (r < removed.size() && removed[r] == uid) {
            ++r;
            continue;
        }
        while (a < added.size() && added[a] < uid) {
            if (!f(added[a++])) {
                return false;
            }
        }
        if (!f(uid)) {
            return false;
        }
    }
    for (; a < added.size(); ++a) {
        if (!f(added[a])) {
            return false;
        }
    }
    return true;
}

}  // namespace

UidList::UidList(
    const Private&,
    std::vector<std::uint32_t> uids,
    std::uint64_t digest,
    std::shared_ptr<Registry> registry
)
    : uids_(std::move(uids)), digest_(digest), registry_(std::move(registry)) {}

UidList::~UidList() {
    const std::lock_guard lock(registry_->mutex);
    auto [it, end] = registry_->lists.equal_range(key_of(uids_.size(), digest_));
    for (; it != end; ++it) {
        if (it->second.list == this) {
            registry_->lists.erase(it);
            break;
        }
    }
}

UidListPool::UidListPool() : registry_(std::make_shared<UidList::Registry>()) {}

UidListPool::~UidListPool() = default;  // lists alive keep the registry

UidListPool& UidListPool::shared() {
    static UidListPool pool;
    return pool;
}

UidListPtr UidListPool::intern(std::vector<std::uint32_t> uids) {
    std::uint64_t digest = 0;
    for (const auto uid : uids) {
        digest += mix(uid);
    }
    const auto key = key_of(uids.size(), digest);
    // Declared before the lock: a candidate whose last other holder let go meanwhile dies here,
    // and its destructor takes the lock.
    std::vector<UidListPtr> others;
    const std::lock_guard lock(registry_->mutex);
    auto [it, end] = registry_->lists.equal_range(key);
    for (; it != end; ++it) {
        auto list = it->second.weak.lock();
        if (list && list->uids_ == uids) {
            return list;
        }
        others.push_back(std::move(list));
    }
    auto list =
        std::make_shared<const UidList>(UidList::Private{}, std::move(uids), digest, registry_);
    registry_->lists.emplace(key, UidList::Registry::Entry{list.get(), list});
    return list;
}

UidListPtr UidListPool::apply(
    const UidListPtr& base,
    std::span<const std::uint32_t> removed,
    std::span<const std::uint32_t> added
) {
    const auto& old = base->uids_;
    std::vector<std::uint32_t> gone;
    std::vector<std::uint32_t> fresh;
    std::uint64_t digest = base->digest_;
    for (const auto uid : removed) {
        if ((gone.empty() || gone.back() < uid) &&
            std::binary_search(old.begin(), old.end(), uid)) {
            gone.push_back(uid);
            digest -= mix(uid);
        }
    }
    for (const auto uid : added) {
        if ((fresh.empty() || fresh.back() < uid) &&
            !std::binary_search(old.begin(), old.end(), uid)) {
            fresh.push_back(uid);
            digest += mix(uid);
        }
    }
    if (gone.empty() && fresh.empty()) {
        return base;
    }
    const std::size_t size = old.size() - gone.size() + fresh.size();
    const auto key = key_of(size, digest);
    std::vector<UidListPtr> others;  // before the lock, as in intern()
    const std::lock_guard lock(registry_->mutex);
    auto [it, end] = registry_->lists.equal_range(key);
    for (; it != end; ++it) {
        auto list = it->second.weak.lock();
        if (list && list->uids_.size() == size) {
            std::size_t k = 0;
            const auto& theirs = list->uids_;
            if (for_each_applied(old, gone, fresh, [&](std::uint32_t uid) {
                    return theirs[k++] == uid;
                })) {
                return list;
            }
        }
        others.push_back(std::move(list));
    }
    std::vector<std::uint32_t> uids;
    uids.reserve(size);
    for_each_applied(old, gone, fresh, [&](std::uint32_t uid) {
        uids.push_back(uid);
        return true;
    });
    auto list =
        std::make_shared<const UidList>(UidList::Private{}, std::move(uids), digest, registry_);
    registry_->lists.emplace(key, UidList::Registry::Entry{list.get(), list});
    return list;
}

std::size_t UidListPool::live_for_test() const {
    const std::lock_guard lock(registry_->mutex);
    return static_cast<std::size_t>(std::count_if(
        registry_->lists.begin(),
        registry_->lists.end(),
        [](const auto& e) { return !e.second.weak.expired(); }
    ));
}

}  // namespace sov::imap
