#pragma once
// The "_smtp._tls" TXT record of SMTP TLS Reporting (RFC 8460 §3):
// `v=TLSRPTv1; rua=mailto:reports@example.com,https://reporting.example.com/v1/tlsrpt`.
// Pure parsing; the DNS lookup hands us the TXT strings, each record's strings already joined.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "tls/mta_sts_record.hpp"

namespace sov::tls {

/// §3: "Two URI schemes are supported: "mailto" and "https"."
enum class UriScheme {
    Mailto,
    Https,
};

struct ReportUri {
    UriScheme scheme = UriScheme::Mailto;
    std::string uri;  // as published, still percent-encoded
    bool operator==(const ReportUri&) const = default;
};

struct TlsRptRecord {
    std::vector<ReportUri> rua;        // in record order, never empty
    std::size_t unsupported_uris = 0;  // well-formed URIs with another scheme, skipped
    std::vector<RecordExtension> extensions;
    bool operator==(const TlsRptRecord&) const = default;
};

/// Parses one TXT record: case-sensitive `v=TLSRPTv1` first, then `;`-separated fields with the
/// same delimiter and extension rules as MTA-STS (see parse_sts_record(); whitespace after the
/// last field is accepted). `rua` is required and holds URIs separated by *WSP "," *WSP; each
/// must be an RFC 3986 URI without a literal "!" (§3: commas, "!" and ";" "MUST be encoded").
/// URIs of other schemes are skipped and counted; a record left with none is NoSupportedUri.
/// mailto: needs an address before any "?"; https: needs "//" and a host. A repeated rua keeps
/// its first value (RFC 8460 is silent; we follow RFC 8461 §3.2). Errors: BadVersion, Syntax,
/// MissingField, BadUri, NoSupportedUri.
[[nodiscard]] Result<TlsRptRecord> parse_tlsrpt_record(std::string_view txt) noexcept;

/// §3 discovery: records not starting with `v=TLSRPTv1` *WSP ";" are discarded; none left is
/// NoRecord, more than one MultipleRecords ("MUST assume the recipient domain does not implement
/// TLSRPT"); otherwise the one record is parsed.
[[nodiscard]] Result<TlsRptRecord> select_tlsrpt_record(const std::vector<std::string>& txts
) noexcept;

/// The recipients of a mailto: report URI, percent-decoded (RFC 6068 §2: to = addr-spec
/// *("%2C" addr-spec); header fields after "?" are dropped). Each must contain an "@" with text
/// on both sides and no CTL, space, "<", ">" or ","; otherwise BadUri.
[[nodiscard]] Result<std::vector<std::string>> mailto_recipients(const ReportUri& uri);

}  // namespace sov::tls
