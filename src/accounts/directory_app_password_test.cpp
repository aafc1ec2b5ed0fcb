// App passwords of the accounts directory (directory.hpp): generation, storage, login, revocation,
// and the schema migration that adds them.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "accounts/directory.hpp"
#include "accounts/errors.hpp"
#include "core/clock.hpp"
#include "support/temp_dir.hpp"

namespace sov::accounts {
namespace {

Directory::Options fast_options() {
    Directory::Options options;
    options.password = PasswordParams::minimum_for_test();
    return options;
}

// Runs SQL on the file directly (as an administrator with sqlite3 would); returns the first
// column of the first row, or "" if none.
std::string sql(const std::filesystem::path& path, const std::string& statement) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, statement.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    std::string out;
    const int rc = sqlite3_step(st);
    EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sqlite3_errmsg(db);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
        out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

std::string sha256_hex(std::string_view text) {
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(
        digest.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size()
    );
    std::array<char, digest.size() * 2 + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    return hex.data();
}

std::string without_dashes(std::string text) {
    std::erase(text, '-');
    return text;
}

class AppPasswordTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = Directory::open(path(), fast_options());
        ASSERT_TRUE(opened) << opened.error().message();
        dir = std::move(*opened);
        ASSERT_TRUE(dir->add_domain("example.com"));
        ASSERT_TRUE(dir->add_domain_alias("example.net", "example.com"));
        ASSERT_TRUE(dir->add_user("anna@example.com", "main password"));
        ASSERT_TRUE(dir->add_user("bob@example.com", "bob password"));
    }
    void TearDown() override { core::pin_clock_for_test({}); }

    std::filesystem::path path() const { return tmp.path() / "accounts.db"; }

    std::string add(std::string_view address, std::string_view name) {
        auto password = dir->add_app_password(address, name);
        EXPECT_TRUE(password) << password.error().message();
        return password ? *password : std::string{};
    }

    test::TempDir tmp;
    std::unique_ptr<Directory> dir;
};

TEST_F(AppPasswordTest, GeneratedInFourGroupsOfLowercaseBase32) {
    const std::string a = add("anna@example.com", "phone");
    const std::string b = add("anna@example.com", "laptop");
    ASSERT_EQ(a.size(), Directory::kAppPasswordChars + 3);
    EXPECT_NE(a, b);
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i % 8 == 7) {
            EXPECT_EQ(a[i], '-') << a;
        } else {
            const char c = a[i];
            EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << a;
        }
    }
    // 28 characters of 5 bits: at least 128 bits.
    EXPECT_GE(Directory::kAppPasswordChars * 5, 128U);
}

TEST_F(AppPasswordTest, LogsInAlongsideTheMainPasswordUntilRevoked) {
    const std::string pw = add("Anna@Example.NET", "phone");
    auto account = dir->authenticate("anna@example.com", pw);
    ASSERT_TRUE(account) << account.error().message();
    EXPECT_EQ(account->address, "anna@example.com");
    // Typed by hand: case, spaces and dashes do not matter. Domain aliases apply as for logins.
    std::string typed = pw;
    for (char& c : typed) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    EXPECT_TRUE(dir->authenticate("anna@example.net", typed));
    std::string spaced = pw;
    std::replace(spaced.begin(), spaced.end(), '-', ' ');
    EXPECT_TRUE(dir->authenticate("anna@example.com", spaced));
    EXPECT_TRUE(dir->authenticate("anna@example.com", without_dashes(pw)));
    // Not a prefix, not with a character changed, not for another user.
    EXPECT_EQ(
        dir->authenticate("anna@example.com", pw.substr(0, pw.size() - 1)).error(), Errc::AuthFailed
    );
    std::string changed = pw;
    changed[0] = changed[0] == 'a' ? 'b' : 'a';
    EXPECT_EQ(dir->authenticate("anna@example.com", changed).error(), Errc::AuthFailed);
    EXPECT_EQ(dir->authenticate("bob@example.com", pw).error(), Errc::AuthFailed);
    EXPECT_EQ(dir->authenticate("nobody@example.com", pw).error(), Errc::AuthFailed);
    EXPECT_TRUE(dir->authenticate("anna@example.com", "main password"));

    ASSERT_TRUE(dir->revoke_app_password("anna@example.com", "phone"));
    EXPECT_EQ(dir->authenticate("anna@example.com", pw).error(), Errc::AuthFailed);
    EXPECT_TRUE(dir->authenticate("anna@example.com", "main password"));
    EXPECT_EQ(dir->revoke_app_password("anna@example.com", "phone").error(), Errc::NotFound);
}

TEST_F(AppPasswordTest, StoredAsSha256OfThePasswordOnly) {
    const std::string pw = add("anna@example.com", "phone");
    EXPECT_EQ(
        sql(path(), "SELECT hash FROM app_passwords WHERE name = 'phone'"),
        sha256_hex(without_dashes(pw))
    );
    // The password itself is nowhere in the database file.
    std::ifstream file(path(), std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(file), {}};
    EXPECT_EQ(bytes.find(without_dashes(pw)), std::string::npos);
    EXPECT_EQ(bytes.find(pw), std::string::npos);
}

TEST_F(AppPasswordTest, ListShowsNamesCreationAndLastUse) {
    using namespace std::chrono_literals;
    const core::WallTime t0{std::chrono::seconds{1'700'000'000}};
    core::pin_clock_for_test(t0);
    const std::string phone = add("anna@example.com", "phone");
    core::pin_clock_for_test(t0 + 10s);
    add("anna@example.com", "Laptop (work)");
    add("bob@example.com", "phone");  // names are per account

    auto list = dir->list_app_passwords("anna@example.com");
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2U);
    EXPECT_EQ((*list)[0].name, "Laptop (work)");
    EXPECT_EQ((*list)[0].created, 1'700'000'010);
    EXPECT_EQ((*list)[1].name, "phone");
    EXPECT_EQ((*list)[1].created, 1'700'000'000);
    EXPECT_EQ((*list)[1].last_used, 0);

    const auto last_used = [&] {
        return (*dir->list_app_passwords("anna@example.com"))[1].last_used;
    };
    core::pin_clock_for_test(t0 + 100s);
    ASSERT_TRUE(dir->authenticate("anna@example.com", phone));
    EXPECT_EQ(last_used(), 1'700'000'100);
    // Within a minute the stored time is not rewritten; after it, it is.
    core::pin_clock_for_test(t0 + 130s);
    ASSERT_TRUE(dir->authenticate("anna@example.com", phone));
    EXPECT_EQ(last_used(), 1'700'000'100);
    core::pin_clock_for_test(t0 + 170s);
    ASSERT_TRUE(dir->authenticate("anna@example.com", phone));
    EXPECT_EQ(last_used(), 1'700'000'170);
    // The main password does not count as a use.
    core::pin_clock_for_test(t0 + 1000s);
    ASSERT_TRUE(dir->authenticate("anna@example.com", "main password"));
    EXPECT_EQ(last_used(), 1'700'000'170);

    auto none = dir->list_app_passwords("bob@example.net");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->size(), 1U);
}

TEST_F(AppPasswordTest, Errors) {
    add("anna@example.com", "phone");
    EXPECT_EQ(dir->add_app_password("anna@example.com", "phone").error(), Errc::Exists);
    EXPECT_EQ(dir->add_app_password("anna@example.com", "").error(), Errc::Invalid);
    EXPECT_EQ(dir->add_app_password("anna@example.com", "a\nb").error(), Errc::Invalid);
    EXPECT_EQ(
        dir->add_app_password(
               "anna@example.com", std::string(Directory::kMaxAppPasswordName + 1, 'x')
        )
            .error(),
        Errc::Invalid
    );
    EXPECT_TRUE(
        dir->add_app_password("anna@example.com", std::string(Directory::kMaxAppPasswordName, 'x'))
    );
    EXPECT_TRUE(dir->add_app_password("anna@example.com", "Telefon für Anna"));
    EXPECT_EQ(dir->add_app_password("nobody@example.com", "x").error(), Errc::NotFound);
    EXPECT_EQ(dir->add_app_password("nobody@other.example", "x").error(), Errc::NotFound);
    EXPECT_EQ(dir->add_app_password("../x@example.com", "x").error(), Errc::InvalidAddress);
    EXPECT_EQ(dir->list_app_passwords("nobody@example.com").error(), Errc::NotFound);
    EXPECT_EQ(dir->revoke_app_password("nobody@example.com", "phone").error(), Errc::NotFound);
    EXPECT_EQ(dir->revoke_app_password("bob@example.com", "phone").error(), Errc::NotFound);
}

TEST_F(AppPasswordTest, NumberPerAccountIsBounded) {
    for (std::size_t i = 0; i < Directory::kMaxAppPasswords; ++i) {
        ASSERT_TRUE(dir->add_app_password("anna@example.com", "device " + std::to_string(i)));
    }
    EXPECT_EQ(dir->add_app_password("anna@example.com", "one more").error(), Errc::Invalid);
    ASSERT_TRUE(dir->revoke_app_password("anna@example.com", "device 0"));
    EXPECT_TRUE(dir->add_app_password("anna@example.com", "one more"));
}

TEST_F(AppPasswordTest, PasswordChangeKeepsThemAndDeletingTheUserRemovesThem) {
    const std::string pw = add("anna@example.com", "phone");
    ASSERT_TRUE(dir->set_password("anna@example.com", "new main password"));
    EXPECT_TRUE(dir->authenticate("anna@example.com", pw));
    EXPECT_FALSE(dir->authenticate("anna@example.com", "main password"));

    // SCRAM keeps using the main password only.
    auto scram = dir->scram_credentials("anna@example.com");
    ASSERT_TRUE(scram);
    auto expected = make_scram_credentials(
        "new main password", scram->credentials.salt, scram->credentials.iterations
    );
    ASSERT_TRUE(expected);
    EXPECT_EQ(scram->credentials.stored_key, expected->stored_key);

    ASSERT_TRUE(dir->del_user("anna@example.com"));
    EXPECT_EQ(sql(path(), "SELECT count(*) FROM app_passwords"), "0");
    // A new user of the same name does not inherit them.
    ASSERT_TRUE(dir->add_user("anna@example.com", "another"));
    EXPECT_EQ(dir->authenticate("anna@example.com", pw).error(), Errc::AuthFailed);
    EXPECT_TRUE(dir->list_app_passwords("anna@example.com")->empty());
}

TEST_F(AppPasswordTest, AnotherProcessSeesAddAndRevoke) {
    // The CLI adds and revokes while the server runs with its own Directory on the same file.
    auto server = Directory::open(path(), fast_options());
    ASSERT_TRUE(server);
    const std::string pw = add("anna@example.com", "phone");
    EXPECT_TRUE((*server)->authenticate("anna@example.com", pw));
    ASSERT_TRUE(dir->revoke_app_password("anna@example.com", "phone"));
    EXPECT_EQ((*server)->authenticate("anna@example.com", pw).error(), Errc::AuthFailed);
}

// A database at schema version 2 (as released before app passwords) upgrades in place.
TEST(AppPasswordStorage, Version2DatabaseIsMigrated) {
    test::TempDir tmp;
    const auto path = tmp.path() / "accounts.db";
    {
        auto opened = Directory::open(path, fast_options());
        ASSERT_TRUE(opened);
        ASSERT_TRUE((*opened)->add_domain("example.com"));
        ASSERT_TRUE((*opened)->add_user("old@example.com", "old password"));
    }
    // Back to version 2: what version 3 added is gone.
    sql(path, "DROP TABLE app_passwords");
    sql(path, "PRAGMA user_version = 2");
    ASSERT_EQ(sql(path, "SELECT count(*) FROM sqlite_master WHERE name = 'app_passwords'"), "0");

    auto opened = Directory::open(path, fast_options());
    ASSERT_TRUE(opened) << opened.error().message();
    auto& dir = **opened;
    EXPECT_EQ(sql(path, "PRAGMA user_version"), "3");
    EXPECT_TRUE(dir.authenticate("old@example.com", "old password"));
    auto pw = dir.add_app_password("old@example.com", "phone");
    ASSERT_TRUE(pw);
    EXPECT_TRUE(dir.authenticate("old@example.com", *pw));
}

}  // namespace
}  // namespace sov::accounts
