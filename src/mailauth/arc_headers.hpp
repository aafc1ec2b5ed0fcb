#pragma once
// The three ARC header fields (RFC 8617 §4.1) and the ARC sets of a message (§4.2), parsed into
// views of the message. Sans-I/O and noexcept: verification (arc_verify) and sealing (arc_seal)
// are built on these, and the parsers are fuzzed (arc_headers_fuzz).
//
// Tag order: the ABNF of §4.1.2/§4.1.3 puts the instance tag first, but AMS and AS values are
// DKIM tag-lists (RFC 6376 §3.2), where order carries no meaning, and deployed sealers (and the
// ValiMail test suite) write i= anywhere. We accept i= anywhere in AMS and AS; in the AAR the
// rest of the value is not a tag-list, so there i= must come first, followed by ';' (§4.1.1).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailauth/dkim_canon.hpp"
#include "mailauth/dkim_key.hpp"
#include "mailauth/dkim_tags.hpp"

namespace sov::mailauth {

/// §4.2.1: instance values range from 1 to 50.
inline constexpr int kMaxArcInstance = 50;
/// An ARC field larger than this is hostile: a 4096-bit b= and a long h= stay under 4 KiB; an
/// AAR carries the results of one ADMD.
inline constexpr std::size_t kMaxArcFieldOctets = 16384;

inline constexpr std::string_view kArcSealName = "ARC-Seal";
inline constexpr std::string_view kArcMessageSignatureName = "ARC-Message-Signature";
inline constexpr std::string_view kArcAuthenticationResultsName = "ARC-Authentication-Results";

enum class ArcFieldKind {
    AuthenticationResults,  // AAR, §4.1.1
    MessageSignature,       // AMS, §4.1.2
    Seal,                   // AS, §4.1.3
};

/// The kind of a header field by its name (case-insensitive), or nullopt for a non-ARC field.
[[nodiscard]] std::optional<ArcFieldKind> arc_field_kind(std::string_view name) noexcept;

/// The Chain Validation Status (§4.4), also the value of the AS cv= tag.
enum class ArcCv {
    None,
    Pass,
    Fail,
};

/// "none" / "pass" / "fail": the RFC 8601 result keyword of method "arc" (§6).
[[nodiscard]] std::string_view to_string(ArcCv cv) noexcept;

enum class ArcFieldStatus {
    Ok,
    TooLong,
    NotArcField,       // the name is not the expected ARC field
    Syntax,            // the value is not a tag-list (AAR: no "i=N;" prefix)
    DuplicateTag,      // RFC 6376 §3.2: the whole tag-list is invalid
    BadInstance,       // i= missing, not 1*2DIGIT, or outside 1..50 (§4.2.1)
    MissingTag,        // a required tag is absent
    BadValue,          // a tag value that is not in its grammar
    UnknownAlgorithm,  // a= other than rsa-sha256 / ed25519-sha256 (rsa-sha1: RFC 8301 §3.1)
    ForbiddenTag,      // h= in an AS (§4.1.3); arc-seal in an AMS h= (§4.1.2)
};

[[nodiscard]] std::string_view to_string(ArcFieldStatus status) noexcept;

/// ARC-Authentication-Results: "i=N; authres-payload" (§4.1.1).
struct ArcAuthenticationResults {
    ArcFieldStatus status = ArcFieldStatus::Syntax;
    int instance = 0;
    std::string_view authserv_id;  // the first token of the payload (RFC 8601 §2.2)
    std::string_view payload;      // everything after "i=N;", leading FWS removed
};

/// ARC-Message-Signature (§4.1.2): DKIM-Signature tags, i= instead of the AUID, no v=.
struct ArcMessageSignature {
    ArcFieldStatus status = ArcFieldStatus::Syntax;
    std::string_view detail;  // the tag at fault, for reasons
    int instance = 0;
    KeyAlgorithm algorithm = KeyAlgorithm::Rsa;
    std::string_view signature;          // b=, FWS not yet removed
    std::string_view body_hash;          // bh=, FWS not yet removed
    Canon header_canon = Canon::Simple;  // c= default "simple/simple" (RFC 6376 §3.5)
    Canon body_canon = Canon::Simple;
    std::string_view domain;                       // d=
    std::string_view selector;                     // s=
    std::vector<std::string_view> signed_headers;  // h=, names as written, empty entries dropped
    std::optional<std::uint64_t> timestamp;        // t=
    std::optional<std::uint64_t> expiration;       // x=
    std::optional<std::uint64_t> body_length;      // l=
};

/// ARC-Seal (§4.1.3): tags i, a, b, cv, d, s, t; h= forbidden.
struct ArcSeal {
    ArcFieldStatus status = ArcFieldStatus::Syntax;
    std::string_view detail;
    int instance = 0;
    KeyAlgorithm algorithm = KeyAlgorithm::Rsa;
    std::string_view signature;  // b=
    ArcCv cv = ArcCv::None;
    std::string_view domain;
    std::string_view selector;
    std::optional<std::uint64_t> timestamp;
};

/// The parsers take the whole raw field ("Name: value", as split_message returns it); the views
/// in the result point into it.
[[nodiscard]] ArcAuthenticationResults parse_arc_authentication_results(std::string_view raw_field
) noexcept;
[[nodiscard]] ArcMessageSignature parse_arc_message_signature(std::string_view raw_field) noexcept;
[[nodiscard]] ArcSeal parse_arc_seal(std::string_view raw_field) noexcept;

/// The instance of any ARC field, for collecting sets before the full parse; nullopt when the
/// i= tag is missing or invalid.
[[nodiscard]] std::optional<int> arc_instance(
    ArcFieldKind kind, std::string_view raw_field
) noexcept;

// The b= blanking that AMS and AS hashing needs (RFC 6376 §3.7) is remove_b_value() of
// dkim_signature.hpp.

/// One ARC set (§4.2): the three fields of one instance, as they appear in the message.
struct ArcSetFields {
    HeaderField aar;
    HeaderField ams;
    HeaderField seal;
};

/// The ARC sets of a message (§5.2 steps 1 and 3, structure only: no tag beyond i= is read).
struct ArcChain {
    enum class Status {
        None,            // no ARC field at all: cv=none
        Ok,              // sets 1..N, one of each field per instance
        TooManyFields,   // more ARC fields than 50 sets can hold
        BadInstance,     // an ARC field whose i= is missing or invalid
        TooManySets,     // an instance above 50 (§5.2 step 1)
        DuplicateField,  // two fields of one kind for one instance (§4.2.1, §5.2 3.A)
        MissingField,    // an instance without one of the three fields (§5.2 3.A)
        Gap,             // instances not 1..N without gaps (§5.2 3.B)
    };
    Status status = Status::None;
    int max_instance = 0;                    // N: the highest instance seen (even when not Ok)
    std::optional<HeaderField> latest_seal;  // the AS of instance N if there is exactly one
    std::vector<ArcSetFields> sets;          // when Ok: sets[k] is instance k + 1
};

[[nodiscard]] std::string_view to_string(ArcChain::Status status) noexcept;

/// Collects the ARC sets from the fields of a split message.
[[nodiscard]] ArcChain collect_arc_chain(const std::vector<HeaderField>& fields) noexcept;

/// A d= or s= value: dot-separated labels of letters, digits, '-', '_' (or UTF-8, §4.1.4),
/// each 1..63 octets, 253 in all.
[[nodiscard]] bool is_arc_domain(std::string_view name) noexcept;

}  // namespace sov::mailauth
