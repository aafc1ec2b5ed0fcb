#include "smtp/client/tls_probe.hpp"

#include <algorithm>

#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>
#include <openssl/x509_vfy.h>

#include "dns/errors.hpp"
#include "smtp/client/errors.hpp"
#include "smtp/client/host_session.hpp"
#include "tls/client_context.hpp"
#include "tls/mta_sts_fetch.hpp"

namespace sov::smtp::client {

namespace asio = boost::asio;

namespace {

// RFC 8460 §4.4 "policy-type" of the policy that governs the host.
tls::PolicyType report_policy(const HostPolicy& policy) {
    if (policy.dane.status != tls::DaneStatus::NotApplicable) {
        return tls::PolicyType::Tlsa;
    }
    return policy.sts != nullptr ? tls::PolicyType::Sts : tls::PolicyType::NoPolicyFound;
}

// RFC 8460 §4.3.1: the result type of a certificate that failed verification.
tls::ResultType certificate_failure(long verify_result) {
    switch (verify_result) {
        case X509_V_ERR_HOSTNAME_MISMATCH:
            return tls::ResultType::CertificateHostMismatch;
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return tls::ResultType::CertificateExpired;
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_CERT_UNTRUSTED:
            return tls::ResultType::CertificateNotTrusted;
        default:
            return tls::ResultType::ValidationFailure;
    }
}

// A session with no policy of its own, while the domain's published MTA-STS policy could not be
// fetched: RFC 8460 §4.3.2.2 counts it as that policy's failure (one result per session, so the
// policy failure replaces e.g. starttls-not-supported).
bool sts_unavailable(const HostProbe& probe, const HostPolicy& policy) {
    return probe.sts_unavailable && report_policy(policy) == tls::PolicyType::NoPolicyFound;
}

TlsOutcome sts_unavailable_outcome(const HostProbe& probe) {
    return TlsOutcome{
        .policy = tls::PolicyType::Sts,
        .failure = probe.sts_unavailable->type,
        .reason = probe.sts_unavailable->reason,
    };
}

void tls_failed(
    HostProbe& probe, const HostPolicy& policy, tls::ResultType type, std::string reason
) {
    if (sts_unavailable(probe, policy)) {
        probe.tls_outcome = sts_unavailable_outcome(probe);
        return;
    }
    probe.tls_outcome =
        TlsOutcome{.policy = report_policy(policy), .failure = type, .reason = std::move(reason)};
}

void tls_succeeded(HostProbe& probe, const HostPolicy& policy) {
    if (probe.tls_outcome && probe.tls_outcome->failure) {
        return;  // an MTA-STS testing failure on this host is what gets reported
    }
    if (sts_unavailable(probe, policy)) {
        probe.tls_outcome = sts_unavailable_outcome(probe);
        return;
    }
    probe.tls_outcome = TlsOutcome{.policy = report_policy(policy), .failure = {}, .reason = {}};
}

// An MTA-STS validation failure (§4): under enforce the host fails (the caller stops); under
// testing it is only reported (§5) and the host is used as if there were no policy.
void sts_failure(HostProbe& probe, const HostPolicy& policy, const std::string& why) {
    if (policy.sts_enforced()) {
        probe.sts = StsCheck::Failed;
        probe.ok = false;
        probe.detail = "MTA-STS: " + why;
        return;
    }
    probe.sts = StsCheck::WouldFail;
    probe.sts_detail +=
        (probe.sts_detail.empty() ? "MTA-STS would fail under enforce: " : "; ") + why;
}

asio::awaitable<HostProbe> probe_host(
    dns::Resolver& resolver,
    net::SslContextPtr tls_context,
    const tls::ActivePolicy* sts,
    dns::MxRecord mx,
    const ProbeOptions& options,
    const std::optional<tls::StsFailure>& sts_unavailable
) {
    HostProbe probe;
    probe.host = mx.exchange;
    probe.preference = mx.preference;
    probe.sts_unavailable = sts_unavailable;
    auto resolved = co_await resolve_host(resolver, sts, mx, options.port, probe);
    if (!resolved) {
        co_return probe;
    }
    for (const auto& address : resolved->addresses) {
        auto connection =
            co_await establish(probe, resolved->policy, tls_context, address, options);
        if (connection) {
            (void)co_await connection->command("QUIT");
            break;
        }
    }
    co_return probe;
}

}  // namespace

asio::awaitable<std::optional<ResolvedHost>> resolve_host(
    dns::Resolver& resolver,
    const tls::ActivePolicy* sts,
    const dns::MxRecord& mx,
    std::uint16_t port,
    HostProbe& probe
) {
    // Both families; IPv4 first, as a host without an IPv6 route fails fast on it anyway.
    auto v4 = co_await resolver.a(mx.exchange);
    auto v6 = co_await resolver.aaaa(mx.exchange);
    // A failed lookup of either family (bogus, SERVFAIL, timeout) fails the host: a forged
    // answer must not steer delivery to the other family's addresses unnoticed.
    for (const auto* answer : {&v4, &v6}) {
        if (!*answer) {
            probe.detail = "address lookup: " + answer->error().message();
            co_return std::nullopt;
        }
    }
    ResolvedHost out;
    bool secure = true;
    for (const auto* answer : {&v4, &v6}) {
        for (const auto& address : (*answer)->records) {
            out.addresses.emplace_back(address);
        }
        if (!(*answer)->records.empty()) {
            secure = secure && (*answer)->secure();
        }
    }
    if (out.addresses.empty()) {
        probe.detail = "host has no address records";
        co_return std::nullopt;
    }
    probe.address_secure = secure;
    auto& policy = out.policy;
    policy.dane.host = mx.exchange;
    if (probe.address_secure) {
        // RFC 7672 §2.2.2: TLSA records count only for a host whose address records are secure.
        auto tlsa = co_await resolver.tlsa(tls::tlsa_name(mx.exchange, port));
        if (!tlsa) {
            // §2.2: a failed TLSA lookup (bogus, SERVFAIL, timeout) defers; no fallback.
            probe.detail = "TLSA lookup: " + tlsa.error().message();
            // RFC 8460 §4.3.2.1 dnssec-invalid: "no valid records were returned".
            probe.tls_outcome = TlsOutcome{
                .policy = tls::PolicyType::Tlsa,
                .failure = tls::ResultType::DnssecInvalid,
                .reason = tlsa.error().message(),
            };
            co_return std::nullopt;
        }
        policy.dane = tls::dane_policy(mx.exchange, *tlsa);
    }
    probe.dane = policy.dane.status;
    if (sts != nullptr && sts->applies()) {
        if (policy.dane.status == tls::DaneStatus::Authenticate) {
            probe.sts = StsCheck::DaneInstead;  // RFC 8461 §2: DANE is not overridden
        } else {
            policy.sts = sts;
            // §4.1: the MX host must match one of the policy's mx patterns.
            if (!tls::mx_matches(sts->policy, mx.exchange)) {
                sts_failure(probe, policy, "MX host matches no mx pattern of the policy (§4.1)");
                tls_failed(
                    probe, policy, tls::ResultType::ValidationFailure, "mx pattern mismatch"
                );
                if (probe.sts == StsCheck::Failed) {
                    probe.detail += "; not contacted";
                    co_return std::nullopt;
                }
            }
        }
    }
    co_return out;
}

asio::awaitable<std::unique_ptr<Connection>> establish(
    HostProbe& probe,
    const HostPolicy& policy,
    net::SslContextPtr tls_context,
    const asio::ip::address& address,
    const ProbeOptions& options
) {
    auto executor = co_await asio::this_coro::executor;
    probe.address = address.to_string();
    probe.local_address.clear();
    if (probe.sts != StsCheck::WouldFail) {
        probe.tls_outcome.reset();  // a testing-mode failure found earlier stays reported
    }
    auto connection = co_await Connection::connect(
        executor, asio::ip::tcp::endpoint(address, options.port), options.timeouts
    );
    if (!connection) {
        probe.detail = "connect: " + connection.error().message();
        co_return nullptr;
    }
    auto& c = **connection;
    probe.local_address = c.stream().local_ip();
    auto greeting = co_await c.read_reply();
    if (!greeting || greeting->code != 220) {
        probe.detail = "greeting: " + (greeting ? greeting->summary() : greeting.error().message());
        co_return nullptr;
    }
    auto ehlo = co_await c.ehlo(options.helo);
    if (!ehlo || ehlo->code != 250) {
        probe.detail = "EHLO: " + (ehlo ? ehlo->summary() : ehlo.error().message());
        co_return nullptr;
    }
    const bool dane_required = policy.dane.status != tls::DaneStatus::NotApplicable;
    if (!c.offers("STARTTLS")) {
        tls_failed(probe, policy, tls::ResultType::StarttlsNotSupported, {});
        if (dane_required) {
            probe.detail = make_error_code(Errc::NoStartTls).message();
        } else {
            probe.ok = true;
            probe.detail = "no STARTTLS offered: plaintext (opportunistic TLS, RFC 7435)";
            if (policy.sts != nullptr) {
                sts_failure(probe, policy, "no STARTTLS offered (RFC 8461 §4)");
            }
        }
        if (probe.ok) {
            co_return std::move(*connection);
        }
        (void)co_await c.command("QUIT");
        co_return nullptr;
    }
    const std::string host = policy.dane.host;
    const bool pkix = policy.sts != nullptr;
    const auto prepare = [&policy, &host, pkix](SSL* ssl) {
        if (!pkix) {
            return tls::prepare_dane(ssl, policy.dane);
        }
        // RFC 8461 §4.2: PKIX, the certificate must name the MX host. The result is read after
        // the handshake (as for DANE) so that a failure can be reported with its reason; under
        // enforce nothing is sent over such a connection but QUIT.
        if (!tls::prepare_pkix(ssl, host)) {
            return false;
        }
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
        return true;
    };
    auto started = co_await c.starttls(std::move(tls_context), prepare);
    if (!started) {
        probe.detail = "STARTTLS: " + started.error().message();
        tls_failed(probe, policy, tls::ResultType::ValidationFailure, started.error().message());
        co_return nullptr;
    }
    probe.tls = tls::describe(c.stream().ssl());
    if (policy.dane.status == tls::DaneStatus::Authenticate) {
        const auto verification = tls::dane_verification(c.stream().ssl());
        if (!verification.authenticated) {
            // RFC 7672 §2.2: no mail over a connection that failed DANE authentication.
            probe.detail = "DANE authentication failed: " + verification.detail;
            // RFC 8460 §4.3.2.1 tlsa-invalid: "None of the records in the RRset were found to
            // be valid"; a DANE-TA chain can also fail as a certificate would.
            const long result = SSL_get_verify_result(c.stream().ssl());
            tls_failed(
                probe,
                policy,
                result == X509_V_OK || result == X509_V_ERR_DANE_NO_MATCH
                    ? tls::ResultType::TlsaInvalid
                    : certificate_failure(result),
                verification.detail
            );
            (void)co_await c.command("QUIT");
            co_return nullptr;
        }
        probe.detail = "DANE authenticated: " + verification.detail;
    } else if (policy.dane.status == tls::DaneStatus::EncryptOnly) {
        probe.detail = "encrypted; TLSA records present but none usable (RFC 7672 §2.2)";
    } else {
        probe.detail = "encrypted, not authenticated (opportunistic TLS)";
    }
    if (pkix) {
        const auto verification = tls::pkix_verification(c.stream().ssl());
        if (!verification.valid) {
            tls_failed(
                probe,
                policy,
                certificate_failure(SSL_get_verify_result(c.stream().ssl())),
                verification.detail
            );
            sts_failure(
                probe,
                policy,
                fmt::format("certificate not valid for {} (PKIX): {}", host, verification.detail)
            );
            if (probe.sts == StsCheck::Failed) {
                // §5: "MUST NOT deliver the message to hosts that fail ... certificate
                // validation".
                probe.detail += "; connection not used";
                (void)co_await c.command("QUIT");
                co_return nullptr;
            }
        } else {
            if (probe.sts != StsCheck::WouldFail) {
                probe.sts = StsCheck::Valid;
            }
            probe.detail = fmt::format(
                "PKIX authenticated (MTA-STS): certificate valid for {}{}",
                host,
                policy.dane.status == tls::DaneStatus::EncryptOnly
                    ? "; TLSA records present but none usable"
                    : ""
            );
        }
    }
    tls_succeeded(probe, policy);
    auto second = co_await c.ehlo(options.helo);  // RFC 3207 §4.2
    if (!second || second->code != 250) {
        probe.detail =
            "EHLO after STARTTLS: " + (second ? second->summary() : second.error().message());
        co_return nullptr;
    }
    probe.ok = true;
    co_return std::move(*connection);
}

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

std::string_view to_string(StsCheck check) noexcept {
    switch (check) {
        case StsCheck::NotApplicable:
            return "no MTA-STS";
        case StsCheck::DaneInstead:
            return "MTA-STS not checked (DANE applies)";
        case StsCheck::Valid:
            return "MTA-STS valid";
        case StsCheck::WouldFail:
            return "MTA-STS would fail";
        case StsCheck::Failed:
            return "MTA-STS failed";
    }
    return "?";
}

asio::awaitable<DomainProbe> probe_domain(
    dns::Resolver& resolver,
    net::SslContextPtr tls_context,
    tls::StsResolver* sts,
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
    if (sts != nullptr) {
        // RFC 8461 §5.1 step 1: the policy is settled before any MX host is tried.
        auto lookup = co_await sts->current_policy(domain);
        if (lookup) {
            out.sts_policy = std::move(lookup->policy);
            out.sts_note = std::move(lookup->note);
            out.sts_failure = std::move(lookup->failure);
        } else {
            out.sts_note = "TXT lookup failed: " + lookup.error().message();
        }
    }
    const tls::ActivePolicy* policy = out.sts_policy ? &*out.sts_policy : nullptr;
    for (const auto& host : hosts) {
        out.hosts.push_back(
            co_await probe_host(resolver, tls_context, policy, host, options, out.sts_failure)
        );
    }
    co_return out;
}

}  // namespace sov::smtp::client
