// The RFC 8461 §5.1 decision, without DNS or HTTPS (those are in mta_sts_fetch_test.cpp).
#include "tls/mta_sts_resolver.hpp"

#include <gtest/gtest.h>

#include "dns/errors.hpp"

namespace sov::tls {
namespace {

using namespace std::chrono_literals;

const core::WallTime kT0{std::chrono::seconds{1'800'000'000}};

CachedPolicy cached(std::string id, core::WallTime fetched_at, std::chrono::seconds max_age) {
    CachedPolicy c;
    c.domain = "example.test";
    c.id = std::move(id);
    c.policy.mode = Mode::Enforce;
    c.policy.max_age = static_cast<std::uint32_t>(max_age.count());
    c.policy.mx = {"mx.example.test"};
    c.fetched_at = fetched_at;
    c.expires_at = fetched_at + max_age;
    return c;
}

Discovery record(std::string id) {
    return Discovery{.state = TxtState::Record, .id = std::move(id), .why = {}};
}
Discovery no_record() {
    return Discovery{.state = TxtState::NoRecord, .id = {}, .why = "no _mta-sts record"};
}
Discovery lookup_failed() {
    return Discovery{.state = TxtState::LookupFailed, .id = {}, .why = "TXT lookup failed"};
}

StsStep step(
    const CachedPolicy* c, const Discovery& d, core::WallTime now, const FetchFailure* f = nullptr
) {
    return decide_sts(c, d, f, now, StsOptions{}).step;
}

TEST(StsDecide, NothingCached) {
    EXPECT_EQ(step(nullptr, record("1"), kT0), StsStep::Fetch);
    EXPECT_EQ(step(nullptr, no_record(), kT0), StsStep::NoPolicy);
    EXPECT_EQ(step(nullptr, lookup_failed(), kT0), StsStep::NoPolicy);
}

TEST(StsDecide, FreshEntryWithTheSameIdIsUsedWithoutFetching) {
    const auto c = cached("1", kT0, 7 * 24h);
    EXPECT_EQ(step(&c, record("1"), kT0 + 1h), StsStep::UseCache);
    EXPECT_EQ(
        decide_sts(&c, record("1"), nullptr, kT0, StsOptions{}).reason, "policy id unchanged"
    );
}

TEST(StsDecide, ChangedIdTriggersAFetch) {
    const auto c = cached("1", kT0, 7 * 24h);
    const auto d = decide_sts(&c, record("2"), nullptr, kT0 + 1h, StsOptions{});
    EXPECT_EQ(d.step, StsStep::Fetch);
    EXPECT_EQ(d.reason, "policy id changed");
}

TEST(StsDecide, ExpiredEntryIsFetchedAgainEvenWithTheSameId) {
    const auto c = cached("1", kT0, 1h);
    EXPECT_EQ(step(&c, record("1"), kT0 + 1h - 1s), StsStep::UseCache);
    const auto d = decide_sts(&c, record("1"), nullptr, kT0 + 1h, StsOptions{});
    EXPECT_EQ(d.step, StsStep::Fetch);
    EXPECT_EQ(d.reason, "cached policy expired");
}

TEST(StsDecide, DailyRefreshBeforeExpiry) {
    // §3.3 / §10.2: refresh long-lived policies before they expire.
    const auto c = cached("1", kT0, 30 * 24h);
    EXPECT_EQ(step(&c, record("1"), kT0 + 23h), StsStep::UseCache);
    const auto d = decide_sts(&c, record("1"), nullptr, kT0 + 24h, StsOptions{});
    EXPECT_EQ(d.step, StsStep::Fetch);
    EXPECT_EQ(d.reason, "daily refresh");
}

TEST(StsDecide, MissingRecordDoesNotRemoveAFreshPolicy) {
    // §3.1 last paragraph; §3.3 "the sender MUST apply that cached policy".
    const auto c = cached("1", kT0, 24h);
    EXPECT_EQ(step(&c, no_record(), kT0 + 1h), StsStep::UseCache);
    EXPECT_EQ(step(&c, lookup_failed(), kT0 + 1h), StsStep::UseCache);
    // ... until it expires.
    EXPECT_EQ(step(&c, no_record(), kT0 + 24h), StsStep::NoPolicy);
    EXPECT_EQ(step(&c, lookup_failed(), kT0 + 25h), StsStep::NoPolicy);
}

TEST(StsDecide, FailedFetchIsNotRetriedForFiveMinutesPerId) {
    const FetchFailure f{.id = "2", .failed_at = kT0, .error = "BadStatus"};
    // Nothing cached: no policy until the back-off ends.
    EXPECT_EQ(step(nullptr, record("2"), kT0 + 4min, &f), StsStep::NoPolicy);
    EXPECT_EQ(step(nullptr, record("2"), kT0 + 5min, &f), StsStep::Fetch);
    // Another id is a new policy: fetched at once.
    EXPECT_EQ(step(nullptr, record("3"), kT0 + 1min, &f), StsStep::Fetch);
    // A fresh cached policy under the old id stays in force meanwhile.
    const auto c = cached("1", kT0 - 1h, 24h);
    EXPECT_EQ(step(&c, record("2"), kT0 + 1min, &f), StsStep::UseCache);
    // A failure stamped in the future (clock stepped back) does not block forever.
    EXPECT_EQ(step(nullptr, record("2"), kT0 - 1h, &f), StsStep::Fetch);
    // Zero back-off (tls probe): always fetch.
    StsOptions eager;
    eager.retry_after_failure = 0s;
    EXPECT_EQ(decide_sts(nullptr, record("2"), &f, kT0, eager).step, StsStep::Fetch);
}

TEST(StsDiscover, TxtAnswers) {
    dns::Records<std::string> records;
    EXPECT_EQ(discover(records).state, TxtState::NoRecord);
    records.nxdomain = true;
    EXPECT_EQ(discover(records).why, "no _mta-sts record");
    records.nxdomain = false;
    records.records = {"v=spf1 -all", "v=STSv1; id=20240101T000000;"};
    auto d = discover(records);
    EXPECT_EQ(d.state, TxtState::Record);
    EXPECT_EQ(d.id, "20240101T000000");
    records.records.push_back("v=STSv1; id=other;");  // §3.1: two records, no policy
    d = discover(records);
    EXPECT_EQ(d.state, TxtState::NoRecord);
    EXPECT_EQ(d.why, "_mta-sts record unusable: more than one policy record published");
    records.records = {"v=STSv1; id=bad-id;"};
    EXPECT_EQ(discover(records).state, TxtState::NoRecord);

    const Result<dns::Records<std::string>> failed = make_error_code(dns::Errc::ServFail);
    d = discover(failed);
    EXPECT_EQ(d.state, TxtState::LookupFailed);
    EXPECT_NE(d.why.find("TXT lookup failed"), std::string::npos);
}

}  // namespace
}  // namespace sov::tls
