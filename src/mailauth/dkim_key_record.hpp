#pragma once
// The DKIM key record (RFC 6376 §3.6.1, RFC 8463 §4, RFC 8301) and its lookup at
// <selector>._domainkey.<domain> (§3.6.2). Shared by DKIM verification and ARC (RFC 8617 §5.1.1:
// ARC-Seal and ARC-Message-Signature keys are DKIM key records).
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "mailauth/dkim_key.hpp"
#include "mailauth/dns_source.hpp"

namespace sov::mailauth {

struct KeyRecord {
    KeyAlgorithm algorithm = KeyAlgorithm::Rsa;
    PublicKey key;                 // present: a revoked record (empty p=) is KeyStatus::Revoked
    bool testing = false;          // t=y: the domain is testing DKIM (§3.6.1)
    bool strict_identity = false;  // t=s: the i= domain must equal d=, no subdomains
};

enum class KeyStatus {
    Ok,
    NoKey,         // NXDOMAIN or no TXT record: PERMFAIL "no key for signature" (§6.1.2)
    TempFail,      // the lookup failed (timeout, SERVFAIL, bogus DNSSEC): TEMPFAIL (§6.1.2)
    Syntax,        // the record is not a valid key record: PERMFAIL "key syntax error"
    Revoked,       // p= is empty (§3.6.1): PERMFAIL "key revoked"
    Inapplicable,  // h= excludes sha256, s= excludes email, k= unknown, RSA under 1024 bits
};

[[nodiscard]] std::string_view to_string(KeyStatus status) noexcept;

struct KeyLookup {
    KeyStatus status = KeyStatus::NoKey;
    std::optional<KeyRecord> record;  // set when status == Ok
    std::string detail;               // human-readable reason, for Authentication-Results
    /// Inapplicable only because the RSA key is under kMinRsaBits (RFC 8301 §3.2): reported as a
    /// local-policy refusal rather than a broken record.
    bool weak_key = false;
    /// The p= value without FWS, set when status == Ok and for a weak_key: what a legacy
    /// verification (rsa-sha1, short keys; DkimVerifyOptions) needs, as PublicKey refuses both.
    std::string key_data;
    /// The t= flags again, set with key_data (a weak key has no KeyRecord to carry them).
    bool testing = false;
    bool strict_identity = false;
};

/// Parses one TXT record as a key record (tag list per §3.2; v= must be first if present and
/// must be "DKIM1"; unknown tags ignored).
[[nodiscard]] KeyLookup parse_key_record(std::string_view txt);

/// Looks up <selector>._domainkey.<domain> and parses the answer. With several TXT records, the
/// first that parses as a key record wins (§3.6.2.2 leaves the choice to the verifier).
/// Selector and domain must be syntactically valid DNS labels/names (checked: a bad one is
/// KeyStatus::Syntax without a query).
boost::asio::awaitable<KeyLookup> fetch_key(
    DnsSource& dns, std::string selector, std::string domain
);

}  // namespace sov::mailauth
