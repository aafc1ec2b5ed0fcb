#include "tls/https_client.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <openssl/x509.h>

#include "core/ascii.hpp"
#include "tls/client_context.hpp"
#include "tls/errors.hpp"

namespace sov::tls {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// A report endpoint's answer is not used: a few KiB of it is read, the rest ignored.
constexpr std::size_t kMaxResponseBody = 64 * 1024;
constexpr std::size_t kMaxResponseHeader = 16 * 1024;

bool host_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

}  // namespace

Result<HttpsTarget> parse_https_uri(std::string_view uri) {
    constexpr std::string_view kScheme = "https://";
    if (uri.size() <= kScheme.size()) {
        return make_error_code(Errc::BadUri);
    }
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        if (core::ascii_lower(uri[i]) != kScheme[i]) {
            return make_error_code(Errc::BadUri);
        }
    }
    auto rest = uri.substr(kScheme.size());
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
        rest = rest.substr(0, hash);  // RFC 3986 §3.5: the fragment is not sent
    }
    const auto end = rest.find_first_of("/?");
    const auto authority = rest.substr(0, end);
    const auto path = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    HttpsTarget target;
    auto host = authority;
    if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        const auto port = authority.substr(colon + 1);
        unsigned value = 0;
        if (port.empty() || port.size() > 5) {
            return make_error_code(Errc::BadUri);
        }
        for (const char c : port) {
            if (c < '0' || c > '9') {
                return make_error_code(Errc::BadUri);
            }
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value == 0 || value > 65535) {
            return make_error_code(Errc::BadUri);
        }
        target.port = static_cast<std::uint16_t>(value);
    }
    for (const char c : host) {
        target.host += core::ascii_lower(c);
    }
    if (!target.host.empty() && target.host.back() == '.') {
        target.host.pop_back();
    }
    // A DNS host name only: userinfo, IP literals and percent-encoding have no place in a
    // certificate's DNS-ID.
    if (target.host.empty() || !std::all_of(target.host.begin(), target.host.end(), host_char) ||
        !dns::valid_query_name(target.host)) {
        return make_error_code(Errc::BadUri);
    }
    for (const char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) {
            return make_error_code(Errc::BadUri);
        }
    }
    if (!path.empty()) {
        target.path = path.front() == '?' ? "/" + std::string(path) : std::string(path);
    }
    return target;
}

std::error_code http_transport_error(
    const boost::system::error_code& ec, std::size_t body_limit, std::string& detail
) {
    if (ec == beast::error::timeout) {
        detail = "timed out";
        return make_error_code(Errc::FetchTimeout);
    }
    if (ec == http::error::body_limit) {
        detail = fmt::format("body larger than {} bytes", body_limit);
        return make_error_code(Errc::TooLarge);
    }
    detail = ec.message();
    return make_error_code(Errc::FetchFailed);
}

asio::awaitable<Result<std::unique_ptr<HttpsStream>>> connect_https(
    asio::any_io_executor executor,
    dns::Resolver& resolver,
    net::SslContextPtr context,
    std::string host,
    std::uint16_t port,
    Clock::time_point deadline,
    HttpsDiagnostics& diag
) {
    // The addresses through the validating resolver: a bogus answer is an error like any other
    // failed lookup (RFC 4035 §5.5), and /etc/hosts plays no part.
    auto a = co_await resolver.a(host);
    auto aaaa = co_await resolver.aaaa(host);
    std::vector<asio::ip::address> addresses;
    std::string lookup_errors;
    for (const auto* answer : {&a, &aaaa}) {
        if (!*answer) {
            lookup_errors += fmt::format(
                "{}{}: {}",
                lookup_errors.empty() ? "" : ", ",
                answer == &a ? "A" : "AAAA",
                answer->error().message()
            );
            continue;
        }
        const auto& records = (*answer)->records;
        addresses.insert(addresses.end(), records.begin(), records.end());
    }
    if (addresses.empty()) {
        diag.detail = lookup_errors.empty() ? "no address records for " + host
                                            : "address lookup failed: " + lookup_errors;
        co_return make_error_code(Errc::FetchFailed);
    }

    std::optional<beast::tcp_stream> tcp;
    boost::system::error_code connect_error;
    for (const auto& address : addresses) {
        if (Clock::now() >= deadline) {
            connect_error = beast::error::timeout;
            break;
        }
        tcp.emplace(executor);
        tcp->expires_at(deadline);
        const asio::ip::tcp::endpoint endpoint(address, port);
        auto [ec] = co_await tcp->async_connect(endpoint, kTuple);
        if (!ec) {
            diag.address = address.to_string();
            connect_error = {};
            break;
        }
        connect_error = ec;
        tcp.reset();  // a failed socket is not reused for the next address
    }
    if (!tcp) {
        const auto error = http_transport_error(connect_error, 0, diag.detail);
        diag.detail = "connect: " + diag.detail;
        co_return error;
    }

    auto stream = std::make_unique<HttpsStream>(std::move(*tcp), *context);
    // The certificate must be valid for `host` (a DNS-ID, RFC 6125) and chain to a root we
    // trust. Verification failure aborts the handshake: nothing is sent to a host we could not
    // authenticate.
    if (!prepare_pkix(stream->native_handle(), host)) {
        diag.detail = "TLS set-up failed";
        co_return make_error_code(Errc::FetchFailed);
    }
    beast::get_lowest_layer(*stream).expires_at(deadline);
    auto [handshake_error] =
        co_await stream->async_handshake(asio::ssl::stream_base::client, kTuple);
    if (handshake_error) {
        const long verify = SSL_get_verify_result(stream->native_handle());
        if (verify != X509_V_OK) {
            diag.detail = fmt::format(
                "certificate of {} not valid: {}", host, X509_verify_cert_error_string(verify)
            );
            co_return make_error_code(Errc::CertificateInvalid);
        }
        const auto error = http_transport_error(handshake_error, 0, diag.detail);
        diag.detail = "TLS handshake: " + diag.detail;
        co_return error;
    }
    co_return stream;
}

asio::awaitable<Result<PostResult>> post_https(
    asio::any_io_executor executor,
    dns::Resolver& resolver,
    net::SslContextPtr context,
    HttpsTarget target,
    std::string content_type,
    std::string body,
    PostOptions options,
    std::string* detail
) {
    std::string local;
    std::string& why = detail != nullptr ? *detail : local;
    const auto deadline = Clock::now() + options.timeout;
    HttpsDiagnostics diag;
    auto stream = co_await connect_https(
        executor, resolver, std::move(context), target.host, target.port, deadline, diag
    );
    if (!stream) {
        why = diag.detail;
        co_return stream.error();
    }
    http::request<http::string_body> request{http::verb::post, target.path, 11};
    // RFC 9110 §7.2: the port only when it is not the scheme's default.
    request.set(
        http::field::host,
        target.port == 443 ? target.host : fmt::format("{}:{}", target.host, target.port)
    );
    request.set(http::field::user_agent, options.user_agent);
    request.set(http::field::content_type, content_type);
    request.set(http::field::connection, "close");
    request.body() = std::move(body);
    request.prepare_payload();
    auto& s = **stream;
    beast::get_lowest_layer(s).expires_at(deadline);
    auto [write_error, written] = co_await http::async_write(s, request, kTuple);
    if (write_error) {
        const auto error = http_transport_error(write_error, 0, why);
        why = "sending request: " + why;
        co_return error;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(kMaxResponseHeader));
    parser.body_limit(kMaxResponseBody);
    beast::get_lowest_layer(s).expires_at(deadline);
    auto [header_error, header_bytes] = co_await http::async_read_header(s, buffer, parser, kTuple);
    if (header_error) {
        const auto error = http_transport_error(header_error, kMaxResponseBody, why);
        why = "reading response: " + why;
        co_return error;
    }
    PostResult result{.status = parser.get().result_int(), .address = diag.address};
    // The body only tells a person what went wrong; reading it lets the server finish cleanly,
    // but a failure here does not change the answer.
    (void)co_await http::async_read(s, buffer, parser, kTuple);
    if (result.status / 100 != 2) {
        why = fmt::format("HTTP {}", result.status);
    }
    co_return result;
}

}  // namespace sov::tls
