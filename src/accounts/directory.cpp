#include "accounts/directory.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include <sqlite3.h>

#include "accounts/address.hpp"
#include "accounts/errors.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"

namespace sov::accounts {
namespace {

using detail::Connection;
using detail::Statement;
using detail::Transaction;

// ---------------------------------------------------------------------------------------------
// Schema. Each entry upgrades from version i to i + 1 (PRAGMA user_version); never edit a
// released step, append one. Plain (non-STRICT) tables so that older sqlite3 shells open the
// file too; CHECK constraints stand in for types where it matters.
//
// domains            hosted domains. name: canonical lowercase A-labels (the key everywhere);
//                    display_name: U-labels.
// domain_aliases     `name` behaves as the hosted domain `target_id` for every address.
//                    A name is either in domains or in domain_aliases, never both (checked in
//                    code inside the writing transaction).
// users              one row per mailbox. Address = local_part || '@' || domains.name, which
//                    is also the mail directory name (<data>/mail/<address>/). local_part is
//                    lowercased (local parts are case-insensitive here); display_local keeps the
//                    first spelling. password_hash is a crypto_pwhash_str string
//                    ($argon2id$v=19$m=…,t=…,p=1$salt$hash). Quotas: 0 = unlimited.
//                    scram_sha256 (version 2): SASL SCRAM-SHA-256 credentials (RFC 5802 §3),
//                    "SCRAM-SHA-256$<i>$<b64 salt>$<b64 StoredKey>$<b64 ServerKey>" (scram.hpp),
//                    written with the hash by add_user/set_password. NULL for users created
//                    before version 2 until their next successful password login.
// app_passwords      (version 3) extra passwords of a user (directory.hpp). hash: SHA-256 hex of
//                    the password without dashes; unique, so a login finds it by index.
//                    last_used_at: 0 = never.
// aliases            address aliases; local_part '' is the domain's catch-all (`@domain`).
// alias_destinations one row per destination: a canonical local address (lowercased local part)
//                    or an external address (local part verbatim, domain canonical).
// Times are Unix seconds.
constexpr std::array<const char*, 3> kMigrations = {
    R"sql(
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
)sql",
    // 1 → 2: SCRAM-SHA-256 credentials. Existing rows get NULL; Directory::authenticate fills
    // them in at the next successful login (the password is needed to derive them).
    R"sql(
ALTER TABLE users ADD COLUMN scram_sha256 TEXT;
)sql",
    // 2 → 3: app passwords. UNIQUE (account_id, name) also indexes the ON DELETE CASCADE.
    R"sql(
CREATE TABLE app_passwords (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, name)
);
)sql",
};
static_assert(kMigrations.size() == Directory::kSchemaVersion);

Result<int> user_version(Connection& db) {
    Statement st(db, "PRAGMA user_version");
    if (st.step() != SQLITE_ROW) {
        return st.error("read user_version");
    }
    return static_cast<int>(st.int64(0));
}

Status migrate(Connection& db) {
    // Fast path without the write lock: already current (the common case at every start).
    if (auto version = user_version(db); version && *version == Directory::kSchemaVersion) {
        return {};
    }
    while (true) {
        Transaction txn(db);
        if (auto st = txn.begin(); !st) {
            return st;
        }
        // Read inside the write transaction: another process may have migrated meanwhile.
        auto version = user_version(db);
        if (!version) {
            return version.error();
        }
        if (*version > Directory::kSchemaVersion) {
            return make_error_code(Errc::SchemaTooNew);
        }
        if (*version == Directory::kSchemaVersion) {
            return {};
        }
        if (auto st = db.exec(kMigrations.at(static_cast<std::size_t>(*version))); !st) {
            return st;
        }
        const std::string set = "PRAGMA user_version = " + std::to_string(*version + 1);
        if (auto st = db.exec(set.c_str()); !st) {
            return st;
        }
        if (auto st = txn.commit(); !st) {
            return st;
        }
        log::info("accounts.schema.migrated", {{"version", *version + 1}});
    }
}

// boost::system::result<bool> cannot be built implicitly from an error_code (both convert to
// bool), so failures of Result<bool> functions are spelled out.
Result<bool> bool_error(std::error_code ec) {
    return {boost::system::in_place_error, ec};
}

std::int64_t now_seconds() {
    return core::unix_seconds(core::now());
}

bool changed(Connection& db) {
    return sqlite3_changes(db.get()) > 0;
}

struct DomainRow {
    std::int64_t id = 0;
    std::string name;
    std::string display;
};

struct UserRow {
    Account account;
    std::string hash;
    std::string scram;  // stored SCRAM credentials, empty if none yet
};

// A hosted domain by canonical name.
Result<std::optional<DomainRow>> find_hosted(Connection& db, std::string_view name) {
    Statement st(db, "SELECT id, name, display_name FROM domains WHERE name = ?1");
    st.bind(1, name);
    const int rc = st.step();
    if (rc == SQLITE_DONE) {
        return std::optional<DomainRow>{};
    }
    if (rc != SQLITE_ROW) {
        return st.error("find domain");
    }
    return std::optional<DomainRow>{DomainRow{st.int64(0), st.text(1), st.text(2)}};
}

Result<bool> is_domain_alias(Connection& db, std::string_view name) {
    Statement st(db, "SELECT 1 FROM domain_aliases WHERE name = ?1");
    st.bind(1, name);
    const int rc = st.step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return bool_error(st.error("find domain alias"));
    }
    return rc == SQLITE_ROW;
}

// The hosted domain that `name` stands for: itself, or the target of a domain alias.
Result<std::optional<DomainRow>> resolve_domain(Connection& db, std::string_view name) {
    Statement st(
        db,
        "SELECT id, name, display_name FROM domains WHERE name = ?1 "
        "UNION ALL "
        "SELECT d.id, d.name, d.display_name FROM domain_aliases a "
        "JOIN domains d ON d.id = a.target_id WHERE a.name = ?1"
    );
    st.bind(1, name);
    const int rc = st.step();
    if (rc == SQLITE_DONE) {
        return std::optional<DomainRow>{};
    }
    if (rc != SQLITE_ROW) {
        return st.error("resolve domain");
    }
    return std::optional<DomainRow>{DomainRow{st.int64(0), st.text(1), st.text(2)}};
}

// A listing's filter: the id of the hosted domain `domain` names, or 0 for every domain (empty).
Result<std::int64_t> listed_domain_id(Connection& db, std::string_view domain) {
    if (domain.empty()) {
        return 0;
    }
    auto name = normalize_domain(domain);
    if (!name) {
        return name.error();
    }
    auto row = resolve_domain(db, name->ascii);
    if (!row) {
        return row.error();
    }
    if (!*row) {
        return make_error_code(Errc::NotFound);
    }
    return (*row)->id;
}

constexpr std::string_view kUserColumns =
    "SELECT u.id, u.local_part, u.display_local, u.password_hash, u.quota_bytes, "
    "u.quota_messages, d.name, d.display_name, u.scram_sha256 "
    "FROM users u JOIN domains d ON d.id = u.domain_id ";

UserRow read_user(const Statement& st) {
    UserRow row;
    row.account.id = st.int64(0);
    row.account.address = st.text(1) + '@' + st.text(6);
    row.account.display_address = st.text(2) + '@' + st.text(7);
    row.hash = st.text(3);
    row.account.quota.bytes = static_cast<std::uint64_t>(st.int64(4));
    row.account.quota.messages = static_cast<std::uint64_t>(st.int64(5));
    row.scram = st.text(8);
    return row;
}

Result<std::optional<UserRow>> find_user_row(
    Connection& db, std::int64_t domain_id, std::string_view local
) {
    Statement st(db, std::string(kUserColumns) + "WHERE u.domain_id = ?1 AND u.local_part = ?2");
    st.bind(1, domain_id).bind(2, local);
    const int rc = st.step();
    if (rc == SQLITE_DONE) {
        return std::optional<UserRow>{};
    }
    if (rc != SQLITE_ROW) {
        return st.error("find user");
    }
    return std::optional<UserRow>{read_user(st)};
}

Result<std::optional<std::int64_t>> find_alias_id(
    Connection& db, std::int64_t domain_id, std::string_view local
) {
    Statement st(db, "SELECT id FROM aliases WHERE domain_id = ?1 AND local_part = ?2");
    st.bind(1, domain_id).bind(2, local);
    const int rc = st.step();
    if (rc == SQLITE_DONE) {
        return std::optional<std::int64_t>{};
    }
    if (rc != SQLITE_ROW) {
        return st.error("find alias");
    }
    return std::optional<std::int64_t>{st.int64(0)};
}

Result<std::vector<std::string>> alias_destinations(Connection& db, std::int64_t alias_id) {
    Statement st(
        db, "SELECT destination FROM alias_destinations WHERE alias_id = ?1 ORDER BY destination"
    );
    st.bind(1, alias_id);
    std::vector<std::string> out;
    int rc = 0;
    while ((rc = st.step()) == SQLITE_ROW) {
        out.push_back(st.text(0));
    }
    if (rc != SQLITE_DONE) {
        return st.error("alias destinations");
    }
    return out;
}

Result<std::int64_t> quota_value(std::uint64_t v) {
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return make_error_code(Errc::Invalid);
    }
    return static_cast<std::int64_t>(v);
}

// Hosted domain of a user or alias being created: a domain alias is refused so that every
// account has exactly one canonical address.
Result<DomainRow> hosted_for_write(Connection& db, std::string_view name) {
    auto domain = find_hosted(db, name);
    if (!domain) {
        return domain.error();
    }
    if (*domain) {
        return std::move(**domain);
    }
    auto alias = is_domain_alias(db, name);
    if (!alias) {
        return alias.error();
    }
    return make_error_code(*alias ? Errc::Invalid : Errc::NotLocalDomain);
}

// The user row for an address, domain aliases applied.
Result<std::optional<UserRow>> lookup_user(Connection& db, const NormalizedAddress& address) {
    auto domain = resolve_domain(db, address.domain.ascii);
    if (!domain) {
        return domain.error();
    }
    if (!*domain) {
        return std::optional<UserRow>{};
    }
    return find_user_row(db, (*domain)->id, address.local);
}

// The user row for an address, or Errc::NotFound.
Result<UserRow> require_user(Connection& db, const NormalizedAddress& address) {
    auto user = lookup_user(db, address);
    if (!user) {
        return user.error();
    }
    if (!*user) {
        return make_error_code(Errc::NotFound);
    }
    return std::move(**user);
}

struct AliasSource {
    std::string local;  // lowercased; empty for the catch-all
    DomainName domain;
};

Result<AliasSource> parse_alias_source(std::string_view source) {
    if (!source.empty() && source.front() == '@') {
        auto domain = normalize_domain(source.substr(1));
        if (!domain) {
            return domain.error();
        }
        return AliasSource{{}, std::move(*domain)};
    }
    auto address = normalize_local_address(source);
    if (!address) {
        return address.error();
    }
    return AliasSource{std::move(address->local), std::move(address->domain)};
}

// --- app passwords ---------------------------------------------------------------------------

// RFC 4648 §6 base32 alphabet in lowercase: no 0/1/8/9, so nothing to confuse with O/I/B/g.
constexpr std::string_view kAppPasswordAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t kAppPasswordGroup = 7;
// last_used_at is written at most this often: a phone logging in on every sync must not turn
// each login into a database write.
constexpr std::int64_t kLastUsedResolution = 60;

// kAppPasswordChars characters from randombytes_uniform (unbiased), in dash-separated groups.
std::string generate_app_password() {
    std::string out;
    out.reserve(Directory::kAppPasswordChars + Directory::kAppPasswordChars / kAppPasswordGroup);
    for (std::size_t i = 0; i < Directory::kAppPasswordChars; ++i) {
        if (i > 0 && i % kAppPasswordGroup == 0) {
            out.push_back('-');
        }
        out.push_back(kAppPasswordAlphabet[randombytes_uniform(kAppPasswordAlphabet.size())]);
    }
    return out;
}

// The password as stored (hashed): lowercase, without the dashes and spaces people type or
// copy along. Empty if `typed` cannot be an app password (then it is not looked up).
std::string canonical_app_password(std::string_view typed) {
    std::string out;
    out.reserve(Directory::kAppPasswordChars);
    for (const char c : typed) {
        if (c == '-' || c == ' ') {
            continue;
        }
        const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        if (kAppPasswordAlphabet.find(lower) == std::string_view::npos ||
            out.size() == Directory::kAppPasswordChars) {
            sodium_memzero(out.data(), out.size());
            return {};
        }
        out.push_back(lower);
    }
    if (out.size() != Directory::kAppPasswordChars) {
        sodium_memzero(out.data(), out.size());
        return {};
    }
    return out;
}

// SHA-256 hex of the canonical form, which is then wiped.
std::string app_password_digest(std::string canonical) {
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(
        digest.data(), reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size()
    );
    sodium_memzero(canonical.data(), canonical.size());
    std::array<char, digest.size() * 2 + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    return std::string(hex.data(), digest.size() * 2);
}

bool valid_app_password_name(std::string_view name) {
    if (name.empty() || name.size() > Directory::kMaxAppPasswordName) {
        return false;
    }
    return std::none_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

Directory::Options validated(Directory::Options options) {
    if (options.max_alias_depth < 1) {
        options.max_alias_depth = 1;
    }
    return options;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Recipient resolution (algorithm in directory.hpp). Runs with the directory mutex held.
struct Directory::Resolver {
    Connection& db;
    const Options& options;
    RecipientResolution& out;
    std::vector<std::string> path;   // aliases being expanded, outermost first
    std::set<std::string> expanded;  // aliases already expanded (a diamond is not a loop)
    std::set<std::int64_t> seen_users;
    std::set<std::string> seen_external;

    void add_account(UserRow row) {
        if (seen_users.insert(row.account.id).second) {
            out.accounts.push_back(std::move(row.account));
        }
    }

    // Exact alias, then exact user. Result: matched?
    Result<bool> lookup_exact(const DomainRow& domain, const std::string& local) {
        auto alias = find_alias_id(db, domain.id, local);
        if (!alias) {
            return bool_error(alias.error());
        }
        if (*alias) {
            return expand_alias(**alias, domain, local);
        }
        auto user = find_user_row(db, domain.id, local);
        if (!user) {
            return bool_error(user.error());
        }
        if (*user) {
            add_account(std::move(**user));
            return true;
        }
        return false;
    }

    Result<bool> lookup_catch_all(const DomainRow& domain) {
        auto alias = find_alias_id(db, domain.id, "");
        if (!alias) {
            return bool_error(alias.error());
        }
        if (!*alias) {
            return false;
        }
        return expand_alias(**alias, domain, "");
    }

    Result<bool> lookup(const DomainRow& domain, const std::string& local) {
        auto exact = lookup_exact(domain, local);
        if (!exact || *exact) {
            return exact;
        }
        if (options.subaddressing) {
            // RFC 5233-style detail: `user+tag` delivers to `user` when `user+tag` is unknown.
            const std::string_view base = subaddress_base(local, options.subaddress_separator);
            if (!base.empty()) {
                auto sub = lookup_exact(domain, std::string(base));
                if (!sub || *sub) {
                    return sub;
                }
            }
        }
        return lookup_catch_all(domain);
    }

    Result<bool> expand_alias(
        std::int64_t alias_id, const DomainRow& domain, const std::string& local
    ) {
        std::string key = local + '@' + domain.name;
        for (const auto& active : path) {
            if (active != key) {
                continue;
            }
            // `a → a, x@ext`: the alias names itself to keep a local copy.
            if (!local.empty()) {
                auto user = find_user_row(db, domain.id, local);
                if (!user) {
                    return bool_error(user.error());
                }
                if (*user) {
                    add_account(std::move(**user));
                    return true;
                }
            }
            log::warn("accounts.alias.loop", {{"alias", key}});
            return bool_error(make_error_code(Errc::AliasLoop));
        }
        if (expanded.contains(key)) {
            return true;
        }
        if (path.size() >= static_cast<std::size_t>(options.max_alias_depth)) {
            log::warn("accounts.alias.too_deep", {{"alias", key}});
            return bool_error(make_error_code(Errc::AliasTooDeep));
        }
        auto destinations = alias_destinations(db, alias_id);
        if (!destinations) {
            return bool_error(destinations.error());
        }
        expanded.insert(key);
        path.push_back(std::move(key));
        for (const auto& destination : *destinations) {
            if (auto st = expand_destination(destination); !st) {
                return bool_error(st.error());
            }
        }
        path.pop_back();
        return true;
    }

    Status expand_destination(const std::string& destination) {
        const std::size_t at = destination.rfind('@');
        if (at == std::string::npos) {
            return {};  // not written by add_alias; ignore rather than fail every delivery
        }
        auto domain = resolve_domain(db, std::string_view(destination).substr(at + 1));
        if (!domain) {
            return domain.error();
        }
        if (!*domain) {
            if (seen_external.insert(destination).second) {
                out.external.push_back(destination);
            }
            return {};
        }
        const std::string local = ascii_lower(std::string_view(destination).substr(0, at));
        if (is_safe_local_part(local)) {
            auto found = lookup(**domain, local);
            if (!found) {
                return found.error();
            }
            if (*found) {
                return {};
            }
        }
        log::warn("accounts.alias.dangling", {{"destination", destination}});
        return {};
    }
};

// ---------------------------------------------------------------------------------------------

struct Directory::Token {};

Directory::Directory(
    const Token& /*token*/, detail::Connection db, Options options, std::string dummy_hash
)
    : db_(std::move(db)), options_(validated(options)), dummy_hash_(std::move(dummy_hash)) {}

Directory::~Directory() = default;

Result<std::unique_ptr<Directory>> Directory::open(
    const std::filesystem::path& path, Options options
) {
    if (!ensure_sodium()) {
        return make_error_code(Errc::Crypto);
    }
    auto db = Connection::open(path);
    if (!db) {
        return db.error();
    }
    const auto timeout = options.busy_timeout.count();
    sqlite3_busy_timeout(
        db->get(),
        static_cast<int>(std::min<decltype(timeout)>(timeout, std::numeric_limits<int>::max()))
    );
    if (auto st = db->exec("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;"); !st) {
        return st.error();
    }
    if (auto st = migrate(*db); !st) {
        return st.error();
    }
    // Unknown users are checked against this hash, so a failed login costs the same Argon2id
    // work whether or not the user exists. Its password is random and thrown away.
    std::array<unsigned char, 32> secret{};
    randombytes_buf(secret.data(), secret.size());
    std::array<char, secret.size() * 2 + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), secret.data(), secret.size());
    auto dummy = hash_password(std::string_view(hex.data(), secret.size() * 2), options.password);
    sodium_memzero(secret.data(), secret.size());
    sodium_memzero(hex.data(), hex.size());
    if (!dummy) {
        return dummy.error();
    }
    return std::make_unique<Directory>(Token{}, std::move(*db), options, std::move(*dummy));
}

// --- domains ---------------------------------------------------------------------------------

Result<Domain> Directory::add_domain(std::string_view domain) {
    auto name = normalize_domain(domain);
    if (!name) {
        return name.error();
    }
    const std::lock_guard lock(mutex_);
    Transaction txn(db_);
    if (auto st = txn.begin(); !st) {
        return st.error();
    }
    auto alias = is_domain_alias(db_, name->ascii);
    if (!alias) {
        return alias.error();
    }
    if (*alias) {
        return make_error_code(Errc::Exists);
    }
    Statement st(db_, "INSERT INTO domains (name, display_name, created_at) VALUES (?1, ?2, ?3)");
    st.bind(1, name->ascii).bind(2, name->display).bind(3, now_seconds());
    if (auto r = st.run(make_error_code(Errc::Exists)); !r) {
        return r.error();
    }
    if (auto r = txn.commit(); !r) {
        return r.error();
    }
    log::info("accounts.domain.added", {{"domain", name->ascii}});
    return Domain{name->ascii, name->display, {}};
}

Status Directory::del_domain(std::string_view domain) {
    auto name = normalize_domain(domain);
    if (!name) {
        return name.error();
    }
    const std::lock_guard lock(mutex_);
    Transaction txn(db_);
    if (auto st = txn.begin(); !st) {
        return st;
    }
    auto row = find_hosted(db_, name->ascii);
    if (!row) {
        return row.error();
    }
    if (!*row) {
        return make_error_code(Errc::NotFound);
    }
    {
        Statement users(db_, "SELECT 1 FROM users WHERE domain_id = ?1 LIMIT 1");
        users.bind(1, (*row)->id);
        const int rc = users.step();
        if (rc == SQLITE_ROW) {
            return make_error_code(Errc::InUse);
        }
        if (rc != SQLITE_DONE) {
            return users.error("count users");
        }
    }
    Statement del(db_, "DELETE FROM domains WHERE id = ?1");
    del.bind(1, (*row)->id);
    // The FK on users is RESTRICT: a user added by another process meanwhile is caught here.
    if (auto st = del.run(make_error_code(Errc::InUse)); !st) {
        return st;
    }
    if (auto st = txn.commit(); !st) {
        return st;
    }
    log::info("accounts.domain.deleted", {{"domain", name->ascii}});
    return {};
}

Result<std::vector<Domain>> Directory::list_domains() {
    const std::lock_guard lock(mutex_);
    Statement st(
        db_,
        "SELECT name, display_name, '' FROM domains "
        "UNION ALL "
        "SELECT a.name, a.display_name, d.name FROM domain_aliases a "
        "JOIN domains d ON d.id = a.target_id ORDER BY 1"
    );
    std::vector<Domain> out;
    int rc = 0;
    while ((rc = st.step()) == SQLITE_ROW) {
        out.push_back(Domain{st.text(0), st.text(1), st.text(2)});
    }
    if (rc != SQLITE_DONE) {
        return st.error("list domains");
    }
    return out;
}

Result<Domain> Directory::add_domain_alias(std::string_view alias, std::string_view target) {
    auto alias_name = normalize_domain(alias);
    if (!alias_name) {
        return alias_name.error();
    }
    auto target_name = normalize_domain(target);
    if (!target_name) {
        return target_name.error();
    }
    if (alias_name->ascii == target_name->ascii) {
        return make_error_code(Errc::Invalid);
    }
    const std::lock_guard lock(mutex_);
    Transaction txn(db_);
    if (auto st = txn.begin(); !st) {
        return st.error();
    }
    auto target_row = find_hosted(db_, target_name->ascii);
    if (!target_row) {
        return target_row.error();
    }
    if (!*target_row) {
        return make_error_code(Errc::NotFound);  // also when the target is itself an alias
    }
    auto hosted = find_hosted(db_, alias_name->ascii);
    if (!hosted) {
        return hosted.error();
    }
    if (*hosted) {
        return make_error_code(Errc::Exists);
    }
    Statement st(
        db_,
        "INSERT INTO domain_aliases (name, display_name, target_id, created_at) "
        "VALUES (?1, ?2, ?3, ?4)"
    );
    st.bind(1, alias_name->ascii)
        .bind(2, alias_name->display)
        .bind(3, (*target_row)->id)
        .bind(4, now_seconds());
    if (auto r = st.run(make_error_code(Errc::Exists)); !r) {
        return r.error();
    }
    if (auto r = txn.commit(); !r) {
        return r.error();
    }
    log::info(
        "accounts.domain_alias.added",
        {{"alias", alias_name->ascii}, {"target", target_name->ascii}}
    );
    return Domain{alias_name->ascii, alias_name->display, target_name->ascii};
}

Status Directory::del_domain_alias(std::string_view alias) {
    auto name = normalize_domain(alias);
    if (!name) {
        return name.error();
    }
    const std::lock_guard lock(mutex_);
    Statement st(db_, "DELETE FROM domain_aliases WHERE name = ?1");
    st.bind(1, name->ascii);
    if (auto r = st.run(make_error_code(Errc::Storage)); !r) {
        return r;
    }
    if (!changed(db_)) {
        return make_error_code(Errc::NotFound);
    }
    log::info("accounts.domain_alias.deleted", {{"alias", name->ascii}});
    return {};
}

bool Directory::is_local_domain(std::string_view domain) {
    auto name = normalize_domain(domain);
    if (!name) {
        return false;
    }
    const std::lock_guard lock(mutex_);
    auto row = resolve_domain(db_, name->ascii);
    return row && row->has_value();
}

// --- users -----------------------------------------------------------------------------------

Result<Account> Directory::add_user(
    std::string_view address, std::string_view password, Quota quota
) {
    auto addr = normalize_local_address(address);
    if (!addr) {
        return addr.error();
    }
    auto bytes = quota_value(quota.bytes);
    auto messages = quota_value(quota.messages);
    if (!bytes || !messages) {
        return make_error_code(Errc::Invalid);
    }
    // Hash before taking the lock: Argon2id (and PBKDF2 for SCRAM) are the slow part and need
    // no database.
    auto hash = hash_password(password, options_.password);
    if (!hash) {
        return hash.error();
    }
    auto scram = make_scram_credentials(password);
    if (!scram) {
        return scram.error();
    }
    const std::lock_guard lock(mutex_);
    Transaction txn(db_);
    if (auto st = txn.begin(); !st) {
        return st.error();
    }
    auto domain = hosted_for_write(db_, addr->domain.ascii);
    if (!domain) {
        return domain.error();
    }
    Statement st(
        db_,
        "INSERT INTO users (domain_id, local_part, display_local, password_hash, quota_bytes, "
        "quota_messages, created_at, scram_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    );
    st.bind(1, domain->id)
        .bind(2, addr->local)
        .bind(3, addr->local_display)
        .bind(4, *hash)
        .bind(5, *bytes)
        .bind(6, *messages)
        .bind(7, now_seconds())
        .bind(8, format_scram_credentials(*scram));
    if (auto r = st.run(make_error_code(Errc::Exists)); !r) {
        return r.error();
    }
    const std::int64_t id = sqlite3_last_insert_rowid(db_.get());
    if (auto r = txn.commit(); !r) {
        return r.error();
    }
    Account account{
        id, addr->local + '@' + domain->name, addr->local_display + '@' + domain->display, quota
    };
    log::info("accounts.user.added", {{"address", account.address}});
    return account;
}

Status Directory::del_user(std::string_view address) {
    auto addr = normalize_local_address(address);
    if (!addr) {
        return addr.error();
    }
    const std::lock_guard lock(mutex_);
    auto user = require_user(db_, *addr);
    if (!user) {
        return user.error();
    }
    Statement st(db_, "DELETE FROM users WHERE id = ?1");
    st.bind(1, user->account.id);
    if (auto r = st.run(make_error_code(Errc::Storage)); !r) {
        return r;
    }
    if (!changed(db_)) {
        return make_error_code(Errc::NotFound);
    }
    log::info("accounts.user.deleted", {{"address", user->account.address}});
    return {};
}

Status Directory::set_password(std::string_view address, std::string_view password) {
    auto addr = normalize_local_address(address);
    if (!addr) {
        return addr.error();
    }
    auto hash = hash_password(password, options_.password);
    if (!hash) {
        return hash.error();
    }
    auto scram = make_scram_credentials(password);
    if (!scram) {
        return scram.error();
    }
    const std::lock_guard lock(mutex_);
    auto user = require_user(db_, *addr);
    if (!user) {
        return user.error();
    }
    Statement st(db_, "UPDATE users SET password_hash = ?1, scram_sha256 = ?2 WHERE id = ?3");
    st.bind(1, *hash).bind(2, format_scram_credentials(*scram)).bind(3, user->account.id);
    if (auto r = st.run(make_error_code(Errc::Storage)); !r) {
        return r;
    }
    if (!changed(db_)) {
        return make_error_code(Errc::NotFound);
    }
    log::info("accounts.user.password_set", {{"address", user->account.address}});
    return {};
}

Status Directory::set_quota(std::string_view address, Quota quota) {
    auto addr = normalize_local_address(address);
    if (!addr) {
        return addr.error();
    }
    auto bytes = quota_value(quota.bytes);
    auto messages = quota_value(quota.messages);
    if (!bytes || !messages) {
        return make_error_code(Errc::Invalid);
    }
    const std::lock_guard lock(mutex_);
    auto user = require_user(db_, *addr);
    if (!user) {
        return user.error();
    }
    Statement st(db_, "UPDATE users SET quota_bytes = ?1, quota_messages = ?2 WHERE id = ?3");
    st.bind(1, *bytes).bind(2, *messages).bind(3, user->account.id);
    if (auto r = st.run(make_error_code(Errc::Storage)); !r) {
        return r;
    }
    if (!changed(db_)) {
        return make_error_code(Errc::NotFound);
    }
    return {};
}

Result<std::vector<Account>> Directory::list_users(std::string_view domain) {
    const std::lock_guard lock(mutex_);
    auto domain_id = listed_domain_id(db_, domain);
    if (!domain_id) {
        return domain_id.error();
    }
    Statement st(
        db_,
        std::string(kUserColumns) +
            "WHERE ?1 = 0 OR u.domain_id = ?1 ORDER BY u.local_part || '@' || d.name"
    );
    st.bind(1, *domain_id);
    std::vector<Account> out;
    int rc = 0;
    while ((rc = st.step()) == SQLITE_ROW) {
        out.push_back(read_user(st).account);
    }
    if (rc != SQLITE_DONE) {
        return st.error("list users");
    }
    return out;
}

Result<Account> Directory::find_user(std::string_view address) {
    auto addr = normalize_local_address(address);
    if (!addr) {
        return addr.error();
    }
    const std::lock_guard lock(mutex_);
    auto user = require_user(db_, *addr);
    if (!user) {
        return user.error();
    }
    return std::move(user->account);
}

// --- aliases ---------------------------------------------------------------------------------

Status Directory::add_alias(std::string_view source, const std::vector<std::string>& destinations) {
    auto src = parse_alias_source(source);
    if (!src) {
        return src.error();
    }
    if (destinations.empty()) {
        return make_error_code(Errc::Invalid);
    }
    const std::lock_guard lock(mutex_);
    Transaction txn(db_);
    if (auto st = txn.begin(); !st) {
        return st;
    }
    // Canonical destinations: local ones as `lowercased-local@domain` (checked like account
    // names), external ones verbatim with a canonical domain. Local versus external is decided
    // again at resolution time, so adding or removing a domain later is handled.
    std::set<std::string> canonical;
    for (const auto& destination : destinations) {
        const std::size_t at = destination.rfind('@');
        if (at == std::string::npos || at == 0) {
            return make_error_code(Errc::InvalidAddress);
        }
        auto domain = normalize_domain(std::string_view(destination).substr(at + 1));
        if (!domain) {
            return domain.error();
        }
        auto local_domain = resolve_domain(db_, domain->ascii);
        if (!local_domain) {
            return local_domain.error();
        }
        if (*local_domain) {
            auto addr = normalize_local_address(destination);
            if (!addr) {
                return addr.error();
            }
            canonical.insert(addr->canonical());
        } else {
            auto ext = normalize_external_address(destination);
            if (!ext) {
                return ext.error();
            }
            canonical.insert(std::move(*ext));
        }
    }
    auto domain = hosted_for_write(db_, src->domain.ascii);
    if (!domain) {
        return domain.error();
    }
    Statement insert(
        db_, "INSERT INTO aliases (domain_id, local_part, created_at) VALUES (?1, ?2, ?3)"
    );
    insert.bind(1, domain->id).bind(2, src->local).bind(3, now_seconds());
    if (auto r = insert.run(make_error_code(Errc::Exists)); !r) {
        return r;
    }
    const std::int64_t alias_id = sqlite3_last_insert_rowid(db_.get());
    for (const auto& destination : canonical) {
        Statement st(db_, "INSERT INTO alias_destinations (alias_id, destination) VALUES (?1, ?2)");
        st.bind(1, alias_id).bind(2, destination);
        if (auto r = st.run(make_error_code(Errc::Storage)); !r) {
            return r;
        }
    }
    if (auto r = txn.commit(); !r) {
        return r;
    }
    log::info(
        "accounts.alias.added",
        {{"source", src->local + '@' + domain->name}, {"destinations", canonical.size()}}
    );
    return {};
}

Status Directory::del_alias(std::string_view source) {
    auto src = parse_alias_source(source);
    if (!src) {
        return src.error();
    }
    const std::lock_guard lock(mutex_);
    auto domain = find_hosted(db_, src->domain.ascii);
    if (!domain) {
        return domain.error();
    }
    if (!*domain) {
        return make_error_code(Errc::NotFound);
    }
    Statement st(db_, "DELETE FROM aliases WHERE domain_id = ?1 AND local_part = ?2");
    st.bind(1, (*domain)->id).bind(2, src->local);
    if (auto r = st.run(make_error_code(Errc::Storage)); !r) {
        return r;
    }
    if (!changed(db_)) {
        return make_error_code(Errc::NotFound);
    }
    log::info("accounts.alias.deleted", {{"source", src->local + '@' + (*domain)->name}});
    return {};
}

Result<std::vector<Alias>> Directory::list_aliases(std::string_view domain) {
    const std::lock_guard lock(mutex_);
    auto domain_id = listed_domain_id(db_, domain);
    if (!domain_id) {
        return domain_id.error();
    }
    Statement st(
        db_,
        "SELECT a.id, a.local_part, d.name FROM aliases a JOIN domains d ON d.id = a.domain_id "
        "WHERE ?1 = 0 OR a.domain_id = ?1 ORDER BY d.name, a.local_part"
    );
    st.bind(1, *domain_id);
    std::vector<std::pair<std::int64_t, Alias>> rows;
    int rc = 0;
    while ((rc = st.step()) == SQLITE_ROW) {
        rows.emplace_back(st.int64(0), Alias{st.text(1) + '@' + st.text(2), {}});
    }
    if (rc != SQLITE_DONE) {
        return st.error("list aliases");
    }
    std::vector<Alias> out;
    out.reserve(rows.size());
    for (auto& [id, alias] : rows) {
        auto destinations = alias_destinations(db_, id);
        if (!destinations) {
            return destinations.error();
        }
        alias.destinations = std::move(*destinations);
        out.push_back(std::move(alias));
    }
    return out;
}

// --- delivery and login ----------------------------------------------------------------------

RecipientResolution Directory::resolve_recipient(std::string_view address) {
    RecipientResolution out;
    auto parts = split_address(address);
    if (!parts || parts->local.empty()) {
        out.kind = RecipientResolution::Kind::Invalid;
        out.error = parts ? make_error_code(Errc::InvalidAddress) : parts.error();
        return out;
    }
    auto domain_name = normalize_domain(parts->domain);
    if (!domain_name) {
        out.kind = RecipientResolution::Kind::Invalid;
        out.error = domain_name.error();
        return out;
    }
    const std::lock_guard lock(mutex_);
    auto domain = resolve_domain(db_, domain_name->ascii);
    if (!domain) {
        out.kind = RecipientResolution::Kind::Failed;
        out.error = domain.error();
        return out;
    }
    if (!*domain) {
        out.kind = RecipientResolution::Kind::NotLocal;
        return out;
    }
    Resolver resolver{db_, options_, out, {}, {}, {}, {}};
    const std::string local = ascii_lower(parts->local);
    // A local part that can never be an account (non-ASCII, '/', …) can still reach the
    // catch-all, which delivers to real accounts.
    auto found = is_safe_local_part(local) ? resolver.lookup(**domain, local)
                                           : resolver.lookup_catch_all(**domain);
    if (!found) {
        out.kind = RecipientResolution::Kind::Failed;
        out.error = found.error();
        out.accounts.clear();
        out.external.clear();
        return out;
    }
    if (!*found || (out.accounts.empty() && out.external.empty())) {
        out.kind = RecipientResolution::Kind::UnknownUser;
        return out;
    }
    out.kind = RecipientResolution::Kind::Local;
    return out;
}

Result<bool> Directory::may_send_as(
    std::string_view account, std::string_view from, SenderPolicy policy
) {
    if (from.size() >= 2 && from.front() == '<' && from.back() == '>') {
        from = from.substr(1, from.size() - 2);
    }
    // RFC 5321 §4.5.5: the null reverse-path, for notifications a client sends (read receipts,
    // vacation replies); there is no address to impersonate.
    if (from.empty() || policy == SenderPolicy::Any) {
        return true;
    }
    auto owner = normalize_local_address(account);
    auto parts = split_address(from);
    if (!owner || !parts || parts->local.empty() || !normalize_external_address(from)) {
        return false;
    }
    auto domain_name = normalize_domain(parts->domain);
    if (!domain_name) {
        return false;
    }
    const std::lock_guard lock(mutex_);
    auto user = lookup_user(db_, *owner);
    if (!user) {
        return bool_error(user.error());
    }
    if (!*user) {
        return false;
    }
    const std::int64_t account_id = (*user)->account.id;
    auto domain = resolve_domain(db_, domain_name->ascii);
    if (!domain) {
        return bool_error(domain.error());
    }
    if (!*domain) {
        return false;  // not a domain we host: never the account's own
    }
    if (policy == SenderPolicy::Domain) {
        auto own_domain = resolve_domain(db_, owner->domain.ascii);
        if (!own_domain) {
            return bool_error(own_domain.error());
        }
        return *own_domain && (*own_domain)->id == (*domain)->id;
    }
    // The account's own address (also `user+tag`, and under a domain alias), checked before
    // the resolution: an alias of the same name must not take the owner's address away.
    const std::string local = ascii_lower(parts->local);
    if (is_safe_local_part(local)) {
        std::vector<std::string> candidates{local};
        if (options_.subaddressing) {
            if (auto base = subaddress_base(local, options_.subaddress_separator); !base.empty()) {
                candidates.emplace_back(base);
            }
        }
        for (const auto& candidate : candidates) {
            auto row = find_user_row(db_, (*domain)->id, candidate);
            if (!row) {
                return bool_error(row.error());
            }
            if (*row && (*row)->account.id == account_id) {
                return true;
            }
        }
    }
    // Otherwise: does mail to `from` reach the account? Covers aliases listing it (directly or
    // through other aliases) and the catch-all when nothing more specific takes the address.
    RecipientResolution out;
    Resolver resolver{db_, options_, out, {}, {}, {}, {}};
    auto found = is_safe_local_part(local) ? resolver.lookup(**domain, local)
                                           : resolver.lookup_catch_all(**domain);
    if (!found) {
        return bool_error(found.error());
    }
    return std::any_of(out.accounts.begin(), out.accounts.end(), [&](const Account& a) {
        return a.id == account_id;
    });
}

Result<std::string> Directory::add_app_password(std::string_view address, std::string_view name) {
    auto addr = normalize_local_address(address);
    if (!addr) {
        return addr.error();
    }
    if (!valid_app_password_name(name)) {
        return make_error_code(Errc::Invalid);
    }
    std::string password = generate_app_password();
    const std::string digest = app_password_digest(canonical_app_password(password));
    const std::lock_guard lock(mutex_);
    Transaction txn(db_);
    if (auto st = txn.begin(); !st) {
        return st.error();
    }
    auto user = require_user(db_, *addr);
    if (!user) {
        return user.error();
    }
    const std::int64_t account_id = user->account.id;
    {
        Statement count(db_, "SELECT count(*) FROM app_passwords WHERE account_id = ?1");
        count.bind(1, account_id);
        if (count.step() != SQLITE_ROW) {
            return count.error("count app passwords");
        }
        if (count.int64(0) >= static_cast<std::int64_t>(kMaxAppPasswords)) {
            return make_error_code(Errc::Invalid);
        }
    }
    Statement st(
        db_,
        "INSERT INTO app_passwords (account_id, name, hash, created_at) VALUES (?1, ?2, ?3, ?4)"
    );
    st.bind(1, account_id).bind(2, name).bind(3, digest).bind(4, now_seconds());
    if (auto r = st.run(make_error_code(Errc::Exists)); !r) {
        return r.error();
    }
    if (auto r = txn.commit(); !r) {
        return r.error();
    }
    log::info("accounts.app_password.added", {{"address", user->account.address}, {"name", name}});
    return password;
}

Result<std::vector<AppPassword>> Directory::list_app_passwords(std::string_view address) {
    auto addr = normalize_local_address(address);
    if (!addr) {
        return addr.error();
    }
    const std::lock_guard lock(mutex_);
    auto user = require_user(db_, *addr);
    if (!user) {
        return user.error();
    }
    Statement st(
        db_,
        "SELECT name, created_at, last_used_at FROM app_passwords WHERE account_id = ?1 "
        "ORDER BY name"
    );
    st.bind(1, user->account.id);
    std::vector<AppPassword> out;
    int rc = 0;
    while ((rc = st.step()) == SQLITE_ROW) {
        out.push_back(AppPassword{st.text(0), st.int64(1), st.int64(2)});
    }
    if (rc != SQLITE_DONE) {
        return st.error("list app passwords");
    }
    return out;
}

Status Directory::revoke_app_password(std::string_view address, std::string_view name) {
    auto addr = normalize_local_address(address);
    if (!addr) {
        return addr.error();
    }
    const std::lock_guard lock(mutex_);
    auto user = require_user(db_, *addr);
    if (!user) {
        return user.error();
    }
    Statement st(db_, "DELETE FROM app_passwords WHERE account_id = ?1 AND name = ?2");
    st.bind(1, user->account.id).bind(2, name);
    if (auto r = st.run(make_error_code(Errc::Storage)); !r) {
        return r;
    }
    if (!changed(db_)) {
        return make_error_code(Errc::NotFound);
    }
    log::info(
        "accounts.app_password.revoked", {{"address", user->account.address}, {"name", name}}
    );
    return {};
}

Result<bool> Directory::check_app_password(std::int64_t account_id, std::string_view password) {
    std::string canonical = canonical_app_password(password);
    if (canonical.empty()) {
        return false;
    }
    const std::string digest = app_password_digest(std::move(canonical));
    // The index lookup compares digests, not passwords: its timing can reveal something about
    // stored digests, and a digest of 140 random bits reveals nothing about the password.
    const std::lock_guard lock(mutex_);
    std::int64_t id = 0;
    std::int64_t last_used = 0;
    {
        Statement st(
            db_, "SELECT id, last_used_at FROM app_passwords WHERE hash = ?1 AND account_id = ?2"
        );
        st.bind(1, digest).bind(2, account_id);
        const int rc = st.step();
        if (rc == SQLITE_DONE) {
            return false;
        }
        if (rc != SQLITE_ROW) {
            return bool_error(st.error("find app password"));
        }
        id = st.int64(0);
        last_used = st.int64(1);
    }
    const std::int64_t now = now_seconds();
    if (now - last_used >= kLastUsedResolution || now < last_used) {
        Statement st(db_, "UPDATE app_passwords SET last_used_at = ?1 WHERE id = ?2");
        st.bind(1, now).bind(2, id);
        (void)st.run(make_error_code(Errc::Storage));  // logged; the login still succeeds
    }
    return true;
}

void Directory::store_scram_credentials(
    const Account& account,
    std::string_view old_hash,
    std::string_view old_scram,
    std::string_view password
) {
    auto fresh = make_scram_credentials(password);
    if (!fresh) {
        log::warn(
            "accounts.user.scram_failed",
            {{"address", account.address}, {"error", fresh.error().message()}}
        );
        return;
    }
    const std::lock_guard lock(mutex_);
    // Only if unchanged meanwhile: a concurrent set_password (new hash and credentials) wins.
    Statement st(
        db_,
        "UPDATE users SET scram_sha256 = ?1 "
        "WHERE id = ?2 AND password_hash = ?3 AND COALESCE(scram_sha256, '') = ?4"
    );
    st.bind(1, format_scram_credentials(*fresh))
        .bind(2, account.id)
        .bind(3, old_hash)
        .bind(4, old_scram);
    if (st.run(make_error_code(Errc::Storage)) && changed(db_)) {
        log::info("accounts.user.scram_created", {{"address", account.address}});
    }
}

Result<ScramAccount> Directory::scram_credentials(std::string_view address) {
    auto addr = normalize_local_address(address);
    if (!addr) {
        return addr.error();
    }
    const std::lock_guard lock(mutex_);
    auto user = require_user(db_, *addr);
    if (!user) {
        return user.error();
    }
    auto credentials = parse_scram_credentials(user->scram);
    if (!credentials) {
        if (!user->scram.empty()) {
            log::warn("accounts.user.scram_malformed", {{"address", user->account.address}});
        }
        return make_error_code(Errc::NotFound);
    }
    return ScramAccount{std::move(user->account), std::move(*credentials)};
}

Result<Account> Directory::authenticate(std::string_view address, std::string_view password) {
    std::optional<UserRow> user;
    if (auto addr = normalize_local_address(address); addr) {
        const std::lock_guard lock(mutex_);
        auto row = lookup_user(db_, *addr);
        if (!row) {
            return row.error();
        }
        user = std::move(*row);
    }
    // Verification runs outside the lock: Argon2id takes tens of milliseconds by design.
    if (!user) {
        // The same work as for a known user with a wrong password: an app password lookup
        // (account 0 has none) and one Argon2id verification.
        (void)check_app_password(0, password);
        (void)verify_password(dummy_hash_, password);
        return make_error_code(Errc::AuthFailed);
    }
    bool verified_now = false;
    if (!credentials_.matches(user->account.id, user->hash, password)) {
        // App passwords are checked before the Argon2id verification of the main password, not
        // after: the answer is the same (a password cannot be both), and a device using an app
        // password then costs a SHA-256 per login instead of Argon2id's 64 MiB and tens of
        // milliseconds. A failure still pays for both, as an unknown user does above.
        auto app = check_app_password(user->account.id, password);
        if (!app) {
            return app.error();
        }
        if (*app) {
            return std::move(user->account);
        }
        if (!verify_password(user->hash, password)) {
            return make_error_code(Errc::AuthFailed);
        }
        credentials_.remember(user->account.id, user->hash, password);
        verified_now = true;
    }
    // Users created before schema version 2 have no SCRAM credentials, and SCRAM needs the
    // password to derive them: the first successful PLAIN/LOGIN creates them, so the next login
    // can use SCRAM-SHA-256. Credentials with fewer than kScramIterations are renewed likewise.
    // This runs before the rehash below, whose UPDATE changes the hash this one checks.
    const auto scram = parse_scram_credentials(user->scram);
    if (!scram || scram->iterations < kScramIterations) {
        store_scram_credentials(user->account, user->hash, user->scram, password);
    }
    if (verified_now && password_needs_rehash(user->hash, options_.password)) {
        if (auto fresh = hash_password(password, options_.password); fresh) {
            const std::lock_guard lock(mutex_);
            // Only if unchanged meanwhile: a concurrent set_password must win.
            Statement st(
                db_, "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3"
            );
            st.bind(1, *fresh).bind(2, user->account.id).bind(3, user->hash);
            if (st.run(make_error_code(Errc::Storage))) {
                log::info("accounts.user.rehashed", {{"address", user->account.address}});
            }
        }
    }
    return std::move(user->account);
}

}  // namespace sov::accounts
