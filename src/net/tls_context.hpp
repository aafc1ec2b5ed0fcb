#pragma once
// Server-side TLS settings (TLS 1.2 minimum, 1.3 preferred) loaded from PEM files. SIGHUP swaps in
// a freshly loaded context; sessions already running keep the one they started with (shared_ptr).
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "core/result.hpp"

namespace sov::net {

using SslContextPtr = std::shared_ptr<boost::asio::ssl::context>;

/// Builds a server context from a certificate chain and a private key, or says why not.
Result<SslContextPtr> make_server_context(
    const std::filesystem::path& certificate,
    const std::filesystem::path& private_key,
    std::string& error
);

class TlsContextHolder {
public:
    TlsContextHolder(std::filesystem::path certificate, std::filesystem::path private_key)
        : certificate_(std::move(certificate)), private_key_(std::move(private_key)) {}

    /// Loads (or reloads) the files; on failure the previous context stays in use.
    bool reload(std::string& error);

    /// The context in force now; null when none could ever be loaded (TLS unavailable).
    SslContextPtr current() const;

private:
    std::filesystem::path certificate_;
    std::filesystem::path private_key_;
    mutable std::mutex mutex_;
    SslContextPtr context_;
};

/// Writes a new self-signed certificate (Ed25519? no: P-256 ECDSA, which every client accepts)
/// for `hostname` to the two paths, key with mode 0600.
bool write_self_signed_certificate(
    const std::string& hostname,
    const std::filesystem::path& certificate,
    const std::filesystem::path& private_key,
    std::string& error
);

}  // namespace sov::net
