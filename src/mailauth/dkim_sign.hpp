#pragma once
// DKIM signing (RFC 6376 §5, RFC 8463): a Signer for one domain with one or two keys (rsa-sha256
// and ed25519-sha256, both by default), and a Keyring of every hosted domain's active keys.
//
// Choices (docs/dkim.md):
// - c=relaxed/relaxed: survives the header refolding and trailing-space changes of ordinary
//   relays; l= is never used (it lets anyone append to the body), x= only on request.
// - h= holds From and every field of kSignedFields present in the message, once per instance.
// - Oversigning: the fields of kOversignedFields (From, Reply-To, To, Cc, Subject, Date,
//   Message-ID) are listed once more than they occur, even when absent. RFC 5322 §3.6 allows
//   each at most once and they are what a reader sees, so a relay that adds a second From or
//   Subject, or a Reply-To or Cc that was not there, breaks the signature instead of
//   borrowing it (RFC 6376 §8.15). List-* and Content-* fields are signed but not oversigned:
//   mailing lists may legitimately add List-* fields (and their footers break the body anyway).
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "mailauth/dkim_canon.hpp"
#include "mailauth/dkim_key.hpp"

namespace sov::mailauth {

/// Header fields signed when present (RFC 6376 §5.4.1's list, plus List-* of RFC 2369/2919/8058).
inline constexpr std::string_view kSignedFields[] = {
    "from",
    "reply-to",
    "subject",
    "date",
    "to",
    "cc",
    "message-id",
    "in-reply-to",
    "references",
    "sender",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-id",
    "content-description",
    "resent-date",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-message-id",
    "list-id",
    "list-help",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
};

/// Listed once more than they occur (see above).
inline constexpr std::string_view kOversignedFields[] = {
    "from", "reply-to", "to", "cc", "subject", "date", "message-id"
};

struct SigningKey {
    std::string selector;
    PrivateKey key;
};

struct SignOptions {
    Canon header_canon = Canon::Relaxed;
    Canon body_canon = Canon::Relaxed;
    bool oversign = true;
    /// x= is t= plus this (RFC 6376 §3.5); no x= when unset.
    std::optional<std::chrono::seconds> expire_after;
    /// Column at which the field is folded (RFC 5322 §2.1.1 SHOULD: 78).
    std::size_t fold_column = 78;
};

/// The h= list for a header: see the file comment. Lowercase names.
[[nodiscard]] std::vector<std::string> signed_header_names(
    const std::vector<HeaderField>& fields, bool oversign
);
/// The same list appended to `out`, as views of kSignedFields (no allocation once `out` has room).
void append_signed_header_names(
    std::span<const HeaderField> fields, bool oversign, std::vector<std::string_view>& out
);

class Signer {
public:
    /// `domain`: the d= value, canonical A-labels. `keys`: typically one RSA and one Ed25519.
    Signer(std::string domain, std::vector<SigningKey> keys, SignOptions options = {});

    /// The DKIM-Signature header fields to prepend to `message` (full message, CRLF line ends),
    /// one per key in key order, each ending with CRLF. The body is hashed once for all keys.
    /// Errc::NoFromField without a From field, Errc::BadMessage for a header that does not split.
    Result<std::string> sign(std::string_view message) const;

    [[nodiscard]] const std::string& domain() const noexcept { return domain_; }
    [[nodiscard]] const std::vector<SigningKey>& keys() const noexcept { return keys_; }

private:
    // Per key, prepared once: the folded start of the field (dkim_sign.cpp). Shared by copies
    // of the Signer; safe to use from many threads.
    struct KeyState;

    std::string domain_;
    std::vector<SigningKey> keys_;
    SignOptions options_;
    std::vector<std::shared_ptr<KeyState>> states_;  // one per key, same order
};

/// Every hosted domain's active keys, as the submission path signs with them ("signed once,
/// before queuing"). Immutable once loaded; reload by loading a new one.
class Keyring {
public:
    /// Loads the active selectors of every domain under `dkim_dir` (<data>/keys/dkim). A domain
    /// whose state or keys cannot be read is logged and left out (its mail goes unsigned rather
    /// than not at all); a missing `dkim_dir` is an empty keyring.
    static Result<Keyring> load(
        const std::filesystem::path& dkim_dir, const SignOptions& options = {}
    );

    void add(Signer signer);

    /// The DKIM-Signature fields for `domain` (canonical A-labels, any case), or an empty string
    /// when we hold no keys for it: not an error, the message just goes unsigned.
    Result<std::string> sign(std::string_view domain, std::string_view message) const;

    [[nodiscard]] bool has_domain(std::string_view domain) const;
    /// The signer of `domain` (any case), null when we hold no keys for it. Valid as long as
    /// the keyring (ARC sealing of forwarded mail reuses the domain's DKIM keys, RFC 8617 §4.1).
    [[nodiscard]] const Signer* find(std::string_view domain) const;
    [[nodiscard]] std::vector<std::string> domains() const;

private:
    std::map<std::string, Signer, std::less<>> signers_;
};

}  // namespace sov::mailauth
