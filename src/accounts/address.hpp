#pragma once
// Address and domain normalisation for the accounts directory.
//
// Domains are stored in one canonical form: lowercase A-labels (IDNA2008 with the UTS #46
// non-transitional mapping, input NFC-normalised, via libidn2), so `Bücher.example`,
// `BÜCHER.example` and `xn--bcher-kva.example` are the same domain. The Unicode form is derived
// for display only.
//
// Local parts of *our* accounts are deliberately conservative, because the canonical address
// `local@domain` is also the name of the account's mail directory (`<data>/mail/<address>/`):
// ASCII letters, digits and `. _ + -`, 1..64 octets, no leading `.` or `-`, no trailing `.`,
// no `..`. Non-ASCII (RFC 6531) local parts are not accepted for local accounts: their case
// folding and normalisation are not settled and they would make directory names ambiguous.
// They are accepted as *external* alias destinations. Local parts are case-insensitive
// (stored lowercased); external local parts keep their case (RFC 5321 §2.4).
#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace sov::accounts {

inline constexpr std::size_t kMaxLocalPartOctets = 64;  // RFC 5321 §4.5.3.1.1
inline constexpr std::size_t kMaxDomainOctets = 253;    // RFC 5321 §4.5.3.1.2 minus length octets
// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including "<" and ">". This also keeps an
// account directory name under NAME_MAX (255).
inline constexpr std::size_t kMaxAddressOctets = 254;

struct DomainName {
    std::string ascii;    // canonical: lowercase A-labels, no trailing dot
    std::string display;  // U-labels for humans (equal to ascii for pure ASCII names)
};

/// Canonicalises a domain given as U-labels, A-labels or a mix, in any case, with at most one
/// trailing dot. Fails with Errc::InvalidDomain for anything that is not a host name
/// (IDNA errors, labels that are not LDH, empty labels, over-long names, address literals,
/// all-numeric top-level labels such as `1.2.3.4`).
Result<DomainName> normalize_domain(std::string_view domain);

/// The Unicode form of a canonical ASCII domain; the input itself if it cannot be converted.
std::string domain_to_display(std::string_view ascii);

/// True if `local` is acceptable as the local part of one of our accounts (rules above).
/// Case is not checked: callers lowercase first.
bool is_safe_local_part(std::string_view local) noexcept;

/// True if `name` is safe as a single path component naming an account's directory: a safe
/// local part, '@', and a canonical (lowercase LDH) domain, at most kMaxAddressOctets in all.
/// No '/', no NUL or control bytes, no leading '.', never "." or "..". Every canonical address
/// produced by this module passes.
bool is_safe_account_name(std::string_view name) noexcept;

/// True if `local` is a syntactically valid SMTP local part, as used for external
/// destinations: RFC 5321 §4.1.2 Dot-string or Quoted-string, with UTF-8 allowed in atoms and
/// quoted text (RFC 6531 §3.3), at most kMaxLocalPartOctets.
bool is_valid_smtp_local_part(std::string_view local) noexcept;

struct AddressParts {
    std::string local;  // unquoted content of the local part (may be empty only for "@domain")
    std::string domain;
    bool quoted = false;  // the local part was given as an RFC 5321 Quoted-string
};

/// Splits `local@domain` at the last '@' and removes the quoting of a Quoted-string local part
/// (RFC 5321 §4.1.2: `"john"@x` and `john@x` are the same mailbox). No case change.
Result<AddressParts> split_address(std::string_view address);

struct NormalizedAddress {
    std::string local;          // lowercased
    std::string local_display;  // as given (unquoted)
    DomainName domain;

    std::string canonical() const { return local + '@' + domain.ascii; }
    std::string display() const { return local_display + '@' + domain.display; }
};

/// Normalises an address of one of *our* accounts: domain canonicalised, local part checked
/// with is_safe_local_part() and lowercased.
Result<NormalizedAddress> normalize_local_address(std::string_view address);

/// Normalises an external address: domain canonicalised, local part validated with
/// is_valid_smtp_local_part() but kept verbatim (quoting and case preserved).
Result<std::string> normalize_external_address(std::string_view address);

/// Subaddressing (`user+tag` → `user`, RFC 5233 style): the part before the first `separator`,
/// or an empty view when `local` has no separator or nothing precedes it.
std::string_view subaddress_base(std::string_view local, char separator) noexcept;

/// ASCII lowercase; other bytes unchanged.
std::string ascii_lower(std::string_view text);

}  // namespace sov::accounts
