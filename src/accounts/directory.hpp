#pragma once
// The accounts directory: hosted domains, domain aliases, users (with Argon2id credentials and
// quotas) and address aliases, kept in `<data>/accounts.db` (SQLite, WAL). The schema is in
// directory.cpp; `sqlite3 accounts.db .schema` shows it.
//
// SASL SCRAM-SHA-256 (scram.hpp): add_user and set_password also store SCRAM credentials
// (salt, kScramIterations, StoredKey, ServerKey), which scram_credentials() returns for a
// ScramServer. Users created before schema version 2 have none until their next successful
// authenticate() (PLAIN/LOGIN), which derives and stores them from the password it just checked.
//
// Thread-safe: one SQLite connection guarded by a mutex; Argon2id hashing and verification run
// outside the lock. Calls block (SQLite, Argon2id): drivers run them on the worker pool.
//
// Recipient resolution (resolve_recipient), for `local@domain` as SMTP gives it:
//   1. The domain is canonicalised (U-labels or A-labels, any case). A domain alias maps to its
//      target domain. A domain we do not host → NotLocal.
//   2. The local part (unquoted if it was a Quoted-string) is lowercased and looked up, first
//      match wins: an alias with that exact source; a user; then, with subaddressing on and a
//      '+' in the local part, the same two lookups for the part before the first '+'
//      (`user+tag` → `user`, only when `user+tag` itself does not exist); then the domain's
//      catch-all alias (`@domain`). Nothing → UnknownUser.
//   3. Alias destinations are resolved the same way, recursively (local ones) or collected as
//      external forwards. An alias naming itself (`a → a, b@ext`) delivers to the user `a` if
//      one exists, so "keep a copy and forward" works; any other cycle is Errc::AliasLoop.
//      Nesting deeper than Options::max_alias_depth is Errc::AliasTooDeep. Both are reported as
//      Kind::Failed so the message is deferred (4xx) while the administrator fixes it. Local
//      destinations that no longer exist are skipped (and logged).
//   The result lists each local account once, in order of first appearance, and each external
//   address once.
//
// A bare `postmaster` (RFC 5321 §4.5.1) has no domain: the caller appends the primary domain.
//
// App passwords (schema version 3): named, revocable extra passwords of an account, one per
// device, so that a lost phone does not expose the main password. We generate them (never the
// user): kAppPasswordChars characters of lowercase base32 from libsodium's randombytes, 5 bits
// each (140 bits), shown once as `xxxxxxx-xxxxxxx-xxxxxxx-xxxxxxx`. Being high-entropy, they are
// stored as a SHA-256 hex digest rather than Argon2id: nothing to brute-force, O(1) lookup.
// When they are typed, case, spaces and dashes do not matter. They work with
// authenticate() (SASL PLAIN/LOGIN, IMAP LOGIN) only: SCRAM-SHA-256 needs per-credential salted
// keys and keeps using the main password alone. Changing the main password does not revoke them;
// deleting the user does (ON DELETE CASCADE).
//
// Sender policy (may_send_as), for the MAIL FROM of an authenticated submission:
//   Own     the account's own address; any address whose mail reaches the account by the
//           recipient resolution above: `user+tag` with subaddressing, the same address under a
//           domain alias, an alias (also nested) whose destinations include the account, an
//           address that only the account's catch-all alias receives.
//   Domain  any address in the account's hosted domain or one of its domain aliases.
//   Any     anything.
// The null reverse-path (`<>` or empty: bounces and receipts from clients) is always allowed.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "accounts/credential_cache.hpp"
#include "accounts/detail/sqlite.hpp"
#include "accounts/password.hpp"
#include "accounts/scram.hpp"
#include "core/result.hpp"

namespace sov::accounts {

struct Quota {
    std::uint64_t bytes = 0;     // 0 = unlimited
    std::uint64_t messages = 0;  // 0 = unlimited

    bool operator==(const Quota&) const = default;
};

struct Account {
    std::int64_t id = 0;
    std::string address;          // canonical `local@a-label.domain`; also the mail directory name
    std::string display_address;  // local part as first spelled, domain in U-labels
    Quota quota;
};

struct Domain {
    std::string name;          // canonical A-labels
    std::string display_name;  // U-labels
    std::string alias_of;      // canonical target for a domain alias, empty for a hosted domain
};

struct Alias {
    std::string source;                     // `local@domain`, or `@domain` for the catch-all
    std::vector<std::string> destinations;  // canonical, sorted
};

/// An account with its SCRAM-SHA-256 credentials (Directory::scram_credentials).
struct ScramAccount {
    Account account;
    ScramCredentials credentials;
};

/// An app password as listed (the password itself is never stored or shown again).
struct AppPassword {
    std::string name;
    std::int64_t created = 0;    // Unix seconds
    std::int64_t last_used = 0;  // Unix seconds, 0 = never (updated at most once a minute)
};

/// Whom an authenticated account may name in MAIL FROM (see the top of this file).
enum class SenderPolicy {
    Own,
    Domain,
    Any,
};

struct RecipientResolution {
    enum class Kind {
        Local,        // deliver to `accounts` (and forward to `external`)
        UnknownUser,  // our domain, no such user or alias (RFC 5321 §3.3: 550 5.1.1)
        NotLocal,     // not a domain we host (relay decision is the caller's)
        Invalid,      // the address is not syntactically acceptable (501 5.1.3)
        Failed,       // `error` says why (storage, alias loop, nesting): defer, 451 4.3.0
    };
    Kind kind = Kind::Failed;
    std::vector<Account> accounts;      // deduplicated, in order of first appearance
    std::vector<std::string> external;  // forward addresses (domain canonical), deduplicated
    std::error_code error;
};

class Directory {
public:
    struct Options {
        PasswordParams password = PasswordParams::interactive();
        std::chrono::milliseconds busy_timeout{5000};  // waits for other processes' writes
        bool subaddressing = true;
        char subaddress_separator = '+';
        int max_alias_depth = 8;
    };

    /// Opens or creates the database, applying schema migrations.
    static Result<std::unique_ptr<Directory>> open(
        const std::filesystem::path& db, Options options
    );
    static Result<std::unique_ptr<Directory>> open(const std::filesystem::path& db) {
        return open(db, Options{});
    }

    ~Directory();
    Directory(const Directory&) = delete;
    Directory& operator=(const Directory&) = delete;
    Directory(Directory&&) = delete;
    Directory& operator=(Directory&&) = delete;

    /// The current schema version (`PRAGMA user_version`).
    static constexpr int kSchemaVersion = 3;

    /// Characters of a generated app password without the group dashes (5 bits each).
    static constexpr std::size_t kAppPasswordChars = 28;
    /// Longest app password name (octets); names are 1..this, without control characters.
    static constexpr std::size_t kMaxAppPasswordName = 64;
    /// App passwords per account: enough for every device, bounded for the listing.
    static constexpr std::size_t kMaxAppPasswords = 100;

    // Domains. Names are accepted as U-labels or A-labels in any case.
    Result<Domain> add_domain(std::string_view domain);
    /// Fails with Errc::InUse while the domain has users; its aliases, catch-all and domain
    /// aliases are removed with it.
    Status del_domain(std::string_view domain);
    /// Hosted domains and domain aliases, sorted by canonical name.
    Result<std::vector<Domain>> list_domains();
    /// Every address `x@alias` behaves as `x@target`; `target` must be a hosted domain.
    Result<Domain> add_domain_alias(std::string_view alias, std::string_view target);
    Status del_domain_alias(std::string_view alias);
    /// True for hosted domains and domain aliases.
    bool is_local_domain(std::string_view domain);

    // Users.
    Result<Account> add_user(std::string_view address, std::string_view password, Quota quota);
    Result<Account> add_user(std::string_view address, std::string_view password) {
        return add_user(address, password, Quota{});
    }
    Status del_user(std::string_view address);
    Status set_password(std::string_view address, std::string_view password);
    Status set_quota(std::string_view address, Quota quota);
    /// All users, or those of one domain (empty = all), sorted by address.
    Result<std::vector<Account>> list_users(std::string_view domain);
    Result<std::vector<Account>> list_users() { return list_users({}); }
    /// Exact lookup (domain aliases apply; subaddressing and aliases do not).
    Result<Account> find_user(std::string_view address);

    // Aliases. `source` is `local@domain` or `@domain` (catch-all) in a hosted domain;
    // destinations are local or external addresses (at least one).
    Status add_alias(std::string_view source, const std::vector<std::string>& destinations);
    Status del_alias(std::string_view source);
    Result<std::vector<Alias>> list_aliases(std::string_view domain);
    Result<std::vector<Alias>> list_aliases() { return list_aliases({}); }

    RecipientResolution resolve_recipient(std::string_view address);

    /// May the account `account` (its canonical address, or any spelling find_user accepts)
    /// use `from` as the MAIL FROM address under `policy`? Rules at the top of this file.
    /// False for an unknown account and for a syntactically invalid `from`; an error only for
    /// storage failures and alias loops (the caller defers: 451 4.3.0).
    Result<bool> may_send_as(std::string_view account, std::string_view from, SenderPolicy policy);

    // App passwords (see the top of this file).
    /// Generates, stores and returns a new app password; the caller shows it once and forgets
    /// it. Errc::Exists if the account already has one of that name, Errc::Invalid for a bad
    /// name or more than kMaxAppPasswords, Errc::NotFound for an unknown user.
    Result<std::string> add_app_password(std::string_view address, std::string_view name);
    /// The account's app passwords, sorted by name.
    Result<std::vector<AppPassword>> list_app_passwords(std::string_view address);
    /// Errc::NotFound if the user or the name does not exist.
    Status revoke_app_password(std::string_view address, std::string_view name);

    /// Checks a password. Unknown users and wrong passwords both give Errc::AuthFailed after
    /// the same Argon2id work (a dummy hash is verified for unknown users). A hash made with
    /// other parameters than Options::password is upgraded on success.
    /// Also creates the SCRAM credentials of a user who has none yet (see the top of this file).
    /// The password may also be one of the account's app passwords (its last use is recorded).
    Result<Account> authenticate(std::string_view address, std::string_view password);

    /// SCRAM-SHA-256 credentials for a ScramServer lookup, with the account they belong to.
    /// Exact lookup like find_user (domain aliases apply). Errc::NotFound for unknown users and
    /// users without credentials yet; address errors as find_user; Errc::Storage.
    Result<ScramAccount> scram_credentials(std::string_view address);

    struct Token;  // only open() can construct (lets it use make_unique instead of `new`)
    Directory(const Token& token, detail::Connection db, Options options, std::string dummy_hash);

private:
    struct Resolver;

    // Derives SCRAM credentials from a verified password and stores them unless the user's
    // hash or credentials changed meanwhile. Failures are logged; the login still succeeds.
    void store_scram_credentials(
        const Account& account,
        std::string_view old_hash,
        std::string_view old_scram,
        std::string_view password
    );

    // True if `password` is an app password of `account_id` (0: nobody, for equal work when
    // the user is unknown); records its use. Takes the lock.
    Result<bool> check_app_password(std::int64_t account_id, std::string_view password);

    std::mutex mutex_;
    detail::Connection db_;  // guarded by mutex_
    Options options_;
    std::string dummy_hash_;
    CredentialCache credentials_;  // successful Argon2id checks, see credential_cache.hpp
};

}  // namespace sov::accounts
