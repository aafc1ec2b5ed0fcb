#pragma once
// DKIM verification (RFC 6376 §6, RFC 8463, RFC 8301): one verdict per DKIM-Signature field.
//
// Three steps, so that the CPU work can leave the I/O thread:
//   1. dkim_key_requests(message)      — parse the signatures; which keys are needed (no I/O)
//   2. fetch_dkim_keys(dns, requests)  — the DNS lookups (awaitable)
//   3. verify_dkim_with_keys(...)      — hashing and signature checks (pure, CPU-bound)
// verify_dkim() chains the three on the calling executor.
//
// Verdicts (RFC 8601 §2.7.1 keywords; docs/dkim.md "Verification"):
//   pass       the signature verified
//   fail       body hash or signature did not verify (§6.1.3)
//   policy     recognised but refused by local policy: rsa-sha1 and RSA keys under 1024 bits
//              (RFC 8301), l= leaving content unsigned when not accepted, over max_signatures
//   temperror  the key lookup failed temporarily (§6.1.2 TEMPFAIL)
//   permerror  every other PERMFAIL of §6.1.1/§6.1.2: syntax, missing tag, version, From not
//              signed, domain mismatch, expired, no key, revoked key, key syntax, wrong key type
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "mailauth/dkim_key_record.hpp"
#include "mailauth/dns_source.hpp"

namespace sov::mailauth {

enum class DkimResult {
    None,  // not produced per signature: the lead's A-R header uses it for "no signature"
    Pass,
    Fail,
    Policy,
    Neutral,  // not produced by this verifier; kept for RFC 8601 completeness
    TempError,
    PermError,
};

/// The RFC 8601 result keyword ("pass", "permerror", ...).
[[nodiscard]] std::string_view to_string(DkimResult result) noexcept;

struct DkimVerdict {
    DkimResult result = DkimResult::PermError;
    std::string domain;     // d= (lowercase); may be empty when the signature does not parse
    std::string selector;   // s=
    std::string identity;   // i= (decoded), or "@" + d=
    std::string algorithm;  // a= as recognised ("rsa-sha256"), empty when unknown
    std::string b_prefix;   // the first characters of b= for header.b (RFC 6008 §4)
    std::string reason;     // short printable ASCII; empty for pass
    bool testing = false;   // the key record has t=y (§3.6.1): the domain is testing DKIM
    std::optional<std::uint64_t> body_length;  // l= when present
};

struct DkimVerifyOptions {
    /// Signatures after this many get DkimResult::Policy without any work (§6.1: verifiers
    /// SHOULD limit the number they attempt, each costs a DNS query and a public-key operation).
    std::size_t max_signatures = 10;
    /// Legacy mode (conformance tests of pre-RFC 8301 vectors only): verify rsa-sha1 instead
    /// of reporting it as policy. Not RFC 8301 conformant; never set in the server.
    bool allow_sha1 = false;
    /// Legacy mode as above: the smallest RSA key accepted. RFC 8301 §3.2 sets 1024.
    unsigned min_rsa_bits = 1024;
    /// The time x= is compared with (§3.5, §6.1.1). A default-constructed value means
    /// core::now(); tests of old vectors pass the time the vectors were verified at.
    std::chrono::system_clock::time_point now{};
    /// Accept l= signatures that leave part of the body unsigned. When false they get
    /// DkimResult::Policy ("unsigned content", §6.1.3 allows treating them as invalid); an l=
    /// that covers the whole body is accepted either way.
    bool accept_body_length = true;
    /// Characters of b= in DkimVerdict::b_prefix (RFC 6008 §4 asks for at least 8).
    std::size_t b_prefix_length = 12;
};

struct DkimKeyRequest {
    std::string selector;
    std::string domain;
    friend bool operator==(const DkimKeyRequest&, const DkimKeyRequest&) = default;
};

/// Step 1: the key records the message's signatures need, without duplicates, in message
/// order. Signatures that fail before a key is needed (syntax, rsa-sha1, expired) need none.
[[nodiscard]] std::vector<DkimKeyRequest> dkim_key_requests(
    std::string_view message, const DkimVerifyOptions& options = {}
);

/// Step 2: fetch_key for each request; the result has the requests' order.
boost::asio::awaitable<std::vector<KeyLookup>> fetch_dkim_keys(
    DnsSource& dns, std::vector<DkimKeyRequest> requests
);

/// Step 3: the verdicts, given `keys[i]` for `requests[i]` (a request missing from the list is
/// a temperror). Pure: no I/O, no clock unless options.now is unset. The body is hashed once
/// per (body canonicalisation, l=) pair.
[[nodiscard]] std::vector<DkimVerdict> verify_dkim_with_keys(
    std::string_view message,
    const std::vector<DkimKeyRequest>& requests,
    const std::vector<KeyLookup>& keys,
    const DkimVerifyOptions& options = {}
);

/// All three steps: one verdict per DKIM-Signature field, in message order (none for an
/// unsigned message). `message` is the whole message with CRLF line ends; the caller keeps it
/// alive until the coroutine completes.
boost::asio::awaitable<std::vector<DkimVerdict>> verify_dkim(
    DnsSource& dns, std::string_view message, DkimVerifyOptions options = {}
);

}  // namespace sov::mailauth
