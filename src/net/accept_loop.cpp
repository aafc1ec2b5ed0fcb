#include "net/accept_loop.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "core/log.hpp"

namespace sov::net {

namespace asio = boost::asio;
using asio::ip::tcp;

asio::awaitable<void> accept_loop(
    tcp::acceptor acceptor, AcceptOptions options, StartSession start
) {
    const auto executor = co_await asio::this_coro::executor;
    for (;;) {
        const asio::any_io_executor session_executor =
            options.threads != nullptr ? options.threads->next() : asio::make_strand(executor);
        auto [ec, socket] =
            co_await acceptor.async_accept(session_executor, asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            // EMFILE and friends: log and go on; the loop must outlive a transient failure.
            log::warn(
                "net.accept.failed", {{"listener", options.listener_name}, {"error", ec.message()}}
            );
            continue;
        }
        boost::system::error_code ignored;
        const auto remote = socket.remote_endpoint(ignored);
        auto ip = remote.address();
        if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
            ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
        }
        auto permit = options.limiter != nullptr ? options.limiter->try_acquire(ip.to_string())
                                                 : ConnectionLimiter::Permit{};
        if (options.limiter != nullptr && !permit) {
            log::warn(
                "net.connection.refused",
                {{"listener", options.listener_name},
                 {"client", ip.to_string()},
                 {"reason", "limit"}}
            );
            // A fresh socket's send buffer is empty, so this short write does not block.
            socket.non_blocking(true, ignored);
            socket.write_some(asio::buffer(options.busy_reply), ignored);
            socket.close(ignored);
            continue;
        }
        // Replies are written whole, once per command: Nagle's algorithm would only hold a
        // short reply back until the client's delayed ACK (tens of ms per IMAP command).
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        start(std::move(socket), std::move(permit));
    }
}

tcp::acceptor bind_listener(
    asio::any_io_executor executor, const std::string& address, std::uint16_t port
) {
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec) {
        throw std::runtime_error("listener address '" + address + "' is not an IP address");
    }
    const tcp::endpoint endpoint{ip, port};
    tcp::acceptor acceptor{executor};
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint, ec);
    if (ec) {
        throw std::runtime_error(
            "cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message()
        );
    }
    acceptor.listen(asio::socket_base::max_listen_connections);
    return acceptor;
}

}  // namespace sov::net
