#include "mailauth/dmarc_record.hpp"

#include <limits>

#include "core/ascii.hpp"

namespace sov::mailauth {
namespace {

bool is_wsp(char c) noexcept {
    return c == ' ' || c == '\t';
}

bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
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

// §4.8: dmarc-value = %x20-3A / %x3C-7E (printable ASCII but ';', which cannot occur here).
bool valid_value(std::string_view v) noexcept {
    if (v.empty()) {
        return false;  // dmarc-tag needs 1*dmarc-value
    }
    for (const char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) {
            return false;
        }
    }
    return true;
}

bool valid_name(std::string_view n) noexcept {
    if (n.empty()) {
        return false;
    }
    for (const char c : n) {
        if (!is_alpha(c)) {
            return false;  // dmarc-tag = 1*ALPHA equals ...
        }
    }
    return true;
}

std::optional<DmarcPolicy> parse_request(std::string_view v) noexcept {
    // §4.8 dmarc-request; ABNF literals are case-insensitive (RFC 5234 §2.3).
    if (core::ascii_iequals(v, "none")) {
        return DmarcPolicy::None;
    }
    if (core::ascii_iequals(v, "quarantine")) {
        return DmarcPolicy::Quarantine;
    }
    if (core::ascii_iequals(v, "reject")) {
        return DmarcPolicy::Reject;
    }
    return std::nullopt;
}

void set_policy(std::string_view v, std::optional<DmarcPolicy>& out, bool& invalid) noexcept {
    out = parse_request(v);
    invalid = !out.has_value();
}

std::optional<DmarcAlignment> parse_rors(std::string_view v) noexcept {
    if (core::ascii_iequals(v, "r")) {
        return DmarcAlignment::Relaxed;
    }
    if (core::ascii_iequals(v, "s")) {
        return DmarcAlignment::Strict;
    }
    return std::nullopt;
}

// §4.8 dmarc-fo: "0" and "1" are mutually exclusive, "d" and "s" appear at most once. A value
// that breaks this is a syntax error: the default ("0") stays.
std::optional<DmarcFailureOptions> parse_fo(std::string_view v) noexcept {
    DmarcFailureOptions fo{.all_fail = false};
    bool zero_or_one = false;
    while (true) {
        const auto colon = v.find(':');
        const auto item = trim_wsp(v.substr(0, colon));
        if (item == "0" || item == "1") {
            if (zero_or_one) {
                return std::nullopt;
            }
            zero_or_one = true;
            (item == "0" ? fo.all_fail : fo.any_fail) = true;
        } else if (core::ascii_iequals(item, "d") || core::ascii_iequals(item, "s")) {
            bool& flag = core::ascii_iequals(item, "d") ? fo.dkim : fo.spf;
            if (flag) {
                return std::nullopt;
            }
            flag = true;
        } else {
            return std::nullopt;
        }
        if (colon == std::string_view::npos) {
            break;
        }
        v.remove_prefix(colon + 1);
    }
    return fo;
}

// RFC 7489 §6.3 pct: 0..100. Only 0 still means something (RFC 9989 Appendix A.6).
std::optional<unsigned> parse_pct(std::string_view v) noexcept {
    if (v.empty() || v.size() > 3) {
        return std::nullopt;
    }
    unsigned n = 0;
    for (const char c : v) {
        if (!is_digit(c)) {
            return std::nullopt;
        }
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n > 100) {
        return std::nullopt;
    }
    return n;
}

// RFC 3986 §2: unreserved, gen-delims, sub-delims and pct-encoded; RFC 9989 §4.8 requires ','
// and '!' to be percent-encoded in a DMARC URI (they separate URIs and the size suffix).
bool uri_char(char c) noexcept {
    if (is_alpha(c) || is_digit(c)) {
        return true;
    }
    switch (c) {
        case '-':
        case '.':
        case '_':
        case '~':
        case ':':
        case '/':
        case '?':
        case '#':
        case '[':
        case ']':
        case '@':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case '=':
            return true;
        default:
            return false;
    }
}

// obs-dmarc-report-size = "!" 1*DIGIT [ "k" / "m" / "g" / "t" ]; units are powers of two
// (RFC 7489 §6.2).
std::optional<std::uint64_t> parse_size(std::string_view s) noexcept {
    unsigned shift = 0;
    if (!s.empty() && !is_digit(s.back())) {
        switch (core::ascii_lower(s.back())) {
            case 'k':
                shift = 10;
                break;
            case 'm':
                shift = 20;
                break;
            case 'g':
                shift = 30;
                break;
            case 't':
                shift = 40;
                break;
            default:
                return std::nullopt;
        }
        s.remove_suffix(1);
    }
    if (s.empty()) {
        return std::nullopt;
    }
    constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t n = 0;
    for (const char c : s) {
        if (!is_digit(c)) {
            return std::nullopt;
        }
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (n > (kMax - d) / 10) {
            return std::nullopt;
        }
        n = n * 10 + d;
    }
    if (n > (kMax >> shift)) {
        return std::nullopt;
    }
    return n << shift;
}

// RFC 6068 §2: mailto:addr-spec[?hfields], percent-encoded. One local@domain address, no
// spaces or control characters; anything else is not a destination we send to.
std::string mailto_address(std::string_view rest) {
    rest = rest.substr(0, rest.find('?'));
    std::string decoded;
    decoded.reserve(rest.size());
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (const int octet = rest[i] == '%' ? core::hex_octet(rest, i + 1) : -1; octet >= 0) {
            decoded.push_back(static_cast<char>(octet));
            i += 2;
        } else {
            decoded.push_back(rest[i]);
        }
    }
    const auto at = decoded.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == decoded.size()) {
        return {};
    }
    for (const char c : decoded) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == ',' || c == '<' || c == '>') {
            return {};
        }
    }
    if (decoded.find('@') != at) {
        return {};  // one address only (a second one would be an encoded ',' list)
    }
    return decoded;
}

std::vector<DmarcReportUri> parse_uri_list(std::string_view v) {
    // dmarc-urilist = uri *(*WSP "," *WSP uri)
    std::vector<DmarcReportUri> out;
    while (true) {
        const auto comma = v.find(',');
        if (auto uri = parse_dmarc_uri(trim_wsp(v.substr(0, comma)));
            uri && out.size() < kMaxReportUris) {
            out.push_back(std::move(*uri));
        }
        if (comma == std::string_view::npos) {
            break;
        }
        v.remove_prefix(comma + 1);
    }
    return out;
}

}  // namespace

std::optional<DmarcReportUri> parse_dmarc_uri(std::string_view text) noexcept {
    DmarcReportUri out;
    if (const auto bang = text.find('!'); bang != std::string_view::npos) {
        out.max_size = parse_size(text.substr(bang + 1));
        if (!out.max_size) {
            return std::nullopt;
        }
        text = text.substr(0, bang);
    }
    // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0 || !is_alpha(text[0])) {
        return std::nullopt;
    }
    for (std::size_t i = 1; i < colon; ++i) {
        const char c = text[i];
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
            return std::nullopt;
        }
    }
    const auto rest = text.substr(colon + 1);
    if (rest.empty()) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == '%') {
            if (i + 2 >= rest.size() || !is_hex(rest[i + 1]) || !is_hex(rest[i + 2])) {
                return std::nullopt;
            }
            i += 2;
        } else if (!uri_char(rest[i])) {
            return std::nullopt;
        }
    }
    out.uri = std::string(text);
    out.scheme.reserve(colon);
    for (std::size_t i = 0; i < colon; ++i) {
        out.scheme.push_back(core::ascii_lower(text[i]));
    }
    if (out.scheme == "mailto") {
        out.address = mailto_address(rest);
    }
    return out;
}

DmarcRecordParse parse_dmarc_record(
    std::string_view text, const DmarcRecordLimits& limits
) noexcept {
    DmarcRecordParse result;
    text = trim_wsp(text);

    // §4.7 "v": MUST be the first tag; value "DMARC1", case-sensitive (%s in §4.8).
    const auto first_end = text.find(';');
    const auto first = text.substr(0, first_end);
    const auto eq = first.find('=');
    if (eq == std::string_view::npos || !core::ascii_iequals(trim_wsp(first.substr(0, eq)), "v") ||
        trim_wsp(first.substr(eq + 1)) != "DMARC1") {
        return result;
    }
    // Checked after "v" so that a name with one oversized DMARC record and another one still
    // counts two DMARC records (§4.10 step 2).
    if (text.size() > limits.max_octets) {
        result.status = DmarcRecordParse::Status::TooLong;
        return result;
    }
    result.status = DmarcRecordParse::Status::Ok;
    auto& rec = result.record;
    if (first_end == std::string_view::npos) {
        return result;
    }
    auto rest = text.substr(first_end + 1);

    bool seen_p = false;
    bool seen_sp = false;
    bool seen_np = false;
    bool seen_t = false;
    bool seen_psd = false;
    bool seen_adkim = false;
    bool seen_aspf = false;
    bool seen_fo = false;
    bool seen_pct = false;
    std::optional<unsigned> pct;
    // A tag given twice: the first one counts (the RFC does not say; first-wins keeps a
    // record's meaning stable when something is appended to it).
    auto first_time = [](bool& seen) {
        const bool was = seen;
        seen = true;
        return !was;
    };

    while (true) {
        const auto semi = rest.find(';');
        const auto item = trim_wsp(rest.substr(0, semi));
        const auto item_eq = item.find('=');
        if (item_eq != std::string_view::npos) {
            const auto name = trim_wsp(item.substr(0, item_eq));
            const auto value = trim_wsp(item.substr(item_eq + 1));
            const bool good = valid_name(name) && valid_value(value);
            if (core::ascii_iequals(name, "p") && first_time(seen_p)) {
                if (good) {
                    set_policy(value, rec.p, rec.p_invalid);
                } else {
                    rec.p_invalid = true;
                }
            } else if (core::ascii_iequals(name, "sp") && first_time(seen_sp)) {
                if (good) {
                    set_policy(value, rec.sp, rec.sp_invalid);
                } else {
                    rec.sp_invalid = true;
                }
            } else if (core::ascii_iequals(name, "np") && first_time(seen_np)) {
                if (good) {
                    set_policy(value, rec.np, rec.np_invalid);
                } else {
                    rec.np_invalid = true;
                }
            } else if (!good) {
                // §4.8: a syntax error is ignored in favour of the default.
            } else if (core::ascii_iequals(name, "psd") && first_time(seen_psd)) {
                if (core::ascii_iequals(value, "y")) {
                    rec.psd = DmarcPsd::Yes;
                } else if (core::ascii_iequals(value, "n")) {
                    rec.psd = DmarcPsd::No;
                }
            } else if (core::ascii_iequals(name, "t") && first_time(seen_t)) {
                if (core::ascii_iequals(value, "y")) {
                    rec.testing = true;
                } else if (!core::ascii_iequals(value, "n")) {
                    seen_t = false;  // invalid: as if absent, so pct may still decide
                }
            } else if (core::ascii_iequals(name, "pct") && first_time(seen_pct)) {
                pct = parse_pct(value);
            } else if (core::ascii_iequals(name, "adkim") && first_time(seen_adkim)) {
                rec.adkim = parse_rors(value).value_or(DmarcAlignment::Relaxed);
            } else if (core::ascii_iequals(name, "aspf") && first_time(seen_aspf)) {
                rec.aspf = parse_rors(value).value_or(DmarcAlignment::Relaxed);
            } else if (core::ascii_iequals(name, "rua") && !rec.has_rua) {
                rec.has_rua = true;
                rec.rua = parse_uri_list(value);
            } else if (core::ascii_iequals(name, "ruf") && !rec.has_ruf) {
                rec.has_ruf = true;
                rec.ruf = parse_uri_list(value);
            } else if (core::ascii_iequals(name, "fo") && first_time(seen_fo)) {
                rec.fo = parse_fo(value).value_or(DmarcFailureOptions{});
            }
            // Anything else (rf, ri, unknown tags): ignored (§4.7).
        }
        if (semi == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(semi + 1);
    }

    // RFC 9989 Appendix A.6: t=y / t=n are "analogous ... to the pct tag values 0 and 100";
    // a record that still says pct=0 asks for testing. A valid t tag wins.
    if (!seen_t && pct && *pct == 0) {
        rec.testing = true;
    }
    return result;
}

std::vector<std::string> DmarcRecord::rua_mailto() const {
    std::vector<std::string> out;
    for (const auto& uri : rua) {
        if (uri.is_usable_mailto()) {
            out.push_back(uri.address);
        }
    }
    return out;
}

std::string_view to_string(DmarcPolicy policy) noexcept {
    switch (policy) {
        case DmarcPolicy::None:
            return "none";
        case DmarcPolicy::Quarantine:
            return "quarantine";
        case DmarcPolicy::Reject:
            return "reject";
    }
    return "none";
}

std::string_view to_string(DmarcAlignment alignment) noexcept {
    return alignment == DmarcAlignment::Strict ? "s" : "r";
}

std::string_view to_string(DmarcPsd psd) noexcept {
    switch (psd) {
        case DmarcPsd::Yes:
            return "y";
        case DmarcPsd::No:
            return "n";
        case DmarcPsd::Unknown:
            return "u";
    }
    return "u";
}

std::string_view to_string(DmarcRecordParse::Status status) noexcept {
    switch (status) {
        case DmarcRecordParse::Status::Ok:
            return "ok";
        case DmarcRecordParse::Status::NotDmarc:
            return "not a DMARC record";
        case DmarcRecordParse::Status::TooLong:
            return "record too long";
    }
    return "unknown";
}

}  // namespace sov::mailauth
