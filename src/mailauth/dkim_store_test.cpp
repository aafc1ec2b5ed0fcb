#include "mailauth/dkim_store.hpp"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "mailauth/errors.hpp"
#include "support/temp_dir.hpp"

namespace sov::mailauth {
namespace {

core::WallTime at(std::int64_t seconds) {
    return core::WallTime(std::chrono::seconds(seconds));
}

constexpr KeyGenOptions kFast{.rsa = true, .ed25519 = true, .rsa_bits = 1024};
constexpr std::int64_t kNov29 = 1'795'939'200;  // 2026-11-29 00:00:00 UTC

TEST(DkimStore, DomainAndSelectorValidation) {
    EXPECT_TRUE(is_canonical_domain("example.test"));
    EXPECT_TRUE(is_canonical_domain("xn--bcher-kva.example"));
    EXPECT_TRUE(is_canonical_domain("localhost"));
    for (const auto bad :
         {"",
          ".",
          "..",
          "../etc",
          "a/b",
          "Example.test",
          "a..b",
          ".a",
          "a.",
          "-a.b",
          "a-.b",
          "a b",
          "b\xc3\xbc"
          "cher.example"}) {
        EXPECT_FALSE(is_canonical_domain(bad)) << bad;
    }
    EXPECT_FALSE(is_canonical_domain(std::string(64, 'a') + ".test"));
    EXPECT_TRUE(is_valid_selector("s20261129a-rsa"));
    EXPECT_FALSE(is_valid_selector("a.b"));
    EXPECT_FALSE(is_valid_selector("../x"));
    EXPECT_FALSE(is_valid_selector(""));
    test::TempDir dir;
    EXPECT_EQ(KeyStore::open(dir.path(), "../evil").error(), Errc::BadDomain);
}

TEST(DkimStore, StateFileRoundTrip) {
    const std::vector<SelectorEntry> entries = {
        {"s20261129a-rsa", KeyAlgorithm::Rsa, SelectorState::Retired, 1, 5},
        {"s20261129a-ed", KeyAlgorithm::Ed25519, SelectorState::Active, 2, 3},
        {"s20261201a-ed", KeyAlgorithm::Ed25519, SelectorState::Pending, 4, 4},
    };
    const auto text = format_selectors("example.test", entries);
    EXPECT_NE(text.find("s20261129a-ed ed25519 active 2 3\n"), std::string::npos);
    auto parsed = parse_selectors(text);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, entries);
    for (const auto bad :
         {"x rsa active 1\n",
          "x rsa active 1 2 3\n",
          "x dsa active 1 2\n",
          "x rsa gone 1 2\n",
          "x rsa active -1 2\n",
          "../x rsa active 1 2\n",
          "x rsa active 1 2\nx ed25519 active 1 2\n",
          "x rsa active 1x 2\n"}) {
        EXPECT_EQ(parse_selectors(bad).error(), Errc::CorruptState) << bad;
    }
}

TEST(DkimStore, KeygenRotatePromoteForget) {
    test::TempDir dir;
    auto store = KeyStore::open(dir.path(), "example.test");
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->entries().empty());
    EXPECT_EQ(store->create_pending(at(kNov29), kFast).error(), Errc::NoKeys);

    auto first = store->create_initial(at(kNov29 + 60), kFast);
    ASSERT_TRUE(first) << first.error().message();
    ASSERT_EQ(first->size(), 2U);
    EXPECT_EQ((*first)[0].selector, "s20261129a-rsa");
    EXPECT_EQ((*first)[1].selector, "s20261129a-ed");
    EXPECT_EQ((*first)[0].state, SelectorState::Active);
    EXPECT_EQ(store->create_initial(at(kNov29), kFast).error(), Errc::KeysExist);
    struct stat st{};
    ASSERT_EQ(::stat(store->key_path((*first)[0]).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    ASSERT_EQ(::stat(store->dir().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700U);

    // Same day: the next letter.
    auto pending = store->create_pending(at(kNov29 + 120), kFast);
    ASSERT_TRUE(pending);
    EXPECT_EQ((*pending)[0].selector, "s20261129b-rsa");
    EXPECT_EQ((*pending)[1].state, SelectorState::Pending);
    EXPECT_EQ(store->create_pending(at(kNov29), kFast).error(), Errc::RotationPending);

    // What another process (the server, `dkim list`) reads back.
    auto reread = KeyStore::open(dir.path(), "example.test");
    ASSERT_TRUE(reread);
    EXPECT_EQ(reread->entries(), store->entries());
    EXPECT_EQ(reread->with_state(SelectorState::Active).size(), 2U);
    EXPECT_EQ(reread->with_state(SelectorState::Pending).size(), 2U);

    ASSERT_TRUE(store->promote_pending(at(kNov29 + 86400)));
    const auto active = store->with_state(SelectorState::Active);
    ASSERT_EQ(active.size(), 2U);
    EXPECT_EQ(active[0].selector, "s20261129b-rsa");
    EXPECT_EQ(active[0].changed, kNov29 + 86400);
    EXPECT_EQ(store->with_state(SelectorState::Retired).size(), 2U);
    EXPECT_EQ(store->promote_pending(at(kNov29)).error(), Errc::NoKeys);
    auto key = store->load_key(active[1]);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->algorithm(), KeyAlgorithm::Ed25519);

    auto forgotten = store->forget_retired();
    ASSERT_TRUE(forgotten);
    EXPECT_EQ(forgotten->size(), 2U);
    EXPECT_FALSE(std::filesystem::exists(store->key_path((*first)[0])));
    EXPECT_EQ(store->entries().size(), 2U);
    auto after = KeyStore::open(dir.path(), "example.test");
    ASSERT_TRUE(after);
    EXPECT_EQ(after->entries(), store->entries());

    // A new day starts again at 'a'.
    auto next = store->create_pending(at(kNov29 + 2 * 86400), kFast);
    ASSERT_TRUE(next);
    EXPECT_EQ((*next)[0].selector, "s20261201a-rsa");
}

TEST(DkimStore, OnlyOneAlgorithm) {
    test::TempDir dir;
    auto store = KeyStore::open(dir.path(), "example.test");
    auto created =
        store->create_initial(at(kNov29), {.rsa = false, .ed25519 = true, .rsa_bits = 2048});
    ASSERT_TRUE(created);
    ASSERT_EQ(created->size(), 1U);
    EXPECT_EQ((*created)[0].selector, "s20261129a-ed");
}

TEST(DkimStore, CorruptStateAndWrongKeyType) {
    test::TempDir dir;
    std::filesystem::create_directories(dir.path() / "example.test");
    {
        std::ofstream(dir.path() / "example.test" / "selectors") << "garbage\n";
    }
    EXPECT_EQ(KeyStore::open(dir.path(), "example.test").error(), Errc::CorruptState);
    {
        std::ofstream(dir.path() / "example.test" / "selectors") << "s1-rsa rsa active 1 1\n";
    }
    auto store = KeyStore::open(dir.path(), "example.test");
    ASSERT_TRUE(store);
    EXPECT_FALSE(store->load_key(store->entries()[0]));  // no key file
    auto ed = PrivateKey::generate(KeyAlgorithm::Ed25519);
    ASSERT_TRUE(ed->save(store->key_path(store->entries()[0])));
    EXPECT_EQ(store->load_key(store->entries()[0]).error(), Errc::BadKey);
}

}  // namespace
}  // namespace sov::mailauth
