#pragma once
// The TLS client side of outbound SMTP and of HTTPS fetches (MTA-STS policies): one context,
// TLS 1.2 minimum, DANE support switched on, PKIX trust from the system store or a given file.
// What a particular connection verifies (DANE, PKIX with a host name, nothing) is decided per
// connection by dane.hpp / prepare_* below.
#include <filesystem>
#include <string>

#include <openssl/ssl.h>

#include "core/result.hpp"
#include "net/tls_context.hpp"

namespace sov::tls {

/// `ca_file` empty: the system's trust store (Debian: /etc/ssl/certs).
Result<net::SslContextPtr> make_client_context(
    const std::filesystem::path& ca_file, std::string& error
);

/// PKIX: the chain must verify to a trusted root and name `host` (RFC 6125; MTA-STS, RFC 8461
/// §4.2). Sets SNI too.
bool prepare_pkix(SSL* ssl, const std::string& host);

/// Opportunistic TLS (RFC 7435): encrypt, verify nothing, but send SNI.
bool prepare_unauthenticated(SSL* ssl, const std::string& host);

/// Server Name Indication (RFC 6066 §3) with `host`.
bool set_sni(SSL* ssl, const std::string& host);

/// The negotiated protocol and cipher, "TLSv1.3 TLS_AES_256_GCM_SHA384".
std::string describe(SSL* ssl);

}  // namespace sov::tls
