#include "roles/imap_listener.hpp"

namespace sov::roles {

imap::server::ConnectionSettings imap_settings(
    const core::Config& config, const core::Listener& listener, bool tls_available
) {
    imap::server::ConnectionSettings s;
    s.session.hostname = config.hostname;
    s.session.max_append = config.imap.max_append_bytes;
    s.session.starttls_available = tls_available && listener.tls == core::TlsMode::StartTls;
    s.session.tls_active = listener.tls == core::TlsMode::Implicit;
    // Without TLS on this listener at all (tls = "none"), LOGIN is still refused: RFC 9051
    // §11.1. Loopback-only test setups use STARTTLS like everyone else.
    s.session.require_tls_for_auth = true;
    s.implicit_tls = listener.tls == core::TlsMode::Implicit;
    s.limits.max_append = config.imap.max_append_bytes;
    s.login_timeout = config.imap.login_timeout;
    s.idle_timeout = config.imap.idle_timeout;
    s.tls_handshake_timeout = config.smtp_timeouts.tls_handshake;
    s.max_errors = config.imap.max_errors;
    return s;
}

net::StartSession imap_start(
    std::shared_ptr<ImapSettingsSlot> slot, imap::server::ConnectionServices services
) {
    return start_sessions(std::move(slot), std::move(services), &imap::server::run_connection);
}

}  // namespace sov::roles
