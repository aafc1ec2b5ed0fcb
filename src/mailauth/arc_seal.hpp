#pragma once
// ARC sealing (RFC 8617 §5.1): the next ARC set (AAR, AMS, AS) for a message we forward or
// modify (aliases forwarding outside, mailing-list rewrites), signed with our DKIM keys.
//
// Choices (docs/arc.md):
// - AMS h=: the fields DKIM signing would sign (kSignedFields), not oversigned (a later hop
//   only needs our AMS for header.oldest-pass), plus every DKIM-Signature (§4.1.2 SHOULD).
//   ARC fields and Authentication-Results are never signed (§4.1.2 MUST NOT).
// - c=relaxed/relaxed, as for DKIM; the AS is always relaxed (§4.1.3).
// - Tags in RFC order (i= first, §4.1.2/§4.1.3 ABNF, b= last), or alphabetically as the
//   ValiMail signing suite standardises them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "mailauth/arc_headers.hpp"
#include "mailauth/dkim_canon.hpp"
#include "mailauth/dkim_sign.hpp"

namespace sov::mailauth {

enum class ArcTagOrder {
    Rfc,           // i=, a=, ..., b= last
    Alphabetical,  // a=, b=, bh=, c=, ... (the test suite's canonical form)
};

struct ArcSealRequest {
    std::string domain;  // d= of the AMS and AS (canonical A-labels)
    SigningKey key;      // s= and the private key (rsa-sha256 or ed25519-sha256)
    /// The AAR payload (§4.1.1 authres-payload): our Authentication-Results value, authserv-id
    /// first ("mx.example.org; spf=pass ...; arc=pass"). Folding (CRLF + WSP) is kept; a CR or
    /// LF that is not a fold is refused (Errc::BadMessage).
    std::string authentication_results;
    /// The Chain Validation Status verify_arc found on the message as we received it.
    ArcCv chain = ArcCv::None;
    /// t= (Unix seconds); core::now() when unset.
    std::optional<std::int64_t> timestamp{};
    /// AMS h=; empty: arc_signed_header_names(). ARC fields and Authentication-Results are
    /// dropped from it (§4.1.2).
    std::vector<std::string> signed_headers{};
    Canon header_canon = Canon::Relaxed;
    Canon body_canon = Canon::Relaxed;
    ArcTagOrder tag_order = ArcTagOrder::Rfc;
    std::size_t fold_column = 78;
    /// Fold inside b= values too. Either way verifies (the AS covers the AMS as written), but
    /// the ValiMail suite's expected seals were computed over AMS fields whose b= holds no FWS.
    bool fold_signatures = true;
};

/// The default AMS h= list for a header (see the file comment). Lowercase names.
[[nodiscard]] std::vector<std::string> arc_signed_header_names(
    const std::vector<HeaderField>& fields
);

/// The three fields of the next ARC set, "ARC-Seal: ...\r\nARC-Message-Signature: ...\r\n
/// ARC-Authentication-Results: ...\r\n", to prepend to `message` (full message, CRLF line ends).
/// An empty string when no set may be added: the newest ARC-Seal already says cv=fail (§5.1
/// step 2), or the chain holds 50 sets (§4.2.1). With request.chain == Fail the AS covers only
/// the new set (§5.1.2). Errc::BadMessage: the header does not split, request.chain contradicts
/// the chain (pass without a valid chain, none with ARC fields present), or the AAR payload is
/// unusable.
Result<std::string> arc_seal(std::string_view message, const ArcSealRequest& request);

/// The key a forwarder seals with among a hosted domain's DKIM keys: the rsa-sha256 one when
/// there is one (RFC 8617 §4.1.3 takes DKIM's algorithms, but rsa-sha256 is the one every
/// deployed ARC verifier accepts; an ed25519 seal would break the chain for the others), else
/// the first. Null when the signer has no keys.
[[nodiscard]] const SigningKey* arc_signing_key(const Signer& signer) noexcept;

/// The AAR payload built from the message's Authentication-Results fields of `authserv_id`, in
/// message order, one result per line (the test suite's "AR consolidation"): "id; r1;\r\n r2".
/// Empty when there are none.
[[nodiscard]] std::string merge_authentication_results(
    std::string_view message, std::string_view authserv_id
);

}  // namespace sov::mailauth
