#include "net/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace sov::net {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<std::pair<ErrorCode, std::size_t>> Stream::read_some(
    asio::mutable_buffer buffer, std::chrono::steady_clock::duration timeout
) {
    tcp_.expires_after(timeout);
    if (tls_) {
        auto [ec, n] = co_await tls_->async_read_some(buffer, kTuple);
        co_return std::pair{ec, n};
    }
    auto [ec, n] = co_await tcp_.async_read_some(buffer, kTuple);
    co_return std::pair{ec, n};
}

asio::awaitable<ErrorCode> Stream::write_all(
    std::string data, std::chrono::steady_clock::duration timeout
) {
    tcp_.expires_after(timeout);
    if (tls_) {
        auto [ec, n] = co_await asio::async_write(*tls_, asio::buffer(data), kTuple);
        co_return ec;
    }
    auto [ec, n] = co_await asio::async_write(tcp_, asio::buffer(data), kTuple);
    co_return ec;
}

asio::awaitable<ErrorCode> Stream::handshake_server(
    SslContextPtr context, std::chrono::steady_clock::duration timeout
) {
    context_ = std::move(context);
    tls_ = std::make_unique<TlsStream>(tcp_, *context_);
    tcp_.expires_after(timeout);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kTuple);
    co_return ec;
}

asio::awaitable<ErrorCode> Stream::handshake_client(
    SslContextPtr context,
    const std::function<bool(SSL*)>& prepare,
    std::chrono::steady_clock::duration timeout
) {
    context_ = std::move(context);
    tls_ = std::make_unique<TlsStream>(tcp_, *context_);
    if (!prepare(tls_->native_handle())) {
        co_return asio::error::make_error_code(asio::error::invalid_argument);
    }
    tcp_.expires_after(timeout);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, kTuple);
    co_return ec;
}

SSL* Stream::ssl() const {
    return tls_ ? const_cast<TlsStream&>(*tls_).native_handle() : nullptr;
}

void Stream::cancel() {
    tcp_.cancel();
}

void Stream::close() {
    ErrorCode ignored;
    tcp_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    tcp_.socket().close(ignored);
}

std::string Stream::tls_description() const {
    if (!tls_) {
        return {};
    }
    SSL* ssl = const_cast<TlsStream&>(*tls_).native_handle();
    return std::string{SSL_get_version(ssl)} + " " + SSL_get_cipher_name(ssl);
}

namespace {

// An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; logs and reports want a.b.c.d.
std::string plain_address(asio::ip::address address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    return address.to_string();
}

}  // namespace

std::string Stream::remote_ip() const {
    ErrorCode ec;
    const auto endpoint = tcp_.socket().remote_endpoint(ec);
    return ec ? "unknown" : plain_address(endpoint.address());
}

std::string Stream::local_ip() const {
    ErrorCode ec;
    const auto endpoint = tcp_.socket().local_endpoint(ec);
    return ec ? "" : plain_address(endpoint.address());
}

std::uint16_t Stream::local_port() const {
    ErrorCode ec;
    return tcp_.socket().local_endpoint(ec).port();
}

}  // namespace sov::net
