#pragma once
// Why a DNS lookup gave no usable answer. "No such name" and "no record of that type" are not
// errors: they are answers (Answer::nxdomain, empty records), and secure ones can be relied on.
#include <system_error>

namespace sov::dns {

enum class Errc {
    Ok = 0,
    BadName,    // not a syntactically valid domain name; nothing was sent
    Timeout,    // no answer within the configured time: temporary
    ServFail,   // the servers failed (SERVFAIL, REFUSED, unreachable): temporary
    Bogus,      // DNSSEC validation failed: the data must not be used (RFC 4035 §5.5)
    Malformed,  // a record's data does not parse
    Setup,      // the resolver could not be configured (trust anchor, forwarder)
};

const std::error_category& dns_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), dns_category()};
}

}  // namespace sov::dns

template <>
struct std::is_error_code_enum<sov::dns::Errc> : std::true_type {};

namespace sov::dns {

/// Timeout and ServFail: try again later. Bogus is also deferred by mail code (RFC 7672 §2.1.1:
/// a bogus answer is a temporary failure for delivery), but is reported as its own case.
inline bool is_temporary(std::error_code ec) noexcept {
    return ec == Errc::Timeout || ec == Errc::ServFail || ec == Errc::Bogus;
}

}  // namespace sov::dns
