#include "tls/client_context.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/errors.hpp"

namespace sov::tls {

namespace {

std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    if (code == 0) {
        return "unknown OpenSSL error";
    }
    std::string text(256, '\0');
    ERR_error_string_n(code, text.data(), text.size());
    text.resize(text.find('\0'));
    return text;
}

}  // namespace

Result<net::SslContextPtr> make_client_context(
    const std::filesystem::path& ca_file, std::string& error
) {
    namespace ssl = boost::asio::ssl;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    const int loaded = ca_file.empty()
                           ? SSL_CTX_set_default_verify_paths(native)
                           : SSL_CTX_load_verify_locations(native, ca_file.c_str(), nullptr);
    if (loaded != 1) {
        error = "cannot load trusted certificates" +
                (ca_file.empty() ? std::string() : " from " + ca_file.string()) + ": " +
                openssl_error();
        return core::Errc::Invalid;
    }
    // RFC 7671 / 7672 DANE through OpenSSL's own implementation (SSL_dane_*).
    if (SSL_CTX_dane_enable(native) <= 0) {
        error = "OpenSSL DANE support unavailable: " + openssl_error();
        return core::Errc::Invalid;
    }
    return ctx;
}

bool set_sni(SSL* ssl, const std::string& host) {
    // SSL_set_tlsext_host_name() is a macro with a C cast; this is its expansion.
    return SSL_ctrl(
               ssl,
               SSL_CTRL_SET_TLSEXT_HOSTNAME,
               TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str())
           ) == 1;
}

bool prepare_pkix(SSL* ssl, const std::string& host) {
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    // RFC 6125 §6.4.4: no partial wildcards; a wildcard only as the whole leftmost label.
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, host.c_str()) == 1 && set_sni(ssl, host);
}

bool prepare_unauthenticated(SSL* ssl, const std::string& host) {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    return set_sni(ssl, host);
}

std::string describe(SSL* ssl) {
    if (ssl == nullptr) {
        return {};
    }
    return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

}  // namespace sov::tls
