#pragma once
// SMTP TLS Reporting aggregate reports (RFC 8460 §4): the C++ model, JSON in both directions
// (Boost.JSON), gzip (§5.2), and the file name (§5.1) and Subject (§5.3) of a report mail.
// Pure: no I/O, no clock.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace sov::tls {

/// §4.4 "policy-type": "the only three valid choices are "tlsa", "sts", and the literal string
/// "no-policy-found"".
enum class PolicyType {
    Sts,
    Tlsa,
    NoPolicyFound,
};

/// §4.3 result types, the initial contents of the IANA registry of §6.6. The registry can grow
/// ("Expert Review"), so a received report may carry a type we do not know: Other, with the text
/// kept in FailureDetail::result_type_other.
enum class ResultType {
    StarttlsNotSupported,     // §4.3.1 negotiation failures
    CertificateHostMismatch,  //
    CertificateExpired,       //
    CertificateNotTrusted,    //
    ValidationFailure,        // §4.3.1/§4.3.3 general failure
    TlsaInvalid,              // §4.3.2.1 DANE
    DnssecInvalid,            //
    DaneRequired,             //
    StsPolicyFetchError,      // §4.3.2.2 MTA-STS
    StsPolicyInvalid,         //
    StsWebpkiInvalid,         //
    Other,                    // not in the RFC 8460 registry
};

[[nodiscard]] std::string_view to_string(PolicyType type) noexcept;
[[nodiscard]] std::optional<PolicyType> policy_type_from_string(std::string_view text) noexcept;
/// The registry string; Other gives "" (use FailureDetail::result_type_other).
[[nodiscard]] std::string_view to_string(ResultType type) noexcept;
/// Case-sensitive; nullopt for strings outside the registry (never returns Other).
[[nodiscard]] std::optional<ResultType> result_type_from_string(std::string_view text) noexcept;

using ReportTime = std::chrono::sys_seconds;

struct DateRange {
    ReportTime start{};  // "start-datetime"
    ReportTime end{};    // "end-datetime"
    bool operator==(const DateRange&) const = default;
};

struct AppliedPolicy {
    PolicyType type = PolicyType::NoPolicyFound;  // "policy-type"
    std::vector<std::string> policy_string;       // "policy-string", see §4.5 and to_lines()
    std::string policy_domain;                    // "policy-domain", A-labels
    std::vector<std::string> mx_host;             // "mx-host" patterns (sts)
    bool operator==(const AppliedPolicy&) const = default;
};

struct SessionSummary {
    std::uint64_t total_successful_session_count = 0;
    std::uint64_t total_failure_session_count = 0;
    bool operator==(const SessionSummary&) const = default;
};

/// One "failure-details" entry. Empty optional strings are omitted from the JSON.
struct FailureDetail {
    ResultType result_type = ResultType::ValidationFailure;
    std::string result_type_other;  // the "result-type" text when result_type is Other
    std::string sending_mta_ip;
    std::string receiving_mx_hostname;
    std::string receiving_mx_helo;  // optional
    std::string receiving_ip;       // optional (absent in one Appendix B entry)
    std::uint64_t failed_session_count = 0;
    std::string additional_information;  // optional URI
    std::string failure_reason_code;     // optional, e.g. "X509_V_ERR_CERT_HAS_EXPIRED"
    bool operator==(const FailureDetail&) const = default;
};

/// One element of "policies".
struct PolicyResult {
    AppliedPolicy policy;
    SessionSummary summary;
    std::vector<FailureDetail> failure_details;
    bool operator==(const PolicyResult&) const = default;
};

struct Report {
    std::string organization_name;
    DateRange date_range;
    std::string contact_info;  // addr-spec of the submitter
    std::string report_id;
    std::vector<PolicyResult> policies;
    bool operator==(const Report&) const = default;
};

/// Bound on a received report's JSON: §5.2 notes "a commonly observed receiver limit is ten
/// megabytes".
inline constexpr std::size_t kMaxReportBytes = std::size_t{10} * 1024 * 1024;
/// Bound on JSON nesting: a report needs 5 levels (report > policies > entry > failure-details
/// > entry); unknown extension fields get some room, recursion in the parser stays shallow.
inline constexpr std::size_t kMaxReportDepth = 16;

/// RFC 3339 §5.6 "Internet Date/Time Format" in UTC: "2016-04-01T00:00:00Z". Years must lie in
/// 0000..9999.
[[nodiscard]] std::string format_rfc3339(ReportTime t);
/// Parses an RFC 3339 §5.6 date-time: "T", "t" or (per the §5.6 note) a space between date and
/// time, optional fraction (truncated), "Z"/"z" or a numeric offset (converted to UTC), second
/// 60 accepted as a leap second (§5.7). The UTC result must lie in years 0000..9999.
[[nodiscard]] std::optional<ReportTime> parse_rfc3339(std::string_view text) noexcept;

/// The report as compact JSON with the field names and order of §4.4, date-times in UTC with
/// "Z", "mx-host" and "policy-string" always as arrays (the §4.4 prose; Appendix B shows a bare
/// string for "mx-host", which parse_report() also accepts).
[[nodiscard]] std::string to_json(const Report& report);

/// Parses a report we receive. Tolerant: unknown fields are ignored, "mx-host" may be a string
/// or an array, optional fields may be absent or null. Strict: every known field that is present
/// must have its schema type; counts must be non-negative JSON integers; date-times must be
/// RFC 3339; "policy-type" must be one of the three. Required: organization-name, date-range
/// (start-datetime, end-datetime), report-id, policies (array), and in each policy policy-type,
/// policy-domain and summary (both counts), and in each failure-details entry result-type and
/// failed-session-count. contact-info is optional (RFC 5322 addr-spec not checked). Duplicate
/// JSON keys (forbidden by I-JSON, RFC 7493 §2.3) keep the last value. Errors: TooLarge (>
/// kMaxReportBytes), BadJson (syntax, invalid UTF-8, depth > kMaxReportDepth), BadReport.
/// Not noexcept: a 10 MiB report may need a lot of memory, and bad_alloc should propagate.
[[nodiscard]] Result<Report> parse_report(std::string_view text);

/// gzip (RFC 1952) of `data` (§5.2 "The report SHOULD be subjected to gzip compression"). The
/// header carries no name and mtime 0, so the output is deterministic. Throws only bad_alloc.
[[nodiscard]] std::string gzip(std::string_view data);
/// Decompresses gzip data (one or more members, RFC 1952 §2.2). Fails with OutputTooLarge as soon
/// as the output would exceed `max_out` bytes, so a gzip bomb costs at most `max_out` memory;
/// BadGzip for corrupt, truncated or trailing data.
[[nodiscard]] Result<std::string> gunzip(std::string_view data, std::size_t max_out);

/// §5.1 file name: sender "!" policy-domain "!" begin "!" end ["!" unique-id] ".json[.gz]",
/// timestamps in Unix seconds. `sender` and `policy_domain` must be LDH domain names (A-labels),
/// `unique_id` empty or 1*(ALPHA / DIGIT), times not before 1970; else Invalid.
[[nodiscard]] Result<std::string> report_filename(
    std::string_view sender,
    std::string_view policy_domain,
    ReportTime begin,
    ReportTime end,
    std::string_view unique_id = {},
    bool compressed = true
);

/// §5.3 Subject, unfolded (the header writer folds it):
/// "Report Domain: <policy_domain> Submitter: <submitter> Report-ID: <id-left@id-right>".
/// A `report_id` without "@" (such as a UUID) becomes "<report_id@submitter>". Domains must be
/// LDH names, and the id dot-atom-text with at most one "@"; else Invalid.
[[nodiscard]] Result<std::string> report_subject(
    std::string_view policy_domain, std::string_view submitter, std::string_view report_id
);

}  // namespace sov::tls
