#pragma once
// ARC chain validation (RFC 8617 §5.2): the Chain Validation Status of a received message, as
// the MX records it in Authentication-Results ("arc=pass header.oldest-pass=0", §6) and as a
// later seal of ours needs it (cv=, §5.1 step 4.C).
//
// All the work is a pure function of the message and the DNS answers; DNS goes through
// DnsSource (key records at <s>._domainkey.<d>, §4.1.2/§4.1.3 reuse DKIM's key records).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "mailauth/arc_headers.hpp"
#include "mailauth/dkim_canon.hpp"
#include "mailauth/dns_source.hpp"
#include "mailauth/static_dns.hpp"

namespace sov::mailauth {

/// The Chain Validation Status (§4.4); to_string gives the RFC 8601 result keyword.
using ArcResult = ArcCv;

struct ArcVerifyOptions {
    HeaderLimits header_limits{};
    /// When set (Unix seconds), an AMS whose x= lies before it fails (RFC 6376 §3.5, imported by
    /// §4.1.2). Unset: no expiry check, which is what the test suites with fixed t= need.
    std::optional<std::int64_t> now{};
    /// §5.2 step 5 is optional: it costs one more body hash and key lookup per older set.
    bool compute_oldest_pass = true;
};

struct ArcOutcome {
    ArcResult cv = ArcResult::None;
    int instance = 0;     // N, the highest instance found (0: no chain)
    int oldest_pass = 0;  // §5.2 step 5 (header.oldest-pass, §6); 0 when every AMS validates
    std::string reason;   // short printable ASCII: why the chain failed, empty on pass/none
    std::string domain;   // d= and s= of the latest ARC-Seal, when it parsed
    std::string selector;
    /// The failure came from a DNS error. Still cv=fail (§5.2.1: all failures are permanent),
    /// but an operator may want to know.
    bool temporary = false;
};

/// Validates the Authenticated Received Chain of `message` (full message, CRLF line ends). The
/// message must stay alive until the returned awaitable completes.
boost::asio::awaitable<ArcOutcome> verify_arc(
    DnsSource& dns, std::string_view message, ArcVerifyOptions options = {}
);

/// At most this many distinct key records are fetched ahead for one chain; a chain naming more
/// (50 sets may name 100) finds the rest missing and fails, as a lookup limit would make it.
inline constexpr std::size_t kMaxArcKeyPrefetch = 32;

/// The key records `message`'s ARC chain names (every AMS and AS s=/d=), fetched from `dns`
/// into a table, so that verify_arc over that table does no I/O and can run on a worker
/// thread (the body hashes and signature checks are the expensive part). A failed lookup is
/// kept as a failure, a missing record as NXDOMAIN: verify_arc gives the same outcome as over
/// `dns` itself. Nullopt when the chain names no key (no chain, or none that parses): then
/// verify_arc does no lookups and is cheap anyway.
boost::asio::awaitable<std::optional<StaticDns>> prefetch_arc_keys(
    DnsSource& dns, std::string_view message, const ArcVerifyOptions& options = {}
);

}  // namespace sov::mailauth
