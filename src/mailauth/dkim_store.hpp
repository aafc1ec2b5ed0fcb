#pragma once
// DKIM key storage and rotation under <data>/keys/dkim/<domain>/ (docs/dkim.md):
//   <selector>.pem   the private key, mode 0600
//   selectors        which selectors exist and their state, one per line:
//                    "<selector> <rsa|ed25519> <active|pending|retired> <created> <changed>"
//                    (Unix seconds), '#' comments; rewritten atomically (temp, fsync, rename).
// Selectors are "s<YYYYMMDD><letter>-rsa" / "-ed" (UTC date of creation; the letter tells apart
// several pairs made on one day), so `dig` output says how old a key is.
//
// Rotation (RFC 6376 §3.1 leaves it to the signer): create_pending() makes a new pair that is
// published but not used; promote_pending(), once DNS serves it, makes it active and retires the
// old pair, which stays published so mail signed just before the switch still verifies;
// forget_retired() removes it.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "mailauth/dkim_key.hpp"

namespace sov::mailauth {

enum class SelectorState {
    Active,   // signs mail, published
    Pending,  // published, not yet signing (rotation step 1)
    Retired,  // no longer signing, still published until forgotten
};

[[nodiscard]] std::string_view to_string(SelectorState state) noexcept;

struct SelectorEntry {
    std::string selector;
    KeyAlgorithm algorithm = KeyAlgorithm::Rsa;
    SelectorState state = SelectorState::Active;
    std::int64_t created = 0;  // Unix seconds
    std::int64_t changed = 0;  // last state change

    bool operator==(const SelectorEntry&) const = default;
};

/// A canonical host name we may use as a directory name: lowercase LDH labels of 1..63 octets
/// separated by single dots, no leading/trailing hyphen, at most 253 octets. Never "." or "..".
[[nodiscard]] bool is_canonical_domain(std::string_view domain) noexcept;
/// One lowercase LDH label (RFC 6376 §3.1: selectors are sub-domains); safe as a file name.
[[nodiscard]] bool is_valid_selector(std::string_view selector) noexcept;

[[nodiscard]] std::string format_selectors(
    std::string_view domain, const std::vector<SelectorEntry>& entries
);
/// Errc::CorruptState for a malformed line, an invalid selector or a duplicate.
Result<std::vector<SelectorEntry>> parse_selectors(std::string_view text);

struct KeyGenOptions {
    bool rsa = true;
    bool ed25519 = true;
    unsigned rsa_bits = kDefaultRsaBits;
};

class KeyStore {
public:
    /// The store of `domain` under `dkim_dir` (<data>/keys/dkim). Errc::BadDomain unless
    /// is_canonical_domain(domain). A domain without keys yet is an empty store.
    static Result<KeyStore> open(const std::filesystem::path& dkim_dir, std::string_view domain);

    [[nodiscard]] const std::string& domain() const noexcept { return domain_; }
    [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
    [[nodiscard]] const std::vector<SelectorEntry>& entries() const noexcept { return entries_; }
    [[nodiscard]] std::vector<SelectorEntry> with_state(SelectorState state) const;
    [[nodiscard]] std::filesystem::path key_path(const SelectorEntry& entry) const;
    Result<PrivateKey> load_key(const SelectorEntry& entry) const;

    /// `dkim keygen`: the first keys, active at once. Errc::KeysExist if any selector exists.
    Result<std::vector<SelectorEntry>> create_initial(
        core::WallTime now, const KeyGenOptions& options
    );
    /// `dkim rotate`, step 1: a new pair in state pending. Errc::NoKeys without active keys,
    /// Errc::RotationPending when a pending pair already waits.
    Result<std::vector<SelectorEntry>> create_pending(
        core::WallTime now, const KeyGenOptions& options
    );
    /// Step 2: pending → active, active → retired. Errc::NoKeys when nothing is pending.
    Status promote_pending(core::WallTime now);
    /// Deletes the retired selectors and their key files; returns what was removed.
    Result<std::vector<SelectorEntry>> forget_retired();

private:
    KeyStore(std::filesystem::path dir, std::string domain)
        : dir_(std::move(dir)), domain_(std::move(domain)) {}

    Result<std::vector<SelectorEntry>> create_pair(
        core::WallTime now, SelectorState state, const KeyGenOptions& options
    );
    Status save_state() const;

    std::filesystem::path dir_;
    std::string domain_;
    std::vector<SelectorEntry> entries_;
};

}  // namespace sov::mailauth
