#include "roles/web_listener.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>

#include "smtp/server/session.hpp"
#include "tls/our_policy.hpp"

namespace sov::roles {

namespace asio = boost::asio;

web::server::ConnectionSettings web_settings(
    const core::Config& config, const core::Listener& listener
) {
    web::server::ConnectionSettings s;
    s.implicit_tls = listener.tls == core::TlsMode::Implicit;
    s.mta_sts_policy = tls::to_text(tls::our_policy(config));
    s.tls_handshake_timeout = config.smtp_timeouts.tls_handshake;
    return s;
}

net::StartSession web_start(
    std::shared_ptr<WebSettingsSlot> slot, web::server::ConnectionServices services
) {
    return [slot = std::move(slot),
            services](asio::ip::tcp::socket socket, net::ConnectionLimiter::Permit permit) {
        auto executor = socket.get_executor();
        auto id = smtp::server::new_session_id();
        auto connection = web::server::run_connection(
            boost::beast::tcp_stream{std::move(socket)}, id, slot->get(), services
        );
        asio::co_spawn(
            executor,
            std::move(connection),
            asio::bind_executor(
                executor,
                SessionEnded{
                    id, std::make_shared<net::ConnectionLimiter::Permit>(std::move(permit))
                }
            )
        );
    };
}

}  // namespace sov::roles
