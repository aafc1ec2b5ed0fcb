#pragma once
// DKIM keys: generation (RSA, Ed25519) with OpenSSL EVP, PEM files, the DNS key record
// (RFC 6376 §3.6.1, RFC 8463 §4), and the raw sign/verify of a SHA-256 digest that both signing
// algorithms are built on (RFC 6376 §3.3.1 rsa-sha256, RFC 8463 §3 ed25519-sha256).
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "core/result.hpp"

namespace sov::mailauth {

enum class KeyAlgorithm {
    Rsa,
    Ed25519,
};

/// The k= name: "rsa" / "ed25519".
[[nodiscard]] std::string_view to_string(KeyAlgorithm algorithm) noexcept;
[[nodiscard]] std::optional<KeyAlgorithm> key_algorithm_from_string(std::string_view name) noexcept;
/// The a= name: "rsa-sha256" / "ed25519-sha256".
[[nodiscard]] std::string_view signing_algorithm(KeyAlgorithm algorithm) noexcept;
[[nodiscard]] std::optional<KeyAlgorithm> key_algorithm_from_signing(std::string_view a) noexcept;

/// RFC 8301 §3.2: signers MUST use at least 1024 bits and SHOULD use at least 2048.
inline constexpr unsigned kDefaultRsaBits = 2048;
inline constexpr unsigned kMinRsaBits = 1024;
inline constexpr unsigned kMaxRsaBits = 4096;  // verifiers need not go beyond 4096 (§3.1)

using Sha256Digest = std::array<std::uint8_t, 32>;

namespace detail {
struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
class SigningContexts;  // a key's reusable OpenSSL signing contexts (dkim_key.cpp)
}  // namespace detail

class PrivateKey {
public:
    /// A fresh key. RSA sizes outside [kMinRsaBits, kMaxRsaBits] → Errc::UnsupportedKey.
    static Result<PrivateKey> generate(KeyAlgorithm algorithm, unsigned rsa_bits = kDefaultRsaBits);
    /// A PEM private key (PKCS#8 or traditional RSA); only RSA and Ed25519 are accepted.
    static Result<PrivateKey> from_pem(std::string_view pem);
    static Result<PrivateKey> load(const std::filesystem::path& path);

    [[nodiscard]] std::string to_pem() const;
    /// Writes the PEM to `path` with mode 0600 (through a temporary file, fsynced), never
    /// replacing an existing file (core::Errc::Exists).
    Status save(const std::filesystem::path& path) const;

    [[nodiscard]] KeyAlgorithm algorithm() const noexcept { return algorithm_; }
    [[nodiscard]] unsigned bits() const noexcept;
    /// The p= value: base64 of the SubjectPublicKeyInfo for RSA (as `openssl rsa -pubout`
    /// writes and every verifier reads), of the raw 32-byte key for Ed25519 (RFC 8463 §4).
    [[nodiscard]] std::string public_key_base64() const;
    /// The TXT record value: "v=DKIM1; k=rsa; p=...".
    [[nodiscard]] std::string dns_record() const;

    /// Signs the SHA-256 digest of the canonicalised header data: RSASSA-PKCS1-v1_5 with
    /// SHA-256 (RFC 6376 §3.3.1), or PureEdDSA Ed25519 over the 32 digest octets (RFC 8463 §3).
    /// Thread-safe; signing contexts are set up once per key and reused.
    Result<std::string> sign_digest(const Sha256Digest& digest) const;

private:
    PrivateKey(detail::PkeyPtr key, KeyAlgorithm algorithm);

    // Shared: a Keyring hands the same key to many signers, and copies share the contexts.
    std::shared_ptr<EVP_PKEY> key_;
    KeyAlgorithm algorithm_;
    std::shared_ptr<detail::SigningContexts> contexts_;
};

/// The public half, as published in DNS.
class PublicKey {
public:
    /// From a p= value (base64, FWS allowed). RSA accepts SubjectPublicKeyInfo or a bare
    /// RSAPublicKey (RFC 6376 §3.6.1 names the latter; publishers use the former). RSA keys
    /// under kMinRsaBits → Errc::UnsupportedKey (RFC 8301 §3.2).
    /// Served from a cache of recently decoded keys (kPublicKeyCacheSize).
    static Result<PublicKey> from_base64(KeyAlgorithm algorithm, std::string_view p);
    /// From a whole key record (RFC 6376 §3.6.1): v=DKIM1 if present first, k= (default rsa),
    /// p= (empty: revoked → Errc::BadKey).
    static Result<PublicKey> from_record(std::string_view record);

    [[nodiscard]] KeyAlgorithm algorithm() const noexcept { return algorithm_; }
    [[nodiscard]] bool verify_digest(const Sha256Digest& digest, std::span<const std::uint8_t> sig)
        const noexcept;

private:
    // Shared: the cache behind from_base64 hands the same key to many messages and threads.
    PublicKey(std::shared_ptr<EVP_PKEY> key, KeyAlgorithm algorithm)
        : key_(std::move(key)), algorithm_(algorithm) {}
    static Result<PublicKey> decode(KeyAlgorithm algorithm, std::string_view p);

    std::shared_ptr<EVP_PKEY> key_;
    KeyAlgorithm algorithm_;
};

/// PublicKey::from_base64 keeps the keys it decoded, by algorithm and p= text, in a process-wide
/// LRU cache of this many entries: a verifier sees the same few key records over and over, and
/// decoding an RSA SubjectPublicKeyInfo costs several times the RSA verification itself. Only
/// successfully decoded keys are kept (an error is cheap to find again). Thread-safe.
inline constexpr std::size_t kPublicKeyCacheSize = 256;

struct PublicKeyCacheStats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::size_t size = 0;
};
[[nodiscard]] PublicKeyCacheStats public_key_cache_stats() noexcept;

/// SHA-256 of `data`.
[[nodiscard]] Sha256Digest sha256(std::string_view data);

}  // namespace sov::mailauth
