#pragma once
// A client connection that starts in plaintext and may switch to TLS (STARTTLS) or start in TLS
// (implicit TLS, RFC 8314). Protocol drivers read and write through it without caring which.
// Every operation has a deadline: on expiry the socket is closed and the operation ends with
// beast::error::timeout (RFC 5321 §4.5.3.2 behaviour).
//
// TLS runs OpenSSL directly on the non-blocking socket and waits for readiness with Asio, instead
// of Asio's ssl::stream: that one keeps four fixed 17 KB buffers per connection (its own two and
// a BIO pair), 68 KB for every idle IMAP session. Here an idle connection holds only the SSL
// object; OpenSSL's record buffers are released between records (SSL_MODE_RELEASE_BUFFERS).
// One read and one write may be pending at once (IMAP IDLE reads while it reports changes).
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <openssl/ssl.h>

#include "net/tls_context.hpp"

namespace sov::net {

using ErrorCode = boost::system::error_code;

class Stream {
public:
    explicit Stream(boost::beast::tcp_stream tcp);
    Stream(Stream&&) = delete;
    Stream& operator=(Stream&&) = delete;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    ~Stream();

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

    /// Ends our direction: TLS close_notify (when TLS is up), then a TCP FIN. Reading goes on, so
    /// a server can drain what the client still sends and see its close at once (lingering close).
    boost::asio::awaitable<ErrorCode> shutdown_send(std::chrono::steady_clock::duration timeout);

    /// The OpenSSL object once TLS is up (verification results, peer certificate); else null.
    SSL* ssl() const;

    /// Cancels pending operations (used on shutdown to wake a session waiting for input).
    void cancel();
    /// Closes the socket; safe to call more than once.
    void close();

    bool is_tls() const { return ssl_ != nullptr; }
    /// "TLSv1.3 TLS_AES_256_GCM_SHA384" once TLS is up, for logs and the Received header.
    std::string tls_description() const;
    std::string remote_ip() const;
    /// Our side's address ("" when unknown), e.g. TLS-RPT's sending-mta-ip (RFC 8460 §4.4).
    std::string local_ip() const;
    std::uint16_t local_port() const;

private:
    struct SslFree {
        void operator()(SSL* ssl) const { SSL_free(ssl); }
    };
    /// The deadline of the pending read or write. Its timer's handler may run after the Stream
    /// is gone, so what it touches is shared and the pointers are cleared on destruction.
    ///
    /// An operation only notes its deadline (`at`); the timer matters while it waits for the
    /// socket (`waiting`). The timer is never cancelled: when it fires, it re-arms for the
    /// deadline of the operation then waiting, or lapses if none is. An IMAP command waits for
    /// the client's next line, so it would otherwise start and cancel a timer every time, and
    /// each cancellation queued a handler that woke the other I/O thread (issue 3).
    struct Deadline {
        boost::asio::ip::tcp::socket* socket = nullptr;
        boost::asio::steady_timer* timer = nullptr;
        std::chrono::steady_clock::time_point at;
        bool waiting = false;
        bool expired = false;
        bool armed = false;  // a wait on the timer is outstanding, until armed_at
        std::chrono::steady_clock::time_point armed_at;
        unsigned generation = 0;  // of the timer's current wait: older handlers do nothing
    };
    struct Watch {
        explicit Watch(const boost::asio::any_io_executor& executor) : timer(executor) {}
        boost::asio::steady_timer timer;
        std::shared_ptr<Deadline> deadline;
    };
    /// Which OpenSSL call a TLS step makes; see tls_step().
    enum class TlsCall {
        Read,
        Write,
        Handshake,
        Shutdown
    };

    boost::asio::awaitable<ErrorCode> start_tls(
        SslContextPtr context,
        bool server,
        const std::function<bool(SSL*)>* prepare,
        std::chrono::steady_clock::duration timeout
    );
    /// Runs `call` until it completes, waiting for the socket as OpenSSL asks.
    boost::asio::awaitable<std::pair<ErrorCode, std::size_t>> tls_step(
        TlsCall call,
        void* data,
        std::size_t size,
        Watch& watch,
        std::chrono::steady_clock::duration timeout
    );
    void arm(Watch& watch, std::chrono::steady_clock::duration timeout);
    /// Before waiting for the socket: the deadline is watched until the operation ends.
    static void start_timer(Watch& watch);
    /// The operation ended: its deadline no longer counts.
    static void stop_timer(Watch& watch);
    /// A wait on the timer until `at`, replacing any outstanding one.
    static void arm_timer(const std::shared_ptr<Deadline>& deadline);
    boost::asio::awaitable<ErrorCode> wait_ready(
        boost::asio::socket_base::wait_type type, Watch& watch, unsigned cancels_at_start
    );

    boost::beast::tcp_stream tcp_;
    SslContextPtr context_;  // kept alive as long as the SSL object uses it
    std::unique_ptr<SSL, SslFree> ssl_;
    Watch read_watch_;
    Watch write_watch_;
    unsigned cancels_ = 0;  // cancel() calls so far: a pending wait then ends, not retries
};

}  // namespace sov::net
