#pragma once
// The UIDs of a selected mailbox as one session knows them (message n is uids()[n-1], RFC 9051
// §2.3.1.2), immutable and shared between sessions (issue 3: memory per idle session).
//
// Every session that has SELECTed a mailbox holds its list of UIDs; with 10,000 messages that is
// 40 KB, and thousands of sessions usually hold the same one. A UidListPool interns the lists by
// content: a session that opens or polls its way to a set of UIDs some other session already
// holds gets that session's list instead of its own copy. So after a delivery, every session
// that catches up with it ends up holding the same one new list, whatever changes it saw on the
// way. Lists are never modified; a session that learns of a change builds (or finds) the next
// one with UidListPool::apply().
//
// Thread safety: the pool is locked; a list is immutable, so any number of threads may read it.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace sov::imap {

class UidList {
public:
    /// Ascending, no duplicates.
    [[nodiscard]] const std::vector<std::uint32_t>& uids() const { return uids_; }
    [[nodiscard]] std::size_t size() const { return uids_.size(); }

    struct Private;   // construction only through UidListPool
    struct Registry;  // the pool's table
    UidList(
        const Private&,
        std::vector<std::uint32_t> uids,
        std::uint64_t digest,
        std::shared_ptr<Registry> registry
    );
    ~UidList();
    UidList(const UidList&) = delete;
    UidList& operator=(const UidList&) = delete;

private:
    friend class UidListPool;
    std::vector<std::uint32_t> uids_;
    std::uint64_t digest_ = 0;            // sum of a mix of each UID: updated in O(changes)
    std::shared_ptr<Registry> registry_;  // the pool's table, which forgets this list when it dies
};

using UidListPtr = std::shared_ptr<const UidList>;

class UidListPool {
public:
    UidListPool();
    ~UidListPool();
    UidListPool(const UidListPool&) = delete;
    UidListPool& operator=(const UidListPool&) = delete;

    /// The process-wide pool the sessions use.
    static UidListPool& shared();

    /// A list holding exactly `uids` (ascending, no duplicates): one that is alive already if
    /// there is one, else a new one that later calls will find.
    UidListPtr intern(std::vector<std::uint32_t> uids);
    /// `base` without `removed` and with `added` (each ascending; UIDs of `removed` that are not
    /// in `base`, UIDs of `added` that are already in it, and repeats are ignored), interned. Costs
    /// O(changes) plus, when an equal list is alive, one O(n) comparison instead of a copy.
    UidListPtr apply(
        const UidListPtr& base,
        std::span<const std::uint32_t> removed,
        std::span<const std::uint32_t> added
    );

    /// Lists alive (tests).
    [[nodiscard]] std::size_t live_for_test() const;

private:
    std::shared_ptr<UidList::Registry> registry_;
};

}  // namespace sov::imap
