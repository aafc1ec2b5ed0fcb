#pragma once
// Wiring of IMAP listeners (protocol = "imap"): settings from the configuration and the
// function the accept loop calls for each connection.
#include <memory>

#include "core/config.hpp"
#include "imap/server/connection.hpp"
#include "net/accept_loop.hpp"
#include "roles/session_support.hpp"

namespace sov::roles {

using ImapSettingsSlot = SettingsSlot<imap::server::ConnectionSettings>;

imap::server::ConnectionSettings imap_settings(
    const core::Config& config, const core::Listener& listener, bool tls_available
);

net::StartSession imap_start(
    std::shared_ptr<ImapSettingsSlot> slot, imap::server::ConnectionServices services
);

}  // namespace sov::roles
