#include "imap/engine/uid_list.hpp"

#include <gtest/gtest.h>

namespace sov::imap {
namespace {

using Uids = std::vector<std::uint32_t>;

TEST(UidListPool, InternSharesEqualLists) {
    UidListPool pool;
    auto a = pool.intern({1, 2, 3});
    auto b = pool.intern({1, 2, 3});
    auto c = pool.intern({1, 2, 4});
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_EQ(c->uids(), (Uids{1, 2, 4}));
    EXPECT_EQ(pool.live_for_test(), 2U);
    auto empty1 = pool.intern({});
    auto empty2 = pool.intern({});
    EXPECT_EQ(empty1, empty2);
    EXPECT_TRUE(empty1->uids().empty());
}

TEST(UidListPool, DeadListsAreForgotten) {
    UidListPool pool;
    const UidList* first = nullptr;
    {
        auto a = pool.intern({5, 6});
        first = a.get();
        EXPECT_EQ(pool.live_for_test(), 1U);
    }
    EXPECT_EQ(pool.live_for_test(), 0U);
    auto again = pool.intern({5, 6});
    EXPECT_EQ(again->uids(), (Uids{5, 6}));
    EXPECT_EQ(pool.live_for_test(), 1U);
    (void)first;
}

// Two sessions at the same state learn of two deliveries, one in two polls, the other in one:
// both end up with the one same list.
TEST(UidListPool, DifferentPathsToOneStateConverge) {
    UidListPool pool;
    auto base = pool.intern({1, 2, 3});
    auto a = pool.apply(base, {}, Uids{4});
    a = pool.apply(a, {}, Uids{5});
    auto b = pool.apply(base, {}, Uids{4, 5});
    EXPECT_EQ(a, b);
    EXPECT_EQ(a->uids(), (Uids{1, 2, 3, 4, 5}));
    // Expunge then delivery, or both at once.
    auto c = pool.apply(a, Uids{2}, {});
    c = pool.apply(c, {}, Uids{9});
    auto d = pool.apply(b, Uids{2}, Uids{9});
    EXPECT_EQ(c, d);
    EXPECT_EQ(d->uids(), (Uids{1, 3, 4, 5, 9}));
    // A list built from scratch with that content is the same one as well.
    EXPECT_EQ(pool.intern({1, 3, 4, 5, 9}), d);
    base.reset();
    a.reset();
    b.reset();
    EXPECT_EQ(pool.live_for_test(), 1U);  // only d's list is held now
}

TEST(UidListPool, ApplyIgnoresWhatDoesNotApply) {
    UidListPool pool;
    auto base = pool.intern({10, 20, 30});
    EXPECT_EQ(pool.apply(base, {}, {}), base);
    EXPECT_EQ(pool.apply(base, Uids{15, 40}, Uids{20}), base);  // nothing actually changes
    auto l = pool.apply(base, Uids{5, 10, 25}, Uids{1, 20, 26, 40});
    EXPECT_EQ(l->uids(), (Uids{1, 20, 26, 30, 40}));
    EXPECT_EQ(pool.apply(base, Uids{10, 10}, Uids{40, 40})->uids(), (Uids{20, 30, 40}));
    auto all_gone = pool.apply(base, Uids{10, 20, 30}, {});
    EXPECT_TRUE(all_gone->uids().empty());
    EXPECT_EQ(all_gone, pool.intern({}));
}

// Same size, different contents: never merged, whatever the digests do.
TEST(UidListPool, EqualSizeDifferentContentStaysApart) {
    UidListPool pool;
    std::vector<UidListPtr> lists;
    for (std::uint32_t i = 1; i <= 200; ++i) {
        lists.push_back(pool.intern({i, i + 1000}));
    }
    for (std::uint32_t i = 1; i <= 200; ++i) {
        EXPECT_EQ(lists[i - 1]->uids(), (Uids{i, i + 1000}));
    }
    for (std::uint32_t i = 2; i <= 200; ++i) {
        EXPECT_EQ(pool.apply(lists[0], Uids{1, 1001}, Uids{i, i + 1000}), lists[i - 1]);
    }
    EXPECT_EQ(pool.live_for_test(), 200U);
}

// A list may outlive its pool (a session ending after the process-wide pool at exit).
TEST(UidListPool, ListsMayOutliveThePool) {
    UidListPtr kept;
    {
        UidListPool pool;
        kept = pool.intern({7});
    }
    EXPECT_EQ(kept->uids(), (Uids{7}));
    kept.reset();
}

}  // namespace
}  // namespace sov::imap
