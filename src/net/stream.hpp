#pragma once
// A client connection that starts in plaintext and may switch to TLS (STARTTLS) or start in TLS
// (implicit TLS, RFC 8314). Protocol drivers read and write through it without caring which.
// Every operation has a deadline (beast::tcp_stream::expires_after): on expiry the socket is
// closed and the operation ends with beast::error::timeout (RFC 5321 §4.5.3.2 behaviour).
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "net/tls_context.hpp"

namespace sov::net {

using ErrorCode = boost::system::error_code;

class Stream {
public:
    explicit Stream(boost::beast::tcp_stream tcp) : tcp_(std::move(tcp)) {}
    Stream(Stream&&) = delete;
    Stream& operator=(Stream&&) = delete;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    ~Stream() = default;

    /// Reads what is available (at least one byte) into `buffer`.
    boost::asio::awaitable<std::pair<ErrorCode, std::size_t>> read_some(
        boost::asio::mutable_buffer buffer, std::chrono::steady_clock::duration timeout
    );

    /// Writes all of `data`.
    boost::asio::awaitable<ErrorCode> write_all(
        std::string data, std::chrono::steady_clock::duration timeout
    );

    /// Runs the server side of a TLS handshake over the current connection.
    boost::asio::awaitable<ErrorCode> handshake_server(
        SslContextPtr context, std::chrono::steady_clock::duration timeout
    );

    /// Runs the client side of a TLS handshake (STARTTLS, RFC 3207). `prepare` is called with the
    /// new SSL object before the handshake: it sets SNI and the verification (DANE, PKIX).
    boost::asio::awaitable<ErrorCode> handshake_client(
        SslContextPtr context,
        const std::function<bool(SSL*)>& prepare,
        std::chrono::steady_clock::duration timeout
    );

    /// The OpenSSL object once TLS is up (verification results, peer certificate); else null.
    SSL* ssl() const;

    /// Cancels pending operations (used on shutdown to wake a session waiting for input).
    void cancel();
    /// Closes the socket; safe to call more than once.
    void close();

    bool is_tls() const { return tls_ != nullptr; }
    /// "TLSv1.3 TLS_AES_256_GCM_SHA384" once TLS is up, for logs and the Received header.
    std::string tls_description() const;
    std::string remote_ip() const;
    /// Our side's address ("" when unknown), e.g. TLS-RPT's sending-mta-ip (RFC 8460 §4.4).
    std::string local_ip() const;
    std::uint16_t local_port() const;

private:
    using TlsStream = boost::asio::ssl::stream<boost::beast::tcp_stream&>;

    boost::beast::tcp_stream tcp_;
    SslContextPtr context_;  // kept alive as long as the TLS stream uses it
    std::unique_ptr<TlsStream> tls_;
};

}  // namespace sov::net
