#pragma once
// Why an outbound SMTP conversation ended early. Network errors keep their own (system/asio)
// codes; these are the SMTP- and TLS-level ones.
#include <system_error>

namespace sov::smtp::client {

enum class Errc {
    Ok = 0,
    Protocol,          // the server broke the reply grammar or sent something unexpected
    Rejected,          // the server answered a command with 4xx/5xx (the reply says which)
    NoStartTls,        // TLS required (DANE, MTA-STS enforce) but STARTTLS not offered
    TlsFailed,         // the handshake failed
    NotAuthenticated,  // TLS up, but the peer did not match its TLSA records / PKIX name
    Timeout,
};

const std::error_category& client_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), client_category()};
}

}  // namespace sov::smtp::client

template <>
struct std::is_error_code_enum<sov::smtp::client::Errc> : std::true_type {};
