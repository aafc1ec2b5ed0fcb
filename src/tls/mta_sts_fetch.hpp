#pragma once
// Fetching an MTA-STS policy (RFC 8461 §3.3): https://mta-sts.<domain>/.well-known/mta-sts.txt,
// the Policy Host's addresses from our validating resolver (not getaddrinfo), its certificate
// checked by PKIX for the Policy Host name, HTTP/1.1 with Boost.Beast. Only a 200 answer with a
// text/plain body that parses as a policy counts; redirects are failures, nothing is cached at
// the HTTP level (§3.3 "HTTP caching ... MUST NOT be used"). What to do with the result (cache,
// fall back to a cached policy) is mta_sts_resolver.hpp's business.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <openssl/ssl.h>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "dns/resolver.hpp"
#include "net/tls_context.hpp"
#include "tls/mta_sts_policy.hpp"

namespace sov::tls {

/// The well-known path of §3.2.
inline constexpr std::string_view kPolicyPath = "/.well-known/mta-sts.txt";
/// Bound on the response header block. Policy Hosts are ordinary web servers; 16 KiB holds any
/// sane header set (nginx's default large_client_header_buffers is 8 KiB per line).
inline constexpr std::size_t kMaxPolicyHeaderBytes = std::size_t{16} * 1024;

struct FetchOptions {
    /// One deadline for connect, TLS handshake, request and response together (the address
    /// lookups have the resolver's own timeout). §3.3 suggests a one-minute timeout and asks
    /// Policy Hosts to answer within it; a longer wait would only hold up delivery.
    std::chrono::milliseconds timeout{60'000};
    std::uint16_t port = 443;  // §3.2 fixes HTTPS; other ports only for tests
};

struct FetchedPolicy {
    Policy policy;
    std::string body;  // the policy file as served (what the cache keeps)
    core::WallTime fetched_at;
};

/// Filled by fetch_policy() whatever happens, for logs and `sovereign tls probe`.
struct FetchDiagnostics {
    std::string url;
    std::string address;  // the address connected to, if any
    unsigned status = 0;  // HTTP status, 0 if no response was read
    std::string detail;   // why it failed, in words ("HTTP 301 (redirect to ...)")
};

/// "mta-sts.<domain>", lower-case, without a final dot (§3.2).
[[nodiscard]] std::string policy_host(std::string_view domain);

/// True if a Content-Type field value names the media type text/plain (§3.2: parameters such as
/// charset are ignored). Case-insensitive per RFC 9110 §8.3.1.
[[nodiscard]] bool is_text_plain(std::string_view content_type) noexcept;

/// Fetches and parses the policy of `domain`. Errors: FetchFailed (address lookup, connect, TLS
/// or HTTP failure), FetchTimeout, CertificateInvalid (PKIX failure for the Policy Host name),
/// BadStatus (anything but 200, redirects included), BadContentType, TooLarge (body over
/// kMaxPolicyBytes), and parse_policy()'s errors for a body that is not a valid policy.
/// `context` carries the PKIX trust ([tls] trusted_cas); see make_client_context().
boost::asio::awaitable<Result<FetchedPolicy>> fetch_policy(
    boost::asio::any_io_executor executor,
    dns::Resolver& resolver,
    net::SslContextPtr context,
    std::string domain,
    FetchOptions options,
    FetchDiagnostics* diagnostics = nullptr
);

/// After a handshake on a connection set up with prepare_pkix() (verification mode
/// SSL_VERIFY_NONE or not): did the peer present a certificate that chains to a trusted root and
/// names the host? `detail` says why not ("certificate has expired", "Hostname mismatch").
struct PkixVerification {
    bool valid = false;
    std::string detail;
};
[[nodiscard]] PkixVerification pkix_verification(SSL* ssl);

}  // namespace sov::tls
