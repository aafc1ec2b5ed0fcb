#pragma once
// Trace header fields the driver writes in front of a received message: Return-Path
// (RFC 5321 §4.4, added at final delivery) and Received (RFC 5321 §4.4, RFC 5322 §3.6.7, "with"
// keywords of RFC 3848 and RFC 6531 §4.3).
#include <cstdint>
#include <string>
#include <string_view>

namespace sov::smtp::wire {

struct TraceFields {
    bool return_path = false;       ///< emit "Return-Path:" (final delivery only, §4.4)
    std::string_view reverse_path;  ///< without brackets; "" for the null path
    std::string_view helo;          ///< as sent by the client (non-printables are escaped)
    std::string_view client_rdns;   ///< verified reverse DNS name, or "" if none
    std::string_view client_ip;     ///< "192.0.2.1" or "2001:db8::1" (gets "IPv6:" prefix)
    std::string_view by_host;       ///< our hostname
    std::string_view with;          ///< protocol keyword, e.g. ServerEngine::with_keyword()
    std::string_view tls;           ///< optional comment, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384"
    std::string_view id;            ///< session/message id
    std::string_view for_rcpt;      ///< forward-path without brackets when exactly one rcpt
    std::int64_t unix_time = 0;     ///< seconds since the epoch (from core::now() in the driver)
    int utc_offset_minutes = 0;     ///< zone of the date-time
};

/// Formats "Return-Path: <...>\r\n" (if asked) and "Received: ...\r\n", folded at clause
/// boundaries so lines stay under 78 octets where possible (RFC 5322 §2.1.1).
[[nodiscard]] std::string format_trace_headers(const TraceFields& fields);

/// RFC 5322 §3.3 date-time, e.g. "Tue, 01 Jul 2025 12:00:00 +0000".
[[nodiscard]] std::string format_rfc5322_date(std::int64_t unix_time, int utc_offset_minutes);

}  // namespace sov::smtp::wire
