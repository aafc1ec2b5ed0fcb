#include "mailauth/dkim_key.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <list>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "mailauth/base64.hpp"
#include "mailauth/dkim_tags.hpp"
#include "mailauth/errors.hpp"

namespace sov::mailauth {

namespace {

struct BioFree {
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* ctx) const noexcept { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::error_code crypto_error(std::string_view what) {
    const unsigned long code = ERR_get_error();
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    ERR_clear_error();
    log::warn("dkim.crypto_failed", {{"op", what}, {"openssl", std::string_view(text.data())}});
    return Errc::Crypto;
}

std::optional<KeyAlgorithm> algorithm_of(const EVP_PKEY* key) noexcept {
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA:
            return KeyAlgorithm::Rsa;
        case EVP_PKEY_ED25519:
            return KeyAlgorithm::Ed25519;
        default:
            return std::nullopt;
    }
}

Status write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return core::last_os_error();
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// Decoded public keys by "<algorithm>:<p= text>", least recently used first out. EVP_PKEY is
// reference-counted and only read by verification, so one key may serve several threads at once.
class PublicKeyCache {
public:
    std::shared_ptr<EVP_PKEY> find(const std::string& id) {
        const std::lock_guard lock(mutex_);
        const auto it = index_.find(id);
        if (it == index_.end()) {
            ++misses_;
            return nullptr;
        }
        ++hits_;
        lru_.splice(lru_.begin(), lru_, it->second);
        return it->second->second;
    }

    void insert(std::string id, std::shared_ptr<EVP_PKEY> key) {
        const std::lock_guard lock(mutex_);
        if (const auto it = index_.find(id); it != index_.end()) {
            lru_.splice(lru_.begin(), lru_, it->second);  // another thread decoded it as well
            return;
        }
        lru_.emplace_front(std::move(id), std::move(key));
        index_.emplace(lru_.front().first, lru_.begin());
        if (lru_.size() > kPublicKeyCacheSize) {
            index_.erase(lru_.back().first);
            lru_.pop_back();
        }
    }

    PublicKeyCacheStats stats() noexcept {
        const std::lock_guard lock(mutex_);
        return {hits_, misses_, lru_.size()};
    }

private:
    using Entry = std::pair<std::string, std::shared_ptr<EVP_PKEY>>;
    std::mutex mutex_;
    std::list<Entry> lru_;  // most recently used first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views into lru_
    std::uint64_t hits_ = 0;
    std::uint64_t misses_ = 0;
};

// An RSA verification context set up for one key (RSASSA-PKCS1-v1_5 with SHA-256, RFC 6376
// §3.3.1) serves any number of EVP_PKEY_verify calls, as in `openssl speed`; setting one up
// fetches the signature algorithm and digest from the provider again, which costs a good part of
// an RSA-2048 verification. A context must not be used by two threads at once, so each thread
// keeps a few, found by key. Each holds a reference to its key, so no other key can be allocated
// at the same address while a slot names it.
EVP_PKEY_CTX* rsa_verify_ctx(EVP_PKEY* key) noexcept {
    struct Slot {
        EVP_PKEY* key = nullptr;
        PkeyCtxPtr ctx;
    };
    constexpr std::size_t kSlots = 8;
    thread_local std::array<Slot, kSlots> slots;
    thread_local std::size_t next = 0;
    for (const auto& slot : slots) {
        if (slot.key == key) {
            return slot.ctx.get();
        }
    }
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1) {
        return nullptr;
    }
    auto& slot = slots[next];
    next = (next + 1) % kSlots;
    slot.ctx = std::move(ctx);
    slot.key = key;
    return slot.ctx.get();
}

PublicKeyCache& public_key_cache() {
    static PublicKeyCache cache;
    return cache;
}

}  // namespace

PublicKeyCacheStats public_key_cache_stats() noexcept {
    return public_key_cache().stats();
}

std::string_view to_string(KeyAlgorithm algorithm) noexcept {
    return algorithm == KeyAlgorithm::Rsa ? "rsa" : "ed25519";
}

std::optional<KeyAlgorithm> key_algorithm_from_string(std::string_view name) noexcept {
    if (name == "rsa") {
        return KeyAlgorithm::Rsa;
    }
    if (name == "ed25519") {
        return KeyAlgorithm::Ed25519;
    }
    return std::nullopt;
}

std::string_view signing_algorithm(KeyAlgorithm algorithm) noexcept {
    return algorithm == KeyAlgorithm::Rsa ? "rsa-sha256" : "ed25519-sha256";
}

std::optional<KeyAlgorithm> key_algorithm_from_signing(std::string_view a) noexcept {
    // RFC 8301 §3.1: rsa-sha1 MUST NOT be used for signing or verifying.
    if (a == "rsa-sha256") {
        return KeyAlgorithm::Rsa;
    }
    if (a == "ed25519-sha256") {
        return KeyAlgorithm::Ed25519;
    }
    return std::nullopt;
}

Sha256Digest sha256(std::string_view data) {
    Sha256Digest digest{};
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
    return digest;
}

// -------------------------------------------------------------------------- signing contexts

// Setting up an OpenSSL signing context (EVP_DigestSignInit / EVP_PKEY_sign_init) looks the
// algorithm up in the provider and copies the key reference: several microseconds, a tenth of
// an Ed25519 signature. So each key keeps contexts that are set up once and reused, as `openssl
// speed` does; a context serves one signature at a time, hence a pool of idle ones.
class detail::SigningContexts {
public:
    explicit SigningContexts(KeyAlgorithm algorithm) : algorithm_(algorithm) {}

    Result<std::string> sign(EVP_PKEY* key, const Sha256Digest& digest) {
        return algorithm_ == KeyAlgorithm::Ed25519 ? sign_ed25519(key, digest)
                                                   : sign_rsa(key, digest);
    }

private:
    // More threads than this signing with one key at once is rare; extra contexts are freed.
    static constexpr std::size_t kMaxIdle = 64;

    template <typename Ptr>
    class Idle {
    public:
        Ptr take() {
            const std::lock_guard lock(mutex_);
            if (idle_.empty()) {
                return nullptr;
            }
            Ptr out = std::move(idle_.back());
            idle_.pop_back();
            return out;
        }
        void give(Ptr ctx) {
            const std::lock_guard lock(mutex_);
            if (idle_.size() < kMaxIdle) {
                idle_.push_back(std::move(ctx));
            }
        }

    private:
        std::mutex mutex_;
        std::vector<Ptr> idle_;
    };

    // RFC 8463 §3: PureEdDSA over the 32 octets of the SHA-256 hash.
    Result<std::string> sign_ed25519(EVP_PKEY* key, const Sha256Digest& digest) {
        MdCtxPtr ctx = idle_md_.take();
        if (!ctx) {
            ctx.reset(EVP_MD_CTX_new());
            if (!ctx || EVP_DigestSignInit_ex(
                            ctx.get(), nullptr, nullptr, nullptr, nullptr, key, nullptr
                        ) != 1) {
                return crypto_error("ed25519_sign");
            }
        } else if (reinit_.load(std::memory_order_relaxed) &&
                   EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, nullptr) != 1) {
            return crypto_error("ed25519_sign");
        }
        std::string sig(64, '\0');
        auto one_shot = [&] {
            std::size_t size = sig.size();
            const bool ok = EVP_DigestSign(
                                ctx.get(),
                                reinterpret_cast<unsigned char*>(sig.data()),
                                &size,
                                digest.data(),
                                digest.size()
                            ) == 1 &&
                            size == sig.size();
            return ok;
        };
        if (!one_shot()) {
            // OpenSSL 3.0 (Debian 12) signs again with a used context as it is; later versions
            // refuse a second one-shot signature until the context is re-initialised (cheap,
            // but a few percent of a signature). Learn which once and remember it.
            ERR_clear_error();
            reinit_.store(true, std::memory_order_relaxed);
            if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, nullptr) != 1 ||
                !one_shot()) {
                return crypto_error("ed25519_sign");
            }
        }
        idle_md_.give(std::move(ctx));
        return sig;
    }

    // RFC 6376 §3.3.1: RSASSA-PKCS1-v1_5 with SHA-256; OpenSSL adds the DigestInfo once it
    // knows the digest algorithm.
    Result<std::string> sign_rsa(EVP_PKEY* key, const Sha256Digest& digest) {
        PkeyCtxPtr ctx = idle_pkey_.take();
        if (!ctx) {
            ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
            if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
                EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
                EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1) {
                return crypto_error("rsa_sign");
            }
        }
        std::size_t size = static_cast<std::size_t>(std::max(EVP_PKEY_get_size(key), 0));
        std::string sig(size, '\0');
        if (EVP_PKEY_sign(
                ctx.get(),
                reinterpret_cast<unsigned char*>(sig.data()),
                &size,
                digest.data(),
                digest.size()
            ) != 1) {
            return crypto_error("rsa_sign");
        }
        sig.resize(size);
        idle_pkey_.give(std::move(ctx));
        return sig;
    }

    KeyAlgorithm algorithm_;
    std::atomic<bool> reinit_{false};
    Idle<MdCtxPtr> idle_md_;      // Ed25519
    Idle<PkeyCtxPtr> idle_pkey_;  // RSA
};

// ------------------------------------------------------------------------------------ PrivateKey

PrivateKey::PrivateKey(detail::PkeyPtr key, KeyAlgorithm algorithm)
    : key_(std::move(key)),
      algorithm_(algorithm),
      contexts_(std::make_shared<detail::SigningContexts>(algorithm)) {}

Result<PrivateKey> PrivateKey::generate(KeyAlgorithm algorithm, unsigned rsa_bits) {
    EVP_PKEY* raw = nullptr;
    if (algorithm == KeyAlgorithm::Rsa) {
        if (rsa_bits < kMinRsaBits || rsa_bits > kMaxRsaBits) {
            return make_error_code(Errc::UnsupportedKey);
        }
        raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(rsa_bits));
    } else {
        raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    }
    if (raw == nullptr) {
        return crypto_error("keygen");
    }
    return PrivateKey(detail::PkeyPtr(raw), algorithm);
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        return crypto_error("bio");
    }
    detail::PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
        ERR_clear_error();
        return make_error_code(Errc::BadKey);
    }
    const auto algorithm = algorithm_of(key.get());
    if (!algorithm) {
        return make_error_code(Errc::UnsupportedKey);
    }
    if (*algorithm == KeyAlgorithm::Rsa &&
        EVP_PKEY_get_bits(key.get()) < static_cast<int>(kMinRsaBits)) {
        return make_error_code(Errc::UnsupportedKey);
    }
    return PrivateKey(std::move(key), *algorithm);
}

Result<PrivateKey> PrivateKey::load(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::filesystem::exists(path) ? core::last_os_error()
                                             : make_error_code(core::Errc::NotFound);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return from_pem(text.str());
}

std::string PrivateKey::to_pem() const {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
            1) {
        ERR_clear_error();
        return {};
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<std::size_t>(size)};
}

Status PrivateKey::save(const std::filesystem::path& path) const {
    const std::string pem = to_pem();
    if (pem.empty()) {
        return crypto_error("pem_write");
    }
    // Write a temporary file (0600 from the start: the key is never readable by others), fsync,
    // then link() it to the final name, which fails instead of replacing an existing key.
    auto tmp = path;
    tmp += ".tmp";
    std::filesystem::remove(tmp);  // a leftover of a crash; never a live key
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return core::last_os_error();
    }
    auto written = write_all(fd, pem);
    if (written && ::fsync(fd) != 0) {
        written = core::last_os_error();
    }
    ::close(fd);
    if (written && ::link(tmp.c_str(), path.c_str()) != 0) {
        written = errno == EEXIST ? make_error_code(core::Errc::Exists) : core::last_os_error();
    }
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    if (!written) {
        return written;
    }
    const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    return {};
}

unsigned PrivateKey::bits() const noexcept {
    return static_cast<unsigned>(EVP_PKEY_get_bits(key_.get()));
}

std::string PrivateKey::public_key_base64() const {
    if (algorithm_ == KeyAlgorithm::Ed25519) {
        // RFC 8463 §4.2: "the public key data in the p= tag is the base64 encoding of the
        // 32-octet Ed25519 public key" (not an SPKI).
        std::array<std::uint8_t, 32> raw{};
        std::size_t size = raw.size();
        if (EVP_PKEY_get_raw_public_key(key_.get(), raw.data(), &size) != 1 || size != raw.size()) {
            ERR_clear_error();
            return {};
        }
        return base64_encode(raw);
    }
    unsigned char* der = nullptr;
    const int size = i2d_PUBKEY(key_.get(), &der);
    if (size <= 0) {
        ERR_clear_error();
        return {};
    }
    std::string out =
        base64_encode(std::span<const std::uint8_t>(der, static_cast<std::size_t>(size)));
    OPENSSL_free(der);
    return out;
}

std::string PrivateKey::dns_record() const {
    // RFC 6376 §3.6.1; v= first when present (it is optional, but some checkers want it).
    return "v=DKIM1; k=" + std::string(to_string(algorithm_)) + "; p=" + public_key_base64();
}

Result<std::string> PrivateKey::sign_digest(const Sha256Digest& digest) const {
    return contexts_->sign(key_.get(), digest);
}

// ------------------------------------------------------------------------------------- PublicKey

Result<PublicKey> PublicKey::from_base64(KeyAlgorithm algorithm, std::string_view p) {
    // A 4096-bit RSA SubjectPublicKeyInfo is 736 base64 characters; longer p= values (padded with
    // FWS, or keys no one should use) are decoded every time rather than held in memory.
    constexpr std::size_t kMaxCachedText = 4096;
    if (p.size() > kMaxCachedText) {
        return decode(algorithm, p);
    }
    std::string id = std::string(to_string(algorithm)) + ':';
    id += p;
    if (auto cached = public_key_cache().find(id)) {
        return PublicKey(std::move(cached), algorithm);
    }
    auto key = decode(algorithm, p);
    if (key) {
        public_key_cache().insert(std::move(id), key->key_);
    }
    return key;
}

Result<PublicKey> PublicKey::decode(KeyAlgorithm algorithm, std::string_view p) {
    const auto der = base64_decode(strip_fws(p));
    if (!der || der->empty()) {
        return make_error_code(Errc::BadKey);
    }
    if (algorithm == KeyAlgorithm::Ed25519) {
        if (der->size() != 32) {
            return make_error_code(Errc::BadKey);
        }
        detail::PkeyPtr key(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, der->data(), der->size())
        );
        if (!key) {
            ERR_clear_error();
            return make_error_code(Errc::BadKey);
        }
        return PublicKey(std::move(key), algorithm);
    }
    const unsigned char* in = der->data();
    detail::PkeyPtr key(d2i_PUBKEY(nullptr, &in, static_cast<long>(der->size())));
    if (!key) {
        in = der->data();
        key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &in, static_cast<long>(der->size())));
    }
    ERR_clear_error();
    if (!key || algorithm_of(key.get()) != KeyAlgorithm::Rsa) {
        return make_error_code(Errc::BadKey);
    }
    if (EVP_PKEY_get_bits(key.get()) < static_cast<int>(kMinRsaBits)) {
        return make_error_code(Errc::UnsupportedKey);  // RFC 8301 §3.2
    }
    return PublicKey(std::move(key), algorithm);
}

Result<PublicKey> PublicKey::from_record(std::string_view record) {
    const auto tags = TagList::parse(record);
    if (!tags.ok()) {
        return make_error_code(Errc::BadKey);
    }
    // RFC 6376 §3.6.1: v= "MUST be the first tag in the record" when present.
    if (const auto v = tags.find("v"); v && (*v != "DKIM1" || tags[0].name != "v")) {
        return make_error_code(Errc::BadKey);
    }
    const auto k = tags.find("k").value_or("rsa");
    const auto algorithm = key_algorithm_from_string(k);
    if (!algorithm) {
        return make_error_code(Errc::UnsupportedKey);
    }
    const auto p = tags.find("p");
    if (!p) {
        return make_error_code(Errc::BadKey);  // p= is required; empty means revoked
    }
    return from_base64(*algorithm, *p);
}

bool PublicKey::verify_digest(const Sha256Digest& digest, std::span<const std::uint8_t> sig)
    const noexcept {
    if (algorithm_ == KeyAlgorithm::Rsa) {
        EVP_PKEY_CTX* ctx = rsa_verify_ctx(key_.get());
        const bool ok =
            ctx != nullptr &&
            EVP_PKEY_verify(ctx, sig.data(), sig.size(), digest.data(), digest.size()) == 1;
        ERR_clear_error();
        return ok;
    }
    MdCtxPtr ctx(EVP_MD_CTX_new());
    const bool ok =
        ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), digest.data(), digest.size()) == 1;
    ERR_clear_error();
    return ok;
}

}  // namespace sov::mailauth
