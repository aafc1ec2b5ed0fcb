#pragma once
// Smarthost relaying (issue 5: residential connections whose port 25 is blocked or whose address
// is on blocklists): every message for a remote domain goes to one configured relay instead of
// the recipient domain's MX hosts. The hop is always authenticated TLS — implicit TLS (RFC 8314
// §3.3) or STARTTLS (RFC 3207), the certificate verified by PKIX for the configured host name
// (RFC 6125) — and the relay's account is used through SMTP AUTH (RFC 4954) with PLAIN (RFC 4616)
// or LOGIN, whichever the relay's EHLO offers. A failure at any step is a temporary one for the
// queue: there is no fallback to MX delivery and never a password over plaintext.
//
// DANE (RFC 7672) and MTA-STS (RFC 8461) belong to MX delivery and are not applied to this hop;
// no TLS-RPT result is recorded for it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "core/result.hpp"
#include "net/tls_context.hpp"
#include "smtp/client/connection.hpp"

namespace sov::smtp::client {

struct SmarthostSettings {
    std::string host;  // empty: no smarthost, mail goes to the recipient domains' MX hosts
    std::uint16_t port = 587;
    bool implicit_tls = false;  // true: TLS from the first byte (465); false: STARTTLS (587)
    std::string username;       // empty: no AUTH
    std::filesystem::path password_file;

    [[nodiscard]] bool enabled() const { return !host.empty(); }
};

/// The SASL mechanism used with the relay.
enum class SaslChoice {
    None,   // the relay offers neither PLAIN nor LOGIN
    Plain,  // RFC 4616, preferred: one round trip with the initial response (RFC 4954 §4)
    Login,  // the widespread non-standard two-prompt exchange
};

/// Picks the mechanism from the parameter of the relay's "AUTH" EHLO keyword ("LOGIN PLAIN").
[[nodiscard]] SaslChoice choose_mechanism(std::string_view offered) noexcept;

/// RFC 4648 §4 base64 with padding.
[[nodiscard]] std::string base64_encode(std::string_view bytes);

/// The PLAIN initial response (RFC 4616 §2): base64 of "" NUL user NUL password.
[[nodiscard]] std::string sasl_plain_response(std::string_view user, std::string_view password);

/// Reads the relay password: the file's first line without its line end. `warning` is set when
/// the file is readable by others than its owner and group (it holds a clear-text secret).
Result<std::string> read_password_file(const std::filesystem::path& path, std::string& warning);

struct SmarthostOptions {
    SmarthostSettings settings;
    std::string password;  // read from settings.password_file by the caller
    std::string helo;      // our host name
    Timeouts timeouts;
};

/// What establishing the relay connection found, for logs and the queue's reply text.
struct SmarthostProbe {
    std::string tls;           // "TLSv1.3 TLS_AES_256_GCM_SHA384" once TLS is up
    std::string detail;        // why it failed
    bool auth_failed = false;  // the relay refused our credentials (535 and the like)
};

/// Connects to `address`, sets up TLS (implicit or STARTTLS), verifies the certificate for
/// `settings.host` by PKIX, EHLO, and authenticates when a username is set. Returns a
/// connection ready for MAIL FROM, or null (`probe.detail` says why; QUIT sent where possible).
boost::asio::awaitable<std::unique_ptr<Connection>> establish_smarthost(
    const SmarthostOptions& options,
    net::SslContextPtr tls_context,
    const boost::asio::ip::address& address,
    SmarthostProbe& probe
);

}  // namespace sov::smtp::client
