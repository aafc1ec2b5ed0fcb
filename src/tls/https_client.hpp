#pragma once
// The HTTPS client side shared by the MTA-STS policy fetch (RFC 8461 §3.3, mta_sts_fetch.hpp) and
// the upload of SMTP TLS reports to an https: rua (RFC 8460 §5.4): the server's addresses from
// our validating resolver (not getaddrinfo), TCP to each in turn, TLS with PKIX validation for
// the host name (tls/client_context.hpp prepare_pkix: wildcards only as the whole left-most
// label; trust from [tls] trusted_cas or the system store), one deadline for everything.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/result.hpp"
#include "dns/resolver.hpp"
#include "net/tls_context.hpp"

namespace sov::tls {

using HttpsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

/// Where a request goes: from an https URI (RFC 9110 §4.2.2).
struct HttpsTarget {
    std::string host;  // lower case, no trailing dot
    std::uint16_t port = 443;
    std::string path = "/";  // origin-form request target: path and query
};

/// Parses "https://host[:port][/path][?query]" (scheme case-insensitive; no userinfo, no IP
/// literals: the certificate must name a DNS host). Errors: Errc::BadUri.
[[nodiscard]] Result<HttpsTarget> parse_https_uri(std::string_view uri);

/// Filled by connect_https() whatever happens.
struct HttpsDiagnostics {
    std::string address;  // the address connected to, if any
    std::string detail;   // why it failed, in words
};

/// Resolves `host` (A and AAAA through `resolver`), connects to the first address that answers
/// before `deadline`, and completes a TLS handshake that verifies the certificate by PKIX for
/// `host`. Errors: FetchFailed (no address, connect, TLS), FetchTimeout, CertificateInvalid.
/// The stream's deadline is left at `deadline`.
boost::asio::awaitable<Result<std::unique_ptr<HttpsStream>>> connect_https(
    boost::asio::any_io_executor executor,
    dns::Resolver& resolver,
    net::SslContextPtr context,
    std::string host,
    std::uint16_t port,
    std::chrono::steady_clock::time_point deadline,
    HttpsDiagnostics& diag
);

/// An error of a Beast read or write as tls::Errc (FetchTimeout, TooLarge for a body limit,
/// else FetchFailed), with the reason in `detail`.
[[nodiscard]] std::error_code http_transport_error(
    const boost::system::error_code& ec, std::size_t body_limit, std::string& detail
);

struct PostOptions {
    std::chrono::milliseconds timeout{60'000};
    std::string user_agent = "Sovereign";
};

/// What the server answered to post_https().
struct PostResult {
    unsigned status = 0;
    std::string address;
};

/// POSTs `body` as `content_type` to `target` over HTTPS (connect_https()), HTTP/1.1 with
/// "Connection: close", and reads the response (its body, bounded, is dropped). Any status is a
/// result; only transport failures are errors (connect_https()'s, and FetchFailed/FetchTimeout
/// while writing or reading). `detail` says why on failure.
boost::asio::awaitable<Result<PostResult>> post_https(
    boost::asio::any_io_executor executor,
    dns::Resolver& resolver,
    net::SslContextPtr context,
    HttpsTarget target,
    std::string content_type,
    std::string body,
    PostOptions options,
    std::string* detail = nullptr
);

}  // namespace sov::tls
