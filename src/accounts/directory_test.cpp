#include "accounts/directory.hpp"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "accounts/address.hpp"
#include "accounts/errors.hpp"
#include "support/temp_dir.hpp"

namespace sov::accounts {
namespace {

using Kind = RecipientResolution::Kind;

Directory::Options fast_options() {
    Directory::Options options;
    options.password = PasswordParams::minimum_for_test();
    return options;
}

std::vector<std::string> addresses(const RecipientResolution& r) {
    std::vector<std::string> out;
    for (const auto& account : r.accounts) {
        out.push_back(account.address);
    }
    return out;
}

class DirectoryTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = Directory::open(path(), fast_options());
        ASSERT_TRUE(opened) << opened.error().message();
        dir = std::move(*opened);
        ASSERT_TRUE(dir->add_domain("example.com"));
    }

    std::filesystem::path path() const { return tmp.path() / "accounts.db"; }

    void add_user(std::string_view address, Quota quota = {}) {
        auto r = dir->add_user(address, "secret", quota);
        ASSERT_TRUE(r) << address << ": " << r.error().message();
    }

    test::TempDir tmp;
    std::unique_ptr<Directory> dir;
};

// --- domains -------------------------------------------------------------------------------

TEST_F(DirectoryTest, DomainsAreStoredAsALabelsAndListed) {
    auto d = dir->add_domain("Bücher.example");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->name, "xn--bcher-kva.example");
    EXPECT_EQ(d->display_name, "bücher.example");
    EXPECT_EQ(dir->add_domain("xn--bcher-kva.example").error(), Errc::Exists);
    EXPECT_EQ(dir->add_domain("BÜCHER.example").error(), Errc::Exists);
    EXPECT_TRUE(dir->is_local_domain("xn--BCHER-kva.example"));
    EXPECT_TRUE(dir->is_local_domain("bücher.EXAMPLE."));
    EXPECT_FALSE(dir->is_local_domain("other.example"));
    EXPECT_FALSE(dir->is_local_domain("not a domain"));

    auto list = dir->list_domains();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2U);
    EXPECT_EQ((*list)[0].name, "example.com");
    EXPECT_EQ((*list)[1].name, "xn--bcher-kva.example");
    EXPECT_EQ((*list)[1].display_name, "bücher.example");
}

TEST_F(DirectoryTest, InvalidDomainsAreRejected) {
    EXPECT_EQ(dir->add_domain("bad_domain.example").error(), Errc::InvalidDomain);
    EXPECT_EQ(dir->add_domain("").error(), Errc::InvalidDomain);
    EXPECT_EQ(dir->add_domain("192.0.2.1").error(), Errc::InvalidDomain);
}

TEST_F(DirectoryTest, DeleteDomainRefusedWhileUsersExist) {
    ASSERT_TRUE(dir->add_domain("gone.example"));
    add_user("u@gone.example");
    ASSERT_TRUE(dir->add_alias("a@gone.example", {"u@gone.example"}));
    ASSERT_TRUE(dir->add_domain_alias("alias-of-gone.example", "gone.example"));
    EXPECT_EQ(dir->del_domain("gone.example").error(), Errc::InUse);
    ASSERT_TRUE(dir->del_user("u@gone.example"));
    ASSERT_TRUE(dir->del_domain("GONE.example"));
    EXPECT_FALSE(dir->is_local_domain("gone.example"));
    EXPECT_FALSE(dir->is_local_domain("alias-of-gone.example"));  // cascaded
    auto aliases = dir->list_aliases();
    ASSERT_TRUE(aliases);
    EXPECT_TRUE(aliases->empty());
    EXPECT_EQ(dir->del_domain("gone.example").error(), Errc::NotFound);
}

TEST_F(DirectoryTest, DomainAliasMapsAllAddresses) {
    add_user("john@example.com");
    auto a = dir->add_domain_alias("Alias.Example", "example.com");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->alias_of, "example.com");
    EXPECT_TRUE(dir->is_local_domain("alias.example"));

    auto r = dir->resolve_recipient("John@ALIAS.example");
    ASSERT_EQ(r.kind, Kind::Local);
    EXPECT_EQ(addresses(r), std::vector<std::string>{"john@example.com"});
    EXPECT_EQ(dir->resolve_recipient("nobody@alias.example").kind, Kind::UnknownUser);
    auto found = dir->find_user("john@alias.example");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->address, "john@example.com");

    // Names are unique across hosted domains and domain aliases.
    EXPECT_EQ(dir->add_domain("alias.example").error(), Errc::Exists);
    EXPECT_EQ(dir->add_domain_alias("example.com", "alias.example").error(), Errc::NotFound);
    EXPECT_EQ(dir->add_domain_alias("alias.example", "example.com").error(), Errc::Exists);
    EXPECT_EQ(dir->add_domain_alias("x.example", "x.example").error(), Errc::Invalid);
    EXPECT_EQ(dir->add_domain_alias("y.example", "missing.example").error(), Errc::NotFound);
    // Accounts live in the target domain only.
    EXPECT_EQ(dir->add_user("new@alias.example", "pw").error(), Errc::Invalid);

    auto list = dir->list_domains();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2U);
    EXPECT_EQ((*list)[0].name, "alias.example");
    EXPECT_EQ((*list)[0].alias_of, "example.com");

    ASSERT_TRUE(dir->del_domain_alias("alias.example"));
    EXPECT_EQ(dir->del_domain_alias("alias.example").error(), Errc::NotFound);
    EXPECT_EQ(dir->resolve_recipient("john@alias.example").kind, Kind::NotLocal);
}

// --- users ---------------------------------------------------------------------------------

TEST_F(DirectoryTest, UsersAreCaseInsensitiveAndKeepDisplaySpelling) {
    auto a = dir->add_user("John.Smith@Example.COM", "pw", Quota{1000, 10});
    ASSERT_TRUE(a);
    EXPECT_EQ(a->address, "john.smith@example.com");
    EXPECT_EQ(a->display_address, "John.Smith@example.com");
    EXPECT_EQ(a->quota, (Quota{1000, 10}));
    EXPECT_EQ(dir->add_user("JOHN.SMITH@example.com", "pw").error(), Errc::Exists);

    auto found = dir->find_user("john.SMITH@example.com");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, a->id);
    EXPECT_EQ(found->display_address, "John.Smith@example.com");
    EXPECT_EQ(found->quota, (Quota{1000, 10}));
}

TEST_F(DirectoryTest, UnsafeLocalPartsAreRejected) {
    using namespace std::string_literals;
    for (const std::string& bad :
         {"../x@example.com"s,
          "a/b@example.com"s,
          ".hidden@example.com"s,
          "a\0b@example.com"s,
          "..@example.com"s,
          "-x@example.com"s,
          "x.@example.com"s,
          "ü@example.com"s,
          std::string(65, 'a') + "@example.com"}) {
        auto r = dir->add_user(bad, "pw");
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), Errc::InvalidAddress) << bad;
    }
    auto users = dir->list_users();
    ASSERT_TRUE(users);
    EXPECT_TRUE(users->empty());
}

TEST_F(DirectoryTest, AddUserErrors) {
    EXPECT_EQ(dir->add_user("x@other.example", "pw").error(), Errc::NotLocalDomain);
    EXPECT_EQ(dir->add_user("x@example.com", "").error(), Errc::InvalidPassword);
    EXPECT_EQ(dir->add_user("x@bad_domain", "pw").error(), Errc::InvalidDomain);
    EXPECT_EQ(dir->add_user("x@example.com", "pw", Quota{~0ULL, 0}).error(), Errc::Invalid);
}

TEST_F(DirectoryTest, AccountNamesAreSafeDirectoryNames) {
    ASSERT_TRUE(dir->add_domain("bücher.example"));
    auto a = dir->add_user("Max.Mustermann@Bücher.example", "pw");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->address, "max.mustermann@xn--bcher-kva.example");
    EXPECT_EQ(a->display_address, "Max.Mustermann@bücher.example");
    EXPECT_TRUE(is_safe_account_name(a->address));
}

TEST_F(DirectoryTest, ListDeleteQuotaPassword) {
    ASSERT_TRUE(dir->add_domain("other.example"));
    add_user("b@example.com");
    add_user("a@example.com", Quota{5, 0});
    add_user("z@other.example");

    auto all = dir->list_users();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 3U);
    EXPECT_EQ((*all)[0].address, "a@example.com");
    EXPECT_EQ((*all)[1].address, "b@example.com");
    EXPECT_EQ((*all)[2].address, "z@other.example");
    EXPECT_EQ((*all)[0].quota.bytes, 5U);

    auto some = dir->list_users("OTHER.example");
    ASSERT_TRUE(some);
    ASSERT_EQ(some->size(), 1U);
    EXPECT_EQ((*some)[0].address, "z@other.example");
    EXPECT_EQ(dir->list_users("missing.example").error(), Errc::NotFound);

    ASSERT_TRUE(dir->set_quota("A@example.com", Quota{0, 7}));
    EXPECT_EQ(dir->find_user("a@example.com")->quota, (Quota{0, 7}));
    EXPECT_EQ(dir->set_quota("nobody@example.com", Quota{}).error(), Errc::NotFound);

    ASSERT_TRUE(dir->set_password("a@example.com", "new password"));
    EXPECT_FALSE(dir->authenticate("a@example.com", "secret"));
    EXPECT_TRUE(dir->authenticate("a@example.com", "new password"));
    EXPECT_EQ(dir->set_password("nobody@example.com", "x").error(), Errc::NotFound);
    EXPECT_EQ(dir->set_password("a@example.com", "").error(), Errc::InvalidPassword);

    ASSERT_TRUE(dir->del_user("B@example.com"));
    EXPECT_EQ(dir->del_user("b@example.com").error(), Errc::NotFound);
    EXPECT_EQ(dir->find_user("b@example.com").error(), Errc::NotFound);
    EXPECT_EQ(dir->list_users()->size(), 2U);
}

// --- authentication ------------------------------------------------------------------------

TEST_F(DirectoryTest, AuthenticateGoodBadUnknown) {
    ASSERT_TRUE(dir->add_user("Alice@example.com", "wonderland", Quota{1, 2}));
    auto ok = dir->authenticate("alice@EXAMPLE.com", "wonderland");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->address, "alice@example.com");
    EXPECT_EQ(ok->quota, (Quota{1, 2}));

    EXPECT_EQ(dir->authenticate("alice@example.com", "Wonderland").error(), Errc::AuthFailed);
    EXPECT_EQ(dir->authenticate("alice@example.com", "").error(), Errc::AuthFailed);
    EXPECT_EQ(dir->authenticate("bob@example.com", "wonderland").error(), Errc::AuthFailed);
    EXPECT_EQ(dir->authenticate("alice@other.example", "wonderland").error(), Errc::AuthFailed);
    EXPECT_EQ(dir->authenticate("../x@example.com", "wonderland").error(), Errc::AuthFailed);
    // No subaddressing for logins.
    EXPECT_EQ(dir->authenticate("alice+x@example.com", "wonderland").error(), Errc::AuthFailed);
}

TEST_F(DirectoryTest, AuthenticateUpgradesHashWhenParametersChange) {
    add_user("u@example.com");
    const auto stored_hash = [&] {
        sqlite3* db = nullptr;
        EXPECT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(db, "SELECT password_hash FROM users", -1, &st, nullptr);
        std::string hash;
        if (sqlite3_step(st) == SQLITE_ROW) {
            hash = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return hash;
    };
    const std::string before = stored_hash();
    auto options = fast_options();
    options.password.opslimit += 1;
    dir.reset();
    auto reopened = Directory::open(path(), options);
    ASSERT_TRUE(reopened);
    dir = std::move(*reopened);
    EXPECT_TRUE(password_needs_rehash(before, options.password));
    ASSERT_TRUE(dir->authenticate("u@example.com", "secret"));
    const std::string after = stored_hash();
    EXPECT_NE(after, before);
    EXPECT_FALSE(password_needs_rehash(after, options.password));
    EXPECT_TRUE(dir->authenticate("u@example.com", "secret"));
}

// --- SCRAM-SHA-256 credentials ------------------------------------------------------------

// Runs one statement on the database file behind the Directory's back; returns the first
// column of the first row as text ("" for NULL or no row).
std::string sql(const std::filesystem::path& path, const std::string& statement) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, statement.c_str(), -1, &st, nullptr), SQLITE_OK) << statement;
    std::string out;
    const int rc = sqlite3_step(st);
    EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << statement << ": " << sqlite3_errmsg(db);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
        out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

// True if `c` was derived from `password` (same salt and count give the same keys).
bool derived_from(const ScramCredentials& c, std::string_view password) {
    auto expected = make_scram_credentials(password, c.salt, c.iterations);
    return expected && expected->stored_key == c.stored_key && expected->server_key == c.server_key;
}

TEST_F(DirectoryTest, ScramCredentialsAreStoredAtAddUserAndSetPassword) {
    ASSERT_TRUE(dir->add_domain_alias("alias.example", "example.com"));
    add_user("Scram@example.com", Quota{3, 4});
    const std::string column =
        sql(path(), "SELECT scram_sha256 FROM users WHERE local_part = 'scram'");
    EXPECT_EQ(column.rfind("SCRAM-SHA-256$10000$", 0), 0U) << column;

    auto found = dir->scram_credentials("SCRAM@alias.example");
    ASSERT_TRUE(found) << found.error().message();
    EXPECT_EQ(found->account.address, "scram@example.com");
    EXPECT_EQ(found->account.quota, (Quota{3, 4}));
    EXPECT_EQ(found->credentials.iterations, kScramIterations);
    EXPECT_EQ(found->credentials.salt.size(), kScramSaltSize);
    EXPECT_TRUE(derived_from(found->credentials, "secret"));
    EXPECT_FALSE(derived_from(found->credentials, "Secret"));

    ASSERT_TRUE(dir->set_password("scram@example.com", "changed"));
    auto after = dir->scram_credentials("scram@example.com");
    ASSERT_TRUE(after);
    EXPECT_NE(after->credentials.salt, found->credentials.salt);
    EXPECT_TRUE(derived_from(after->credentials, "changed"));

    EXPECT_EQ(dir->scram_credentials("nobody@example.com").error(), Errc::NotFound);
    EXPECT_EQ(dir->scram_credentials("scram@other.example").error(), Errc::NotFound);
    EXPECT_EQ(dir->scram_credentials("scram+tag@example.com").error(), Errc::NotFound);
    EXPECT_FALSE(dir->scram_credentials("not an address"));
}

TEST_F(DirectoryTest, ScramCredentialsAreCreatedAtTheNextSuccessfulLogin) {
    add_user("lazy@example.com");
    sql(path(), "UPDATE users SET scram_sha256 = NULL");
    EXPECT_EQ(dir->scram_credentials("lazy@example.com").error(), Errc::NotFound);

    EXPECT_FALSE(dir->authenticate("lazy@example.com", "wrong"));
    EXPECT_EQ(dir->scram_credentials("lazy@example.com").error(), Errc::NotFound);

    ASSERT_TRUE(dir->authenticate("lazy@example.com", "secret"));
    auto created = dir->scram_credentials("lazy@example.com");
    ASSERT_TRUE(created);
    EXPECT_EQ(created->credentials.iterations, kScramIterations);
    EXPECT_TRUE(derived_from(created->credentials, "secret"));

    // The next login is answered from the credential cache, without Argon2id: it must fill in
    // missing credentials too.
    sql(path(), "UPDATE users SET scram_sha256 = NULL");
    ASSERT_TRUE(dir->authenticate("lazy@example.com", "secret"));
    auto again = dir->scram_credentials("lazy@example.com");
    ASSERT_TRUE(again);
    EXPECT_TRUE(derived_from(again->credentials, "secret"));
    // Present and current: a login leaves them alone.
    ASSERT_TRUE(dir->authenticate("lazy@example.com", "secret"));
    EXPECT_EQ(
        dir->scram_credentials("lazy@example.com")->credentials.salt, again->credentials.salt
    );
}

TEST_F(DirectoryTest, WeakOrMalformedScramCredentialsAreReplacedAtLogin) {
    add_user("weak@example.com");
    auto weak = make_scram_credentials("secret", "0123456789abcdef", 4096);
    ASSERT_TRUE(weak);
    sql(path(), "UPDATE users SET scram_sha256 = '" + format_scram_credentials(*weak) + "'");
    EXPECT_EQ(dir->scram_credentials("weak@example.com")->credentials.iterations, 4096U);
    ASSERT_TRUE(dir->authenticate("weak@example.com", "secret"));
    auto renewed = dir->scram_credentials("weak@example.com");
    ASSERT_TRUE(renewed);
    EXPECT_EQ(renewed->credentials.iterations, kScramIterations);
    EXPECT_TRUE(derived_from(renewed->credentials, "secret"));

    sql(path(), "UPDATE users SET scram_sha256 = 'SCRAM-SHA-256$garbage'");
    EXPECT_EQ(dir->scram_credentials("weak@example.com").error(), Errc::NotFound);
    ASSERT_TRUE(dir->authenticate("weak@example.com", "secret"));
    EXPECT_TRUE(dir->scram_credentials("weak@example.com"));
}

// A database written by schema version 1 (the released first migration, verbatim) with one
// user: it must open, keep the user and password, and gain SCRAM credentials at login.
TEST(DirectoryStorage, Version1DatabaseIsMigrated) {
    test::TempDir tmp;
    const auto path = tmp.path() / "accounts.db";
    auto hash = hash_password("old password", PasswordParams::minimum_for_test());
    ASSERT_TRUE(hash);
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        const std::string v1 = R"sql(
CREATE TABLE domains (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE TABLE domain_aliases (
    name         TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    target_id    INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL
);
CREATE INDEX domain_aliases_target ON domain_aliases(target_id);
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    domain_id      INTEGER NOT NULL REFERENCES domains(id) ON DELETE RESTRICT,
    local_part     TEXT NOT NULL,
    display_local  TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    quota_bytes    INTEGER NOT NULL DEFAULT 0 CHECK (quota_bytes >= 0),
    quota_messages INTEGER NOT NULL DEFAULT 0 CHECK (quota_messages >= 0),
    created_at     INTEGER NOT NULL,
    UNIQUE (domain_id, local_part)
);
CREATE TABLE aliases (
    id         INTEGER PRIMARY KEY,
    domain_id  INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    local_part TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (domain_id, local_part)
);
CREATE TABLE alias_destinations (
    alias_id    INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
    destination TEXT NOT NULL,
    PRIMARY KEY (alias_id, destination)
) WITHOUT ROWID;
INSERT INTO domains VALUES (1, 'example.com', 'example.com', 0);
INSERT INTO users VALUES (1, 1, 'old', 'Old', ')sql" +
                               *hash + R"sql(', 10, 20, 0);
PRAGMA user_version = 1;
)sql";
        ASSERT_EQ(sqlite3_exec(db, v1.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
            << sqlite3_errmsg(db);
        sqlite3_close(db);
    }
    auto opened = Directory::open(path, fast_options());
    ASSERT_TRUE(opened) << opened.error().message();
    auto& dir = **opened;
    EXPECT_EQ(sql(path, "PRAGMA user_version"), std::to_string(Directory::kSchemaVersion));

    auto user = dir.find_user("old@example.com");
    ASSERT_TRUE(user);
    EXPECT_EQ(user->display_address, "Old@example.com");
    EXPECT_EQ(user->quota, (Quota{10, 20}));
    EXPECT_EQ(dir.scram_credentials("old@example.com").error(), Errc::NotFound);

    EXPECT_FALSE(dir.authenticate("old@example.com", "wrong"));
    ASSERT_TRUE(dir.authenticate("old@example.com", "old password"));
    auto scram = dir.scram_credentials("old@example.com");
    ASSERT_TRUE(scram);
    EXPECT_EQ(scram->account.id, 1);
    EXPECT_TRUE(derived_from(scram->credentials, "old password"));

    // New users in the migrated database get credentials at once.
    ASSERT_TRUE(dir.add_user("new@example.com", "pw"));
    EXPECT_TRUE(dir.scram_credentials("new@example.com"));
}

// --- aliases and resolution ----------------------------------------------------------------

TEST_F(DirectoryTest, ResolveUserAndUnknownAndNotLocal) {
    add_user("john@example.com", Quota{100, 3});
    auto r = dir->resolve_recipient("JOHN@Example.Com");
    ASSERT_EQ(r.kind, Kind::Local);
    ASSERT_EQ(r.accounts.size(), 1U);
    EXPECT_EQ(r.accounts[0].address, "john@example.com");
    EXPECT_EQ(r.accounts[0].quota, (Quota{100, 3}));
    EXPECT_TRUE(r.external.empty());

    EXPECT_EQ(dir->resolve_recipient("\"john\"@example.com").kind, Kind::Local);
    EXPECT_EQ(dir->resolve_recipient("jane@example.com").kind, Kind::UnknownUser);
    EXPECT_EQ(dir->resolve_recipient("../john@example.com").kind, Kind::UnknownUser);
    EXPECT_EQ(dir->resolve_recipient("john@example.org").kind, Kind::NotLocal);
    EXPECT_EQ(dir->resolve_recipient("john").kind, Kind::Invalid);
    EXPECT_EQ(dir->resolve_recipient("john@bad_domain").kind, Kind::Invalid);
    EXPECT_EQ(dir->resolve_recipient("@example.com").kind, Kind::Invalid);
}

TEST_F(DirectoryTest, ResolveIdnDomainInUnicodeOrAscii) {
    ASSERT_TRUE(dir->add_domain("xn--bcher-kva.example"));
    add_user("leser@bücher.example");
    for (const char* rcpt :
         {"Leser@Bücher.example", "leser@xn--bcher-kva.example", "LESER@BÜCHER.EXAMPLE"}) {
        auto r = dir->resolve_recipient(rcpt);
        ASSERT_EQ(r.kind, Kind::Local) << rcpt;
        EXPECT_EQ(addresses(r), std::vector<std::string>{"leser@xn--bcher-kva.example"});
    }
}

TEST_F(DirectoryTest, AliasWithManyDestinationsDeduplicated) {
    add_user("a@example.com");
    add_user("b@example.com");
    ASSERT_TRUE(dir->add_alias("team@example.com", {"a@example.com", "B@Example.com"}));
    ASSERT_TRUE(dir->add_alias(
        "All@Example.com",
        {"team@example.com",
         "a@example.com",
         "Friend@Bücher.example",
         "friend@bücher.example",
         "\"x y\"@elsewhere.example"}
    ));
    auto r = dir->resolve_recipient("all@example.com");
    ASSERT_EQ(r.kind, Kind::Local);
    std::vector<std::string> got = addresses(r);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"a@example.com", "b@example.com"}));
    std::vector<std::string> external = r.external;
    std::sort(external.begin(), external.end());
    // External local parts keep their case: Friend@ and friend@ are different mailboxes.
    EXPECT_EQ(
        external,
        (std::vector<std::string>{
            "\"x y\"@elsewhere.example",
            "Friend@xn--bcher-kva.example",
            "friend@xn--bcher-kva.example"
        })
    );

    auto list = dir->list_aliases("example.com");
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2U);
    EXPECT_EQ((*list)[0].source, "all@example.com");
    EXPECT_EQ((*list)[0].destinations.size(), 5U);
    EXPECT_EQ((*list)[1].source, "team@example.com");
    EXPECT_EQ(
        (*list)[1].destinations, (std::vector<std::string>{"a@example.com", "b@example.com"})
    );

    EXPECT_EQ(dir->add_alias("team@example.com", {"a@example.com"}).error(), Errc::Exists);
    ASSERT_TRUE(dir->del_alias("TEAM@example.com"));
    EXPECT_EQ(dir->del_alias("team@example.com").error(), Errc::NotFound);
    // The dangling destination is skipped; the rest still resolves.
    auto after = dir->resolve_recipient("all@example.com");
    ASSERT_EQ(after.kind, Kind::Local);
    EXPECT_EQ(addresses(after), std::vector<std::string>{"a@example.com"});
}

TEST_F(DirectoryTest, AddAliasValidation) {
    EXPECT_EQ(dir->add_alias("x@example.com", {}).error(), Errc::Invalid);
    EXPECT_EQ(dir->add_alias("x@other.example", {"a@example.com"}).error(), Errc::NotLocalDomain);
    EXPECT_EQ(dir->add_alias("../x@example.com", {"a@example.com"}).error(), Errc::InvalidAddress);
    EXPECT_EQ(dir->add_alias("x@example.com", {"no-at"}).error(), Errc::InvalidAddress);
    EXPECT_EQ(dir->add_alias("x@example.com", {"a/b@example.com"}).error(), Errc::InvalidAddress);
    EXPECT_EQ(dir->add_alias("x@example.com", {"a b@ext.example"}).error(), Errc::InvalidAddress);
    EXPECT_EQ(dir->add_alias("x@example.com", {"a@bad_domain"}).error(), Errc::InvalidDomain);
    EXPECT_TRUE(dir->list_aliases()->empty());
}

TEST_F(DirectoryTest, AliasOnlyToExternalIsLocalWithForwards) {
    ASSERT_TRUE(dir->add_alias("fwd@example.com", {"me@gmail.example"}));
    auto r = dir->resolve_recipient("fwd@example.com");
    ASSERT_EQ(r.kind, Kind::Local);
    EXPECT_TRUE(r.accounts.empty());
    EXPECT_EQ(r.external, std::vector<std::string>{"me@gmail.example"});
}

TEST_F(DirectoryTest, AliasToMissingUsersIsUnknown) {
    ASSERT_TRUE(dir->add_alias("ghost@example.com", {"nobody@example.com"}));
    EXPECT_EQ(dir->resolve_recipient("ghost@example.com").kind, Kind::UnknownUser);
}

TEST_F(DirectoryTest, CatchAll) {
    add_user("boss@example.com");
    add_user("john@example.com");
    ASSERT_TRUE(dir->add_alias("@Example.com", {"boss@example.com"}));
    auto r = dir->resolve_recipient("anything@example.com");
    ASSERT_EQ(r.kind, Kind::Local);
    EXPECT_EQ(addresses(r), std::vector<std::string>{"boss@example.com"});
    // Existing users still get their own mail.
    EXPECT_EQ(
        addresses(dir->resolve_recipient("john@example.com")),
        std::vector<std::string>{"john@example.com"}
    );
    // Local parts that can never be accounts still reach the catch-all.
    EXPECT_EQ(dir->resolve_recipient("\"odd one\"@example.com").kind, Kind::Local);

    auto list = dir->list_aliases();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1U);
    EXPECT_EQ((*list)[0].source, "@example.com");
    ASSERT_TRUE(dir->del_alias("@example.com"));
    EXPECT_EQ(dir->resolve_recipient("anything@example.com").kind, Kind::UnknownUser);
}

TEST_F(DirectoryTest, Subaddressing) {
    add_user("user@example.com");
    add_user("user+exact@example.com");
    auto r = dir->resolve_recipient("User+Newsletters@example.com");
    ASSERT_EQ(r.kind, Kind::Local);
    EXPECT_EQ(addresses(r), std::vector<std::string>{"user@example.com"});
    // An exact match wins over the base.
    EXPECT_EQ(
        addresses(dir->resolve_recipient("user+exact@example.com")),
        std::vector<std::string>{"user+exact@example.com"}
    );
    EXPECT_EQ(
        addresses(dir->resolve_recipient("user+a+b@example.com")),
        std::vector<std::string>{"user@example.com"}
    );
    EXPECT_EQ(dir->resolve_recipient("+tag@example.com").kind, Kind::UnknownUser);
    EXPECT_EQ(dir->resolve_recipient("nobody+tag@example.com").kind, Kind::UnknownUser);

    // Aliases take detail too.
    ASSERT_TRUE(dir->add_alias("list@example.com", {"user@example.com"}));
    EXPECT_EQ(
        addresses(dir->resolve_recipient("list+x@example.com")),
        std::vector<std::string>{"user@example.com"}
    );
}

TEST(DirectoryOptions, SubaddressingCanBeDisabledOrUseAnotherSeparator) {
    test::TempDir tmp;
    auto options = fast_options();
    options.subaddressing = false;
    auto dir = Directory::open(tmp.path() / "a.db", options);
    ASSERT_TRUE(dir);
    ASSERT_TRUE((*dir)->add_domain("example.com"));
    ASSERT_TRUE((*dir)->add_user("user@example.com", "pw"));
    EXPECT_EQ((*dir)->resolve_recipient("user+tag@example.com").kind, Kind::UnknownUser);

    options.subaddressing = true;
    options.subaddress_separator = '-';
    auto dash = Directory::open(tmp.path() / "a.db", options);
    ASSERT_TRUE(dash);
    EXPECT_EQ((*dash)->resolve_recipient("user-tag@example.com").kind, Kind::Local);
    EXPECT_EQ((*dash)->resolve_recipient("user+tag@example.com").kind, Kind::UnknownUser);
}

TEST_F(DirectoryTest, AliasLoopIsDetected) {
    ASSERT_TRUE(dir->add_alias("a@example.com", {"b@example.com"}));
    ASSERT_TRUE(dir->add_alias("b@example.com", {"c@example.com"}));
    ASSERT_TRUE(dir->add_alias("c@example.com", {"a@example.com"}));
    auto r = dir->resolve_recipient("a@example.com");
    EXPECT_EQ(r.kind, Kind::Failed);
    EXPECT_EQ(r.error, Errc::AliasLoop);
    EXPECT_TRUE(r.accounts.empty());
}

TEST_F(DirectoryTest, CatchAllToUnknownAddressIsALoop) {
    ASSERT_TRUE(dir->add_alias("@example.com", {"nobody@example.com"}));
    auto r = dir->resolve_recipient("x@example.com");
    EXPECT_EQ(r.kind, Kind::Failed);
    EXPECT_EQ(r.error, Errc::AliasLoop);
}

TEST_F(DirectoryTest, AliasNamingItselfKeepsALocalCopy) {
    add_user("me@example.com");
    ASSERT_TRUE(dir->add_alias("me@example.com", {"me@example.com", "me@elsewhere.example"}));
    auto r = dir->resolve_recipient("me@example.com");
    ASSERT_EQ(r.kind, Kind::Local);
    EXPECT_EQ(addresses(r), std::vector<std::string>{"me@example.com"});
    EXPECT_EQ(r.external, std::vector<std::string>{"me@elsewhere.example"});
}

TEST_F(DirectoryTest, DiamondIsNotALoop) {
    add_user("d@example.com");
    ASSERT_TRUE(dir->add_alias("top@example.com", {"l@example.com", "r@example.com"}));
    ASSERT_TRUE(dir->add_alias("l@example.com", {"shared@example.com"}));
    ASSERT_TRUE(dir->add_alias("r@example.com", {"shared@example.com"}));
    ASSERT_TRUE(dir->add_alias("shared@example.com", {"d@example.com"}));
    auto r = dir->resolve_recipient("top@example.com");
    ASSERT_EQ(r.kind, Kind::Local);
    EXPECT_EQ(addresses(r), std::vector<std::string>{"d@example.com"});
}

TEST_F(DirectoryTest, AliasChainDepthLimit) {
    add_user("end@example.com");
    // hop1 → hop2 → … → hopN → end: N aliases on the path.
    const int limit = Directory::Options{}.max_alias_depth;
    for (int i = 1; i <= limit + 1; ++i) {
        const std::string next =
            i == limit + 1 ? "end@example.com" : "hop" + std::to_string(i + 1) + "@example.com";
        ASSERT_TRUE(dir->add_alias("hop" + std::to_string(i) + "@example.com", {next}));
    }
    auto ok = dir->resolve_recipient("hop2@example.com");  // `limit` aliases deep
    ASSERT_EQ(ok.kind, Kind::Local) << ok.error.message();
    EXPECT_EQ(addresses(ok), std::vector<std::string>{"end@example.com"});
    auto deep = dir->resolve_recipient("hop1@example.com");  // one more
    EXPECT_EQ(deep.kind, Kind::Failed);
    EXPECT_EQ(deep.error, Errc::AliasTooDeep);
}

TEST_F(DirectoryTest, AliasDestinationThroughDomainAlias) {
    add_user("x@example.com");
    ASSERT_TRUE(dir->add_domain("other.example"));
    ASSERT_TRUE(dir->add_domain_alias("old.example", "example.com"));
    ASSERT_TRUE(dir->add_alias("y@other.example", {"X@old.example"}));
    auto r = dir->resolve_recipient("y@other.example");
    ASSERT_EQ(r.kind, Kind::Local);
    EXPECT_EQ(addresses(r), std::vector<std::string>{"x@example.com"});
}

// --- storage -------------------------------------------------------------------------------

TEST_F(DirectoryTest, PersistsAcrossReopenAndSchemaIsVersioned) {
    add_user("p@example.com");
    ASSERT_TRUE(dir->add_alias("q@example.com", {"p@example.com"}));
    dir.reset();
    auto reopened = Directory::open(path(), fast_options());
    ASSERT_TRUE(reopened);
    EXPECT_EQ(
        addresses((*reopened)->resolve_recipient("q@example.com")),
        std::vector<std::string>{"p@example.com"}
    );

    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), Directory::kSchemaVersion);
    sqlite3_finalize(st);
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(DirectoryStorage, NewerSchemaIsRefused) {
    test::TempDir tmp;
    const auto path = tmp.path() / "accounts.db";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto dir = Directory::open(path, fast_options());
    ASSERT_FALSE(dir);
    EXPECT_EQ(dir.error(), Errc::SchemaTooNew);
}

TEST(DirectoryStorage, UnopenablePathIsStorageError) {
    test::TempDir tmp;
    auto dir = Directory::open(tmp.path() / "missing-dir" / "accounts.db", fast_options());
    ASSERT_FALSE(dir);
    EXPECT_EQ(dir.error(), Errc::Storage);
}

TEST_F(DirectoryTest, TwoInstancesShareTheFile) {
    auto second = Directory::open(path(), fast_options());
    ASSERT_TRUE(second);
    ASSERT_TRUE((*second)->add_user("shared@example.com", "pw"));
    EXPECT_EQ(dir->resolve_recipient("shared@example.com").kind, Kind::Local);
}

// --- concurrency ---------------------------------------------------------------------------

TEST_F(DirectoryTest, ConcurrentUseFromSeveralThreads) {
    add_user("base@example.com");
    constexpr int kThreads = 6;
    constexpr int kPerThread = 15;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const std::string name =
                    "t" + std::to_string(t) + "u" + std::to_string(i) + "@example.com";
                if (!dir->add_user(name, "pw-" + name)) {
                    ++failures;
                }
                if (dir->resolve_recipient(name).kind != Kind::Local) {
                    ++failures;
                }
                if (dir->resolve_recipient("base+x@example.com").kind != Kind::Local) {
                    ++failures;
                }
                if (!dir->authenticate(name, "pw-" + name)) {
                    ++failures;
                }
                if (dir->authenticate("base@example.com", "wrong")) {
                    ++failures;
                }
                if (i % 5 == 0 && !dir->list_users()) {
                    ++failures;
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(failures.load(), 0);
    auto users = dir->list_users();
    ASSERT_TRUE(users);
    EXPECT_EQ(users->size(), static_cast<std::size_t>(kThreads * kPerThread + 1));
}

}  // namespace
}  // namespace sov::accounts
