#include "smtp/wire/trace_headers.hpp"

#include <array>
#include <string>

namespace sov::smtp::wire {
namespace {

// Keeps printable ASCII and UTF-8 bytes (RFC 6532 allows UTF-8 in header fields of SMTPUTF8
// messages), replacing what could end a comment or the clause list: a HELO argument is
// client-controlled and must not forge clauses or header lines.
std::string sanitize(std::string_view s, bool in_comment) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        const bool bad =
            u < 33 || u == 127 || c == ';' || c == '\\' || (in_comment && (c == '(' || c == ')'));
        out += bad ? '_' : c;
    }
    return out;
}

// Days since 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's algorithm).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2 ? 1 : 0;
}

}  // namespace

std::string format_rfc5322_date(std::int64_t unix_time, int utc_offset_minutes) {
    static constexpr std::array<const char*, 7> kDays{
        "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"
    };
    static constexpr std::array<const char*, 12> kMonths{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    const std::int64_t local = unix_time + static_cast<std::int64_t>(utc_offset_minutes) * 60;
    std::int64_t days = local / 86400;
    std::int64_t secs = local % 86400;
    if (secs < 0) {
        secs += 86400;
        --days;
    }
    std::int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(days, y, m, d);
    const auto wd = static_cast<std::size_t>(((days % 7) + 7) % 7);  // 1970-01-01 was Thursday
    const int off = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
    const auto two = [](std::string& out, std::int64_t v) {
        out += static_cast<char>('0' + (v / 10) % 10);
        out += static_cast<char>('0' + v % 10);
    };
    // RFC 5322 §3.3: day-of-week "," day month year hour ":" minute ":" second zone
    std::string out = kDays[wd];
    out += ", ";
    two(out, d);
    out += ' ';
    out += kMonths[m - 1];
    out += ' ';
    out += std::to_string(y);
    out += ' ';
    two(out, secs / 3600);
    out += ':';
    two(out, (secs / 60) % 60);
    out += ':';
    two(out, secs % 60);
    out += ' ';
    out += utc_offset_minutes < 0 ? '-' : '+';
    two(out, off / 60);
    two(out, off % 60);
    return out;
}

std::string format_trace_headers(const TraceFields& f) {
    std::string out;
    if (f.return_path) {
        // RFC 5321 §4.4: the final delivery MTA records the reverse-path ("<>" when null).
        out += "Return-Path: <";
        // A quoted local part may hold spaces; only controls could break the header.
        for (const char c : f.reverse_path) {
            const auto u = static_cast<unsigned char>(c);
            out += (u < 32 || u == 127) ? '_' : c;
        }
        out += ">\r\n";
    }
    // RFC 5321 §4.4 Stamp; one clause per line, folded before each keyword (RFC 5322 §3.2.2).
    out += "Received: from ";
    out += f.helo.empty() ? std::string("unknown") : sanitize(f.helo, false);
    if (!f.client_ip.empty()) {
        out += " (";
        out += f.client_rdns.empty() ? std::string("unknown") : sanitize(f.client_rdns, true);
        out += f.client_ip.find(':') != std::string_view::npos ? " [IPv6:" : " [";
        out += sanitize(f.client_ip, true);
        out += "])";
    }
    out += "\r\n\tby ";
    out += sanitize(f.by_host, false);
    if (!f.with.empty()) {
        out += " with ";
        out += sanitize(f.with, false);
    }
    if (!f.tls.empty()) {
        out += " (";
        std::string tls{f.tls};
        for (auto& c : tls) {
            if (c == '(' || c == ')' || c == '\\' || c == ';' ||
                static_cast<unsigned char>(c) < 32) {
                c = '_';
            }
        }
        out += tls;
        out += ')';
    }
    if (!f.id.empty()) {
        out += "\r\n\tid ";
        out += sanitize(f.id, true);
    }
    if (!f.for_rcpt.empty()) {
        out += "\r\n\tfor <";
        for (const char c : f.for_rcpt) {
            const auto u = static_cast<unsigned char>(c);
            out += (u < 32 || u == 127 || c == ';') ? '_' : c;
        }
        out += '>';
    }
    out += ";\r\n\t";
    out += format_rfc5322_date(f.unix_time, f.utc_offset_minutes);
    out += "\r\n";
    return out;
}

}  // namespace sov::smtp::wire
