// Fuzzes the MTA-STS policy parser (RFC 8461 §3.2) and MX matching (§4.1). Properties checked:
// - an accepted policy satisfies the invariants parse_policy() promises (mode none or some mx,
//   max_age in range, every mx a valid pattern);
// - to_text() of it parses back to the same policy;
// - every pattern matches a host built from it (with "*" replaced by a label, in upper case,
//   with a trailing dot), and a wildcard never matches its bare suffix or two labels;
// - mx_pattern_matches() on arbitrary bytes (the input split at its first LF) does not crash
//   and is symmetric for patterns without "*".
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tls/mta_sts_policy.hpp"

namespace {

namespace tls = sov::tls;

using sov::fuzz::check;

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](char c) {
        return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    });
    return s;
}

void check_policy(const tls::Policy& policy) {
    check(policy.max_age <= tls::kMaxPolicyMaxAge);
    check(policy.mode == tls::Mode::None || !policy.mx.empty());
    const auto again = tls::parse_policy(tls::to_text(policy));
    check(again.has_value() && *again == policy);
    for (const auto& pattern : policy.mx) {
        check(tls::is_mx_pattern(pattern));
        if (pattern.starts_with("*.")) {
            const std::string suffix = pattern.substr(2);
            const std::string host = "mx" + pattern.substr(1);
            check(tls::mx_matches(policy, host));
            const bool absolute = pattern.ends_with('.');
            check(tls::mx_pattern_matches(pattern, upper(host) + (absolute ? "" : ".")));
            check(!absolute || tls::mx_pattern_matches(pattern, host.substr(0, host.size() - 1)));
            check(!tls::mx_pattern_matches(pattern, suffix));
            check(!tls::mx_pattern_matches(pattern, "a.b." + suffix));
        } else {
            check(tls::mx_matches(policy, pattern));
            check(tls::mx_pattern_matches(pattern, upper(pattern)));
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (const auto policy = tls::parse_policy(input)) {
        check_policy(*policy);
    }
    const std::size_t nl = input.find('\n');
    const std::string_view a = input.substr(0, nl);
    const std::string_view b =
        nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);
    const bool ab = tls::mx_pattern_matches(a, b);
    if (a.find('*') == std::string_view::npos && b.find('*') == std::string_view::npos) {
        check(ab == tls::mx_pattern_matches(b, a));
    }
    return 0;
}
