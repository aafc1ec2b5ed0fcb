#pragma once
// The coroutine that drives one SMTP or LMTP connection: it owns the socket, the input buffer and
// the deadlines, and feeds bytes to the sans-I/O engine (smtp/wire/server_engine.hpp).
#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "core/config.hpp"
#include "net/session_registry.hpp"
#include "net/tls_context.hpp"
#include "smtp/server/inbound_handler.hpp"
#include "smtp/wire/server_engine.hpp"

namespace sov::accounts {
class Directory;
class LoginThrottle;
}  // namespace sov::accounts

namespace sov::smtp::server {

struct SessionSettings {
    wire::ServerConfig engine;  // protocol, hostname, limits, extensions
    core::SmtpTimeouts timeouts;
    bool implicit_tls = false;  // RFC 8314: handshake before the greeting
    /// Input buffered beyond this without the engine consuming it is a protocol abuse (the engine
    /// consumes every complete line, so only an endless line without CRLF could grow it).
    std::size_t max_buffered_input = 256 * 1024;
};

/// Process-wide services; their owners outlive every session (STYLE.md §3.5).
struct SessionServices {
    InboundHandler* handler = nullptr;
    net::TlsContextHolder* tls = nullptr;  // null or empty: no TLS
    net::SessionRegistry* registry = nullptr;
    // Submission AUTH (RFC 4954, engine.auth_available): the accounts to check passwords
    // against, the failed-login throttle (may be null) and the pool for blocking work (SQLite,
    // Argon2id). Without a directory or pool every AUTH fails with 454 4.7.0.
    accounts::Directory* directory = nullptr;
    accounts::LoginThrottle* throttle = nullptr;
    boost::asio::thread_pool* pool = nullptr;
};

/// Runs one session to its end. Expected ends (QUIT, EOF, timeout, shutdown) are not errors.
boost::asio::awaitable<void> run_session(
    boost::beast::tcp_stream socket,
    std::string session_id,
    SessionSettings settings,
    SessionServices services
);

/// A short random id for a session ("k3x9f2a8q1zb"), unique enough to follow in logs.
std::string new_session_id();

}  // namespace sov::smtp::server
