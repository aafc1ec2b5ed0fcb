#include "tls/tlsrpt_report.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <limits>
#include <new>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "tls/errors.hpp"

namespace sov::tls {
namespace {

namespace json = boost::json;

struct NamedResultType {
    ResultType type;
    std::string_view name;
};

// RFC 8460 §6.6, the initial "STARTTLS Validation Result Types" registry.
constexpr std::array<NamedResultType, 11> kResultTypes{{
    {ResultType::StarttlsNotSupported, "starttls-not-supported"},
    {ResultType::CertificateHostMismatch, "certificate-host-mismatch"},
    {ResultType::CertificateExpired, "certificate-expired"},
    {ResultType::CertificateNotTrusted, "certificate-not-trusted"},
    {ResultType::ValidationFailure, "validation-failure"},
    {ResultType::TlsaInvalid, "tlsa-invalid"},
    {ResultType::DnssecInvalid, "dnssec-invalid"},
    {ResultType::DaneRequired, "dane-required"},
    {ResultType::StsPolicyFetchError, "sts-policy-fetch-error"},
    {ResultType::StsPolicyInvalid, "sts-policy-invalid"},
    {ResultType::StsWebpkiInvalid, "sts-webpki-invalid"},
}};

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

bool is_alnum(char c) noexcept {
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// ---- JSON reading -------------------------------------------------------------------------

// Reads typed fields out of JSON objects, remembering the first schema violation so that the
// parsing code below can read straight through and check once per object.
class Reader {
public:
    enum class Need {
        Required,
        Optional,
    };

    [[nodiscard]] bool ok() const noexcept { return ok_; }

    const json::object* object(const json::object& o, std::string_view key) {
        const json::value* v = find(o, key, Need::Required);
        if (v == nullptr) {
            return nullptr;
        }
        const json::object* obj = v->if_object();
        if (obj == nullptr) {
            fail();
        }
        return obj;
    }

    const json::array* array(const json::object& o, std::string_view key, Need need) {
        const json::value* v = find(o, key, need);
        if (v == nullptr) {
            return nullptr;
        }
        const json::array* arr = v->if_array();
        if (arr == nullptr) {
            fail();
        }
        return arr;
    }

    std::string string(const json::object& o, std::string_view key, Need need) {
        const json::value* v = find(o, key, need);
        if (v == nullptr) {
            return {};
        }
        const json::string* s = v->if_string();
        if (s == nullptr) {
            fail();
            return {};
        }
        return {s->data(), s->size()};
    }

    // "an integer, encoded as a JSON number" (§4.4): non-negative, no fraction or exponent
    // (Boost.JSON gives those a double kind).
    std::uint64_t count(const json::object& o, std::string_view key) {
        const json::value* v = find(o, key, Need::Required);
        if (v == nullptr) {
            return 0;
        }
        if (const std::uint64_t* u = v->if_uint64()) {
            return *u;
        }
        if (const std::int64_t* i = v->if_int64(); i != nullptr && *i >= 0) {
            return static_cast<std::uint64_t>(*i);
        }
        fail();
        return 0;
    }

    ReportTime time(const json::object& o, std::string_view key) {
        const std::string text = string(o, key, Need::Required);
        if (!ok_) {
            return {};
        }
        const auto t = parse_rfc3339(text);
        if (!t) {
            fail();
            return {};
        }
        return *t;
    }

    // An array of strings; with `allow_scalar`, a lone string counts as a one-element array.
    std::vector<std::string> strings(
        const json::object& o, std::string_view key, bool allow_scalar
    ) {
        std::vector<std::string> out;
        const json::value* v = find(o, key, Need::Optional);
        if (v == nullptr) {
            return out;
        }
        if (const json::string* s = v->if_string(); s != nullptr && allow_scalar) {
            out.emplace_back(s->data(), s->size());
            return out;
        }
        const json::array* arr = v->if_array();
        if (arr == nullptr) {
            fail();
            return out;
        }
        out.reserve(arr->size());
        for (const json::value& e : *arr) {
            const json::string* s = e.if_string();
            if (s == nullptr) {
                fail();
                return out;
            }
            out.emplace_back(s->data(), s->size());
        }
        return out;
    }

    void fail() noexcept { ok_ = false; }

private:
    // An absent required field fails; an optional one may also be null.
    const json::value* find(const json::object& o, std::string_view key, Need need) {
        const json::value* v = o.if_contains(key);
        if (v == nullptr || (need == Need::Optional && v->is_null())) {
            if (need == Need::Required) {
                fail();
            }
            return nullptr;
        }
        return v;
    }

    bool ok_ = true;
};

using Need = Reader::Need;

FailureDetail read_failure_detail(Reader& r, const json::object& o) {
    FailureDetail d;
    const std::string type = r.string(o, "result-type", Need::Required);
    if (const auto known = result_type_from_string(type)) {
        d.result_type = *known;
    } else {
        d.result_type = ResultType::Other;  // §6.6: the registry grows by Expert Review
        d.result_type_other = type;
    }
    d.sending_mta_ip = r.string(o, "sending-mta-ip", Need::Optional);
    d.receiving_mx_hostname = r.string(o, "receiving-mx-hostname", Need::Optional);
    d.receiving_mx_helo = r.string(o, "receiving-mx-helo", Need::Optional);
    d.receiving_ip = r.string(o, "receiving-ip", Need::Optional);
    d.failed_session_count = r.count(o, "failed-session-count");
    d.additional_information = r.string(o, "additional-information", Need::Optional);
    d.failure_reason_code = r.string(o, "failure-reason-code", Need::Optional);
    return d;
}

PolicyResult read_policy_result(Reader& r, const json::object& o) {
    PolicyResult p;
    if (const json::object* policy = r.object(o, "policy")) {
        const std::string type = r.string(*policy, "policy-type", Need::Required);
        if (const auto known = policy_type_from_string(type)) {
            p.policy.type = *known;
        } else if (r.ok()) {
            r.fail();  // §4.4: "the only three valid choices"
        }
        p.policy.policy_string = r.strings(*policy, "policy-string", false);
        p.policy.policy_domain = r.string(*policy, "policy-domain", Need::Required);
        // §4.4 says "a JSON array of strings"; Appendix B and some reporters send one string.
        p.policy.mx_host = r.strings(*policy, "mx-host", true);
    }
    if (const json::object* summary = r.object(o, "summary")) {
        p.summary.total_successful_session_count =
            r.count(*summary, "total-successful-session-count");
        p.summary.total_failure_session_count = r.count(*summary, "total-failure-session-count");
    }
    // A report about a domain without failures may leave "failure-details" out.
    if (const json::array* details = r.array(o, "failure-details", Need::Optional)) {
        for (const json::value& e : *details) {
            const json::object* entry = e.if_object();
            if (entry == nullptr) {
                r.fail();
                break;
            }
            p.failure_details.push_back(read_failure_detail(r, *entry));
            if (!r.ok()) {
                break;
            }
        }
    }
    return p;
}

// ---- JSON writing -------------------------------------------------------------------------

json::array string_array(const std::vector<std::string>& items) {
    json::array a;
    a.reserve(items.size());
    for (const auto& s : items) {
        a.emplace_back(s);
    }
    return a;
}

void put_optional(json::object& o, std::string_view key, const std::string& value) {
    if (!value.empty()) {
        o.emplace(key, value);
    }
}

json::object failure_detail_json(const FailureDetail& d) {
    json::object o;
    o.emplace(
        "result-type",
        d.result_type == ResultType::Other ? std::string_view(d.result_type_other)
                                           : to_string(d.result_type)
    );
    o.emplace("sending-mta-ip", d.sending_mta_ip);
    o.emplace("receiving-mx-hostname", d.receiving_mx_hostname);
    put_optional(o, "receiving-mx-helo", d.receiving_mx_helo);
    put_optional(o, "receiving-ip", d.receiving_ip);
    o.emplace("failed-session-count", d.failed_session_count);
    put_optional(o, "additional-information", d.additional_information);
    put_optional(o, "failure-reason-code", d.failure_reason_code);
    return o;
}

json::object policy_result_json(const PolicyResult& p) {
    json::object policy;
    policy.emplace("policy-type", to_string(p.policy.type));
    policy.emplace("policy-string", string_array(p.policy.policy_string));
    policy.emplace("policy-domain", p.policy.policy_domain);
    policy.emplace("mx-host", string_array(p.policy.mx_host));
    json::object summary;
    summary.emplace("total-successful-session-count", p.summary.total_successful_session_count);
    summary.emplace("total-failure-session-count", p.summary.total_failure_session_count);
    json::array details;
    details.reserve(p.failure_details.size());
    for (const auto& d : p.failure_details) {
        details.emplace_back(failure_detail_json(d));
    }
    json::object o;
    o.emplace("policy", std::move(policy));
    o.emplace("summary", std::move(summary));
    o.emplace("failure-details", std::move(details));
    return o;
}

// ---- names --------------------------------------------------------------------------------

// RFC 5321 §4.1.2 Domain as LDH labels (A-labels), without a trailing dot.
bool is_ldh_domain(std::string_view d) noexcept {
    if (d.empty() || d.size() > 253) {
        return false;
    }
    while (true) {
        const std::size_t dot = d.find('.');
        const std::string_view label = d.substr(0, dot);
        if (label.empty() || label.size() > 63 || !is_alnum(label.front()) ||
            !is_alnum(label.back()) || !std::all_of(label.begin(), label.end(), [](char c) {
                return is_alnum(c) || c == '-';
            })) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        d.remove_prefix(dot + 1);
    }
}

// RFC 5322 §3.2.3: dot-atom-text = 1*atext *("." 1*atext)
bool is_dot_atom_text(std::string_view s) noexcept {
    constexpr std::string_view kAtextSpecials = "!#$%&'*+-/=?^_`{|}~";
    if (s.empty() || s.front() == '.' || s.back() == '.' ||
        s.find("..") != std::string_view::npos) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [&](char c) {
        return is_alnum(c) || c == '.' || kAtextSpecials.find(c) != std::string_view::npos;
    });
}

// ---- zlib ---------------------------------------------------------------------------------

// zlib's counters are 32-bit (uInt); larger inputs are fed in pieces.
constexpr std::size_t kMaxZlibChunk = std::numeric_limits<uInt>::max();
// gzip wrapper around DEFLATE: windowBits 15 (32 KiB) + 16 (zlib.h, deflateInit2/inflateInit2).
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kMemLevel = 8;  // zlib's default

Bytef* zlib_in(const char* p) {
    // zlib's API is not const-correct; it does not write through next_in.
    return reinterpret_cast<Bytef*>(const_cast<char*>(p));
}

class Deflater {
public:
    Deflater() {
        if (deflateInit2(
                &z_,
                Z_DEFAULT_COMPRESSION,
                Z_DEFLATED,
                kGzipWindowBits,
                kMemLevel,
                Z_DEFAULT_STRATEGY
            ) != Z_OK) {
            throw std::bad_alloc();  // the only failure with valid parameters is Z_MEM_ERROR
        }
    }
    ~Deflater() { deflateEnd(&z_); }
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;
    Deflater(Deflater&&) = delete;
    Deflater& operator=(Deflater&&) = delete;
    z_stream& stream() noexcept { return z_; }

private:
    z_stream z_{};
};

class Inflater {
public:
    Inflater() {
        if (inflateInit2(&z_, kGzipWindowBits) != Z_OK) {
            throw std::bad_alloc();
        }
    }
    ~Inflater() { inflateEnd(&z_); }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    Inflater(Inflater&&) = delete;
    Inflater& operator=(Inflater&&) = delete;
    z_stream& stream() noexcept { return z_; }

private:
    z_stream z_{};
};

}  // namespace

std::string_view to_string(PolicyType type) noexcept {
    switch (type) {
        case PolicyType::Sts:
            return "sts";
        case PolicyType::Tlsa:
            return "tlsa";
        case PolicyType::NoPolicyFound:
            return "no-policy-found";
    }
    return "no-policy-found";
}

std::optional<PolicyType> policy_type_from_string(std::string_view text) noexcept {
    if (text == "sts") {
        return PolicyType::Sts;
    }
    if (text == "tlsa") {
        return PolicyType::Tlsa;
    }
    if (text == "no-policy-found") {
        return PolicyType::NoPolicyFound;
    }
    return std::nullopt;
}

std::string_view to_string(ResultType type) noexcept {
    for (const auto& entry : kResultTypes) {
        if (entry.type == type) {
            return entry.name;
        }
    }
    return {};
}

std::optional<ResultType> result_type_from_string(std::string_view text) noexcept {
    for (const auto& entry : kResultTypes) {
        if (entry.name == text) {
            return entry.type;
        }
    }
    return std::nullopt;
}

std::string format_rfc3339(ReportTime t) {
    using namespace std::chrono;  // NOLINT(google-build-using-namespace): calendar types
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss hms{t - day};
    // RFC 3339 §5.6: full-date "T" full-time, time-offset "Z" for UTC.
    return fmt::format(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()),
        static_cast<unsigned>(ymd.day()),
        hms.hours().count(),
        hms.minutes().count(),
        hms.seconds().count()
    );
}

std::optional<ReportTime> parse_rfc3339(std::string_view text) noexcept {
    using namespace std::chrono;  // NOLINT(google-build-using-namespace): calendar types
    // date-fullyear "-" date-month "-" date-mday "T" time-hour ":" time-minute ":" time-second
    // [time-secfrac] time-offset, RFC 3339 §5.6; fixed positions up to the seconds.
    constexpr std::size_t kSecondsEnd = 19;
    const auto number = [&](std::size_t pos, std::size_t len, int& out) {
        if (pos + len > text.size()) {
            return false;
        }
        out = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (!is_digit(text[i])) {
                return false;
            }
            out = out * 10 + (text[i] - '0');
        }
        return true;
    };
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int s = 0;
    if (text.size() < kSecondsEnd + 1 || !number(0, 4, y) || text[4] != '-' || !number(5, 2, mo) ||
        text[7] != '-' || !number(8, 2, d) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !number(11, 2, h) ||
        text[13] != ':' || !number(14, 2, mi) || text[16] != ':' || !number(17, 2, s)) {
        return std::nullopt;
    }
    const year_month_day ymd{
        year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}
    };
    // §5.7: hour 00-23, minute 00-59, second 00-60 (60 only for a leap second).
    if (!ymd.ok() || h > 23 || mi > 59 || s > 60) {
        return std::nullopt;
    }
    std::size_t i = kSecondsEnd;
    if (text[i] == '.') {  // time-secfrac = "." 1*DIGIT
        const std::size_t start = ++i;
        while (i < text.size() && is_digit(text[i])) {
            ++i;
        }
        if (i == start) {
            return std::nullopt;
        }
    }
    int offset_minutes = 0;
    const std::string_view zone = text.substr(std::min(i, text.size()));
    if (zone == "Z" || zone == "z") {
        offset_minutes = 0;
    } else {
        // time-numoffset = ("+" / "-") time-hour ":" time-minute
        int oh = 0;
        int om = 0;
        if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !number(i + 1, 2, oh) ||
            zone[3] != ':' || !number(i + 4, 2, om) || oh > 23 || om > 59) {
            return std::nullopt;
        }
        offset_minutes = (zone[0] == '-' ? -1 : 1) * (oh * 60 + om);
    }
    const ReportTime t =
        ReportTime{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{s} - minutes{offset_minutes};
    // The offset or a leap second can carry 0000-01-01 or 9999-12-31 out of the four-digit
    // years that format_rfc3339() can write back.
    const year utc_year = year_month_day{floor<days>(t)}.year();
    if (utc_year < year{0} || utc_year > year{9999}) {
        return std::nullopt;
    }
    return t;
}

std::string to_json(const Report& report) {
    json::object range;
    range.emplace("start-datetime", format_rfc3339(report.date_range.start));
    range.emplace("end-datetime", format_rfc3339(report.date_range.end));
    json::array policies;
    policies.reserve(report.policies.size());
    for (const auto& p : report.policies) {
        policies.emplace_back(policy_result_json(p));
    }
    // RFC 8460 §4.4, in the order of the schema.
    json::object o;
    o.emplace("organization-name", report.organization_name);
    o.emplace("date-range", std::move(range));
    o.emplace("contact-info", report.contact_info);
    o.emplace("report-id", report.report_id);
    o.emplace("policies", std::move(policies));
    return json::serialize(o);
}

Result<Report> parse_report(std::string_view text) {
    if (text.size() > kMaxReportBytes) {
        return Errc::TooLarge;
    }
    json::parse_options options;
    options.max_depth = kMaxReportDepth;
    // Strict JSON (no comments, trailing commas) with UTF-8 validation: I-JSON, RFC 7493 §2.1.
    std::error_code ec;
    const json::value root = json::parse(text, ec, {}, options);
    if (ec) {
        return Errc::BadJson;
    }
    const json::object* top = root.if_object();
    if (top == nullptr) {
        return Errc::BadReport;
    }
    Reader r;
    Report report;
    report.organization_name = r.string(*top, "organization-name", Need::Required);
    if (const json::object* range = r.object(*top, "date-range")) {
        report.date_range.start = r.time(*range, "start-datetime");
        report.date_range.end = r.time(*range, "end-datetime");
    }
    report.contact_info = r.string(*top, "contact-info", Need::Optional);
    report.report_id = r.string(*top, "report-id", Need::Required);
    // §4: "the "policies" field of the report body MUST be an array and not a singular value".
    if (const json::array* policies = r.array(*top, "policies", Need::Required)) {
        for (const json::value& e : *policies) {
            const json::object* entry = e.if_object();
            if (entry == nullptr) {
                r.fail();
                break;
            }
            report.policies.push_back(read_policy_result(r, *entry));
            if (!r.ok()) {
                break;
            }
        }
    }
    if (!r.ok()) {
        return Errc::BadReport;
    }
    return report;
}

std::string gzip(std::string_view data) {
    Deflater deflater;
    z_stream& z = deflater.stream();
    std::string out;
    std::array<char, 16384> chunk{};
    std::size_t fed = 0;
    int flush = Z_NO_FLUSH;
    do {
        const std::size_t n = std::min(data.size() - fed, kMaxZlibChunk);
        z.next_in = zlib_in(data.data() + fed);
        z.avail_in = static_cast<uInt>(n);
        fed += n;
        flush = fed == data.size() ? Z_FINISH : Z_NO_FLUSH;
        do {
            z.next_out = reinterpret_cast<Bytef*>(chunk.data());
            z.avail_out = static_cast<uInt>(chunk.size());
            deflate(&z, flush);  // cannot fail: the stream is valid and output space is given
            out.append(chunk.data(), chunk.size() - z.avail_out);
        } while (z.avail_out == 0);
    } while (flush != Z_FINISH);
    return out;
}

Result<std::string> gunzip(std::string_view data, std::size_t max_out) {
    if (data.empty()) {
        return Errc::BadGzip;
    }
    Inflater inflater;
    z_stream& z = inflater.stream();
    std::string out;
    std::array<char, 16384> chunk{};
    std::size_t fed = 0;
    while (true) {
        if (z.avail_in == 0 && fed < data.size()) {
            const std::size_t n = std::min(data.size() - fed, kMaxZlibChunk);
            z.next_in = zlib_in(data.data() + fed);
            z.avail_in = static_cast<uInt>(n);
            fed += n;
        }
        const bool input_left = z.avail_in > 0 || fed < data.size();
        z.next_out = reinterpret_cast<Bytef*>(chunk.data());
        z.avail_out = static_cast<uInt>(chunk.size());
        const int rc = inflate(&z, Z_NO_FLUSH);
        const std::size_t produced = chunk.size() - z.avail_out;
        if (produced > max_out - out.size()) {
            return Errc::OutputTooLarge;  // checked before appending: memory stays bounded
        }
        out.append(chunk.data(), produced);
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0 && fed == data.size()) {
                return out;
            }
            // RFC 1952 §2.2: "A gzip file consists of a series of "members"". Bytes after a
            // member that are not another member fail in the next header check.
            inflateReset(&z);
            continue;
        }
        if (rc == Z_OK) {
            continue;
        }
        if (rc == Z_BUF_ERROR && input_left) {
            continue;  // no progress possible this round; cannot happen with output space
        }
        if (rc == Z_MEM_ERROR) {
            throw std::bad_alloc();
        }
        return Errc::BadGzip;  // Z_DATA_ERROR, Z_NEED_DICT, or Z_BUF_ERROR at end: truncated
    }
}

Result<std::string> report_filename(
    std::string_view sender,
    std::string_view policy_domain,
    ReportTime begin,
    ReportTime end,
    std::string_view unique_id,
    bool compressed
) {
    // RFC 8460 §5.1: filename = sender "!" policy-domain "!" begin-timestamp "!" end-timestamp
    // [ "!" unique-id ] "." extension; timestamps are 1*DIGIT seconds since the epoch;
    // unique-id = 1*(ALPHA / DIGIT); extension = "json" / "json.gz".
    const auto b = begin.time_since_epoch().count();
    const auto e = end.time_since_epoch().count();
    if (!is_ldh_domain(sender) || !is_ldh_domain(policy_domain) || b < 0 || e < 0 ||
        !std::all_of(unique_id.begin(), unique_id.end(), is_alnum)) {
        return Errc::Invalid;
    }
    std::string name = fmt::format("{}!{}!{}!{}", sender, policy_domain, b, e);
    if (!unique_id.empty()) {
        name += '!';
        name += unique_id;
    }
    name += compressed ? ".json.gz" : ".json";
    return name;
}

Result<std::string> report_subject(
    std::string_view policy_domain, std::string_view submitter, std::string_view report_id
) {
    // RFC 8460 §5.3: tlsrpt-subject = %s"Report" FWS %s"Domain:" FWS domain-name FWS
    //   %s"Submitter:" FWS domain-name FWS %s"Report-ID:" FWS "<" id-left "@" id-right ">"
    // id-left and id-right are dot-atom-text here (RFC 5322 §3.6.4 also allows others).
    if (!is_ldh_domain(policy_domain) || !is_ldh_domain(submitter)) {
        return Errc::Invalid;
    }
    std::string id;
    const std::size_t at = report_id.find('@');
    if (at == std::string_view::npos) {
        if (!is_dot_atom_text(report_id)) {
            return Errc::Invalid;
        }
        id = fmt::format("{}@{}", report_id, submitter);
    } else {
        if (!is_dot_atom_text(report_id.substr(0, at)) ||
            !is_dot_atom_text(report_id.substr(at + 1))) {
            return Errc::Invalid;  // also rejects a second "@"
        }
        id = std::string(report_id);
    }
    return fmt::format(
        "Report Domain: {} Submitter: {} Report-ID: <{}>", policy_domain, submitter, id
    );
}

}  // namespace sov::tls
