#pragma once
// SPF evaluation: check_host() of RFC 7208 §4 over a DnsSource, and the two identities a
// receiver checks with it, HELO (§2.3) and MAIL FROM (§2.4). No cache of its own: the resolver
// caches answers, and the function is cheap apart from its lookups.
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "mailauth/dns_source.hpp"

namespace sov::mailauth {

/// §2.6 results.
enum class SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
};

/// The RFC 8601 §2.7.2 result keyword ("pass", "softfail", "temperror", ...).
[[nodiscard]] std::string_view to_string(SpfResult result) noexcept;

struct SpfRequest {
    boost::asio::ip::address ip;  // the SMTP client
    std::string domain;           // <domain>: the domain of the identity being checked
    std::string sender;           // <sender>: the MAIL FROM or HELO identity (local@domain)
    std::string helo;             // %{h}
    std::string receiver;         // %{r}: our host name
};

struct SpfOutcome {
    SpfResult result = SpfResult::None;
    std::string explanation;  // the exp= text on "fail" (§6.2), else empty; printable ASCII
    std::string mechanism;    // the term that matched ("ip4:192.0.2.0/24"), or "default"
    std::string problem;      // why, for none / temperror / permerror; printable ASCII
};

/// §4.6.4 processing limits (defaults: the RFC's values).
struct SpfLimits {
    unsigned dns_mechanisms = 10;  // include, a, mx, ptr, exists, redirect over the whole check
    unsigned void_lookups = 2;     // lookups answered NXDOMAIN or with no records
    unsigned mx_names = 10;        // MX records per "mx" mechanism: more is a permerror
    unsigned ptr_names = 10;       // PTR names validated per "ptr" / %{p}: the rest are ignored
};

/// check_host(<ip>, <domain>, <sender>) of §4.
boost::asio::awaitable<SpfOutcome> check_host(
    DnsSource& dns, SpfRequest request, SpfLimits limits = {}
);

/// The MAIL FROM identity (§2.4): `mail_from` is the reverse-path without angle brackets; when it
/// is empty the identity is postmaster@<helo>.
boost::asio::awaitable<SpfOutcome> check_mail_from(
    DnsSource& dns,
    boost::asio::ip::address ip,
    std::string helo,
    std::string mail_from,
    std::string receiver
);

/// The HELO identity (§2.3): postmaster@<helo>. An address literal or a malformed name gives
/// "none" (§4.3).
boost::asio::awaitable<SpfOutcome> check_helo(
    DnsSource& dns, boost::asio::ip::address ip, std::string helo, std::string receiver
);

}  // namespace sov::mailauth
