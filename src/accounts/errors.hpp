#pragma once
// Error codes of the accounts directory (STYLE.md §3.4: operational failures are values).
#include <system_error>

namespace sov::accounts {

enum class Errc {
    Ok = 0,
    NotFound,        // no such domain, user or alias
    Exists,          // the name is already taken (by a domain, a domain alias, a user or an alias)
    Invalid,         // an argument is unacceptable for another reason (e.g. domain alias to itself)
    InvalidDomain,   // not a valid domain name (IDNA2008/UTS #46, LDH labels, lengths)
    InvalidAddress,  // not a valid address, or a local part unsafe as a mail store directory name
    InvalidPassword,  // empty or too long
    NotLocalDomain,   // the address is in a domain we do not host
    InUse,            // the domain still has users
    AuthFailed,       // unknown user or wrong password (deliberately indistinguishable)
    AliasLoop,        // alias expansion came back to an address it was expanding
    AliasTooDeep,     // alias expansion nested deeper than Options::max_alias_depth
    Storage,          // SQLite failed (details are logged where it happened)
    SchemaTooNew,     // accounts.db was written by a newer version of Sovereign
    Crypto,           // libsodium failed (initialisation, out of memory while hashing)
};

const std::error_category& accounts_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), accounts_category()};
}

}  // namespace sov::accounts

template <>
struct std::is_error_code_enum<sov::accounts::Errc> : std::true_type {};
