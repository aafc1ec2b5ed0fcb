#pragma once
// DMARC aggregate reports (RFC 9990; RFC 7489 §7.2 for the older format): the data model, the
// XML writer and reader, gzip/zip handling, extraction from a report email, the attachment file
// name and Subject (RFC 9990 §3.5.2), aggregation of per-message evaluation rows into records,
// and the external-destination check (RFC 9990 §4).
//
// The reader is the parser of untrusted input: libxml2 with no network, no DTD loading, no
// entity substitution, a size limit and a record-count limit. It accepts RFC 9990 documents
// (namespace urn:ietf:params:xml:ns:dmarc-2.0) and RFC 7489 ones (no namespace); RFC 7489 values
// that RFC 9990 dropped are mapped (reason "forwarded" -> trusted_forwarder, "sampled_out" ->
// other, SPF scope "helo" kept as SpfScope::Helo, "pct" kept in PolicyPublished::pct).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "core/result.hpp"

namespace sov::mailauth {

class DnsSource;

// ---- errors ---------------------------------------------------------------------------------

enum class ReportErrc {
    Ok = 0,
    TooLarge,        // input (or decompressed output) over the limit
    TooManyRecords,  // more <record> elements than ReportLimits::max_records
    NotXml,          // libxml2 could not build a tree even in recovery mode
    HasDtd,          // a DOCTYPE: reports never have one; refused (entity expansion attacks)
    NotFeedback,     // the root element is not <feedback> in no or the DMARC namespace
    MissingField,    // a field the report cannot do without (see read_aggregate_report)
    BadValue,        // a value outside its type (enumeration, integer, IP address)
    BadGzip,         // not gzip data, or truncated / corrupt
    BadZip,          // not a zip we read (one stored/deflated entry, no encryption, no zip64)
    NoReport,        // an email without a report attachment
};

const std::error_category& report_category() noexcept;

inline std::error_code make_error_code(ReportErrc e) noexcept {
    return {static_cast<int>(e), report_category()};
}

}  // namespace sov::mailauth

template <>
struct std::is_error_code_enum<sov::mailauth::ReportErrc> : std::true_type {};

namespace sov::mailauth {

// ---- data model (RFC 9990 §3.1.1, Appendix A) ------------------------------------------------

/// The "p", "sp" and "np" values (DispositionType).
enum class ReportPolicy {
    None,
    Quarantine,
    Reject
};
/// What was done to the messages (ActionDispositionType; "pass" is RFC 9990 only).
enum class ReportDisposition {
    None,
    Pass,
    Quarantine,
    Reject
};
enum class ReportAlignment {
    Relaxed,
    Strict
};
enum class DiscoveryMethod {
    Psl,
    Treewalk
};
/// Aligned DKIM / SPF result as it relates to DMARC (DMARCResultType).
enum class AlignedResult {
    Pass,
    Fail
};
/// PolicyOverrideType (RFC 9990 §3.1.6).
enum class OverrideType {
    LocalPolicy,
    MailingList,
    Other,
    PolicyTestMode,
    TrustedForwarder
};
/// RFC 8601 §2.7.1 DKIM results.
enum class ReportDkimResult {
    None,
    Pass,
    Fail,
    Policy,
    Neutral,
    TempError,
    PermError
};
/// RFC 8601 §2.7.2 SPF results (RFC 7489 reports: "softfail" and the rest alike).
enum class ReportSpfResult {
    None,
    Pass,
    Fail,
    SoftFail,
    Policy,
    Neutral,
    TempError,
    PermError
};
/// RFC 9990 knows only "mfrom"; RFC 7489 reports may say "helo".
enum class SpfScope {
    MailFrom,
    Helo
};

[[nodiscard]] std::string_view to_string(ReportPolicy v) noexcept;
[[nodiscard]] std::string_view to_string(ReportDisposition v) noexcept;
[[nodiscard]] std::string_view to_string(ReportAlignment v) noexcept;
[[nodiscard]] std::string_view to_string(DiscoveryMethod v) noexcept;
[[nodiscard]] std::string_view to_string(AlignedResult v) noexcept;
[[nodiscard]] std::string_view to_string(OverrideType v) noexcept;
[[nodiscard]] std::string_view to_string(ReportDkimResult v) noexcept;
[[nodiscard]] std::string_view to_string(ReportSpfResult v) noexcept;
[[nodiscard]] std::string_view to_string(SpfScope v) noexcept;

struct DateRange {
    std::int64_t begin = 0;  // seconds since the epoch, UTC (§3.1.1.4)
    std::int64_t end = 0;
    bool operator==(const DateRange&) const = default;
};

struct ReportMetadata {
    std::string org_name;
    std::string email;
    std::optional<std::string> extra_contact_info;
    std::string report_id;  // §3.5.1
    DateRange date_range;
    /// RFC 9990 allows one <error>, RFC 7489 any number; all are kept.
    std::vector<std::string> errors;
    std::optional<std::string> generator;
    bool operator==(const ReportMetadata&) const = default;
};

struct PolicyPublished {
    std::string domain;  // the DMARC Policy Domain
    std::optional<DiscoveryMethod> discovery_method;
    ReportPolicy p = ReportPolicy::None;
    std::optional<ReportPolicy> sp;
    std::optional<ReportPolicy> np;
    std::optional<std::string> fo;
    std::optional<ReportAlignment> adkim;
    std::optional<ReportAlignment> aspf;
    std::optional<bool> testing;  // the "t" tag: y / n
    /// RFC 7489 "pct" (read only; RFC 9990 has no pct and the writer leaves it out).
    std::optional<std::uint32_t> pct;
    bool operator==(const PolicyPublished&) const = default;
};

struct OverrideReason {
    OverrideType type = OverrideType::Other;
    std::optional<std::string> comment;
    bool operator==(const OverrideReason&) const = default;
};

struct PolicyEvaluated {
    ReportDisposition disposition = ReportDisposition::None;
    AlignedResult dkim = AlignedResult::Fail;
    AlignedResult spf = AlignedResult::Fail;
    std::vector<OverrideReason> reasons;
    bool operator==(const PolicyEvaluated&) const = default;
};

struct Identifiers {
    std::string header_from;
    /// Present but empty for a null reverse-path (§3.1.1.10).
    std::optional<std::string> envelope_from;
    std::optional<std::string> envelope_to;
    bool operator==(const Identifiers&) const = default;
};

struct DkimAuthResult {
    std::string domain;    // d=
    std::string selector;  // s= (required by RFC 9990; may be empty in RFC 7489 reports)
    ReportDkimResult result = ReportDkimResult::None;
    std::optional<std::string> human_result;
    bool operator==(const DkimAuthResult&) const = default;
};

struct SpfAuthResult {
    std::string domain;
    std::optional<SpfScope> scope;
    ReportSpfResult result = ReportSpfResult::None;
    std::optional<std::string> human_result;
    bool operator==(const SpfAuthResult&) const = default;
};

struct ReportRecord {
    boost::asio::ip::address source_ip;
    std::uint64_t count = 0;
    PolicyEvaluated policy_evaluated;
    Identifiers identifiers;
    std::vector<DkimAuthResult> dkim;
    /// RFC 9990: at most one (the writer writes the first); RFC 7489 allowed several.
    std::vector<SpfAuthResult> spf;
    bool operator==(const ReportRecord&) const = default;
};

struct AggregateReport {
    /// The <version> element ("1.0" for RFC 9990); empty when absent (RFC 7489 drafts).
    std::string version = "1.0";
    ReportMetadata metadata;
    PolicyPublished policy;
    std::vector<ReportRecord> records;
    /// Read only: the document was in the RFC 9990 namespace.
    bool rfc9990_namespace = false;
    /// Read only: the XML was not well-formed and was read in libxml2's recovery mode.
    bool recovered = false;
    bool operator==(const AggregateReport&) const = default;
};

inline constexpr std::string_view kDmarcNamespace = "urn:ietf:params:xml:ns:dmarc-2.0";

// ---- XML ------------------------------------------------------------------------------------

/// The report as an RFC 9990 XML document (Appendix A schema; element order as in §3.1.1), in
/// the DMARC namespace, UTF-8. Every text is escaped; control characters that XML 1.0 cannot
/// carry are dropped and invalid UTF-8 becomes U+FFFD. Same report, same bytes.
[[nodiscard]] std::string write_aggregate_report(const AggregateReport& report);

struct ReportLimits {
    /// Uncompressed XML bytes; also the gunzip/unzip output limit of the email reader.
    std::size_t max_bytes = std::size_t{50} << 20U;
    std::size_t max_records = 200000;
    /// Bytes of a report email.
    std::size_t max_message_bytes = std::size_t{64} << 20U;
};

/// Reads an aggregate report (RFC 9990 or RFC 7489). Unknown and foreign-namespace elements
/// (extensions, §5) are ignored. Required: <feedback>, report_metadata with report_id and
/// date_range, policy_published with domain and p, and per record source_ip, count and
/// header_from. An empty element is taken as absent. Enumerated values must be as the schema
/// spells them (lowercase). A document that is not well-formed is read in recovery mode and
/// marked `recovered` (RFC 9990 §3.1.1: an evaluator MAY use some of the data).
[[nodiscard]] Result<AggregateReport> read_aggregate_report(
    std::string_view xml, const ReportLimits& limits = {}
) noexcept;

// ---- compression ----------------------------------------------------------------------------

/// RFC 1952 gzip (deterministic: no name, mtime 0).
[[nodiscard]] std::string gzip(std::string_view data);
/// Decompresses gzip data (concatenated members too); BadGzip, or TooLarge past `limit` bytes.
[[nodiscard]] Result<std::string> gunzip(std::string_view data, std::size_t limit) noexcept;
/// The first entry of a zip archive whose name ends in ".xml" (else the first entry): stored or
/// deflated, no encryption, no zip64, no multi-disk. BadZip otherwise.
[[nodiscard]] Result<std::string> unzip_first_xml(
    std::string_view data, std::size_t limit
) noexcept;

/// The XML of a report file: gzip, zip or plain XML, told apart by their first bytes.
[[nodiscard]] Result<std::string> decode_report_file(
    std::string_view data, std::size_t limit
) noexcept;

// ---- email ----------------------------------------------------------------------------------

/// The report XML carried by an email (RFC 9990 §3.5.2): the first part that is
/// application/gzip (or x-gzip), application/zip (or x-zip-compressed), text/xml,
/// application/xml, or application/octet-stream with a .xml/.gz/.zip file name; nested
/// message/rfc822 parts are searched too. Transfer encoding removed, then decompressed.
[[nodiscard]] Result<std::string> extract_report_xml(
    std::string_view message, const ReportLimits& limits = {}
) noexcept;

/// extract_report_xml then read_aggregate_report.
[[nodiscard]] Result<AggregateReport> read_aggregate_report_email(
    std::string_view message, const ReportLimits& limits = {}
) noexcept;

/// RFC 9990 §3.5.2 attachment name: receiver!policy-domain!begin!end[!unique-id].xml[.gz].
/// Characters of unique_id other than ALPHA / DIGIT are dropped (its ABNF allows only those).
[[nodiscard]] std::string report_filename(
    std::string_view receiver,
    const AggregateReport& report,
    std::string_view unique_id,
    bool gzipped
);

/// RFC 9990 §3.5.2 Subject value (unfolded; the header writer folds it):
/// "Report Domain: <policy-domain> Submitter: <receiver> Report-ID: <<report_id>>".
[[nodiscard]] std::string report_subject(std::string_view receiver, const AggregateReport& report);

/// A Report-ID as in RFC 9990 §3.5.1's example: "<begin>-<policy-domain>@<receiver>".
[[nodiscard]] std::string make_report_id(
    std::int64_t begin, std::string_view policy_domain, std::string_view receiver
);

// ---- aggregation ----------------------------------------------------------------------------

/// What the server records per evaluated message (one row per message, or per message and
/// recipient domain). The store keeps these; aggregate_rows() turns a period's rows for one
/// policy domain into report records.
struct EvaluationRow {
    boost::asio::ip::address source_ip;
    std::string header_from;
    std::optional<std::string> envelope_from;
    std::optional<std::string> envelope_to;
    ReportDisposition disposition = ReportDisposition::None;
    AlignedResult dkim_aligned = AlignedResult::Fail;
    AlignedResult spf_aligned = AlignedResult::Fail;
    std::vector<OverrideReason> reasons;
    std::vector<DkimAuthResult> dkim;
    std::optional<SpfAuthResult> spf;
    /// Messages this row stands for (1 for a single message).
    std::uint64_t count = 1;
};

/// Groups rows with identical (IP, evaluation, identifiers, auth results) into one record with
/// the summed count. Output is sorted (IP, header_from, then the rest), so the same set of rows
/// gives the same records in any input order. DKIM results are ordered per RFC 9990 §3.1.3
/// (pass and same domain as header_from, pass and a parent/child of it, other passes, the rest)
/// and cut to 100 per record; domain names are lowercased.
[[nodiscard]] std::vector<ReportRecord> aggregate_rows(std::span<const EvaluationRow> rows);

// ---- external destinations (RFC 9990 §4) -----------------------------------------------------

enum class DestinationStatus {
    Allowed,     // a v=DMARC1 record at <policy-domain>._report._dmarc.<destination-host>
    NotAllowed,  // none, the name is too long, or an override points elsewhere
    TempError,   // DNS failure: the caller may retry later (§4 step 5)
};

struct DestinationCheck {
    DestinationStatus status = DestinationStatus::NotAllowed;
    /// §4 step 9: the "rua" (or "ruf") URIs of the confirming record, if it has one; all of
    /// them use the destination host (otherwise the status is NotAllowed).
    std::vector<std::string> override_uris;
};

/// The host of a mailto: URI as used in rua/ruf ("mailto:a@b.example!10m" -> "b.example"),
/// lowercased; empty if it is not one.
[[nodiscard]] std::string mailto_host(std::string_view uri);

/// RFC 9990 §4 (and RFC 9991 §5 with tag = "ruf"): queries
/// <policy_domain>._report._dmarc.<destination_host> TXT. The caller decides first whether the
/// check is needed (organizational domains differ); policy_domain must already be an A-label.
[[nodiscard]] boost::asio::awaitable<DestinationCheck> verify_external_destination(
    DnsSource& dns, std::string policy_domain, std::string destination_host, std::string tag = "rua"
);

/// verify_external_destination(...).status == Allowed (a temporary failure counts as no).
[[nodiscard]] boost::asio::awaitable<bool> external_destination_allowed(
    DnsSource& dns, std::string policy_domain, std::string destination_host
);

}  // namespace sov::mailauth
