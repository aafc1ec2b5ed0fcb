#pragma once
// Error codes of the TLS policy module (MTA-STS, TLS-RPT, later DANE). A record or policy that
// fails to parse means "the domain has no usable policy" to the caller (RFC 8461 §3.1, RFC 8460
// §3); the codes say why, for logs and for TLS-RPT's "sts-policy-invalid".
#include <system_error>

namespace sov::tls {

enum class Errc {
    Ok = 0,
    NoRecord,         // no TXT record starts with the version tag: no policy published
    MultipleRecords,  // several TXT records start with it: treated as no policy
    Syntax,           // a TXT record, policy line or URI does not match its ABNF
    BadVersion,       // the version is not first (TXT records) or not the supported one
    MissingField,     // a required field (id, rua, mode, max_age, mx, ...) is absent
    BadMode,          // MTA-STS "mode" is not enforce, testing or none
    BadMaxAge,        // MTA-STS "max_age" is not 1*10DIGIT or exceeds 31557600
    BadMx,            // an MTA-STS "mx" pattern is not ["*."] Domain
    BadUri,           // a TLS-RPT "rua" URI is malformed
    NoSupportedUri,   // no "rua" URI uses a supported scheme (mailto, https)
    TooLarge,         // the input exceeds the size limit
    BadJson,          // a report is not well-formed I-JSON, or nests too deeply
    BadReport,        // a report is valid JSON but does not match the RFC 8460 §4.4 schema
    BadGzip,          // corrupt or truncated gzip data
    OutputTooLarge,   // decompression would exceed the caller's bound (a gzip bomb)
    Invalid,          // an argument from our own code cannot be rendered (filename, subject)
    // MTA-STS policy fetching (RFC 8461 §3.3) and caching:
    FetchFailed,         // no address, connection refused, TLS or HTTP protocol error
    FetchTimeout,        // the fetch did not finish within its deadline
    CertificateInvalid,  // the Policy Host's certificate fails PKIX validation (§3.3)
    BadStatus,           // HTTP status other than 200; 3xx redirects are not followed (§3.3)
    BadContentType,      // the media type is not text/plain (§3.2)
    CacheFailed,         // the policy cache database cannot be read or written
};

const std::error_category& tls_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), tls_category()};
}

}  // namespace sov::tls

template <>
struct std::is_error_code_enum<sov::tls::Errc> : std::true_type {};
