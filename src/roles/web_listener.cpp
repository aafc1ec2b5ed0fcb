#include "roles/web_listener.hpp"

#include "tls/our_policy.hpp"

namespace sov::roles {

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
    return start_sessions(std::move(slot), std::move(services), &web::server::run_connection);
}

}  // namespace sov::roles
