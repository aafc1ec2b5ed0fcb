#pragma once
// DANE for SMTP (RFC 7672, on RFC 6698 / 7671): what a TLSA lookup for an MX host means for the
// connection, and the OpenSSL set-up that authenticates the server by its TLSA records.
#include <filesystem>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "core/result.hpp"
#include "dns/rdata.hpp"
#include "dns/resolver.hpp"

namespace sov::tls {

/// RFC 7672 §2.2: the four outcomes of the TLSA lookup (the fourth, a lookup error, is the
/// caller's: the Result of the lookup; it defers delivery to this host).
enum class DaneStatus {
    NotApplicable,  // insecure TLSA RRset, or securely none: opportunistic TLS
    Authenticate,   // secure, at least one usable record: TLS required, peer authenticated
    EncryptOnly,    // secure, records present but none usable: TLS required, no authentication
};

struct DanePolicy {
    DaneStatus status = DaneStatus::NotApplicable;
    std::string host;                     // TLSA base domain: the MX host name
    std::vector<dns::TlsaRecord> usable;  // records OpenSSL will match against
};

/// RFC 7672 §3.1.3: DANE-TA(2) and DANE-EE(3) only (PKIX-TA/PKIX-EE are unusable for SMTP);
/// selector Cert(0) or SPKI(1); matching Full(0), SHA2-256(1), SHA2-512(2); digest lengths right.
bool usable_for_smtp(const dns::TlsaRecord& record) noexcept;

/// The policy for `host` from its TLSA lookup. Callers only look up TLSA when the host's
/// address records were secure (RFC 7672 §2.2.2).
DanePolicy dane_policy(std::string host, const dns::Records<dns::TlsaRecord>& tlsa);

/// "_25._tcp.mx.example.com" (RFC 6698 §3, RFC 7672 §2.2.3).
std::string tlsa_name(const std::string& host, unsigned port = 25);

/// Sets `ssl` up for DANE authentication against the policy's usable records: SNI with the
/// base domain (§8.1), name checks only for DANE-TA (§3.2.2), none for DANE-EE (§3.2.1).
bool prepare_dane(SSL* ssl, const DanePolicy& policy);

/// After the handshake: did the chain match a TLSA record? `detail` says which
/// ("DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0") or why not.
struct DaneVerification {
    bool authenticated = false;
    std::string detail;
};
DaneVerification dane_verification(SSL* ssl);

/// TLSA "3 1 1" association data (SHA-256 of the SubjectPublicKeyInfo, hex) of the first
/// certificate in a PEM file: what we publish for our own MX.
Result<std::string> tlsa_3_1_1_of(const std::filesystem::path& certificate_pem);

}  // namespace sov::tls
