#include "smtp/client/tls_probe.hpp"

#include <algorithm>

#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include "dns/errors.hpp"
#include "smtp/client/errors.hpp"
#include "tls/client_context.hpp"

namespace sov::smtp::client {

namespace asio = boost::asio;

namespace {

// After the address and TLSA lookups: connect, EHLO, STARTTLS by the policy, QUIT.
asio::awaitable<void> converse(
    HostProbe& probe,
    const tls::DanePolicy& policy,
    net::SslContextPtr tls_context,
    const asio::ip::address& address,
    const ProbeOptions& options
) {
    auto executor = co_await asio::this_coro::executor;
    probe.address = address.to_string();
    auto connection = co_await Connection::connect(
        executor, asio::ip::tcp::endpoint(address, options.port), options.timeouts
    );
    if (!connection) {
        probe.detail = "connect: " + connection.error().message();
        co_return;
    }
    auto& c = **connection;
    auto greeting = co_await c.read_reply();
    if (!greeting || greeting->code != 220) {
        probe.detail = "greeting: " + (greeting ? greeting->summary() : greeting.error().message());
        co_return;
    }
    auto ehlo = co_await c.ehlo(options.helo);
    if (!ehlo || ehlo->code != 250) {
        probe.detail = "EHLO: " + (ehlo ? ehlo->summary() : ehlo.error().message());
        co_return;
    }
    const bool tls_required = policy.status != tls::DaneStatus::NotApplicable;
    if (!c.offers("STARTTLS")) {
        if (tls_required) {
            probe.detail = make_error_code(Errc::NoStartTls).message();
        } else {
            probe.ok = true;
            probe.detail = "no STARTTLS offered: plaintext (opportunistic TLS, RFC 7435)";
        }
        (void)co_await c.command("QUIT");
        co_return;
    }
    const auto prepare = [&policy](SSL* ssl) { return tls::prepare_dane(ssl, policy); };
    auto started = co_await c.starttls(std::move(tls_context), prepare);
    if (!started) {
        probe.detail = "STARTTLS: " + started.error().message();
        co_return;
    }
    probe.tls = tls::describe(c.stream().ssl());
    if (policy.status == tls::DaneStatus::Authenticate) {
        const auto verification = tls::dane_verification(c.stream().ssl());
        if (!verification.authenticated) {
            // RFC 7672 §2.2: no mail over a connection that failed DANE authentication.
            probe.detail = "DANE authentication failed: " + verification.detail;
            (void)co_await c.command("QUIT");
            co_return;
        }
        probe.detail = "DANE authenticated: " + verification.detail;
    } else if (policy.status == tls::DaneStatus::EncryptOnly) {
        probe.detail = "encrypted; TLSA records present but none usable (RFC 7672 §2.2)";
    } else {
        probe.detail = "encrypted, not authenticated (opportunistic TLS)";
    }
    auto second = co_await c.ehlo(options.helo);  // RFC 3207 §4.2
    if (!second || second->code != 250) {
        probe.detail =
            "EHLO after STARTTLS: " + (second ? second->summary() : second.error().message());
        co_return;
    }
    probe.ok = true;
    (void)co_await c.command("QUIT");
}

asio::awaitable<HostProbe> probe_host(
    dns::Resolver& resolver,
    net::SslContextPtr tls_context,
    dns::MxRecord mx,
    const ProbeOptions& options
) {
    HostProbe probe;
    probe.host = mx.exchange;
    probe.preference = mx.preference;
    auto addresses = co_await resolver.a(mx.exchange);
    if (addresses && addresses->records.empty()) {
        addresses = co_await resolver.aaaa(mx.exchange);
    }
    if (!addresses) {
        probe.detail = "address lookup: " + addresses.error().message();
        co_return probe;
    }
    if (addresses->records.empty()) {
        probe.detail = "host has no address records";
        co_return probe;
    }
    probe.address_secure = addresses->secure();
    tls::DanePolicy policy;
    policy.host = mx.exchange;
    if (probe.address_secure) {
        // RFC 7672 §2.2.2: TLSA records count only for a host whose address records are secure.
        auto tlsa = co_await resolver.tlsa(tls::tlsa_name(mx.exchange, options.port));
        if (!tlsa) {
            // §2.2: a failed TLSA lookup (bogus, SERVFAIL, timeout) defers; no fallback.
            probe.detail = "TLSA lookup: " + tlsa.error().message();
            co_return probe;
        }
        policy = tls::dane_policy(mx.exchange, *tlsa);
    }
    probe.dane = policy.status;
    co_await converse(probe, policy, std::move(tls_context), addresses->records.front(), options);
    co_return probe;
}

}  // namespace

bool DomainProbe::ok() const {
    return error.empty() && !hosts.empty() &&
           std::all_of(hosts.begin(), hosts.end(), [](const HostProbe& h) { return h.ok; });
}

std::string_view to_string(tls::DaneStatus status) noexcept {
    switch (status) {
        case tls::DaneStatus::NotApplicable:
            return "no DANE";
        case tls::DaneStatus::Authenticate:
            return "DANE";
        case tls::DaneStatus::EncryptOnly:
            return "DANE (no usable TLSA: encrypt only)";
    }
    return "?";
}

asio::awaitable<DomainProbe> probe_domain(
    dns::Resolver& resolver,
    net::SslContextPtr tls_context,
    std::string domain,
    ProbeOptions options
) {
    DomainProbe out;
    out.domain = domain;
    auto mx = co_await resolver.mx(domain);
    if (!mx) {
        out.error = "MX lookup: " + mx.error().message();
        co_return out;
    }
    if (mx->nxdomain) {
        out.error = "no such domain";
        co_return out;
    }
    out.mx_secure = mx->secure();
    auto hosts = mx->records;
    if (hosts.empty()) {
        hosts.push_back(dns::MxRecord{0, domain});  // RFC 5321 §5.1: the implicit MX
    }
    if (hosts.size() == 1 && hosts.front().exchange == ".") {
        out.error = "the domain accepts no mail (null MX, RFC 7505)";
        co_return out;
    }
    std::stable_sort(hosts.begin(), hosts.end(), [](const auto& a, const auto& b) {
        return a.preference < b.preference;
    });
    for (const auto& host : hosts) {
        out.hosts.push_back(co_await probe_host(resolver, tls_context, host, options));
    }
    co_return out;
}

}  // namespace sov::smtp::client
