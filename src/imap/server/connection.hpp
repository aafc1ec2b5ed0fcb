#pragma once
// The coroutine that drives one IMAP connection: socket, TLS, input buffer, deadlines and IDLE
// waiting. Parsing is imap/wire's CommandParser; command handling is imap::Session, run on the
// blocking worker pool because the store and the accounts database are synchronous.
#include <chrono>
#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "imap/engine/session.hpp"
#include "imap/server/change_hub.hpp"
#include "imap/wire/limits.hpp"
#include "net/session_registry.hpp"
#include "net/tls_context.hpp"

namespace sov::imap::server {

struct ConnectionSettings {
    SessionConfig session;
    wire::ParserLimits limits;
    bool implicit_tls = false;  // RFC 8314: handshake before the greeting
    /// Before login: a client that does not authenticate in this time is dropped.
    std::chrono::seconds login_timeout{60};
    /// RFC 9051 §5.4: an inactivity timer of at least 30 minutes once authenticated (and
    /// during IDLE, RFC 2177 §3).
    std::chrono::seconds idle_timeout{30 * 60};
    std::chrono::seconds write_timeout{120};
    std::chrono::seconds tls_handshake_timeout{30};
    /// Parse errors (BAD) in one connection before it is closed with BYE.
    unsigned max_errors = 50;
};

/// Process-wide services; their owners outlive every connection.
struct ConnectionServices {
    Services engine;
    net::TlsContextHolder* tls = nullptr;
    net::SessionRegistry* registry = nullptr;
    boost::asio::thread_pool* pool = nullptr;  // blocking work
    ChangeHub* hub = nullptr;
};

/// Runs one connection to its end; expected ends (LOGOUT, EOF, timeout, shutdown) return
/// normally.
boost::asio::awaitable<void> run_connection(
    boost::beast::tcp_stream socket,
    std::string session_id,
    ConnectionSettings settings,
    ConnectionServices services
);

}  // namespace sov::imap::server
