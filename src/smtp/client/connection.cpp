#include "smtp/client/connection.hpp"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include "smtp/client/errors.hpp"

namespace sov::smtp::client {

namespace asio = boost::asio;

namespace {

std::error_code network_error(const boost::system::error_code& ec) {
    if (ec == boost::beast::error::timeout) {
        return make_error_code(Errc::Timeout);
    }
    return ec;  // boost::system::error_code converts to std::error_code
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<Connection>>> Connection::connect(
    asio::any_io_executor executor, asio::ip::tcp::endpoint endpoint, Timeouts timeouts
) {
    boost::beast::tcp_stream tcp(executor);
    tcp.expires_after(timeouts.connect);
    auto [ec] = co_await tcp.async_connect(endpoint, asio::as_tuple(asio::use_awaitable));
    if (ec) {
        co_return network_error(ec);
    }
    tcp.expires_never();
    auto stream = std::make_unique<net::Stream>(std::move(tcp));
    co_return std::unique_ptr<Connection>(new Connection(std::move(stream), endpoint, timeouts));
}

asio::awaitable<Result<wire::ServerReply>> Connection::read_reply() {
    parser_.reset();
    std::array<char, 4096> buffer{};
    while (true) {
        std::string_view input = buffered_;
        const auto status = parser_.feed(input);
        buffered_.erase(0, buffered_.size() - input.size());
        if (status == wire::ReplyParser::Status::Complete) {
            co_return parser_.reply();
        }
        if (status == wire::ReplyParser::Status::Error) {
            co_return make_error_code(Errc::Protocol);
        }
        auto [ec, n] = co_await stream_->read_some(asio::buffer(buffer), timeouts_.command);
        if (ec) {
            co_return network_error(ec);
        }
        buffered_.append(buffer.data(), n);
    }
}

asio::awaitable<Result<wire::ServerReply>> Connection::command(std::string line) {
    line += "\r\n";
    if (auto ec = co_await stream_->write_all(std::move(line), timeouts_.command)) {
        co_return network_error(ec);
    }
    co_return co_await read_reply();
}

asio::awaitable<Status> Connection::send(std::string bytes) {
    if (auto ec = co_await stream_->write_all(std::move(bytes), timeouts_.command)) {
        co_return network_error(ec);
    }
    co_return Status{};
}

asio::awaitable<Result<wire::ServerReply>> Connection::ehlo(const std::string& our_name) {
    auto reply = co_await command("EHLO " + our_name);
    if (reply && reply->code == 250) {
        keywords_ = wire::ehlo_keywords(*reply);
    } else {
        keywords_.clear();
    }
    co_return reply;
}

asio::awaitable<Status> Connection::starttls(
    net::SslContextPtr context, const std::function<bool(SSL*)>& prepare
) {
    auto reply = co_await command("STARTTLS");
    if (!reply) {
        co_return reply.error();
    }
    if (reply->code != 220) {
        co_return make_error_code(Errc::Rejected);
    }
    if (!buffered_.empty()) {
        // RFC 3207 §5 (and CVE-2011-0411 in reverse): bytes that arrived before the handshake
        // must not be taken as replies inside TLS.
        co_return make_error_code(Errc::Protocol);
    }
    if (auto st = co_await tls_handshake(std::move(context), prepare); !st) {
        co_return st;
    }
    keywords_.clear();  // RFC 3207 §4.2: forget what the server said before TLS
    co_return Status{};
}

asio::awaitable<Status> Connection::tls_handshake(
    net::SslContextPtr context, const std::function<bool(SSL*)>& prepare
) {
    auto ec = co_await stream_->handshake_client(std::move(context), prepare, timeouts_.tls);
    if (ec) {
        co_return ec == boost::beast::error::timeout ? make_error_code(Errc::Timeout)
                                                     : make_error_code(Errc::TlsFailed);
    }
    co_return Status{};
}

}  // namespace sov::smtp::client
