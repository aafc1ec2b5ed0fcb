#pragma once
// The DKIM-Signature header field (RFC 6376 §3.5) as a verifier reads it: parsing and the
// validation of §6.1.1 (required tags, v=1, the i=/d= relationship, From signed, x= after t=).
// Sans-I/O, noexcept, bounded by SignatureLimits. Also the b= blanking of §3.7, which ARC reuses
// for ARC-Message-Signature and ARC-Seal (RFC 8617 §4.1.2, §4.1.3).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailauth/dkim_canon.hpp"
#include "mailauth/dkim_key.hpp"

namespace sov::mailauth {

/// The a= algorithms we recognise. RsaSha1 is parsed so that it can be reported as refused
/// (RFC 8301 §3.1: "Verifiers MUST NOT consider signatures using RSA SHA-1 to be valid").
enum class SignatureAlgorithm {
    RsaSha1,
    RsaSha256,
    Ed25519Sha256,
};

[[nodiscard]] std::string_view to_string(SignatureAlgorithm algorithm) noexcept;
/// The key type (k=) an algorithm needs.
[[nodiscard]] KeyAlgorithm key_algorithm_of(SignatureAlgorithm algorithm) noexcept;

struct DkimSignature {
    SignatureAlgorithm algorithm = SignatureAlgorithm::RsaSha256;
    std::vector<std::uint8_t> b;         // decoded signature
    std::string b_base64;                // b= with FWS removed (header.b of RFC 6008 uses a prefix)
    std::vector<std::uint8_t> bh;        // decoded body hash
    Canon header_canon = Canon::Simple;  // §3.5 c=: default simple/simple
    Canon body_canon = Canon::Simple;
    std::string domain;                        // d=, lowercased
    std::vector<std::string> headers;          // h=, names as written (compared case-insensitively)
    std::string identity;                      // i= as written, or "@" + d= when absent (§6.1.1)
    bool identity_given = false;               // i= was present
    std::string identity_domain;               // the domain part of the identity, lowercased
    std::optional<std::uint64_t> body_length;  // l=
    std::string selector;                      // s=
    std::optional<std::int64_t> timestamp;     // t=
    std::optional<std::int64_t> expiration;    // x=
    std::string copied_headers;                // z=, raw (diagnostics only)
    // Where the b= value lies in the parsed field value (offset, size), FWS included: the part
    // §3.7 deletes before hashing. Offsets are into the string given to parse_dkim_signature.
    std::size_t b_offset = 0;
    std::size_t b_size = 0;
};

enum class SignatureStatus {
    Ok,
    TooLong,              // over SignatureLimits::max_octets
    Syntax,               // not a tag-list, or a tag value that does not parse (§6.1.1)
    MissingTag,           // one of v a b bh d h s is absent (§6.1.1)
    IncompatibleVersion,  // v= is not "1" (§6.1.1)
    UnknownAlgorithm,     // a= is none of rsa-sha1, rsa-sha256, ed25519-sha256 (§3.5)
    UnknownCanon,         // c= names an unknown algorithm (§3.5)
    UnsupportedQuery,     // q= lists no "dns/txt" (§3.5, §6.1.2 step 1)
    FromNotSigned,        // h= lacks From (§6.1.1)
    DomainMismatch,       // the i= domain is not d= or a subdomain of it (§6.1.1)
    BadExpiration,        // x= is before t= (§3.5: "MUST be greater")
};

/// The RFC 6376 §6.1.1 wording ("signature syntax error", "From field not signed", ...).
[[nodiscard]] std::string_view to_string(SignatureStatus status) noexcept;

struct SignatureLimits {
    // Same bound as the tag-list: a 4096-bit b= and a long h= fit in 4 KiB.
    std::size_t max_octets = 16384;
    // h= entries: each costs a pass over the header fields when hashing.
    std::size_t max_headers = 256;
};

struct SignatureParse {
    SignatureStatus status = SignatureStatus::Syntax;
    std::string reason;  // short printable detail, e.g. "bad x= value"
    DkimSignature signature;
};

/// Parses and validates the *value* of a DKIM-Signature field (everything after the colon).
/// Unknown tags are ignored (§3.2); tag names are case-sensitive, values of a=, c=, q= are not.
[[nodiscard]] SignatureParse parse_dkim_signature(
    std::string_view value, const SignatureLimits& limits = {}
) noexcept;

/// The whole header field `raw_field` (name, colon, value, as HeaderField::raw) with the value
/// of its b= tag removed, surrounding whitespace included, and "b=" kept (RFC 6376 §3.7; RFC
/// 8617 §4.1.2 and §4.1.3 do the same for ARC-Message-Signature and ARC-Seal). A field without a
/// b= tag comes back unchanged. Only tag structure is looked at, so it works on any tag-list
/// field; a "bh=" tag is left alone.
[[nodiscard]] std::string remove_b_value(std::string_view raw_field);

}  // namespace sov::mailauth
