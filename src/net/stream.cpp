#include "net/stream.hpp"

#include <cerrno>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <openssl/err.h>

#include "net/socket_bio.hpp"

namespace sov::net {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Stream::Stream(boost::beast::tcp_stream tcp)
    : tcp_(std::move(tcp)), read_watch_(tcp_.get_executor()), write_watch_(tcp_.get_executor()) {
    for (Watch* w : {&read_watch_, &write_watch_}) {
        w->deadline = std::make_shared<Deadline>();
        w->deadline->socket = &tcp_.socket();
        w->deadline->timer = &w->timer;
    }
}

Stream::~Stream() {
    for (Watch* w : {&read_watch_, &write_watch_}) {
        w->deadline->socket = nullptr;
        w->deadline->timer = nullptr;
    }
}

asio::awaitable<std::pair<ErrorCode, std::size_t>> Stream::read_some(
    asio::mutable_buffer buffer, std::chrono::steady_clock::duration timeout
) {
    if (ssl_) {
        co_return co_await tls_step(
            TlsCall::Read, buffer.data(), buffer.size(), read_watch_, timeout
        );
    }
    tcp_.expires_after(timeout);
    auto [ec, n] = co_await tcp_.async_read_some(buffer, kTuple);
    co_return std::pair{ec, n};
}

asio::awaitable<ErrorCode> Stream::write_all(
    std::string data, std::chrono::steady_clock::duration timeout
) {
    if (ssl_) {
        std::size_t done = 0;
        while (done < data.size()) {
            auto [ec, n] = co_await tls_step(
                TlsCall::Write, data.data() + done, data.size() - done, write_watch_, timeout
            );
            if (ec) {
                co_return ec;
            }
            done += n;
        }
        co_return ErrorCode{};
    }
    tcp_.expires_after(timeout);
    auto [ec, n] = co_await asio::async_write(tcp_, asio::buffer(data), kTuple);
    co_return ec;
}

asio::awaitable<ErrorCode> Stream::handshake_server(
    SslContextPtr context, std::chrono::steady_clock::duration timeout
) {
    co_return co_await start_tls(std::move(context), true, nullptr, timeout);
}

asio::awaitable<ErrorCode> Stream::handshake_client(
    SslContextPtr context,
    const std::function<bool(SSL*)>& prepare,
    std::chrono::steady_clock::duration timeout
) {
    co_return co_await start_tls(std::move(context), false, &prepare, timeout);
}

asio::awaitable<ErrorCode> Stream::start_tls(
    SslContextPtr context,
    bool server,
    const std::function<bool(SSL*)>* prepare,
    std::chrono::steady_clock::duration timeout
) {
    context_ = std::move(context);
    ssl_.reset(SSL_new(context_->native_handle()));
    ErrorCode ec;
    tcp_.socket().non_blocking(true, ec);
    BIO* bio = ssl_ && !ec ? new_socket_bio(tcp_.socket().native_handle()) : nullptr;
    if (bio == nullptr) {
        ERR_clear_error();
        co_return ec ? ec : asio::error::make_error_code(asio::error::no_memory);
    }
    SSL_set_bio(ssl_.get(), bio, bio);  // the SSL object owns the BIO now
    // Partial writes let write_all() advance record by record; read-ahead fetches a whole record
    // (or more) per recv() instead of its header and body separately.
    SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    SSL_set_read_ahead(ssl_.get(), 1);
    if (server) {
        SSL_set_accept_state(ssl_.get());
    } else {
        SSL_set_connect_state(ssl_.get());
        if (!(*prepare)(ssl_.get())) {
            co_return asio::error::make_error_code(asio::error::invalid_argument);
        }
    }
    auto [result, ignored] =
        co_await tls_step(TlsCall::Handshake, nullptr, 0, read_watch_, timeout);
    co_return result;
}

namespace {

// An error from OpenSSL's queue in Asio's SSL category, as asio::ssl::stream reported it.
ErrorCode ssl_error_code() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return asio::error::eof;  // the peer closed without close_notify: an ordinary end here
    }
    return {static_cast<int>(code), asio::error::get_ssl_category()};
}

}  // namespace

asio::awaitable<std::pair<ErrorCode, std::size_t>> Stream::tls_step(
    TlsCall call,
    void* data,
    std::size_t size,
    Watch& watch,
    std::chrono::steady_clock::duration timeout
) {
    arm(watch, timeout);
    const unsigned cancels_at_start = cancels_;
    if (call == TlsCall::Read && size == 0) {
        co_return std::pair{ErrorCode{}, std::size_t{0}};
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        std::size_t n = 0;
        int ok = 0;
        switch (call) {
            case TlsCall::Read:
                ok = SSL_read_ex(ssl_.get(), data, size, &n);
                break;
            case TlsCall::Write:
                ok = SSL_write_ex(ssl_.get(), data, size, &n);
                break;
            case TlsCall::Handshake:
                ok = SSL_do_handshake(ssl_.get()) == 1 ? 1 : 0;
                break;
            case TlsCall::Shutdown:
                // 0 is "close_notify sent, the peer's not seen yet": all a one-way close needs.
                ok = SSL_shutdown(ssl_.get()) >= 0 ? 1 : 0;
                break;
        }
        const int reason = ok == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), ok);
        ErrorCode ec;
        switch (reason) {
            case SSL_ERROR_NONE:
                stop_timer(watch);
                co_return std::pair{ErrorCode{}, n};
            case SSL_ERROR_WANT_READ:
                ec = co_await wait_ready(asio::socket_base::wait_read, watch, cancels_at_start);
                break;
            case SSL_ERROR_WANT_WRITE:
                ec = co_await wait_ready(asio::socket_base::wait_write, watch, cancels_at_start);
                break;
            case SSL_ERROR_ZERO_RETURN:  // close_notify
                ec = asio::error::eof;
                break;
            case SSL_ERROR_SYSCALL:
                // With nothing queued, an I/O error (errno) or an EOF that broke the protocol.
                if (ERR_peek_error() != 0) {
                    ec = ssl_error_code();
                } else {
                    ec = errno != 0 ? ErrorCode{errno, boost::system::system_category()}
                                    : ErrorCode{asio::error::eof};
                }
                break;
            default:
                ec = ssl_error_code();
                break;
        }
        if (ec) {
            stop_timer(watch);
            co_return std::pair{ec, std::size_t{0}};
        }
    }
}

void Stream::arm(Watch& watch, std::chrono::steady_clock::duration timeout) {
    watch.deadline->expired = false;
    watch.deadline->at = std::chrono::steady_clock::now() + timeout;
}

void Stream::start_timer(Watch& watch) {
    Deadline& d = *watch.deadline;
    d.waiting = true;
    if (d.armed && d.armed_at <= d.at) {
        return;  // fires in time; re-arms then if the deadline is later
    }
    arm_timer(watch.deadline);
}

void Stream::stop_timer(Watch& watch) {
    watch.deadline->waiting = false;
}

void Stream::arm_timer(const std::shared_ptr<Deadline>& deadline) {
    Deadline& d = *deadline;
    d.armed = true;
    d.armed_at = d.at;
    const unsigned generation = ++d.generation;
    d.timer->expires_at(d.at);  // an outstanding wait ends (aborted, an older generation)
    d.timer->async_wait([deadline, generation](const ErrorCode& ec) {
        Deadline& state = *deadline;
        if (generation != state.generation) {
            return;  // replaced by a later arm_timer
        }
        state.armed = false;
        if (ec || state.socket == nullptr || !state.waiting) {
            return;  // the Stream is gone, or no operation waits: the timer lapses
        }
        if (std::chrono::steady_clock::now() < state.at) {
            arm_timer(deadline);  // the waiting operation began after this wait was set
            return;
        }
        state.expired = true;
        ErrorCode ignored;
        state.socket->cancel(ignored);
    });
}

asio::awaitable<ErrorCode> Stream::wait_ready(
    asio::socket_base::wait_type type, Watch& watch, unsigned cancels_at_start
) {
    for (;;) {
        start_timer(watch);
        auto [ec] = co_await tcp_.socket().async_wait(type, kTuple);
        if (ec != asio::error::operation_aborted) {
            co_return ec;
        }
        if (watch.deadline->expired) {
            close();  // as beast::tcp_stream does on expiry
            co_return boost::beast::error::timeout;
        }
        if (cancels_ != cancels_at_start) {
            co_return ec;
        }
        // The other direction's deadline cancelled every wait on the socket; ours still runs.
    }
}

asio::awaitable<ErrorCode> Stream::shutdown_send(std::chrono::steady_clock::duration timeout) {
    if (ssl_) {
        auto [ec, ignored] =
            co_await tls_step(TlsCall::Shutdown, nullptr, 0, write_watch_, timeout);
        if (ec) {
            co_return ec;
        }
    }
    ErrorCode ec;
    tcp_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    co_return ec;
}

SSL* Stream::ssl() const {
    return ssl_.get();
}

void Stream::cancel() {
    ++cancels_;
    tcp_.cancel();
}

void Stream::close() {
    ErrorCode ignored;
    tcp_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    tcp_.socket().close(ignored);
}

std::string Stream::tls_description() const {
    if (!ssl_) {
        return {};
    }
    return std::string{SSL_get_version(ssl_.get())} + " " + SSL_get_cipher_name(ssl_.get());
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
