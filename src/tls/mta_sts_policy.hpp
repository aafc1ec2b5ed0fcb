#pragma once
// The MTA-STS policy file (RFC 8461 §3.2), served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt, and MX host matching against it (§4.1).
// Pure: fetching over HTTPS and caching live elsewhere.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace sov::tls {

/// §3.2 "mode"; what a sender does when validation fails is §5.
enum class Mode {
    Enforce,
    Testing,
    None,
};

/// Our bound on the policy body: §3.3 suggests "a maximum policy size is 64 kilobytes" and asks
/// Policy Hosts to stay within it; 64 KiB holds thousands of mx lines.
inline constexpr std::size_t kMaxPolicyBytes = std::size_t{64} * 1024;
/// §3.2: "max_age" has a "maximum value of 31557600" (one year).
inline constexpr std::uint32_t kMaxPolicyMaxAge = 31'557'600;

struct Policy {
    Mode mode = Mode::None;
    std::uint32_t max_age = 0;    // seconds
    std::vector<std::string> mx;  // patterns as written: "mail.example.com" or "*.example.net"
    bool operator==(const Policy&) const = default;
};

[[nodiscard]] std::string_view to_string(Mode mode) noexcept;
/// Case-sensitive, as the ABNF's %s"enforce" etc. require.
[[nodiscard]] std::optional<Mode> mode_from_string(std::string_view text) noexcept;

/// Parses a policy body. Lines end in CRLF or LF. Keys and the known values are case-sensitive
/// (RFC 7405 %s strings). Required: version (= STSv1), mode, max_age (1*10DIGIT, at most
/// kMaxPolicyMaxAge; larger values are rejected, not clamped), and at least one mx unless mode
/// is none. Unknown keys are ignored if they are valid sts-policy-extension lines; a repeated
/// key other than mx keeps its first value (§3.2, last paragraph). Leniency beyond the ABNF:
/// blank (empty or whitespace-only) lines are skipped, and an mx pattern may end in one dot.
/// Anything else malformed (NUL or other CTLs, bare CR, invalid UTF-8, a line without ":",
/// space before ":") makes the whole policy invalid. Errors: TooLarge (> kMaxPolicyBytes),
/// Syntax, BadVersion, BadMode, BadMaxAge, BadMx, MissingField.
[[nodiscard]] Result<Policy> parse_policy(std::string_view body) noexcept;

/// The policy as `key: value` lines in the order of the §3.2 example (version, mode, mx...,
/// max_age). This is also the "policy-string" of a TLS-RPT report (RFC 8460 §4.5).
[[nodiscard]] std::vector<std::string> to_lines(const Policy& policy);
/// The policy file we serve: to_lines() joined with CRLF (§3.2 "CRLF-separated"), CRLF at the
/// end. The result parses back to `policy` when the policy is valid.
[[nodiscard]] std::string to_text(const Policy& policy);

/// True if `pattern` is a valid sts-policy-mx-value: ["*."] Domain (RFC 5321 §4.1.2 LDH labels
/// of 1-63 octets, at most 253 octets), optionally with one trailing dot.
[[nodiscard]] bool is_mx_pattern(std::string_view pattern) noexcept;

/// §4.1 MX host validation of one pattern: ASCII case-insensitive, a trailing dot on either side
/// ignored, and "*." matching exactly one whole non-empty leftmost label ("*.example.com"
/// matches "mail.example.com" but not "example.com" or "foo.bar.example.com"). Names must be
/// A-labels (§3.2); U-labels are compared as bytes and will not match their A-label forms.
[[nodiscard]] bool mx_pattern_matches(std::string_view pattern, std::string_view mx_host) noexcept;

/// §4.1: the MX host is valid if it matches one or more of the policy's mx patterns.
[[nodiscard]] bool mx_matches(const Policy& policy, std::string_view mx_host) noexcept;

}  // namespace sov::tls
