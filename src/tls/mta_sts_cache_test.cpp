#include "tls/mta_sts_cache.hpp"

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "support/temp_dir.hpp"
#include "tls/errors.hpp"

namespace sov::tls {
namespace {

using namespace std::chrono_literals;

const core::WallTime kT0{std::chrono::seconds{1'800'000'000}};

FetchedPolicy fetched(std::string_view mode, std::uint32_t max_age, core::WallTime at = kT0) {
    FetchedPolicy f;
    f.body = "version: STSv1\r\nmode: " + std::string(mode) + "\r\nmx: mx.example.test\r\n" +
             "max_age: " + std::to_string(max_age) + "\r\n";
    f.policy = parse_policy(f.body).value();
    f.fetched_at = at;
    return f;
}

class StsCache : public ::testing::Test {
protected:
    std::unique_ptr<PolicyCache> open() {
        auto cache = PolicyCache::open(PolicyCache::path_in(dir_.path()));
        EXPECT_TRUE(cache) << cache.error().message();
        return cache ? std::move(*cache) : nullptr;
    }

    test::TempDir dir_;
};

TEST_F(StsCache, CreatesItsFileInTheDataDirectory) {
    auto cache = open();
    ASSERT_TRUE(cache);
    EXPECT_EQ(cache->path(), dir_.path() / "tls" / "mta-sts.db");
    EXPECT_TRUE(std::filesystem::exists(cache->path()));
    struct stat st{};
    ASSERT_EQ(::stat((dir_.path() / "tls").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700U);
    auto missing = cache->lookup("example.test");
    ASSERT_TRUE(missing);
    EXPECT_FALSE(*missing);
}

TEST_F(StsCache, StoresAndLooksUpWithExpiry) {
    auto cache = open();
    ASSERT_TRUE(cache);
    ASSERT_TRUE(cache->store("Example.TEST.", "id1", fetched("enforce", 3600)));
    auto entry = cache->lookup("example.test");
    ASSERT_TRUE(entry && *entry);
    const auto& e = **entry;
    EXPECT_EQ(e.domain, "example.test");
    EXPECT_EQ(e.id, "id1");
    EXPECT_EQ(e.policy.mode, Mode::Enforce);
    EXPECT_EQ(e.policy.max_age, 3600U);
    EXPECT_EQ(e.fetched_at, kT0);
    EXPECT_EQ(e.expires_at, kT0 + 3600s);  // §3.2: max_age from the fetch time
    EXPECT_FALSE(e.expired(kT0 + 3599s));
    EXPECT_TRUE(e.expired(kT0 + 3600s));
    EXPECT_TRUE(e.expired(kT0 + 100000s));
    // Expired entries are still returned: the resolver decides what they are good for.
    auto again = cache->lookup("EXAMPLE.test");
    ASSERT_TRUE(again && *again);
}

TEST_F(StsCache, MaxAgeZeroExpiresAtOnce) {
    auto cache = open();
    ASSERT_TRUE(cache);
    ASSERT_TRUE(cache->store("example.test", "id1", fetched("testing", 0)));
    auto entry = cache->lookup("example.test");
    ASSERT_TRUE(entry && *entry);
    EXPECT_TRUE((*entry)->expired(kT0));
}

TEST_F(StsCache, NewFetchReplacesTheEntryAndClearsTheFailure) {
    auto cache = open();
    ASSERT_TRUE(cache);
    ASSERT_TRUE(cache->store("example.test", "id1", fetched("testing", 60)));
    ASSERT_TRUE(cache->record_failure("example.test", "id2", kT0 + 10s, "BadStatus: HTTP 404"));
    auto failure = cache->last_failure("example.test");
    ASSERT_TRUE(failure && *failure);
    EXPECT_EQ((*failure)->id, "id2");
    EXPECT_EQ((*failure)->failed_at, kT0 + 10s);
    EXPECT_EQ((*failure)->error, "BadStatus: HTTP 404");

    ASSERT_TRUE(cache->store("example.test", "id2", fetched("enforce", 600, kT0 + 20s)));
    auto entry = cache->lookup("example.test");
    ASSERT_TRUE(entry && *entry);
    EXPECT_EQ((*entry)->id, "id2");
    EXPECT_EQ((*entry)->policy.mode, Mode::Enforce);
    EXPECT_EQ((*entry)->expires_at, kT0 + 620s);
    failure = cache->last_failure("example.test");
    ASSERT_TRUE(failure);
    EXPECT_FALSE(*failure);

    // Other domains are untouched.
    ASSERT_TRUE(cache->store("other.test", "x", fetched("none", 1)));
    ASSERT_TRUE(cache->remove("example.test"));
    entry = cache->lookup("example.test");
    ASSERT_TRUE(entry);
    EXPECT_FALSE(*entry);
    entry = cache->lookup("other.test");
    ASSERT_TRUE(entry && *entry);
    EXPECT_EQ((*entry)->policy.mode, Mode::None);
}

TEST_F(StsCache, SurvivesReopening) {
    {
        auto cache = open();
        ASSERT_TRUE(cache);
        ASSERT_TRUE(cache->store("example.test", "durable", fetched("enforce", 86400)));
    }
    auto cache = open();
    ASSERT_TRUE(cache);
    auto entry = cache->lookup("example.test");
    ASSERT_TRUE(entry && *entry);
    EXPECT_EQ((*entry)->id, "durable");
}

TEST_F(StsCache, DamagedEntryIsDroppedNotUsed) {
    auto cache = open();
    ASSERT_TRUE(cache);
    ASSERT_TRUE(cache->store("example.test", "id1", fetched("enforce", 86400)));
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(cache->path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db, "UPDATE policies SET body = 'garbage'", nullptr, nullptr, nullptr),
        SQLITE_OK
    );
    sqlite3_close(db);
    auto entry = cache->lookup("example.test");
    ASSERT_TRUE(entry);
    EXPECT_FALSE(*entry);
    sqlite3_open(cache->path().c_str(), &db);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM policies", -1, &stmt, nullptr);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(stmt, 0), 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

TEST_F(StsCache, UnwritableLocationFails) {
    const auto blocker = dir_.path() / "file";
    {
        std::ofstream(blocker) << "x";
    }
    auto cache = PolicyCache::open(blocker / "tls" / "mta-sts.db");
    ASSERT_FALSE(cache);
    EXPECT_EQ(cache.error(), Errc::CacheFailed);
}

// Atomicity: a reader (another connection, as another process would have) never sees the id of
// one store with the body of another, while a writer alternates between two policies.
TEST_F(StsCache, ReadersSeeWholeEntriesOnly) {
    auto writer = open();
    auto reader = open();
    ASSERT_TRUE(writer && reader);
    const auto a = fetched("enforce", 111);
    const auto b = fetched("testing", 222);
    ASSERT_TRUE(writer->store("example.test", "a", a));
    std::atomic<bool> done{false};
    std::atomic<int> stores{0};
    std::thread thread([&] {
        for (int i = 0; i < 300; ++i) {
            const bool even = i % 2 == 0;
            if (writer->store("example.test", even ? "b" : "a", even ? b : a)) {
                ++stores;
            }
        }
        done = true;
    });
    int reads = 0;
    int mismatches = 0;
    while (!done || reads == 0) {
        auto entry = reader->lookup("example.test");
        ASSERT_TRUE(entry) << entry.error().message();
        ASSERT_TRUE(*entry);
        const auto& e = **entry;
        const bool consistent =
            (e.id == "a" && e.policy.max_age == 111 && e.expires_at == kT0 + 111s) ||
            (e.id == "b" && e.policy.max_age == 222 && e.expires_at == kT0 + 222s);
        mismatches += consistent ? 0 : 1;
        ++reads;
    }
    thread.join();
    EXPECT_EQ(stores, 300);
    EXPECT_EQ(mismatches, 0);
    EXPECT_GT(reads, 0);
}

}  // namespace
}  // namespace sov::tls
