#pragma once
// `sovereign tls probe DOMAIN`: the outbound TLS policy applied to a destination without sending
// mail. MX lookup through the validating resolver, the domain's MTA-STS policy (RFC 8461: TXT
// discovery, cache, HTTPS fetch), then for each MX host: its addresses, its TLSA records when they
// can be trusted (RFC 7672 §2.2), a connection, EHLO, STARTTLS with DANE authentication, PKIX
// validation for MTA-STS, or opportunistic TLS, and QUIT. Delivery uses the same steps before
// MAIL FROM.
//
// Which policy governs a host: DANE when the host has a usable secure TLSA RRset (RFC 7672; RFC
// 8461 §2: MTA-STS must never override DANE), and MTA-STS is then not checked for it. Otherwise
// an MTA-STS policy in mode enforce or testing is validated (§4: MX name matches a pattern,
// STARTTLS, certificate valid by PKIX for the MX name): under enforce a failing host is not used
// (§5), under testing the failure is only reported. A host with a secure TLSA RRset whose records
// are all unusable (DANE "encrypt only") gets the MTA-STS checks on top of mandatory TLS.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dns/resolver.hpp"
#include "net/tls_context.hpp"
#include "smtp/client/connection.hpp"
#include "tls/dane.hpp"
#include "tls/mta_sts_resolver.hpp"
#include "tls/tlsrpt_report.hpp"

namespace sov::smtp::client {

struct ProbeOptions {
    std::uint16_t port = 25;
    std::string helo;  // our host name for EHLO
    Timeouts timeouts;
};

/// What MTA-STS said about one MX host.
enum class StsCheck {
    NotApplicable,  // the domain has no policy in force (none found, or mode none)
    DaneInstead,    // the host has usable TLSA records: DANE applies, MTA-STS is not checked
    Valid,          // MX name matched, STARTTLS, certificate valid by PKIX (§4)
    WouldFail,      // mode testing: validation failed, only reported (§5)
    Failed,         // mode enforce: validation failed, host not used (§5)
};

/// How the TLS negotiation under a host's policy ended, as SMTP TLS Reporting counts it (RFC
/// 8460 §4.3): a successful session, or a failure with its result type.
struct TlsOutcome {
    tls::PolicyType policy = tls::PolicyType::NoPolicyFound;
    std::optional<tls::ResultType> failure;  // unset: a successful session
    std::string reason;                      // "failure-reason-code": OpenSSL's verify error
};

struct HostProbe {
    std::string host;
    std::uint16_t preference = 0;
    std::string address;        // the address connected to, if any
    std::string local_address;  // ours on that connection (TLS-RPT sending-mta-ip)
    bool address_secure = false;
    tls::DaneStatus dane = tls::DaneStatus::NotApplicable;
    std::string tls;  // "TLSv1.3 TLS_AES_256_GCM_SHA384", empty without TLS
    StsCheck sts = StsCheck::NotApplicable;
    bool ok = false;  // the connection met the policy that applies to it
    std::string detail;
    std::string sts_detail;  // WouldFail: why the host would fail under enforce
    /// Unset when no negotiation was reached (no address, connect or greeting failure); a
    /// later failure under MTA-STS testing overrides a success (§4.3.2.2 reports those too).
    std::optional<TlsOutcome> tls_outcome;
    /// Set by the caller when the domain publishes an MTA-STS policy that could not be fetched
    /// (StsLookup::failure): a session that no DANE policy governs is then reported as that
    /// "sts" failure (RFC 8460 §4.3.2.2), although it goes on opportunistically (RFC 8461 §5).
    std::optional<tls::StsFailure> sts_unavailable;
};

struct DomainProbe {
    std::string domain;
    bool mx_secure = false;
    std::string error;  // the domain as a whole failed (no MX, null MX, lookup error)
    std::optional<tls::ActivePolicy> sts_policy;  // the MTA-STS policy found (mode none too)
    std::string sts_note;                         // how it was found, or why there is none
    std::optional<tls::StsFailure> sts_failure;   // a published policy that could not be had
    std::vector<HostProbe> hosts;

    bool ok() const;
};

/// `sts` may be null: MTA-STS is then not looked at. It must outlive the probe.
boost::asio::awaitable<DomainProbe> probe_domain(
    dns::Resolver& resolver,
    net::SslContextPtr tls_context,
    tls::StsResolver* sts,
    std::string domain,
    ProbeOptions options
);

std::string_view to_string(tls::DaneStatus status) noexcept;
std::string_view to_string(StsCheck check) noexcept;

}  // namespace sov::smtp::client
