#pragma once
// One MX host as outbound delivery and `tls probe` use it: its addresses and TLS policy (DANE
// from secure TLSA records, RFC 7672; MTA-STS, RFC 8461; else opportunistic TLS, RFC 7435), then a
// connection that meets that policy, ready for MAIL FROM. See tls_probe.hpp for how the policies
// combine.
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "dns/resolver.hpp"
#include "net/tls_context.hpp"
#include "smtp/client/connection.hpp"
#include "smtp/client/tls_probe.hpp"
#include "tls/dane.hpp"
#include "tls/mta_sts_resolver.hpp"

namespace sov::smtp::client {

/// The policies that govern one MX host.
struct HostPolicy {
    tls::DanePolicy dane;
    const tls::ActivePolicy* sts = nullptr;  // set when MTA-STS is validated for this host

    [[nodiscard]] bool sts_enforced() const {
        return sts != nullptr && sts->policy.mode == tls::Mode::Enforce;
    }
    /// RFC 8689 §4.2.1 (REQUIRETLS): the peer's certificate must be authenticated by DANE or by
    /// an MTA-STS policy.
    [[nodiscard]] bool authenticated_tls_required() const {
        return dane.status == tls::DaneStatus::Authenticate || sts_enforced();
    }
};

/// A host ready to be connected to: where, and under which policy.
struct ResolvedHost {
    HostPolicy policy;
    std::vector<boost::asio::ip::address> addresses;  // IPv4 first, then IPv6
};

/// Looks up the host's addresses and, when they are secure, its TLSA records (RFC 7672 §2.2.2),
/// and applies `sts` (may be null). On failure returns nullopt with `probe.detail` saying why; a
/// failed TLSA lookup is a failure (§2.2: defer, never fall back to plaintext).
boost::asio::awaitable<std::optional<ResolvedHost>> resolve_host(
    dns::Resolver& resolver,
    const tls::ActivePolicy* sts,
    const dns::MxRecord& mx,
    std::uint16_t port,
    HostProbe& probe
);

/// Connects to `address`, reads the greeting, EHLO, STARTTLS as the policy demands and
/// authenticates the peer, then EHLO again: the connection is ready for a transaction. Returns
/// null when the policy was not met or the conversation failed (`probe.detail` says why; QUIT
/// has been sent where a session existed). `probe.ok` is true on success.
boost::asio::awaitable<std::unique_ptr<Connection>> establish(
    HostProbe& probe,
    const HostPolicy& policy,
    net::SslContextPtr tls_context,
    const boost::asio::ip::address& address,
    const ProbeOptions& options
);

}  // namespace sov::smtp::client
