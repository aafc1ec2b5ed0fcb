#pragma once
// Accepts connections on one listener and hands each to `start`, holding a ConnectionLimiter
// permit for the life of the session. Over a cap the client gets `busy_reply` (the protocol's
// "try later", e.g. SMTP's 421 4.7.0) and the connection is closed at once.
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/connection_limiter.hpp"
#include "net/session_threads.hpp"

namespace sov::net {

struct AcceptOptions {
    std::string listener_name;
    std::string busy_reply;  // written verbatim to a refused connection
    ConnectionLimiter* limiter = nullptr;
    /// Where sessions run; null: each on a new strand of the acceptor's executor.
    SessionThreads* threads = nullptr;
};

/// `start` receives a socket whose executor is one of `threads`' contexts (or a new strand):
/// everything of one session runs one handler at a time.
using StartSession = std::function<void(boost::asio::ip::tcp::socket, ConnectionLimiter::Permit)>;

/// Runs until the acceptor is closed (shutdown).
boost::asio::awaitable<void> accept_loop(
    boost::asio::ip::tcp::acceptor acceptor, AcceptOptions options, StartSession start
);

/// Binds a listening socket; errors name the address and port.
boost::asio::ip::tcp::acceptor bind_listener(
    boost::asio::any_io_executor executor, const std::string& address, std::uint16_t port
);

}  // namespace sov::net
