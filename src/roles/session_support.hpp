#pragma once
// Pieces every protocol's listener wiring shares.
#include <exception>
#include <memory>
#include <string>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "core/log.hpp"
#include "net/accept_loop.hpp"
#include "net/connection_limiter.hpp"
#include "roles/settings_slot.hpp"
#include "smtp/server/session.hpp"

namespace sov::roles {

// Completion of a session coroutine: expected ends return normally; anything thrown is a bug or
// an unexpected I/O failure, logged once here with the session id (STYLE.md §3.11 #5). It also
// holds the connection-limit permit for the life of the session.
struct SessionEnded {
    std::string id;
    std::shared_ptr<net::ConnectionLimiter::Permit> permit;
    void operator()(const std::exception_ptr& error) const {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                log::error("session.failed", {{"session", id}, {"error", e.what()}});
            }
        }
    }
};

/// The accept loop's callback for a listener whose sessions are coroutines
/// `run(tcp_stream, session_id, settings, services)`: each connection gets a session id, the
/// settings in force when it arrived, and its connection-limit permit until it ends.
template <class Settings, class Services, class Run>
net::StartSession start_sessions(
    std::shared_ptr<SettingsSlot<Settings>> slot, Services services, Run run
) {
    return [slot = std::move(slot),
            services,
            run](boost::asio::ip::tcp::socket socket, net::ConnectionLimiter::Permit permit) {
        auto executor = socket.get_executor();
        auto id = smtp::server::new_session_id();
        auto session = run(boost::beast::tcp_stream{std::move(socket)}, id, slot->get(), services);
        boost::asio::co_spawn(
            executor,
            std::move(session),
            boost::asio::bind_executor(
                executor,
                SessionEnded{
                    id, std::make_shared<net::ConnectionLimiter::Permit>(std::move(permit))
                }
            )
        );
    };
}

}  // namespace sov::roles
