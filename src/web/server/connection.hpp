#pragma once
// The coroutine that drives one HTTP/1.1 connection: TLS (implicit, or none behind a reverse
// proxy), reading request heads with deadlines, keep-alive, writing responses. What to answer
// is web::route() (router.hpp), run on the worker pool because the hosted-domain lookup blocks.
// One log line per request: `http.request` with the session id, ip, method, host, path, status.
#include <chrono>
#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "net/session_registry.hpp"
#include "net/tls_context.hpp"
#include "web/request_reader.hpp"

namespace sov::accounts {
class Directory;
}

namespace sov::web::server {

struct ConnectionSettings {
    bool implicit_tls = false;   // https: handshake first (RFC 2818); else plain HTTP
    std::string mta_sts_policy;  // the policy file served at mta-sts.<domain> (router.hpp)
    ReaderLimits limits;
    std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds{30}};
    /// From the first byte of a request head to its end: a client trickling a head (slowloris)
    /// is disconnected (and `http.timeout` logged).
    std::chrono::milliseconds header_timeout{std::chrono::seconds{30}};
    /// Waiting for the first byte of the next request (new connection or keep-alive).
    std::chrono::milliseconds idle_timeout{std::chrono::seconds{30}};
    std::chrono::milliseconds write_timeout{std::chrono::seconds{30}};
    /// After an error response on a connection with unread input (a refused body, an oversized
    /// head), the input is read and dropped for this long (or up to EOF) before the close, so the
    /// client's TCP stack does not reset the connection before it has read the response.
    std::chrono::milliseconds linger_timeout{std::chrono::seconds{2}};
    /// Requests served on one connection before it is closed.
    std::uint32_t max_requests = 1000;
};

/// Process-wide services; their owners outlive every connection.
struct ConnectionServices {
    net::TlsContextHolder* tls = nullptr;      // required when implicit_tls
    net::SessionRegistry* registry = nullptr;  // required
    boost::asio::thread_pool* pool = nullptr;  // blocking lookups; null: run inline
    accounts::Directory* directory = nullptr;  // hosted domains; null: none
};

/// Runs one connection to its end; expected ends (EOF, timeouts, errors answered with a status,
/// shutdown) return normally.
boost::asio::awaitable<void> run_connection(
    boost::beast::tcp_stream socket,
    std::string session_id,
    ConnectionSettings settings,
    ConnectionServices services
);

}  // namespace sov::web::server
