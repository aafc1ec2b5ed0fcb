#pragma once
// One outbound SMTP connection (RFC 5321 client side): connect, read replies, send commands,
// STARTTLS (RFC 3207). The delivery code builds its transactions on this; `tls probe` uses it to
// check a destination's TLS without sending mail.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "core/result.hpp"
#include "net/stream.hpp"
#include "smtp/wire/reply_parser.hpp"

namespace sov::smtp::client {

/// RFC 5321 §4.5.3.2 client timeouts.
struct Timeouts {
    std::chrono::seconds connect{30};
    std::chrono::seconds greeting{300};  // §4.5.3.2.1: 5 minutes
    std::chrono::seconds command{300};   // MAIL, RCPT: 5 minutes
    std::chrono::seconds tls{60};
};

class Connection {
public:
    static boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect(
        boost::asio::any_io_executor executor,
        boost::asio::ip::tcp::endpoint endpoint,
        Timeouts timeouts
    );

    /// Reads one complete reply (the greeting, or the answer to what was sent).
    boost::asio::awaitable<Result<wire::ServerReply>> read_reply();
    /// Sends one command line (CRLF appended) and reads its reply.
    boost::asio::awaitable<Result<wire::ServerReply>> command(std::string line);
    /// Writes bytes without reading a reply (pipelined commands, RFC 2920; the DATA body).
    boost::asio::awaitable<Status> send(std::string bytes);
    /// EHLO, remembering the keywords the server offers.
    boost::asio::awaitable<Result<wire::ServerReply>> ehlo(const std::string& our_name);
    /// STARTTLS and the handshake; `prepare` sets up verification on the SSL object. The caller
    /// checks the verification outcome, then sends EHLO again (RFC 3207 §4.2).
    boost::asio::awaitable<Status> starttls(
        net::SslContextPtr context, const std::function<bool(SSL*)>& prepare
    );

    /// Implicit TLS (RFC 8314 §3.3, a submission relay on port 465): the handshake right after
    /// connecting, before the greeting is read.
    boost::asio::awaitable<Status> tls_handshake(
        net::SslContextPtr context, const std::function<bool(SSL*)>& prepare
    );

    bool offers(std::string_view keyword) const { return keywords_.contains(keyword); }
    /// The parameter of an EHLO keyword ("SIZE 10240000" → "10240000"), "" if none.
    std::string offered_parameter(std::string_view keyword) const {
        const auto it = keywords_.find(keyword);
        return it == keywords_.end() ? std::string() : it->second;
    }
    net::Stream& stream() { return *stream_; }
    const boost::asio::ip::tcp::endpoint& peer() const { return peer_; }

private:
    Connection(std::unique_ptr<net::Stream> stream, boost::asio::ip::tcp::endpoint peer, Timeouts t)
        : stream_(std::move(stream)), peer_(std::move(peer)), timeouts_(t) {}

    std::unique_ptr<net::Stream> stream_;
    boost::asio::ip::tcp::endpoint peer_;
    Timeouts timeouts_;
    wire::ReplyParser parser_;
    std::string buffered_;  // bytes read past the previous reply (a server must not pipeline
                            // them, but a broken one might)
    std::map<std::string, std::string, std::less<>> keywords_;
};

}  // namespace sov::smtp::client
