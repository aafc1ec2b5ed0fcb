#pragma once
// `sovereign tls probe DOMAIN`: the outbound TLS policy applied to a destination without sending
// mail. MX lookup through the validating resolver, then for each MX host: its addresses, its
// TLSA records when they can be trusted (RFC 7672 §2.2), a connection, EHLO, STARTTLS with DANE
// authentication or opportunistic TLS, and QUIT. Delivery uses the same steps before MAIL FROM.
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dns/resolver.hpp"
#include "net/tls_context.hpp"
#include "smtp/client/connection.hpp"
#include "tls/dane.hpp"

namespace sov::smtp::client {

struct ProbeOptions {
    std::uint16_t port = 25;
    std::string helo;  // our host name for EHLO
    Timeouts timeouts;
};

struct HostProbe {
    std::string host;
    std::uint16_t preference = 0;
    std::string address;  // the address connected to, if any
    bool address_secure = false;
    tls::DaneStatus dane = tls::DaneStatus::NotApplicable;
    std::string tls;  // "TLSv1.3 TLS_AES_256_GCM_SHA384", empty without TLS
    bool ok = false;  // the connection met the policy that applies to it
    std::string detail;
};

struct DomainProbe {
    std::string domain;
    bool mx_secure = false;
    std::string error;  // the domain as a whole failed (no MX, null MX, lookup error)
    std::vector<HostProbe> hosts;

    bool ok() const;
};

boost::asio::awaitable<DomainProbe> probe_domain(
    dns::Resolver& resolver,
    net::SslContextPtr tls_context,
    std::string domain,
    ProbeOptions options
);

std::string_view to_string(tls::DaneStatus status) noexcept;

}  // namespace sov::smtp::client
