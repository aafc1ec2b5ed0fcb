#include "tls/tlsrpt_report.hpp"

#include <array>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tls/errors.hpp"
#include "tls/mta_sts_policy.hpp"

namespace sov::tls {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

// RFC 8460 Appendix B. Two repairs make it JSON: the page break is removed, and the
// "additional-information" string, which the RFC wraps across lines (a raw newline is not
// allowed in a JSON string) with stray spaces, is joined into the URI it evidently means.
constexpr std::string_view kAppendixB = R"({
     "organization-name": "Company-X",
     "date-range": {
       "start-datetime": "2016-04-01T00:00:00Z",
       "end-datetime": "2016-04-01T23:59:59Z"
     },
     "contact-info": "sts-reporting@company-x.example",
     "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
     "policies": [{
       "policy": {
         "policy-type": "sts",
         "policy-string": ["version: STSv1","mode: testing",
               "mx: *.mail.company-y.example","max_age: 86400"],
         "policy-domain": "company-y.example",
         "mx-host": "*.mail.company-y.example"
       },
       "summary": {
         "total-successful-session-count": 5326,
         "total-failure-session-count": 303
       },
       "failure-details": [{
         "result-type": "certificate-expired",
         "sending-mta-ip": "2001:db8:abcd:0012::1",
         "receiving-mx-hostname": "mx1.mail.company-y.example",
         "failed-session-count": 100
       }, {
         "result-type": "starttls-not-supported",
         "sending-mta-ip": "2001:db8:abcd:0013::1",
         "receiving-mx-hostname": "mx2.mail.company-y.example",
         "receiving-ip": "203.0.113.56",
         "failed-session-count": 200,
         "additional-information": "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"
       }, {
         "result-type": "validation-failure",
         "sending-mta-ip": "198.51.100.62",
         "receiving-ip": "203.0.113.58",
         "receiving-mx-hostname": "mx-backup.mail.company-y.example",
         "failed-session-count": 3,
         "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
       }]
     }]
   })";

std::error_code error_of(std::string_view json) {
    const auto r = parse_report(json);
    return r ? std::error_code{} : r.error();
}

Report small_report() {
    Report r;
    r.organization_name = "Sovereign";
    r.date_range = {sys_days{2024y / 2 / 29}, sys_days{2024y / 3 / 1} - 1s};
    r.contact_info = "tlsrpt@mail.example.org";
    r.report_id = "2024-02-29T00:00:00Z_example.net";
    PolicyResult p;
    p.policy.type = PolicyType::Sts;
    p.policy.policy_string = to_lines(Policy{Mode::Enforce, 604800, {"mx.example.net"}});
    p.policy.policy_domain = "example.net";
    p.policy.mx_host = {"mx.example.net"};
    p.summary = {10, 1};
    FailureDetail d;
    d.result_type = ResultType::CertificateExpired;
    d.sending_mta_ip = "192.0.2.1";
    d.receiving_mx_hostname = "mx.example.net";
    d.failed_session_count = 1;
    p.failure_details.push_back(d);
    r.policies.push_back(p);
    return r;
}

Report appendix_b() {
    return parse_report(kAppendixB).value();  // throws, failing the test, if it does not parse
}

TEST(TlsRptReport, AppendixBMetadata) {
    const Report r = appendix_b();
    EXPECT_EQ(r.organization_name, "Company-X");
    EXPECT_EQ(r.date_range.start, sys_days{2016y / 4 / 1});
    EXPECT_EQ(r.date_range.end, sys_days{2016y / 4 / 2} - 1s);
    EXPECT_EQ(r.contact_info, "sts-reporting@company-x.example");
    EXPECT_EQ(r.report_id, "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
    EXPECT_EQ(r.policies.size(), 1U);
}

TEST(TlsRptReport, AppendixBPolicy) {
    const PolicyResult p = appendix_b().policies.at(0);
    EXPECT_EQ(p.policy.type, PolicyType::Sts);
    EXPECT_EQ(p.policy.policy_domain, "company-y.example");
    EXPECT_EQ(p.policy.mx_host, (std::vector<std::string>{"*.mail.company-y.example"}));
    EXPECT_EQ(p.summary.total_successful_session_count, 5326U);
    EXPECT_EQ(p.summary.total_failure_session_count, 303U);
    // The policy-string is an MTA-STS policy we can parse.
    std::string text;
    for (const auto& line : p.policy.policy_string) {
        text += line + "\n";
    }
    const auto policy = parse_policy(text);
    ASSERT_TRUE(policy);
    EXPECT_EQ(*policy, (Policy{Mode::Testing, 86400, {"*.mail.company-y.example"}}));
    EXPECT_TRUE(mx_matches(*policy, "mx1.mail.company-y.example"));
}

TEST(TlsRptReport, AppendixBFailureDetails) {
    const auto details = appendix_b().policies.at(0).failure_details;
    ASSERT_EQ(details.size(), 3U);
    FailureDetail expired;
    expired.result_type = ResultType::CertificateExpired;
    expired.sending_mta_ip = "2001:db8:abcd:0012::1";
    expired.receiving_mx_hostname = "mx1.mail.company-y.example";
    expired.failed_session_count = 100;
    EXPECT_EQ(details[0], expired);
    EXPECT_EQ(details[1].result_type, ResultType::StarttlsNotSupported);
    EXPECT_EQ(details[1].receiving_ip, "203.0.113.56");
    EXPECT_EQ(details[1].failed_session_count, 200U);
    EXPECT_EQ(details[2].result_type, ResultType::ValidationFailure);
    EXPECT_EQ(details[2].failure_reason_code, "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED");
}

TEST(TlsRptReport, AppendixBRoundTrips) {
    const auto first = parse_report(kAppendixB);
    ASSERT_TRUE(first);
    const std::string json = to_json(*first);
    const auto second = parse_report(json);
    ASSERT_TRUE(second) << second.error().message() << "\n" << json;
    EXPECT_EQ(*second, *first);
    EXPECT_EQ(to_json(*second), json);  // serialisation is a fixed point
    EXPECT_NE(json.find(R"("mx-host":["*.mail.company-y.example"])"), std::string::npos);
    EXPECT_NE(json.find(R"("end-datetime":"2016-04-01T23:59:59Z")"), std::string::npos);
}

TEST(TlsRptReport, ToJsonExactFieldsAndOrder) {
    EXPECT_EQ(
        to_json(small_report()),
        R"({"organization-name":"Sovereign",)"
        R"("date-range":{"start-datetime":"2024-02-29T00:00:00Z",)"
        R"("end-datetime":"2024-02-29T23:59:59Z"},)"
        R"("contact-info":"tlsrpt@mail.example.org",)"
        R"("report-id":"2024-02-29T00:00:00Z_example.net",)"
        R"("policies":[{"policy":{"policy-type":"sts",)"
        R"("policy-string":["version: STSv1","mode: enforce","mx: mx.example.net",)"
        R"("max_age: 604800"],"policy-domain":"example.net","mx-host":["mx.example.net"]},)"
        R"("summary":{"total-successful-session-count":10,"total-failure-session-count":1},)"
        R"("failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1",)"
        R"("receiving-mx-hostname":"mx.example.net","failed-session-count":1}]}]})"
    );
}

TEST(TlsRptReport, OptionalFieldsAndOtherTypesRoundTrip) {
    Report r = small_report();
    auto& d = r.policies[0].failure_details[0];
    d.result_type = ResultType::Other;
    d.result_type_other = "future-result-type";
    d.receiving_mx_helo = "mx.example.net";
    d.receiving_ip = "2001:db8::25";
    d.additional_information = "https://example.org/info";
    d.failure_reason_code = "X509_V_ERR_CERT_HAS_EXPIRED";
    PolicyResult none;
    none.policy.type = PolicyType::NoPolicyFound;
    none.policy.policy_domain = "example.com";
    none.summary = {std::uint64_t{1} << 60U, 0};
    r.policies.push_back(none);
    const auto back = parse_report(to_json(r));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, r);
}

TEST(TlsRptReport, ToleratesUnknownFieldsNullsAndMissingOptionals) {
    const auto r = parse_report(R"({
        "organization-name": "X", "report-id": "1", "extra": {"a": [1, 2, {"b": null}]},
        "date-range": {"start-datetime": "2024-01-01T00:00:00Z",
                       "end-datetime": "2024-01-01T23:59:59.999+00:00", "tz": "UTC"},
        "contact-info": null,
        "policies": [{"policy": {"policy-type": "no-policy-found", "policy-domain": "e.example",
                                 "vendor": true},
                      "summary": {"total-successful-session-count": 0,
                                  "total-failure-session-count": 0}},
                     {"policy": {"policy-type": "tlsa", "policy-domain": "f.example",
                                 "policy-string": ["3 1 1 AB"], "mx-host": ["mx.f.example"]},
                      "summary": {"total-successful-session-count": 1,
                                  "total-failure-session-count": 1},
                      "failure-details": [{"result-type": "tlsa-invalid",
                                           "failed-session-count": 1, "receiving-ip": null}]}]
    })");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->contact_info, "");
    ASSERT_EQ(r->policies.size(), 2U);
    EXPECT_EQ(r->policies[0].policy.type, PolicyType::NoPolicyFound);
    EXPECT_TRUE(r->policies[0].failure_details.empty());
    EXPECT_EQ(r->policies[1].failure_details.at(0).result_type, ResultType::TlsaInvalid);
    EXPECT_EQ(r->policies[1].failure_details.at(0).sending_mta_ip, "");
}

constexpr std::string_view kHead = R"({"organization-name":"X","report-id":"1",)"
                                   R"("date-range":{"start-datetime":"2024-01-01T00:00:00Z",)"
                                   R"("end-datetime":"2024-01-02T00:00:00Z"},)";
constexpr std::string_view kPolicy = R"({"policy-type":"sts","policy-domain":"e.example"})";
constexpr std::string_view kSummary =
    R"({"total-successful-session-count":1,"total-failure-session-count":0})";

std::string with_policies(std::string_view policies, std::string_view head = kHead) {
    return std::string(head) + R"("policies":)" + std::string(policies) + "}";
}

std::string with_entry(
    std::string_view policy, std::string_view summary, std::string_view details = {}
) {
    std::string e =
        R"([{"policy":)" + std::string(policy) + R"(,"summary":)" + std::string(summary);
    if (!details.empty()) {
        e += R"(,"failure-details":)" + std::string(details);
    }
    return with_policies(e + "}]");
}

TEST(TlsRptReport, MinimalReportsParse) {
    EXPECT_TRUE(parse_report(with_policies("[]")));
    EXPECT_TRUE(parse_report(with_entry(kPolicy, kSummary)));
    EXPECT_TRUE(parse_report(with_entry(kPolicy, kSummary, "[]")));
}

TEST(TlsRptReport, StrictOnRequiredFieldsAndTypes) {
    std::vector<std::string> bad{
        with_policies("{}"),  // policies "MUST be an array"
        with_policies("[1]"),
        R"({"organization-name":"X","report-id":"1"})",
        with_policies(
            "[]",
            R"({"report-id":"1","date-range":{"start-datetime":)"
            R"("2024-01-01T00:00:00Z","end-datetime":"2024-01-02T00:00:00Z"},)"
        ),
        with_policies(
            "[]",
            R"({"organization-name":7,"report-id":"1","date-range":)"
            R"({"start-datetime":"2024-01-01T00:00:00Z","end-datetime":)"
            R"("2024-01-02T00:00:00Z"},)"
        ),
        with_policies(
            "[]",
            R"({"organization-name":"X","report-id":"1","date-range":)"
            R"({"start-datetime":"2024-01-01","end-datetime":"2024-01-02T00:00:00Z"},)"
        ),
        with_entry(R"({"policy-type":"dane","policy-domain":"e"})", kSummary),
        with_entry(R"({"policy-type":"sts"})", kSummary),
        with_entry(
            R"({"policy-type":"sts","policy-domain":"e","policy-string":"version: STSv1"})",
            kSummary
        ),
        with_entry(R"({"policy-type":"sts","policy-domain":"e","mx-host":[1]})", kSummary),
        with_entry(kPolicy, "{}"),
        with_entry(kPolicy, kSummary, "{}"),
        with_entry(kPolicy, kSummary, "[1]"),
        with_entry(kPolicy, kSummary, R"([{"failed-session-count":1}])"),
        with_entry(kPolicy, kSummary, R"([{"result-type":"tlsa-invalid"}])"),
        with_entry(
            kPolicy,
            kSummary,
            R"([{"result-type":"tlsa-invalid","failed-session-count":1,"receiving-ip":42}])"
        ),
    };
    for (const std::string_view count : {"-1", "1.0", "1e3", "\"5\"", "true", "null"}) {
        bad.push_back(with_entry(
            kPolicy,
            R"({"total-successful-session-count":)" + std::string(count) +
                R"(,"total-failure-session-count":0})"
        ));
    }
    for (const auto& json : bad) {
        EXPECT_EQ(error_of(json), Errc::BadReport) << json;
    }
}

TEST(TlsRptReport, JsonLimits) {
    const auto nested = [](std::size_t depth) {  // `depth` containers: an object, then arrays
        return R"({"x":)" + std::string(depth - 1, '[') + "1" + std::string(depth - 1, ']') + "}";
    };
    const std::vector<std::pair<std::string, Errc>> cases{
        {"", Errc::BadJson},
        {"{", Errc::BadJson},
        {"{} x", Errc::BadJson},
        {R"({"a":1,})", Errc::BadJson},                     // no trailing commas
        {"{/* c */}", Errc::BadJson},                       // no comments
        {"{\"a\":\"\xff\"}", Errc::BadJson},                // invalid UTF-8
        {std::string("{\"a\":\"\0\"}", 9), Errc::BadJson},  // raw NUL
        {"[]", Errc::BadReport},
        {"\"report\"", Errc::BadReport},
        // Depth: kMaxReportDepth containers parse (then lack fields), one more does not.
        {nested(kMaxReportDepth), Errc::BadReport},
        {nested(kMaxReportDepth + 1), Errc::BadJson},
        {std::string(100000, '['), Errc::BadJson},
        {R"({"pad":")" + std::string(kMaxReportBytes, 'a') + "\"}", Errc::TooLarge},
    };
    for (const auto& [json, expected] : cases) {
        EXPECT_EQ(error_of(json), expected) << json.substr(0, 40);
    }
}

TEST(TlsRptReport, DuplicateKeysKeepTheLast) {
    const auto r = parse_report(
        R"({"organization-name":"A","organization-name":"B","report-id":"1","policies":[],)"
        R"("date-range":{"start-datetime":"2024-01-01T00:00:00Z",)"
        R"("end-datetime":"2024-01-02T00:00:00Z"}})"
    );
    ASSERT_TRUE(r);
    EXPECT_EQ(r->organization_name, "B");
}

TEST(Rfc3339, ParseAndFormat) {
    struct Case {
        std::string_view text;
        std::chrono::sys_seconds expected;
    };
    const sys_days day{2016y / 4 / 1};
    const auto cases = std::to_array<Case>({
        {"2016-04-01T00:00:00Z", day},
        {"2016-04-01t00:00:00z", day},
        {"2016-04-01 00:00:00Z", day},
        {"2016-04-01T00:00:00.123456789Z", day},
        {"2016-04-01T02:00:00+02:00", day},
        {"2016-03-31T19:30:00-04:30", day},
        {"2016-04-01T00:00:00-00:00", day},
        {"2016-12-31T23:59:60Z", sys_days{2017y / 1 / 1}},  // leap second
        {"1970-01-01T00:00:00Z", std::chrono::sys_seconds{}},
        {"2024-02-29T12:34:56Z", sys_days{2024y / 2 / 29} + 12h + 34min + 56s},
        {"0000-01-01T00:00:00Z", sys_days{std::chrono::year{0} / 1 / 1}},
        {"9999-12-31T23:59:59Z", sys_days{std::chrono::year{9999} / 12 / 31} + 86399s},
    });
    for (const auto& c : cases) {
        const auto t = parse_rfc3339(c.text);
        ASSERT_TRUE(t) << c.text;
        EXPECT_EQ(*t, c.expected) << c.text;
    }
    for (const std::string_view bad : {
             "",
             "2016-04-01",
             "2016-04-01T00:00:00",
             "2016-04-01T00:00Z",
             "2016-4-01T00:00:00Z",
             "2016-04-01T24:00:00Z",
             "2016-04-01T00:60:00Z",
             "2016-04-01T00:00:61Z",
             "2016-02-30T00:00:00Z",
             "2015-02-29T00:00:00Z",
             "2016-13-01T00:00:00Z",
             "2016-00-01T00:00:00Z",
             "2016-04-01T00:00:00.Z",
             "2016-04-01T00:00:00+0200",
             "2016-04-01T00:00:00+24:00",
             "2016-04-01T00:00:00Zx",
             "2016-04-01X00:00:00Z",
             "+016-04-01T00:00:00Z",
             "2016-04-01T00:00:00 Z",
             "0000-01-01T00:00:00+00:01",
             "9999-12-31T23:59:60Z",
             "9999-12-31T23:00:00-01:00",
         }) {
        EXPECT_FALSE(parse_rfc3339(bad)) << bad;
    }
    EXPECT_EQ(format_rfc3339(day), "2016-04-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339(sys_days{2024y / 2 / 29} + 23h + 59min + 59s), "2024-02-29T23:59:59Z");
    EXPECT_EQ(format_rfc3339(std::chrono::sys_seconds{}), "1970-01-01T00:00:00Z");
}

TEST(ResultTypes, StringsOfTheRegistry) {
    const std::vector<std::pair<ResultType, std::string_view>> all{
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
    };
    for (const auto& [type, name] : all) {
        EXPECT_EQ(to_string(type), name);
        EXPECT_EQ(result_type_from_string(name), type);
    }
    EXPECT_EQ(to_string(ResultType::Other), "");
    EXPECT_FALSE(result_type_from_string(""));
    EXPECT_FALSE(result_type_from_string("Certificate-Expired"));
    for (const PolicyType t : {PolicyType::Sts, PolicyType::Tlsa, PolicyType::NoPolicyFound}) {
        EXPECT_EQ(policy_type_from_string(to_string(t)), t);
    }
    EXPECT_EQ(to_string(PolicyType::NoPolicyFound), "no-policy-found");
    EXPECT_FALSE(policy_type_from_string("STS"));
}

TEST(Gzip, RoundTripsAndIsGzip) {
    for (const std::string& data :
         {std::string{}, std::string("x"), std::string(kAppendixB), std::string(300000, '\0')}) {
        const std::string z = gzip(data);
        ASSERT_GE(z.size(), 18U);                            // RFC 1952 header + trailer
        EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1fU);  // ID1
        EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8bU);  // ID2
        EXPECT_EQ(z, gzip(data));                            // deterministic
        const auto back = gunzip(z, data.size());
        ASSERT_TRUE(back) << back.error().message();
        EXPECT_EQ(*back, data);
    }
}

TEST(Gzip, BoundedOutput) {
    const std::string data(20U << 20U, 'a');  // 20 MiB, compresses to ~20 KiB
    const std::string bomb = gzip(data);
    EXPECT_LT(bomb.size(), 100000U);
    EXPECT_EQ(gunzip(bomb, 1U << 20U).error(), Errc::OutputTooLarge);
    EXPECT_EQ(gunzip(bomb, data.size() - 1).error(), Errc::OutputTooLarge);
    EXPECT_EQ(gunzip(bomb, 0).error(), Errc::OutputTooLarge);
    const auto exact = gunzip(bomb, data.size());
    ASSERT_TRUE(exact);
    EXPECT_EQ(exact->size(), data.size());
}

TEST(Gzip, CorruptInput) {
    const std::string z = gzip(kAppendixB);
    EXPECT_EQ(gunzip("", 1000).error(), Errc::BadGzip);
    EXPECT_EQ(gunzip(kAppendixB, 100000).error(), Errc::BadGzip);                 // not compressed
    EXPECT_EQ(gunzip(z.substr(0, z.size() - 1), 100000).error(), Errc::BadGzip);  // truncated
    EXPECT_EQ(gunzip(z.substr(0, 10), 100000).error(), Errc::BadGzip);
    EXPECT_EQ(gunzip(z + "garbage", 100000).error(), Errc::BadGzip);
    std::string crc = z;
    crc[crc.size() - 6] = static_cast<char>(crc[crc.size() - 6] ^ 1);  // CRC32 of the trailer
    EXPECT_EQ(gunzip(crc, 100000).error(), Errc::BadGzip);
    std::string body = z;
    body[z.size() / 2] = static_cast<char>(body[z.size() / 2] ^ 0x55);
    EXPECT_FALSE(gunzip(body, 100000));
}

TEST(Gzip, MultipleMembers) {
    // RFC 1952 §2.2: a gzip file is a series of members; `cat a.gz b.gz` is valid.
    const auto both = gunzip(gzip("hello ") + gzip("world"), 100);
    ASSERT_TRUE(both) << both.error().message();
    EXPECT_EQ(*both, "hello world");
    EXPECT_EQ(gunzip(gzip("hello ") + gzip("world"), 10).error(), Errc::OutputTooLarge);
}

TEST(ReportFilename, Rfc8460Example) {
    // RFC 8460 §5.1: "mail.sndr.example.com!example.net!1470013207!1470186007!001.json.gz"
    const std::chrono::sys_seconds begin{1470013207s};
    const std::chrono::sys_seconds end{1470186007s};
    EXPECT_EQ(
        report_filename("mail.sndr.example.com", "example.net", begin, end, "001").value(),
        "mail.sndr.example.com!example.net!1470013207!1470186007!001.json.gz"
    );
    EXPECT_EQ(
        report_filename("mail.sndr.example.com", "example.net", begin, end, {}, false).value(),
        "mail.sndr.example.com!example.net!1470013207!1470186007.json"
    );
    EXPECT_EQ(report_filename("a!b", "example.net", begin, end).error(), Errc::Invalid);
    EXPECT_EQ(report_filename("a.example", "", begin, end).error(), Errc::Invalid);
    EXPECT_EQ(report_filename("a.example", "b.example", begin, end, "0-1").error(), Errc::Invalid);
    EXPECT_EQ(
        report_filename("a.example", "b.example", std::chrono::sys_seconds{-1s}, end).error(),
        Errc::Invalid
    );
}

TEST(ReportSubject, Rfc8460Example) {
    // RFC 8460 §5.3 (unfolded)
    EXPECT_EQ(
        report_subject(
            "example.net", "mail.sender.example.com", "735ff.e317+bf22029@mailexample.net"
        )
            .value(),
        "Report Domain: example.net Submitter: mail.sender.example.com "
        "Report-ID: <735ff.e317+bf22029@mailexample.net>"
    );
    EXPECT_EQ(
        report_subject("example.net", "mx.example.org", "5065427c-23d3-47ca-b6e0-946ea0e8c4be")
            .value(),
        "Report Domain: example.net Submitter: mx.example.org "
        "Report-ID: <5065427c-23d3-47ca-b6e0-946ea0e8c4be@mx.example.org>"
    );
    EXPECT_EQ(report_subject("example.net", "mx.example.org", "").error(), Errc::Invalid);
    EXPECT_EQ(report_subject("example.net", "mx.example.org", "a b").error(), Errc::Invalid);
    EXPECT_EQ(report_subject("example.net", "mx.example.org", "a@b@c").error(), Errc::Invalid);
    EXPECT_EQ(report_subject("example.net", "mx.example.org", "a>").error(), Errc::Invalid);
    EXPECT_EQ(
        report_subject("example.net", "mx.example.org", "a\r\nBcc: x").error(), Errc::Invalid
    );
    EXPECT_EQ(report_subject("example .net", "mx.example.org", "a").error(), Errc::Invalid);
}

}  // namespace
}  // namespace sov::tls
