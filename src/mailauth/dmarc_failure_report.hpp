#pragma once
// DMARC failure reports (RFC 9991) in the Abuse Reporting Format (RFC 5965, RFC 6591): reading
// the machine-readable message/feedback-report part of a received report. Reports come from
// strangers: parsing is bounded (message size, field count, field size) and never throws.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "mailauth/dmarc_report.hpp"

namespace sov::mailauth {

/// RFC 5965 §7.3 Feedback-Type values.
enum class FeedbackType {
    Abuse,
    AuthFailure,
    Fraud,
    NotSpam,
    Other,
    Virus
};
/// RFC 6591 §3.1 Auth-Failure values, plus "dmarc" (RFC 9991 §4 item 3).
enum class AuthFailure {
    Unspecified,
    Adsp,
    BodyHash,
    Revoked,
    Signature,
    Spf,
    Dmarc,
    Other
};
/// RFC 6591 §3.1 Delivery-Result values.
enum class DeliveryResult {
    Unspecified,
    Delivered,
    Spam,
    Policy,
    Reject,
    Other
};

[[nodiscard]] std::string_view to_string(FeedbackType v) noexcept;
[[nodiscard]] std::string_view to_string(AuthFailure v) noexcept;
[[nodiscard]] std::string_view to_string(DeliveryResult v) noexcept;

/// RFC 9991 §4 item 2: Identity-Alignment, "none" or the mechanisms that failed alignment.
struct IdentityAlignment {
    bool none = false;
    bool dkim = false;
    bool spf = false;
    bool operator==(const IdentityAlignment&) const = default;
};

struct FailureReport {
    // RFC 5965 §3.1 required fields.
    FeedbackType feedback_type = FeedbackType::Other;
    std::string feedback_type_raw;  // as written (lowercased), for types this code does not know
    std::string user_agent;
    std::string version;
    // RFC 5965 §3.2 optional fields (values unfolded, trimmed; addresses as written).
    std::optional<std::string> original_envelope_id;
    std::optional<std::string> original_mail_from;  // may be "" or "<>" (null reverse-path)
    std::vector<std::string> original_rcpt_to;
    std::optional<std::string> arrival_date;   // Arrival-Date, or the obsolete Received-Date
    std::optional<std::int64_t> arrival_time;  // the date parsed, seconds since the epoch
    std::optional<std::string> reporting_mta;
    std::optional<std::string> source_ip;
    std::optional<std::uint32_t> source_port;  // RFC 6692
    std::optional<std::uint64_t> incidents;
    std::vector<std::string> authentication_results;
    std::vector<std::string> reported_domain;
    std::vector<std::string> reported_uri;
    // RFC 6591 §3.1 / RFC 9991 §4.
    AuthFailure auth_failure = AuthFailure::Unspecified;
    DeliveryResult delivery_result = DeliveryResult::Unspecified;
    std::optional<IdentityAlignment> identity_alignment;
    std::optional<std::string> dkim_domain;
    std::optional<std::string> dkim_identity;
    std::optional<std::string> dkim_selector;
    std::optional<std::string> dkim_canonicalized_header;  // base64, whitespace removed
    std::optional<std::string> dkim_canonicalized_body;
    std::optional<std::string> dkim_selector_dns;
    std::vector<std::string> spf_dns;
    /// The header block of the reported message (message/rfc822 or text/rfc822-headers part),
    /// as it is in the report, at most FailureReportLimits::max_original_header_bytes.
    std::string original_headers;
    bool operator==(const FailureReport&) const = default;
};

struct FailureReportLimits {
    std::size_t max_message_bytes = std::size_t{16} << 20U;
    /// The feedback-report part.
    std::size_t max_fields_bytes = std::size_t{64} << 10U;
    std::size_t max_fields = 200;
    std::size_t max_original_header_bytes = std::size_t{256} << 10U;
};

enum class FailureReportStatus {
    Ok,
    TooLarge,      // message or feedback part over the limit
    NotArf,        // no message/feedback-report part
    MissingField,  // Feedback-Type, User-Agent or Version absent (RFC 5965 §3.1)
    TooManyFields,
};

[[nodiscard]] std::string_view to_string(FailureReportStatus v) noexcept;

struct FailureReportParse {
    FailureReportStatus status = FailureReportStatus::NotArf;
    FailureReport report;
};

/// Parses the fields of a message/feedback-report body (RFC 5965 §3: header-like fields).
/// Unknown fields are skipped; a repeated single-valued field keeps its first value.
[[nodiscard]] FailureReportParse parse_feedback_fields(
    std::string_view fields, const FailureReportLimits& limits = {}
) noexcept;

/// Finds the message/feedback-report part of a report email (multipart/report, RFC 6522; any
/// nesting) and parses it, plus the reported message's header block.
[[nodiscard]] FailureReportParse read_failure_report(
    std::string_view message, const FailureReportLimits& limits = {}
) noexcept;

}  // namespace sov::mailauth
