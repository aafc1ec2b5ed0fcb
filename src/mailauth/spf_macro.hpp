#pragma once
// SPF macros (RFC 7208 §7): syntax checks for macro-strings, domain-specs and explain-strings,
// expansion against the values of one check_host() evaluation, the 253-octet truncation of
// expanded domain names (§7.3), and the validated PTR names (§5.5) that "ptr" and %{p} use.
//
// Checking and expanding are pure and noexcept; only validated_names() talks to DNS, through
// DnsSource, so check_host() computes %{p} before it expands a string that needs it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "mailauth/dns_source.hpp"

namespace sov::mailauth {

/// Where a macro-string appears decides what it may contain (RFC 7208 §7.1, §7.2).
enum class MacroContext {
    DomainSpec,   // mechanism and redirect/exp targets: no SP, no c/r/t, must end in domain-end
    Explanation,  // the TXT record exp= points at (explain-string): SP and c/r/t allowed
    Modifier,     // the value of an unknown modifier: any macro-string, never expanded
};

enum class MacroStatus {
    Ok,
    BadCharacter,     // not a macro-literal (control, non-ASCII, SP outside explain-string)
    BadPercent,       // '%' not followed by '{', '%', '_' or '-' (§7.3)
    BadLetter,        // not one of s l o d i p h c r t v
    ExplanationOnly,  // c, r or t outside exp text (§7.2)
    ZeroDigits,       // a DIGIT transformer of 0 (§7.3: "MUST be nonzero")
    Unterminated,     // "%{" without a valid closing '}'
    BadDomainEnd,     // a domain-spec must end in "." toplabel ["."] or a macro (§7.1)
    Empty,            // an empty domain-spec
};

[[nodiscard]] std::string_view to_string(MacroStatus status) noexcept;

/// Checks a macro-string (or explain-string) for `context`; a domain-spec also gets its
/// domain-end checked.
[[nodiscard]] MacroStatus check_macro_string(std::string_view text, MacroContext context) noexcept;

/// Whether expanding `text` needs %{p} (which costs DNS lookups).
[[nodiscard]] bool uses_p_macro(std::string_view text) noexcept;

/// The inputs of one check_host() evaluation that macros expand to (§7.2).
struct MacroValues {
    std::string sender;           // s: local-part "@" domain, "postmaster" substituted (§4.3)
    std::string local_part;       // l
    std::string sender_domain;    // o
    std::string domain;           // d: the <domain> of the current (recursive) evaluation
    boost::asio::ip::address ip;  // i, c, v: IPv4-mapped addresses already unmapped (§5)
    std::string helo;             // h
    std::string receiver;         // r: our host name; empty means "unknown"
    std::int64_t timestamp = 0;   // t: seconds since the epoch
    std::string validated_name = "unknown";  // p, when the string uses it (§7.3)
};

struct MacroExpansion {
    MacroStatus status = MacroStatus::Ok;
    std::string text;
};

/// Expands `text` (checked as for `context`). Upper-case macro letters are URL-escaped (§7.3).
[[nodiscard]] MacroExpansion expand_macros(
    std::string_view text, MacroContext context, const MacroValues& values
) noexcept;

/// §7.3: an expanded domain name longer than 253 octets loses labels on the left until it fits;
/// a trailing dot is dropped first (§7.3: trailing dots MUST be accepted).
[[nodiscard]] std::string truncate_domain(std::string_view name) noexcept;

/// A name a DNS query can be made for: labels of 1-63 octets, at most 253 octets in all
/// (RFC 1035 §2.3.4), no trailing dot.
[[nodiscard]] bool is_queryable_name(std::string_view name) noexcept;

/// The "i" macro of an IPv6 address: 32 lower-case nibbles separated by dots (§7.3); IPv4
/// dotted-quad.
[[nodiscard]] std::string ip_dot_format(const boost::asio::ip::address& ip);

/// Whether `name` equals `domain` or is a subdomain of it (case-insensitive, §5.5).
[[nodiscard]] bool is_within(std::string_view name, std::string_view domain) noexcept;

/// The outcome of the §5.5 procedure: PTR lookup, then an address lookup of each name (at most
/// `max_names` of them, §4.6.4) keeping those that point back to the address.
struct ValidatedNames {
    bool ptr_failed = false;  // the PTR lookup itself failed: "ptr" does not match, %{p} unknown
    bool ptr_void = false;    // NXDOMAIN or no PTR records (a void lookup, §4.6.4)
    std::vector<std::string> names;
};

/// A records for an IPv4 client, AAAA for an IPv6 one (§5: "the type of lookup ... appropriate
/// for the connection type").
boost::asio::awaitable<DnsAnswer<boost::asio::ip::address>> lookup_addresses(
    DnsSource& dns, std::string name, bool v4
);

boost::asio::awaitable<ValidatedNames> validated_names(
    DnsSource& dns, boost::asio::ip::address ip, std::size_t max_names
);

/// §7.3: <domain> itself if validated, else a validated subdomain of it, else the first
/// validated name, else "unknown".
[[nodiscard]] std::string choose_p_name(const ValidatedNames& names, std::string_view domain);

}  // namespace sov::mailauth
