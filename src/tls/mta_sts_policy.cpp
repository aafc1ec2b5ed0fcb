#include "tls/mta_sts_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <utility>

#include "tls/errors.hpp"
#include "tls/mta_sts_record.hpp"

namespace sov::tls {
namespace {

constexpr std::string_view kVersion = "STSv1";
// sts-policy-max-age-value = 1*10(DIGIT)
constexpr std::size_t kMaxAgeDigits = 10;
// RFC 1035 §2.3.4 size limits, which RFC 5321's Domain inherits.
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxDomain = 253;

bool is_wsp(char c) noexcept {
    return c == ' ' || c == '\t';
}

bool is_alnum(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

std::string_view trim_wsp(std::string_view s) noexcept {
    while (!s.empty() && is_wsp(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_wsp(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

std::string_view strip_trailing_dot(std::string_view s) noexcept {
    if (!s.empty() && s.back() == '.') {
        s.remove_suffix(1);
    }
    return s;
}

// Length of the well-formed UTF-8 sequence (RFC 3629 §4: UTF8-2 / UTF8-3 / UTF8-4, so no
// overlong forms, no surrogates, nothing above U+10FFFF) starting at s[i], or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) {
        return k < s.size() && at(k) >= lo && at(k) <= hi;
    };
    const unsigned b = at(i);
    if (b >= 0xc2 && b <= 0xdf) {
        return cont(i + 1) ? 2 : 0;
    }
    if (b >= 0xe0 && b <= 0xef) {
        const unsigned lo = b == 0xe0 ? 0xa0 : 0x80;
        const unsigned hi = b == 0xed ? 0x9f : 0xbf;
        return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
    }
    if (b >= 0xf0 && b <= 0xf4) {
        const unsigned lo = b == 0xf0 ? 0x90 : 0x80;
        const unsigned hi = b == 0xf4 ? 0x8f : 0xbf;
        return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    return 0;
}

// sts-policy-ext-value = sts-policy-vchar [*(%x20 / sts-policy-vchar) sts-policy-vchar]
// sts-policy-vchar     = %x21-7E / UTF8-2 / UTF8-3 / UTF8-4
// The caller has trimmed WSP at both ends, so only the inner characters need checking.
bool is_policy_ext_value(std::string_view v) noexcept {
    if (v.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < v.size();) {
        const auto u = static_cast<unsigned char>(v[i]);
        if (u >= 0x20 && u <= 0x7e) {
            ++i;
        } else if (const std::size_t n = utf8_sequence(v, i); n != 0) {
            i += n;
        } else {
            return false;  // CTL (NUL, HTAB inside the value, bare CR, DEL) or bad UTF-8
        }
    }
    return true;
}

// RFC 5321 §4.1.2: sub-domain = Let-dig [Ldh-str]; Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig
bool is_ldh_label(std::string_view label) noexcept {
    if (label.empty() || label.size() > kMaxLabel || !is_alnum(label.front()) ||
        !is_alnum(label.back())) {
        return false;
    }
    return std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

bool is_domain(std::string_view d) noexcept {
    if (d.empty() || d.size() > kMaxDomain) {
        return false;
    }
    while (true) {
        const std::size_t dot = d.find('.');
        if (!is_ldh_label(d.substr(0, dot))) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        d.remove_prefix(dot + 1);
    }
}

bool parse_max_age(std::string_view v, std::uint32_t& out) noexcept {
    if (v.empty() || v.size() > kMaxAgeDigits ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    std::uint64_t n = 0;  // ten digits fit in 64 bits
    std::from_chars(v.data(), v.data() + v.size(), n);
    if (n > kMaxPolicyMaxAge) {
        return false;
    }
    out = static_cast<std::uint32_t>(n);
    return true;
}

// Collects the fields of a policy, line by line.
class PolicyBuilder {
public:
    Errc add(std::string_view name, std::string_view value) noexcept {
        // §3.2: "If any non-repeated field -- i.e., all fields excepting "mx" -- is duplicated,
        // all entries except for the first SHALL be ignored."
        if (name == "version") {
            if (!have_version_ && value != kVersion) {
                return Errc::BadVersion;  // sts-policy-version-value = %s"STSv1"
            }
            have_version_ = true;
        } else if (name == "mode") {
            if (!have_mode_) {
                const auto mode = mode_from_string(value);
                if (!mode) {
                    return Errc::BadMode;
                }
                policy_.mode = *mode;
                have_mode_ = true;
            }
        } else if (name == "max_age") {
            if (!have_max_age_) {
                if (!parse_max_age(value, policy_.max_age)) {
                    return Errc::BadMaxAge;
                }
                have_max_age_ = true;
            }
        } else if (name == "mx") {
            // §3.2: "each MX MUST have its own "mx:" key" and its own line.
            if (!is_mx_pattern(value)) {
                return Errc::BadMx;
            }
            policy_.mx.emplace_back(value);
        }
        // §3.2: other fields are extensions: "unknown fields SHALL be ignored".
        return Errc::Ok;
    }

    Result<Policy> finish() noexcept {
        // Each of version, mode, max_age is "required once"; mx is "required at least once,
        // except when mode is "none"" (§3.2 ABNF comments).
        if (!have_version_ || !have_mode_ || !have_max_age_ ||
            (policy_.mode != Mode::None && policy_.mx.empty())) {
            return Errc::MissingField;
        }
        return std::move(policy_);
    }

private:
    Policy policy_;
    bool have_version_ = false;
    bool have_mode_ = false;
    bool have_max_age_ = false;
};

}  // namespace

std::string_view to_string(Mode mode) noexcept {
    switch (mode) {
        case Mode::Enforce:
            return "enforce";
        case Mode::Testing:
            return "testing";
        case Mode::None:
            return "none";
    }
    return "none";
}

std::optional<Mode> mode_from_string(std::string_view text) noexcept {
    // sts-policy-mode-value = %s"testing" / %s"enforce" / %s"none"
    if (text == "enforce") {
        return Mode::Enforce;
    }
    if (text == "testing") {
        return Mode::Testing;
    }
    if (text == "none") {
        return Mode::None;
    }
    return std::nullopt;
}

bool is_mx_pattern(std::string_view pattern) noexcept {
    // sts-policy-mx-value = ["*."] Domain
    if (pattern.starts_with("*.")) {
        pattern.remove_prefix(2);
    }
    return is_domain(strip_trailing_dot(pattern));
}

Result<Policy> parse_policy(std::string_view body) noexcept {
    if (body.size() > kMaxPolicyBytes) {
        return Errc::TooLarge;
    }
    PolicyBuilder builder;
    std::size_t pos = 0;
    while (pos < body.size()) {
        // sts-policy-term = LF / CRLF
        const std::size_t nl = body.find('\n', pos);
        std::string_view line =
            body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? body.size() : nl + 1;
        if (line.ends_with('\r')) {
            line.remove_suffix(1);
        }
        if (trim_wsp(line).empty()) {
            continue;  // lenient: the ABNF has no blank lines, but they carry no meaning
        }
        // sts-policy-field = name sts-policy-field-delim value *WSP, where
        // sts-policy-field-delim = ":" *WSP; no space is allowed before the colon.
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            return Errc::Syntax;
        }
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim_wsp(line.substr(colon + 1));
        // sts-policy-ext-name has the same grammar as the TXT record's extension names, and
        // every known field name fits it.
        if (!is_txt_ext_name(name) || !is_policy_ext_value(value)) {
            return Errc::Syntax;
        }
        if (const Errc e = builder.add(name, value); e != Errc::Ok) {
            return e;
        }
    }
    return builder.finish();
}

std::vector<std::string> to_lines(const Policy& policy) {
    std::vector<std::string> lines;
    lines.reserve(policy.mx.size() + 3);
    lines.emplace_back("version: STSv1");
    lines.push_back("mode: " + std::string(to_string(policy.mode)));
    for (const auto& mx : policy.mx) {
        lines.push_back("mx: " + mx);
    }
    lines.push_back("max_age: " + std::to_string(policy.max_age));
    return lines;
}

std::string to_text(const Policy& policy) {
    std::string out;
    for (const auto& line : to_lines(policy)) {
        out += line;
        out += "\r\n";
    }
    return out;
}

bool mx_pattern_matches(std::string_view pattern, std::string_view mx_host) noexcept {
    // §4.1: matching follows RFC 6125 (DNS names compare case-insensitively, a trailing dot is
    // the absolute form of the same name) "with the restriction that the wildcard character '*'
    // may only be used to match the entire left-most label".
    pattern = strip_trailing_dot(pattern);
    mx_host = strip_trailing_dot(mx_host);
    if (mx_host.empty() || pattern.empty()) {
        return false;
    }
    if (!pattern.starts_with("*.")) {
        return iequals(pattern, mx_host);
    }
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    if (mx_host.size() <= suffix.size() ||
        !iequals(mx_host.substr(mx_host.size() - suffix.size()), suffix)) {
        return false;
    }
    // Exactly one label: "*.example.com" matches neither "example.com" nor "a.b.example.com".
    const std::string_view label = mx_host.substr(0, mx_host.size() - suffix.size());
    return label.find('.') == std::string_view::npos;
}

bool mx_matches(const Policy& policy, std::string_view mx_host) noexcept {
    return std::any_of(policy.mx.begin(), policy.mx.end(), [&](const std::string& pattern) {
        return mx_pattern_matches(pattern, mx_host);
    });
}

}  // namespace sov::tls
