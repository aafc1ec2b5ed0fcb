#include "tls/mta_sts_fetch.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fmt/format.h>
#include <openssl/x509.h>

#include "core/ascii.hpp"
#include "tls/client_context.hpp"
#include "tls/errors.hpp"
#include "tls/https_client.hpp"

namespace sov::tls {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string_view trim_ows(std::string_view s) noexcept {
    // RFC 9110 §5.6.3: OWS = *( SP / HTAB )
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// What a peer sent, fit for a log line: printable ASCII, bounded.
std::string printable(std::string_view text, std::size_t limit = 200) {
    std::string out;
    for (const char c : text.substr(0, limit)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u >= 0x20 && u < 0x7f) ? c : '?';
    }
    if (text.size() > limit) {
        out += "...";
    }
    return out;
}

std::error_code transport_error(const boost::system::error_code& ec, FetchDiagnostics& diag) {
    return http_transport_error(ec, kMaxPolicyBytes, diag.detail);
}

}  // namespace

std::string policy_host(std::string_view domain) {
    std::string host = "mta-sts.";
    for (const char c : domain) {
        host += core::ascii_lower(c);
    }
    if (!host.empty() && host.back() == '.') {
        host.pop_back();
    }
    return host;
}

bool is_text_plain(std::string_view content_type) noexcept {
    // media-type = type "/" subtype parameters (RFC 9110 §8.3.1); §3.2 ignores the parameters.
    const auto semicolon = content_type.find(';');
    return core::ascii_iequals(trim_ows(content_type.substr(0, semicolon)), "text/plain");
}

PkixVerification pkix_verification(SSL* ssl) {
    PkixVerification out;
    if (ssl == nullptr) {
        out.detail = "no TLS";
        return out;
    }
    if (SSL_get0_peer_certificate(ssl) == nullptr) {
        out.detail = "no certificate presented";
        return out;
    }
    const long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK) {
        out.detail = X509_verify_cert_error_string(result);
        return out;
    }
    out.valid = true;
    out.detail = "certificate valid (PKIX)";
    return out;
}

asio::awaitable<Result<FetchedPolicy>> fetch_policy(
    asio::any_io_executor executor,
    dns::Resolver& resolver,
    net::SslContextPtr context,
    std::string domain,
    FetchOptions options,
    FetchDiagnostics* diagnostics
) {
    FetchDiagnostics local;
    FetchDiagnostics& diag = diagnostics != nullptr ? *diagnostics : local;
    const std::string host = policy_host(domain);
    diag.url = options.port == 443
                   ? fmt::format("https://{}{}", host, kPolicyPath)
                   : fmt::format("https://{}:{}{}", host, options.port, kPolicyPath);
    if (!dns::valid_query_name(host) || host.size() == std::string_view("mta-sts.").size()) {
        diag.detail = "not a valid domain name";
        co_return make_error_code(Errc::Invalid);
    }

    // §3.3 suggests a timeout for the whole fetch; one deadline covers every step below. The
    // certificate must be valid for the Policy Host (wildcards only as the whole left-most
    // label) and chain to a root we trust; the addresses come from the validating resolver.
    const auto deadline = Clock::now() + options.timeout;
    HttpsDiagnostics connected;
    auto opened = co_await connect_https(
        executor, resolver, context, host, options.port, deadline, connected
    );
    diag.address = connected.address;
    if (!opened) {
        diag.detail = connected.detail;
        co_return opened.error();
    }
    auto& stream = **opened;

    http::request<http::empty_body> request{http::verb::get, kPolicyPath, 11};
    request.set(http::field::host, host);  // RFC 9110 §7.2; port 443 is the default, left out
    request.set(http::field::user_agent, "Sovereign MTA-STS");
    request.set(http::field::accept, "text/plain");
    request.set(http::field::connection, "close");  // one request per connection
    beast::get_lowest_layer(stream).expires_at(deadline);
    auto [write_error, written] = co_await http::async_write(stream, request, kTuple);
    if (write_error) {
        const auto error = transport_error(write_error, diag);
        diag.detail = "sending request: " + diag.detail;
        co_return error;
    }

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(kMaxPolicyHeaderBytes));
    // §3.3 "a suggested maximum policy size is 64 kilobytes": larger bodies are refused while
    // they are read, not after.
    parser.body_limit(kMaxPolicyBytes);
    beast::get_lowest_layer(stream).expires_at(deadline);
    auto [header_error, header_bytes] =
        co_await http::async_read_header(stream, buffer, parser, kTuple);
    if (header_error) {
        const auto error = transport_error(header_error, diag);
        diag.detail = "reading response: " + diag.detail;
        co_return error;
    }
    const auto& header = parser.get();
    diag.status = header.result_int();
    if (diag.status != 200) {
        // §3.3: "only valid if the HTTP response code is 200 (OK). HTTP 3xx redirects MUST NOT
        // be followed".
        diag.detail = fmt::format("HTTP {}", diag.status);
        if (diag.status / 100 == 3) {
            diag.detail += fmt::format(
                " (redirect to {}, not followed)", printable(header[http::field::location])
            );
        }
        co_return make_error_code(Errc::BadStatus);
    }
    if (const auto type = header[http::field::content_type]; !is_text_plain(type)) {
        diag.detail =
            type.empty() ? std::string("no Content-Type") : "Content-Type " + printable(type);
        co_return make_error_code(Errc::BadContentType);
    }
    beast::get_lowest_layer(stream).expires_at(deadline);
    auto [body_error, body_bytes] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (body_error) {
        const auto error = transport_error(body_error, diag);
        diag.detail = "reading policy: " + diag.detail;
        co_return error;
    }
    // With "Connection: close" there is nothing more to say; the socket closes with `stream`.
    FetchedPolicy fetched;
    fetched.body = std::move(parser.get().body());
    fetched.fetched_at = core::now();
    auto policy = parse_policy(fetched.body);
    if (!policy) {
        diag.detail = "invalid policy: " + policy.error().message();
        co_return policy.error();
    }
    fetched.policy = std::move(*policy);
    co_return fetched;
}

}  // namespace sov::tls
