#include "net/tls_context.hpp"

#include <sys/stat.h>

#include <cstdio>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/errors.hpp"

namespace sov::net {
namespace {

std::string openssl_error() {
    std::string text;
    while (const unsigned long code = ERR_get_error()) {
        std::array<char, 256> buf{};
        ERR_error_string_n(code, buf.data(), buf.size());
        if (!text.empty()) {
            text += "; ";
        }
        text += buf.data();
    }
    return text.empty() ? "unknown OpenSSL error" : text;
}

struct FileCloser {
    void operator()(FILE* f) const { fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

}  // namespace

Result<SslContextPtr> make_server_context(
    const std::filesystem::path& certificate,
    const std::filesystem::path& private_key,
    std::string& error
) {
    namespace ssl = boost::asio::ssl;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(
        native, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION
    );
    // Idle connections (IMAP IDLE: thousands of them) give their 16 KB+ record buffers back.
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    // Mozilla "intermediate" TLS 1.2 suites: forward secrecy and AEAD only.
    SSL_CTX_set_cipher_list(
        native,
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    );
    // TLS 1.3 suites in the same guideline's order: AES-128-GCM first. OpenSSL's default puts
    // AES-256-GCM first, which costs 40 % more AES rounds per byte for no practical gain.
    SSL_CTX_set_ciphersuites(
        native, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    );
    if (SSL_CTX_use_certificate_chain_file(native, certificate.c_str()) != 1) {
        error = "cannot load certificate " + certificate.string() + ": " + openssl_error();
        return core::Errc::Invalid;
    }
    if (SSL_CTX_use_PrivateKey_file(native, private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
        error = "cannot load private key " + private_key.string() + ": " + openssl_error();
        return core::Errc::Invalid;
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        error = "private key does not match certificate: " + openssl_error();
        return core::Errc::Invalid;
    }
    return ctx;
}

bool TlsContextHolder::reload(std::string& error) {
    auto loaded = make_server_context(certificate_, private_key_, error);
    if (!loaded) {
        return false;
    }
    const std::lock_guard lock(mutex_);
    context_ = std::move(*loaded);
    return true;
}

SslContextPtr TlsContextHolder::current() const {
    const std::lock_guard lock(mutex_);
    return context_;
}

bool write_self_signed_certificate(
    const std::string& hostname,
    const std::filesystem::path& certificate,
    const std::filesystem::path& private_key,
    std::string& error
) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_EC_gen("P-256"), &EVP_PKEY_free};
    std::unique_ptr<X509, decltype(&X509_free)> cert{X509_new(), &X509_free};
    if (!key || !cert) {
        error = "key generation failed: " + openssl_error();
        return false;
    }
    X509_set_version(cert.get(), 2);
    std::array<unsigned char, 16> serial{};
    RAND_bytes(serial.data(), static_cast<int>(serial.size()));
    serial[0] &= 0x7f;  // positive
    BIGNUM* bn = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 825);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(
        name,
        "CN",
        MBSTRING_ASC,
        reinterpret_cast<const unsigned char*>(hostname.c_str()),
        -1,
        -1,
        0
    );
    X509_set_issuer_name(cert.get(), name);
    X509V3_CTX v3{};
    X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
    const std::string san = "DNS:" + hostname;
    for (const auto& [nid, value] : {
             std::pair{NID_subject_alt_name, san},
             std::pair{NID_basic_constraints, std::string{"critical,CA:FALSE"}},
             std::pair{NID_ext_key_usage, std::string{"serverAuth"}},
         }) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
        if (ext == nullptr) {
            error = "certificate extension failed: " + openssl_error();
            return false;
        }
        X509_add_ext(cert.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
        error = "certificate signing failed: " + openssl_error();
        return false;
    }

    const mode_t old_mask = umask(077);
    FilePtr key_file{fopen(private_key.c_str(), "we")};
    umask(old_mask);
    if (!key_file ||
        PEM_write_PrivateKey(key_file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
            1) {
        error = "cannot write " + private_key.string();
        return false;
    }
    FilePtr cert_file{fopen(certificate.c_str(), "we")};
    if (!cert_file || PEM_write_X509(cert_file.get(), cert.get()) != 1) {
        error = "cannot write " + certificate.string();
        return false;
    }
    return true;
}

}  // namespace sov::net
