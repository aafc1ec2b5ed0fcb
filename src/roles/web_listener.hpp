#pragma once
// Wiring of web listeners (protocol = "http"): settings from the configuration and the function
// the accept loop calls for each connection.
#include <memory>

#include "core/config.hpp"
#include "net/accept_loop.hpp"
#include "roles/session_support.hpp"
#include "web/server/connection.hpp"

namespace sov::roles {

using WebSettingsSlot = SettingsSlot<web::server::ConnectionSettings>;

/// tls = "implicit" is HTTPS; tls = "none" is plain HTTP (behind a reverse proxy). The MTA-STS
/// policy is rendered from [mta_sts] and the hostname here, so SIGHUP changes it.
web::server::ConnectionSettings web_settings(
    const core::Config& config, const core::Listener& listener
);

net::StartSession web_start(
    std::shared_ptr<WebSettingsSlot> slot, web::server::ConnectionServices services
);

}  // namespace sov::roles
