#include "tls/dane.hpp"

#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/errors.hpp"
#include "tls/client_context.hpp"

namespace sov::tls {

namespace {

std::string_view usage_name(std::uint8_t usage) {
    switch (usage) {
        case 0:
            return "PKIX-TA(0)";
        case 1:
            return "PKIX-EE(1)";
        case 2:
            return "DANE-TA(2)";
        case 3:
            return "DANE-EE(3)";
        default:
            return "unknown";
    }
}

}  // namespace

bool usable_for_smtp(const dns::TlsaRecord& record) noexcept {
    if (record.usage != 2 && record.usage != 3) {
        return false;  // RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are not for SMTP
    }
    if (record.selector > 1) {
        return false;
    }
    switch (record.matching_type) {
        case 0:
            return !record.data.empty();
        case 1:
            return record.data.size() == 32;  // RFC 6698 §2.1.3 SHA2-256
        case 2:
            return record.data.size() == 64;  // SHA2-512
        default:
            return false;
    }
}

DanePolicy dane_policy(std::string host, const dns::Records<dns::TlsaRecord>& tlsa) {
    DanePolicy policy;
    policy.host = std::move(host);
    if (!tlsa.secure() || tlsa.records.empty()) {
        return policy;  // RFC 7672 §2.2: insecure or securely absent → opportunistic TLS
    }
    for (const auto& record : tlsa.records) {
        if (usable_for_smtp(record)) {
            policy.usable.push_back(record);
        }
    }
    policy.status = policy.usable.empty() ? DaneStatus::EncryptOnly : DaneStatus::Authenticate;
    return policy;
}

std::string tlsa_name(const std::string& host, unsigned port) {
    return fmt::format("_{}._tcp.{}", port, host);
}

bool prepare_dane(SSL* ssl, const DanePolicy& policy) {
    if (!set_sni(ssl, policy.host)) {
        return false;
    }
    if (policy.status != DaneStatus::Authenticate) {
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
        return true;
    }
    // The base domain is also the reference identifier for DANE-TA name checks (§3.2.2).
    if (SSL_dane_enable(ssl, policy.host.c_str()) <= 0) {
        return false;
    }
    SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);  // §3.2.1
    int added = 0;
    for (const auto& r : policy.usable) {
        if (SSL_dane_tlsa_add(
                ssl, r.usage, r.selector, r.matching_type, r.data.data(), r.data.size()
            ) > 0) {
            ++added;
        }
    }
    // Verification result is read after the handshake (dane_verification), so a failure can be
    // reported with its reason; nothing is sent over an unauthenticated channel before that.
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    return added > 0;
}

DaneVerification dane_verification(SSL* ssl) {
    DaneVerification out;
    if (ssl == nullptr) {
        out.detail = "no TLS";
        return out;
    }
    const long result = SSL_get_verify_result(ssl);
    std::uint8_t usage = 0;
    std::uint8_t selector = 0;
    std::uint8_t matching = 0;
    const unsigned char* data = nullptr;
    std::size_t length = 0;
    const int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &matching, &data, &length);
    if (result == X509_V_OK && depth >= 0) {
        out.authenticated = true;
        out.detail = fmt::format(
            "{} {} {} at depth {}",
            usage_name(usage),
            selector == 0 ? "Cert(0)" : "SPKI(1)",
            matching == 0 ? "Full(0)" : (matching == 1 ? "SHA2-256(1)" : "SHA2-512(2)"),
            depth
        );
        return out;
    }
    out.detail =
        result == X509_V_OK ? "no TLSA record matched" : X509_verify_cert_error_string(result);
    return out;
}

Result<std::string> tlsa_3_1_1_of(const std::filesystem::path& certificate_pem) {
    std::unique_ptr<FILE, decltype(&std::fclose)> file(
        std::fopen(certificate_pem.c_str(), "rb"), &std::fclose
    );
    if (!file) {
        return core::last_os_error();
    }
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        PEM_read_X509(file.get(), nullptr, nullptr, nullptr), &X509_free
    );
    if (!cert) {
        return core::Errc::Invalid;
    }
    unsigned char* spki = nullptr;
    const int spki_len = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &spki);
    if (spki_len <= 0) {
        return core::Errc::Invalid;
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_len = 0;
    const int ok = EVP_Digest(
        spki, static_cast<std::size_t>(spki_len), digest.data(), &digest_len, EVP_sha256(), nullptr
    );
    OPENSSL_free(spki);
    if (ok != 1) {
        return core::Errc::Invalid;
    }
    std::string hex;
    for (unsigned int i = 0; i < digest_len; ++i) {
        hex += fmt::format("{:02x}", digest[i]);
    }
    return hex;
}

}  // namespace sov::tls
