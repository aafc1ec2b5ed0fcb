#include "roles/local_delivery.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sov::roles {
namespace {

using Kind = accounts::RecipientResolution::Kind;
using Indices = std::vector<std::size_t>;
using Strings = std::vector<std::string>;

accounts::RecipientResolution resolved(Kind kind, Strings accounts = {}, Strings external = {}) {
    accounts::RecipientResolution r;
    r.kind = kind;
    for (auto& a : accounts) {
        r.accounts.push_back(
            accounts::Account{.id = 1, .address = a, .display_address = a, .quota = {}}
        );
    }
    r.external = std::move(external);
    return r;
}

TEST(PlanDelivery, SplitsStoreRelayAndForwards) {
    const Strings addresses = {
        "bob@example.test",   // a mailbox
        "team@example.test",  // mixed alias
        "out@example.test",   // forward-only alias
        "carol@peer.test",    // another domain
    };
    const std::vector<accounts::RecipientResolution> resolutions = {
        resolved(Kind::Local, {"bob@example.test"}),
        resolved(Kind::Local, {"bob@example.test"}, {"alice@peer.test"}),
        resolved(Kind::Local, {}, {"carol@peer.test", "dave@far.test"}),
        resolved(Kind::NotLocal),
    };
    const auto plan = plan_delivery(addresses, resolutions, true, true);
    EXPECT_EQ(plan.stored, (Indices{0, 1}));
    EXPECT_EQ(plan.relayed, (Indices{3}));
    EXPECT_TRUE(plan.deferred.empty());
    ASSERT_EQ(plan.forwards.size(), 1u);
    const auto& f = plan.forwards[0];
    EXPECT_EQ(f.domain, "example.test");
    EXPECT_EQ(f.targets, (Strings{"alice@peer.test", "carol@peer.test", "dave@far.test"}));
    EXPECT_EQ(f.sources, (Indices{1, 2, 2}));
    EXPECT_EQ(f.rcpts, (Indices{1, 2}));
}

TEST(PlanDelivery, OneCopyPerDistinctTarget) {
    // Two aliases (and the same alias given twice) leading to one outside address: one copy,
    // and each RCPT depends on it.
    const Strings addresses = {"a@example.test", "b@example.test", "A@Example.test"};
    const std::vector<accounts::RecipientResolution> resolutions = {
        resolved(Kind::Local, {}, {"x@peer.test"}),
        resolved(Kind::Local, {}, {"x@peer.test", "y@peer.test"}),
        resolved(Kind::Local, {}, {"x@peer.test"}),
    };
    const auto plan = plan_delivery(addresses, resolutions, true, false);
    ASSERT_EQ(plan.forwards.size(), 1u);
    EXPECT_EQ(plan.forwards[0].targets, (Strings{"x@peer.test", "y@peer.test"}));
    EXPECT_EQ(plan.forwards[0].sources, (Indices{0, 1}));
    EXPECT_EQ(plan.forwards[0].rcpts, (Indices{0, 1, 2}));
    EXPECT_TRUE(plan.stored.empty());
}

TEST(PlanDelivery, OneEntryPerAliasDomain) {
    // Each entry is ARC-sealed with its alias domain's key.
    const Strings addresses = {"a@one.test", "b@two.test", "c@ONE.test"};
    const std::vector<accounts::RecipientResolution> resolutions = {
        resolved(Kind::Local, {}, {"x@peer.test"}),
        resolved(Kind::Local, {}, {"y@peer.test", "x@peer.test"}),
        resolved(Kind::Local, {}, {"z@peer.test"}),
    };
    const auto plan = plan_delivery(addresses, resolutions, true, false);
    ASSERT_EQ(plan.forwards.size(), 2u);
    EXPECT_EQ(plan.forwards[0].domain, "one.test");
    EXPECT_EQ(plan.forwards[0].targets, (Strings{"x@peer.test", "z@peer.test"}));
    EXPECT_EQ(plan.forwards[0].rcpts, (Indices{0, 1, 2}));
    EXPECT_EQ(plan.forwards[1].domain, "two.test");
    EXPECT_EQ(plan.forwards[1].targets, (Strings{"y@peer.test"}));
    EXPECT_EQ(plan.forwards[1].rcpts, (Indices{1}));
}

TEST(PlanDelivery, DefersWhatCannotBeHandledNow) {
    const Strings addresses = {"gone@example.test", "out@example.test", "x@peer.test", "f@e.t"};
    const std::vector<accounts::RecipientResolution> resolutions = {
        resolved(Kind::UnknownUser),  // deleted since RCPT
        resolved(Kind::Local, {"bob@example.test"}, {"alice@peer.test"}),
        resolved(Kind::NotLocal),
        resolved(Kind::Failed),
    };
    // No outbound queue: a mixed alias is deferred whole rather than losing its outside copy.
    const auto no_queue = plan_delivery(addresses, resolutions, false, true);
    EXPECT_EQ(no_queue.deferred, (Indices{0, 1, 2, 3}));
    EXPECT_TRUE(no_queue.stored.empty());
    EXPECT_TRUE(no_queue.forwards.empty());
    // Unauthenticated: no relaying, forwarding still works.
    const auto mx = plan_delivery(addresses, resolutions, true, false);
    EXPECT_EQ(mx.deferred, (Indices{0, 2, 3}));
    EXPECT_EQ(mx.stored, (Indices{1}));
    ASSERT_EQ(mx.forwards.size(), 1u);
    EXPECT_EQ(mx.forwards[0].rcpts, (Indices{1}));
}

}  // namespace
}  // namespace sov::roles
