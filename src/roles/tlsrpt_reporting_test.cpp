#include "roles/tlsrpt_reporting.hpp"

#include <filesystem>

#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "mailauth/base64.hpp"
#include "mailauth/static_dns.hpp"
#include "support/run_awaitable.hpp"
#include "support/temp_dir.hpp"

namespace sov::roles {
namespace {

namespace asio = boost::asio;
namespace ma = sov::mailauth;

std::int64_t today() {
    return utc_day(core::unix_seconds(core::now()));
}

smtp::queue::TlsAttempt dane_attempt(
    std::string mx, std::optional<tls::ResultType> failure = std::nullopt
) {
    smtp::queue::TlsAttempt a;
    a.policy_domain = "Example.NET";
    a.policy_type = tls::PolicyType::Tlsa;
    a.policy_strings = {"3 1 1 0123abcd"};
    a.mx_host = std::move(mx);
    a.receiving_ip = "192.0.2.25";
    a.failure = failure;
    a.failure_reason = failure ? "no TLSA record matched" : "";
    return a;
}

smtp::queue::TlsAttempt sts_attempt(std::optional<tls::ResultType> failure = std::nullopt) {
    smtp::queue::TlsAttempt a;
    a.policy_domain = "example.net";
    a.policy_type = tls::PolicyType::Sts;
    a.policy_strings = {"version: STSv1", "mode: testing", "mx: *.example.net", "max_age: 86400"};
    a.mx_patterns = {"*.example.net"};
    a.mx_host = "mx2.example.net";
    a.receiving_ip = "2001:db8::25";
    a.failure = failure;
    a.failure_reason = failure ? "certificate has expired" : "";
    return a;
}

TlsReportSettings settings() {
    return TlsReportSettings{
        .organization = "Sender Org",
        .submitter = "mx.sender.example",
        .contact = "postmaster@sender.example",
        .sender = "postmaster@sender.example",
        .interval = std::chrono::hours(1),
        .max_retry_days = 3,
    };
}

// The attachment of a report email, base64-decoded, gunzipped and parsed by our own ingestion
// parser (RFC 8460 §4.4 schema: required fields, types, the registry's result types).
Result<tls::Report> read_back(const std::string& message) {
    const auto type = message.find("Content-Type: application/tlsrpt+gzip");
    EXPECT_NE(type, std::string::npos) << message;
    const auto body = message.find("\r\n\r\n", type);
    const auto end = message.find("\r\n--", body);
    std::string b64;
    for (char c : message.substr(body + 4, end - body - 4)) {
        if (c != '\r' && c != '\n') {
            b64 += c;
        }
    }
    auto gz = ma::base64_decode(b64);
    EXPECT_TRUE(gz);
    auto json = tls::gunzip(std::string(gz->begin(), gz->end()), tls::kMaxReportBytes);
    if (!json) {
        return json.error();
    }
    return tls::parse_report(*json);
}

TEST(TlsReportRow, SuccessesDropAddressesTlsaGetsItsHost) {
    const auto success = row_of(dane_attempt("MX1.example.net"), today() + 5);
    EXPECT_EQ(success.day, today());
    EXPECT_EQ(success.domain, "example.net");
    EXPECT_EQ(success.mx_patterns, std::vector<std::string>{"mx1.example.net"});
    EXPECT_EQ(success.receiving_ip, "");
    EXPECT_EQ(success.reason, "");
    EXPECT_FALSE(success.failure);
    const auto failure = row_of(dane_attempt("mx1.example.net", tls::ResultType::TlsaInvalid), 0);
    EXPECT_EQ(failure.receiving_ip, "192.0.2.25");
    EXPECT_EQ(failure.reason, "no TLSA record matched");
    const auto sts = row_of(sts_attempt(), 0);
    EXPECT_EQ(sts.mx_patterns, std::vector<std::string>{"*.example.net"});
}

class TlsReportTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = TlsReportStore::open(dir_.path() / "reports");
        ASSERT_TRUE(opened) << opened.error().message();
        store_ = std::move(*opened);
    }

    void add(const smtp::queue::TlsAttempt& attempt, std::int64_t day, int times = 1) {
        for (int i = 0; i < times; ++i) {
            ASSERT_TRUE(store_->add(row_of(attempt, day)));
        }
    }

    struct Queued {
        std::string sender;
        std::vector<std::string> to;
        std::string message;
    };

    TlsReportSender sender(bool fail_queue = false) {
        return TlsReportSender(
            *store_,
            dns_,
            pool_,
            settings(),
            [this, fail_queue](
                std::string from, std::vector<std::string> to, std::string message
            ) -> asio::awaitable<Result<std::string>> {
                if (fail_queue) {
                    co_return std::make_error_code(std::errc::io_error);
                }
                queued_.push_back({std::move(from), std::move(to), std::move(message)});
                co_return "Q" + std::to_string(queued_.size());
            }
        );
    }

    test::TempDir dir_;
    std::unique_ptr<TlsReportStore> store_;
    ma::StaticDns dns_;
    asio::thread_pool pool_{1};
    std::vector<Queued> queued_;
};

TEST_F(TlsReportTest, StoreCountsAndFinishKeepsLaterSessions) {
    const auto day = today() - kSecondsPerDay;
    add(dane_attempt("mx1.example.net"), day, 3);
    add(dane_attempt("mx1.example.net", tls::ResultType::TlsaInvalid), day, 2);
    add(dane_attempt("mx1.example.net"), today());
    auto pending = store_->pending(today());
    ASSERT_TRUE(pending);
    ASSERT_EQ(pending->size(), 1U);
    EXPECT_EQ((*pending)[0].domain, "example.net");
    EXPECT_EQ((*pending)[0].successes, 3U);
    EXPECT_EQ((*pending)[0].failures, 2U);

    auto batch = store_->load("example.net", day);
    ASSERT_TRUE(batch);
    ASSERT_EQ(batch->rows.size(), 2U);  // counters, not one row per session
    EXPECT_EQ(batch->rows[0].count, 3U);
    EXPECT_EQ(batch->rows[0].policy_strings, std::vector<std::string>{"3 1 1 0123abcd"});
    EXPECT_EQ(batch->rows[1].failure, tls::ResultType::TlsaInvalid);

    add(dane_attempt("mx1.example.net"), day);  // arrives between load and finish
    ASSERT_TRUE(store_->finish(*batch, "example.net", day, "id1@x", 1));
    auto rest = store_->load("example.net", day);
    ASSERT_TRUE(rest);
    ASSERT_EQ(rest->rows.size(), 1U);
    EXPECT_EQ(rest->rows[0].count, 1U);
    EXPECT_EQ(rest->reports_sent, 1U);
}

TEST_F(TlsReportTest, ReportAggregatesPoliciesAndFailureDetails) {
    const auto day = today() - kSecondsPerDay;
    add(dane_attempt("mx1.example.net"), day, 4);
    add(dane_attempt("mx1.example.net", tls::ResultType::TlsaInvalid), day, 2);
    add(dane_attempt("mx3.example.net", tls::ResultType::StarttlsNotSupported), day);
    add(sts_attempt(), day, 5);
    add(sts_attempt(tls::ResultType::CertificateExpired), day);
    auto batch = store_->load("example.net", day);
    ASSERT_TRUE(batch);
    const auto report = build_tls_report(*batch, "example.net", day, settings());
    EXPECT_EQ(report.organization_name, "Sender Org");
    EXPECT_EQ(report.contact_info, "postmaster@sender.example");
    EXPECT_EQ(tls::format_rfc3339(report.date_range.start).substr(11), "00:00:00Z");
    EXPECT_EQ(tls::format_rfc3339(report.date_range.end).substr(11), "23:59:59Z");
    ASSERT_EQ(report.policies.size(), 3U);  // mx1's TLSA, mx3's TLSA, the STS policy
    const auto& mx1 = report.policies[0];
    EXPECT_EQ(mx1.policy.type, tls::PolicyType::Tlsa);
    EXPECT_EQ(mx1.policy.policy_domain, "example.net");
    EXPECT_EQ(mx1.policy.mx_host, std::vector<std::string>{"mx1.example.net"});
    EXPECT_EQ(mx1.summary.total_successful_session_count, 4U);
    EXPECT_EQ(mx1.summary.total_failure_session_count, 2U);
    ASSERT_EQ(mx1.failure_details.size(), 1U);
    EXPECT_EQ(mx1.failure_details[0].result_type, tls::ResultType::TlsaInvalid);
    EXPECT_EQ(mx1.failure_details[0].failed_session_count, 2U);
    EXPECT_EQ(mx1.failure_details[0].receiving_ip, "192.0.2.25");
    EXPECT_EQ(mx1.failure_details[0].receiving_mx_hostname, "mx1.example.net");
    const auto& sts = report.policies[2];
    EXPECT_EQ(sts.policy.type, tls::PolicyType::Sts);
    EXPECT_EQ(sts.policy.policy_string.size(), 4U);
    EXPECT_EQ(sts.summary.total_successful_session_count, 5U);
    ASSERT_EQ(sts.failure_details.size(), 1U);
    EXPECT_EQ(sts.failure_details[0].result_type, tls::ResultType::CertificateExpired);

    // The JSON we send parses back, through our own §4.4 ingestion parser, to the same report.
    auto parsed = tls::parse_report(tls::to_json(report));
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(*parsed, report);
}

TEST_F(TlsReportTest, SenderMailsEachMailtoRuaAndSkipsHttps) {
    const auto day = today() - kSecondsPerDay;
    add(dane_attempt("mx1.example.net"), day, 2);
    add(dane_attempt("mx1.example.net", tls::ResultType::TlsaInvalid), day);
    add(dane_attempt("mx1.example.net"), today());  // today's waits
    dns_.add_txt(
        "_smtp._tls.example.net",
        "v=TLSRPTv1; rua=mailto:tls@reports.example,https://reports.example/tlsrpt,"
        "mailto:TLS@reports.example"
    );
    auto s = sender();
    const auto summary = test::run_awaitable(s.send_due(false));
    EXPECT_EQ(summary.reports, 1U);
    EXPECT_EQ(summary.messages, 1U);  // the second mailto: is the same address
    EXPECT_EQ(summary.skipped, 1U);   // https:
    EXPECT_EQ(summary.failed, 0U);
    ASSERT_EQ(queued_.size(), 1U);
    EXPECT_EQ(queued_[0].sender, "postmaster@sender.example");
    EXPECT_EQ(queued_[0].to, std::vector<std::string>{"tls@reports.example"});
    const auto& m = queued_[0].message;
    const auto id = fmt::format("{}.example.net@mx.sender.example", [day] {
        const std::chrono::year_month_day ymd{
            std::chrono::sys_days{std::chrono::days{day / kSecondsPerDay}}
        };
        return fmt::format(
            "{:04}{:02}{:02}",
            static_cast<int>(ymd.year()),
            static_cast<unsigned>(ymd.month()),
            static_cast<unsigned>(ymd.day())
        );
    }());
    EXPECT_NE(
        m.find(
            "Subject: Report Domain: example.net\r\n Submitter: mx.sender.example\r\n "
            "Report-ID: <" +
            id + ">\r\n"
        ),
        std::string::npos
    ) << m;
    EXPECT_NE(m.find("TLS-Report-Domain: example.net\r\n"), std::string::npos);
    EXPECT_NE(m.find("TLS-Report-Submitter: mx.sender.example\r\n"), std::string::npos);
    EXPECT_NE(m.find("multipart/report; report-type=\"tlsrpt\""), std::string::npos);
    EXPECT_NE(
        m.find(fmt::format(
            "filename=\"mx.sender.example!example.net!{}!{}.json.gz\"", day, day + kSecondsPerDay
        )),
        std::string::npos
    ) << m;
    auto report = read_back(m);
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->report_id, id);
    ASSERT_EQ(report->policies.size(), 1U);
    EXPECT_EQ(report->policies[0].summary.total_successful_session_count, 2U);
    EXPECT_EQ(report->policies[0].summary.total_failure_session_count, 1U);

    // Sent: only today's counts remain; a second run sends nothing.
    auto pending = store_->pending(std::nullopt);
    ASSERT_TRUE(pending);
    ASSERT_EQ(pending->size(), 1U);
    EXPECT_EQ((*pending)[0].day, today());
    EXPECT_EQ(test::run_awaitable(s.send_due(false)).messages, 0U);
    // --include-today sends today's too, with an id of its own.
    EXPECT_EQ(test::run_awaitable(s.send_due(true)).messages, 1U);
}

TEST_F(TlsReportTest, NoRecordDropsTempFailureDefersQueueFailureKeeps) {
    const auto day = today() - kSecondsPerDay;
    add(dane_attempt("mx1.example.net"), day);
    // No _smtp._tls record: nobody asked for a report (§3); the counts are dropped.
    auto s = sender();
    auto summary = test::run_awaitable(s.send_due(false));
    EXPECT_EQ(summary.reports, 0U);
    EXPECT_TRUE(store_->pending(std::nullopt)->empty());

    add(dane_attempt("mx1.example.net"), day);
    dns_.fail("_smtp._tls.example.net", dns::RrType::TXT);
    summary = test::run_awaitable(s.send_due(false));
    EXPECT_EQ(summary.deferred, 1U);
    EXPECT_EQ(store_->pending(std::nullopt)->size(), 1U);

    ma::StaticDns good;
    good.add_txt("_smtp._tls.example.net", "v=TLSRPTv1; rua=mailto:tls@reports.example");
    auto failing = TlsReportSender(
        *store_,
        good,
        pool_,
        settings(),
        [](std::string, std::vector<std::string>, std::string
        ) -> asio::awaitable<Result<std::string>> {
            co_return std::make_error_code(std::errc::io_error);
        }
    );
    summary = test::run_awaitable(failing.send_due(false));
    EXPECT_EQ(summary.failed, 1U);
    EXPECT_EQ(store_->pending(std::nullopt)->size(), 1U);  // kept for the next run
}

TEST_F(TlsReportTest, HttpsRuaGetsTheGzippedReportByPost) {
    const auto day = today() - kSecondsPerDay;
    add(dane_attempt("mx1.example.net"), day, 2);
    dns_.add_txt(
        "_smtp._tls.example.net",
        "v=TLSRPTv1; rua=https://reports.example/tlsrpt,mailto:tls@reports.example"
    );
    std::vector<std::pair<std::string, std::string>> uploads;
    auto s = sender();
    s.set_upload([&uploads](std::string uri, std::string body) -> asio::awaitable<Result<void>> {
        uploads.emplace_back(std::move(uri), std::move(body));
        co_return Result<void>{};
    });
    const auto summary = test::run_awaitable(s.send_due(false));
    EXPECT_EQ(summary.reports, 1U);
    EXPECT_EQ(summary.messages, 2U);  // one POST, one email
    EXPECT_EQ(summary.skipped, 0U);
    ASSERT_EQ(uploads.size(), 1U);
    EXPECT_EQ(uploads[0].first, "https://reports.example/tlsrpt");
    // §5.2: the same gzipped JSON as the email's attachment.
    auto json = tls::gunzip(uploads[0].second, tls::kMaxReportBytes);
    ASSERT_TRUE(json);
    auto report = tls::parse_report(*json);
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->policies[0].summary.total_successful_session_count, 2U);
    ASSERT_EQ(queued_.size(), 1U);
    EXPECT_EQ(read_back(queued_[0].message)->report_id, report->report_id);
    EXPECT_TRUE(store_->pending(std::nullopt)->empty());
}

TEST_F(TlsReportTest, FailedUploadKeepsTheCountsUnlessAnotherDestinationTookIt) {
    const auto day = today() - kSecondsPerDay;
    add(dane_attempt("mx1.example.net"), day);
    dns_.add_txt("_smtp._tls.example.net", "v=TLSRPTv1; rua=https://reports.example/tlsrpt");
    int attempts = 0;
    auto failing = [&attempts](std::string, std::string) -> asio::awaitable<Result<void>> {
        ++attempts;
        co_return std::make_error_code(std::errc::connection_refused);
    };
    auto s = sender();
    s.set_upload(failing);
    auto summary = test::run_awaitable(s.send_due(false));
    EXPECT_EQ(summary.failed, 1U);
    EXPECT_EQ(summary.deferred, 1U);
    EXPECT_EQ(store_->pending(std::nullopt)->size(), 1U);  // tried again at the next run

    // With a mailto: that takes it, the report is done although the upload failed.
    ma::StaticDns both;
    both.add_txt(
        "_smtp._tls.example.net",
        "v=TLSRPTv1; rua=https://reports.example/tlsrpt,mailto:tls@reports.example"
    );
    TlsReportSender mixed(
        *store_,
        both,
        pool_,
        settings(),
        [this](
            std::string from, std::vector<std::string> to, std::string message
        ) -> asio::awaitable<Result<std::string>> {
            queued_.push_back({std::move(from), std::move(to), std::move(message)});
            co_return std::string("Q1");
        }
    );
    mixed.set_upload(failing);
    summary = test::run_awaitable(mixed.send_due(false));
    EXPECT_EQ(attempts, 2);
    EXPECT_EQ(summary.messages, 1U);
    EXPECT_EQ(summary.deferred, 0U);
    EXPECT_TRUE(store_->pending(std::nullopt)->empty());

    // Too old to retry: dropped rather than kept for ever.
    add(dane_attempt("mx1.example.net"), today() - 5 * kSecondsPerDay);
    summary = test::run_awaitable(s.send_due(false));
    EXPECT_EQ(summary.deferred, 0U);
    EXPECT_TRUE(store_->pending(std::nullopt)->empty());
}

TEST_F(TlsReportTest, ContactInfoAndSenderComeFromTheSettings) {
    core::Config config;
    config.hostname = "mx.sender.example";
    auto defaults = tls_report_settings(config, "sender.example");
    EXPECT_EQ(defaults.contact, "postmaster@sender.example");
    EXPECT_EQ(defaults.sender, "postmaster@sender.example");
    config.tlsrpt.contact = "https://sender.example/tls-contact";
    auto set = tls_report_settings(config, "sender.example");
    EXPECT_EQ(set.contact, "https://sender.example/tls-contact");
    EXPECT_EQ(set.sender, "postmaster@sender.example");
    const auto day = today() - kSecondsPerDay;
    add(dane_attempt("mx1.example.net"), day);
    auto batch = store_->load("example.net", day);
    ASSERT_TRUE(batch);
    const auto report = build_tls_report(*batch, "example.net", day, set);
    EXPECT_EQ(report.contact_info, "https://sender.example/tls-contact");
    const auto email = compose_tls_report_email(report, "example.net", "", "a@b.example", set, 0);
    EXPECT_NE(email.message.find("From: <postmaster@sender.example>\r\n"), std::string::npos);
}

TEST_F(TlsReportTest, ReloadedSettingsApplyToTheNextReport) {
    const auto day = today() - kSecondsPerDay;
    add(dane_attempt("mx1.example.net"), day);
    dns_.add_txt("_smtp._tls.example.net", "v=TLSRPTv1; rua=mailto:tls@reports.example");
    auto s = sender();
    auto changed = settings();
    changed.organization = "Renamed Org";
    changed.contact = "tls-contact@sender.example";
    s.reload(changed);
    EXPECT_EQ(test::run_awaitable(s.send_due(false)).messages, 1U);
    ASSERT_EQ(queued_.size(), 1U);
    auto report = read_back(queued_[0].message);
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->organization_name, "Renamed Org");
    EXPECT_EQ(report->contact_info, "tls-contact@sender.example");
}

TEST(TlsReportRow, StsPolicyFailureWithoutPolicyStrings) {
    smtp::queue::TlsAttempt a;
    a.policy_domain = "example.net";
    a.policy_type = tls::PolicyType::Sts;
    a.mx_host = "mx.example.net";
    a.receiving_ip = "192.0.2.25";
    a.failure = tls::ResultType::StsPolicyFetchError;
    a.failure_reason = "HTTP status not 200: HTTP 404";
    TlsReportBatch batch;
    batch.rows.push_back(row_of(a, today()));
    const auto report = build_tls_report(batch, "example.net", today(), settings());
    ASSERT_EQ(report.policies.size(), 1U);
    const auto& p = report.policies[0];
    EXPECT_EQ(p.policy.type, tls::PolicyType::Sts);
    EXPECT_TRUE(p.policy.policy_string.empty());
    ASSERT_EQ(p.failure_details.size(), 1U);
    EXPECT_EQ(p.failure_details[0].result_type, tls::ResultType::StsPolicyFetchError);
    EXPECT_EQ(p.failure_details[0].receiving_mx_hostname, "mx.example.net");
    // And it survives our own §4.4 reader.
    auto parsed = tls::parse_report(tls::to_json(report));
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(*parsed, report);
}

}  // namespace
}  // namespace sov::roles
