#include "roles/dmarc_reporting.hpp"

#include <filesystem>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "mailauth/dmarc_record.hpp"
#include "mailauth/static_dns.hpp"
#include "support/rfc9990_schema.hpp"
#include "support/run_awaitable.hpp"
#include "support/temp_dir.hpp"

namespace sov::roles {
namespace {

namespace asio = boost::asio;
namespace ma = sov::mailauth;
namespace fs = std::filesystem;

std::int64_t today() {
    return utc_day(core::unix_seconds(core::now()));
}

StoredEvaluation sample(std::int64_t day, std::string ip = "192.0.2.1") {
    StoredEvaluation e;
    e.day = day;
    e.policy.domain = "example.com";
    e.policy.discovery_method = ma::DiscoveryMethod::Treewalk;
    e.policy.p = ma::ReportPolicy::Reject;
    e.policy.sp = ma::ReportPolicy::Quarantine;
    e.policy.np = ma::ReportPolicy::Reject;
    e.policy.adkim = ma::ReportAlignment::Strict;
    e.policy.aspf = ma::ReportAlignment::Relaxed;
    e.policy.testing = false;
    e.policy.fo = "1:d";
    e.rua = {"mailto:reports@example.com"};
    auto& r = e.row;
    r.source_ip = asio::ip::make_address(ip);
    r.header_from = "example.com";
    r.envelope_from = "bounce.example.com";
    r.envelope_to = "example.org";
    r.disposition = ma::ReportDisposition::None;
    r.dkim_aligned = ma::AlignedResult::Fail;
    r.spf_aligned = ma::AlignedResult::Pass;
    r.reasons = {{.type = ma::OverrideType::LocalPolicy, .comment = "policy not enforced"}};
    r.dkim = {
        {.domain = "example.com",
         .selector = "sel\twith\\odd\nchars",
         .result = ma::ReportDkimResult::Fail,
         .human_result = std::nullopt},
        {.domain = "esp.example",
         .selector = "s1",
         .result = ma::ReportDkimResult::Pass,
         .human_result = ""},
    };
    r.spf = ma::SpfAuthResult{
        .domain = "bounce.example.com",
        .scope = ma::SpfScope::MailFrom,
        .result = ma::ReportSpfResult::SoftFail,
        .human_result = std::nullopt,
    };
    return e;
}

bool rows_equal(const ma::EvaluationRow& a, const ma::EvaluationRow& b) {
    return a.source_ip == b.source_ip && a.header_from == b.header_from &&
           a.envelope_from == b.envelope_from && a.envelope_to == b.envelope_to &&
           a.disposition == b.disposition && a.dkim_aligned == b.dkim_aligned &&
           a.spf_aligned == b.spf_aligned && a.reasons == b.reasons && a.dkim == b.dkim &&
           a.spf == b.spf && a.count == b.count;
}

TEST(UtcDay, StartsAtMidnight) {
    EXPECT_EQ(utc_day(0), 0);
    EXPECT_EQ(utc_day(86399), 0);
    EXPECT_EQ(utc_day(86400), 86400);
    EXPECT_EQ(utc_day(1795000000), 1795000000 - 1795000000 % 86400);
    EXPECT_EQ(utc_day(-1), -86400);
}

TEST(DmarcReportStore, RoundTripAndFinish) {
    test::TempDir dir;
    auto store = DmarcReportStore::open(dir.path() / "reports");
    ASSERT_TRUE(store) << store.error().message();
    EXPECT_EQ(
        fs::status(dir.path() / "reports").permissions() & fs::perms::all, fs::perms::owner_all
    );
    const auto day = 1795000000 - 1795000000 % 86400;
    const auto e = sample(day);
    ASSERT_TRUE((*store)->insert(e));
    ASSERT_TRUE((*store)->insert(sample(day, "2001:db8::1")));
    auto other = sample(day + 86400);
    other.policy.domain = "example.net";
    ASSERT_TRUE((*store)->insert(other));

    auto before = (*store)->pending(day + 86400);
    ASSERT_TRUE(before);
    ASSERT_EQ(before->size(), 1U);
    EXPECT_EQ((*before)[0].domain, "example.com");
    EXPECT_EQ((*before)[0].day, day);
    EXPECT_EQ((*before)[0].rows, 2U);
    EXPECT_EQ((*before)[0].messages, 2U);
    EXPECT_EQ((*store)->pending(std::nullopt)->size(), 2U);
    EXPECT_TRUE((*store)->pending(day)->empty());

    auto batch = (*store)->load("example.com", day);
    ASSERT_TRUE(batch) << batch.error().message();
    EXPECT_EQ(batch->policy, e.policy);
    EXPECT_EQ(batch->rua, e.rua);
    ASSERT_EQ(batch->rows.size(), 2U);
    EXPECT_TRUE(rows_equal(batch->rows[0], e.row));
    EXPECT_EQ(batch->rows[1].source_ip.to_string(), "2001:db8::1");
    EXPECT_EQ(batch->reports_sent, 0U);

    // A row arriving after load() survives finish() and makes a second report.
    ASSERT_TRUE((*store)->insert(sample(day, "198.51.100.7")));
    ASSERT_TRUE((*store)->finish("example.com", day, batch->last_row_id, "r1", day + 90000));
    auto rest = (*store)->load("example.com", day);
    ASSERT_TRUE(rest);
    ASSERT_EQ(rest->rows.size(), 1U);
    EXPECT_EQ(rest->rows[0].source_ip.to_string(), "198.51.100.7");
    EXPECT_EQ(rest->reports_sent, 1U);
    ASSERT_TRUE((*store)->discard("example.com", day, rest->last_row_id));
    EXPECT_EQ((*store)->pending(std::nullopt)->size(), 1U);

    // Reopening finds the same data (schema created once, version kept).
    store->reset();
    auto again = DmarcReportStore::open(dir.path() / "reports");
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)->pending(std::nullopt)->size(), 1U);
}

AuthVerdict failing_verdict() {
    AuthVerdict v;
    auto record = ma::parse_dmarc_record(
        "v=DMARC1; p=reject; adkim=s; rua=mailto:agg@example.com!10m,https://x.example/r"
    );
    EXPECT_TRUE(record.ok());
    v.dmarc.result = ma::DmarcResult::Fail;
    v.dmarc.requested = ma::DmarcPolicy::Reject;
    v.dmarc.requested_from = ma::DmarcPolicySource::P;
    v.dmarc.disposition = ma::DmarcPolicy::Reject;
    v.dmarc.author_domain = "Example.COM";
    v.dmarc.policy_domain = "example.com";
    v.dmarc.organizational_domain = "example.com";
    v.dmarc.record = record.record;
    v.dmarc.rua = record.record.rua;
    v.spf.result = ma::SpfResult::Fail;
    v.spf_domain = "bounce.example.net";
    ma::DkimVerdict d;
    d.result = ma::DkimResult::Fail;
    d.domain = "example.com";
    d.selector = "s1";
    v.dkim.push_back(d);
    v.dkim.push_back(ma::DkimVerdict{});  // unparsable: no d=, not reported
    return v;
}

smtp::server::SessionInfo session() {
    return {
        .id = "t1",
        .client_ip = "203.0.113.5",
        .helo = "mx.example.net",
        .tls = false,
        .auth_identity = "",
        .protocol = smtp::wire::Protocol::Smtp,
    };
}

smtp::wire::Envelope envelope() {
    smtp::wire::Envelope env;
    env.reverse_path.mailbox = {"bounce", "Bounce.Example.NET"};
    for (const char* domain : {"ours.example", "OURS.example", "second.example"}) {
        smtp::wire::Recipient r;
        r.path.mailbox = {"user", domain};
        env.recipients.push_back(r);
    }
    return env;
}

TEST(DmarcReportRecorder, MapsVerdictToRows) {
    const auto rows = evaluations_of(failing_verdict(), session(), envelope(), 1795000123);
    ASSERT_EQ(rows.size(), 2U);  // one per distinct recipient domain
    const auto& e = rows[0];
    EXPECT_EQ(e.day, 1795000123 - 1795000123 % 86400);
    EXPECT_EQ(e.policy.domain, "example.com");
    EXPECT_EQ(e.policy.p, ma::ReportPolicy::Reject);
    EXPECT_EQ(e.policy.sp, ma::ReportPolicy::Reject);  // default: p
    EXPECT_EQ(e.policy.np, ma::ReportPolicy::Reject);
    EXPECT_EQ(e.policy.adkim, ma::ReportAlignment::Strict);
    EXPECT_EQ(e.policy.aspf, ma::ReportAlignment::Relaxed);
    EXPECT_EQ(e.policy.testing, false);
    EXPECT_EQ(e.rua, std::vector<std::string>{"mailto:agg@example.com!10485760"});
    EXPECT_EQ(e.row.source_ip.to_string(), "203.0.113.5");
    EXPECT_EQ(e.row.header_from, "example.com");
    EXPECT_EQ(e.row.envelope_from, "bounce.example.net");
    EXPECT_EQ(e.row.envelope_to, "ours.example");
    EXPECT_EQ(rows[1].row.envelope_to, "second.example");
    // Recorded, not refused: disposition none, and the reason says why it differs from p=reject.
    EXPECT_EQ(e.row.disposition, ma::ReportDisposition::None);
    ASSERT_EQ(e.row.reasons.size(), 1U);
    EXPECT_EQ(e.row.reasons[0].type, ma::OverrideType::LocalPolicy);
    EXPECT_EQ(e.row.dkim_aligned, ma::AlignedResult::Fail);
    EXPECT_EQ(e.row.spf_aligned, ma::AlignedResult::Fail);
    ASSERT_EQ(e.row.dkim.size(), 1U);
    EXPECT_EQ(e.row.dkim[0].domain, "example.com");
    EXPECT_EQ(e.row.dkim[0].selector, "s1");
    EXPECT_EQ(e.row.dkim[0].result, ma::ReportDkimResult::Fail);
    ASSERT_TRUE(e.row.spf);
    EXPECT_EQ(e.row.spf->domain, "bounce.example.net");
    EXPECT_EQ(e.row.spf->scope, ma::SpfScope::MailFrom);
    EXPECT_EQ(e.row.spf->result, ma::ReportSpfResult::Fail);
}

TEST(DmarcReportRecorder, RefusalPassAndNoPolicy) {
    auto refused = failing_verdict();
    refused.refusal = smtp::wire::Reply{550, "5.7.1", "no"};
    auto rows = evaluations_of(refused, session(), envelope(), 0);
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows[0].row.disposition, ma::ReportDisposition::Reject);
    EXPECT_TRUE(rows[0].row.reasons.empty());

    auto pass = failing_verdict();
    pass.dmarc.result = ma::DmarcResult::Pass;
    pass.dmarc.disposition = ma::DmarcPolicy::None;
    pass.dmarc.dkim_aligned = true;
    rows = evaluations_of(pass, session(), envelope(), 0);
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows[0].row.disposition, ma::ReportDisposition::Pass);
    EXPECT_EQ(rows[0].row.dkim_aligned, ma::AlignedResult::Pass);

    auto testing = failing_verdict();
    testing.dmarc.testing = true;
    testing.dmarc.disposition = ma::DmarcPolicy::Quarantine;
    rows = evaluations_of(testing, session(), envelope(), 0);
    ASSERT_FALSE(rows.empty());
    ASSERT_EQ(rows[0].row.reasons.size(), 2U);
    EXPECT_EQ(rows[0].row.reasons[0].type, ma::OverrideType::PolicyTestMode);

    auto nowhere = failing_verdict();
    nowhere.dmarc.policy_domain.clear();
    EXPECT_TRUE(evaluations_of(nowhere, session(), envelope(), 0).empty());
    auto bad_ip = session();
    bad_ip.client_ip = "not an address";
    EXPECT_TRUE(evaluations_of(failing_verdict(), bad_ip, envelope(), 0).empty());
    auto no_mailto = failing_verdict();
    no_mailto.dmarc.rua.erase(no_mailto.dmarc.rua.begin());  // only the https URI left
    EXPECT_TRUE(evaluations_of(no_mailto, session(), envelope(), 0).empty());
}

TEST(DmarcReportRecorder, InsertsOnThePool) {
    test::TempDir dir;
    auto store = DmarcReportStore::open(dir.path());
    ASSERT_TRUE(store);
    asio::thread_pool pool{1};
    DmarcReportRecorder recorder(**store, pool);
    recorder.record(failing_verdict(), session(), envelope());
    pool.join();
    auto pending = (*store)->pending(std::nullopt);
    ASSERT_TRUE(pending);
    ASSERT_EQ(pending->size(), 1U);
    EXPECT_EQ((*pending)[0].rows, 2U);
    EXPECT_EQ((*pending)[0].day, today());
}

// ------------------------------------------------------------------------------------ sender

struct Queued {
    std::string sender;
    std::vector<std::string> to;
    std::string message;
};

class SenderTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = DmarcReportStore::open(dir_.path());
        ASSERT_TRUE(opened);
        store_ = std::move(*opened);
        dns_.add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
        // reports.example.net accepts reports for example.com (RFC 9990 §4).
        dns_.add_txt("example.com._report._dmarc.reports.example.net", "v=DMARC1");
    }

    DmarcReportSender sender() {
        return DmarcReportSender(
            *store_,
            dns_,
            pool_,
            ReportSenderSettings{
                .hostname = "mx.receiver.example",
                .reporting_address = "postmaster@receiver.example",
                .contact = "postmaster@receiver.example",
                .interval = std::chrono::hours(1),
                .max_retry_days = 3,
            },
            [this](
                std::string from, std::vector<std::string> to, std::string message
            ) -> asio::awaitable<Result<std::string>> {
                queued_.push_back({std::move(from), std::move(to), std::move(message)});
                co_return "Q" + std::to_string(queued_.size());
            }
        );
    }

    void insert(std::int64_t day, std::vector<std::string> rua, std::string ip = "192.0.2.1") {
        auto e = sample(day, std::move(ip));
        e.rua = std::move(rua);
        ASSERT_TRUE(store_->insert(e));
    }

    test::TempDir dir_;
    std::unique_ptr<DmarcReportStore> store_;
    ma::StaticDns dns_;
    asio::thread_pool pool_{1};
    std::vector<Queued> queued_;
};

TEST_F(SenderTest, BuildsValidReportsForConfirmedDestinationsAndDeletesRows) {
    const auto day = today() - 2 * kSecondsPerDay;
    const std::vector<std::string> rua = {
        "mailto:reports@example.com",
        "mailto:ext@reports.example.net",
        "mailto:victim@other.example",  // external, unconfirmed
    };
    insert(day, rua);
    insert(day, rua);
    insert(day, rua, "198.51.100.9");
    insert(today(), rua);  // today's row waits
    auto s = sender();
    const auto summary = test::run_awaitable(s.send_due(false));
    EXPECT_EQ(summary.reports, 1U);
    EXPECT_EQ(summary.messages, 2U);
    EXPECT_EQ(summary.skipped, 1U);
    EXPECT_EQ(summary.failed, 0U);
    ASSERT_EQ(queued_.size(), 2U);
    EXPECT_EQ(queued_[0].to, std::vector<std::string>{"reports@example.com"});
    EXPECT_EQ(queued_[1].to, std::vector<std::string>{"ext@reports.example.net"});
    EXPECT_EQ(queued_[0].sender, "postmaster@receiver.example");

    const auto& message = queued_[0].message;
    const auto filename =
        fmt::format("mx.receiver.example!example.com!{}!{}.xml.gz", day, day + 86399);
    EXPECT_NE(message.find("filename=\"" + filename + "\""), std::string::npos) << message;
    EXPECT_NE(message.find("Content-Type: application/gzip"), std::string::npos);
    EXPECT_NE(
        message.find(
            "Subject: Report Domain: example.com\r\n Submitter: mx.receiver.example\r\n"
            " Report-ID: <" +
            std::to_string(day) + "-example.com@mx.receiver.example>"
        ),
        std::string::npos
    );
    EXPECT_NE(message.find("From: <postmaster@receiver.example>\r\n"), std::string::npos);

    auto xml = ma::extract_report_xml(message);
    ASSERT_TRUE(xml) << xml.error().message();
    EXPECT_EQ(test::rfc9990_schema_errors(*xml), "");
    auto report = ma::read_aggregate_report(*xml);
    ASSERT_TRUE(report);
    EXPECT_EQ(report->metadata.org_name, "mx.receiver.example");
    EXPECT_EQ(report->metadata.email, "postmaster@receiver.example");
    EXPECT_EQ(report->metadata.date_range.begin, day);
    EXPECT_EQ(report->metadata.date_range.end, day + 86399);
    EXPECT_EQ(report->policy.domain, "example.com");
    EXPECT_EQ(report->policy.p, ma::ReportPolicy::Reject);
    ASSERT_EQ(report->records.size(), 2U);
    EXPECT_EQ(report->records[0].source_ip.to_string(), "192.0.2.1");
    EXPECT_EQ(report->records[0].count, 2U);
    EXPECT_EQ(report->records[1].count, 1U);
    EXPECT_EQ(report->records[0].policy_evaluated.spf, ma::AlignedResult::Pass);

    // Sent rows are gone; today's row stays until the day is over (or --include-today).
    auto pending = store_->pending(std::nullopt);
    ASSERT_TRUE(pending);
    ASSERT_EQ(pending->size(), 1U);
    EXPECT_EQ((*pending)[0].day, today());
    EXPECT_EQ(test::run_awaitable(s.send_due(false)).reports, 0U);
    EXPECT_EQ(test::run_awaitable(s.send_due(true)).messages, 2U);
    EXPECT_TRUE(store_->pending(std::nullopt)->empty());
}

TEST_F(SenderTest, ReloadedContactAppliesToTheNextReport) {
    const auto day = today() - kSecondsPerDay;
    insert(day, {"mailto:reports@example.com"});
    auto s = sender();
    s.reload(ReportSenderSettings{
        .hostname = "mx2.receiver.example",
        .reporting_address = "postmaster@receiver.example",
        .contact = "dmarc-contact@receiver.example",
        .interval = std::chrono::hours(1),
        .max_retry_days = 3,
    });
    EXPECT_EQ(test::run_awaitable(s.send_due(false)).messages, 1U);
    ASSERT_EQ(queued_.size(), 1U);
    auto report = ma::read_aggregate_report_email(queued_[0].message);
    ASSERT_TRUE(report);
    EXPECT_EQ(report->metadata.email, "dmarc-contact@receiver.example");
    EXPECT_EQ(report->metadata.org_name, "mx2.receiver.example");
}

TEST_F(SenderTest, SecondReportForTheSameDayGetsItsOwnId) {
    const auto day = today() - kSecondsPerDay;
    insert(day, {"mailto:reports@example.com"});
    auto s = sender();
    EXPECT_EQ(test::run_awaitable(s.send_due(false)).messages, 1U);
    insert(day, {"mailto:reports@example.com"});  // a late row for the same day
    EXPECT_EQ(test::run_awaitable(s.send_due(false)).messages, 1U);
    ASSERT_EQ(queued_.size(), 2U);
    auto first = ma::read_aggregate_report_email(queued_[0].message);
    auto second = ma::read_aggregate_report_email(queued_[1].message);
    ASSERT_TRUE(first && second);
    EXPECT_NE(first->metadata.report_id, second->metadata.report_id);
    EXPECT_NE(
        queued_[1].message.find(fmt::format("{}!{}!1.xml.gz", day, day + 86399)), std::string::npos
    );
}

TEST_F(SenderTest, HonoursSizeLimit) {
    const auto day = today() - kSecondsPerDay;
    insert(day, {"mailto:small@example.com!100", "mailto:big@example.com!10m"});
    auto s = sender();
    const auto summary = test::run_awaitable(s.send_due(false));
    EXPECT_EQ(summary.skipped, 1U);
    ASSERT_EQ(queued_.size(), 1U);
    EXPECT_EQ(queued_[0].to, std::vector<std::string>{"big@example.com"});
    EXPECT_TRUE(store_->pending(std::nullopt)->empty());
}

TEST_F(SenderTest, OverrideFromTheDestinationReplacesTheAddress) {
    dns_.add_txt(
        "example.com._report._dmarc.other.example", "v=DMARC1; rua=mailto:collector@other.example"
    );
    dns_.add_txt(
        "example.com._report._dmarc.loop.example", "v=DMARC1; rua=mailto:x@elsewhere.example"
    );
    const auto day = today() - kSecondsPerDay;
    insert(day, {"mailto:a@other.example", "mailto:b@loop.example"});
    auto s = sender();
    const auto summary = test::run_awaitable(s.send_due(false));
    ASSERT_EQ(queued_.size(), 1U);
    EXPECT_EQ(queued_[0].to, std::vector<std::string>{"collector@other.example"});
    EXPECT_EQ(summary.skipped, 1U);  // §4: an override to another host means no report at all
}

TEST_F(SenderTest, TemporaryDnsFailureKeepsRowsForTheNextRun) {
    dns_.fail("example.com._report._dmarc.reports.example.net", dns::RrType::TXT);
    const auto day = today() - kSecondsPerDay;
    insert(day, {"mailto:ext@reports.example.net"});
    auto s = sender();
    const auto summary = test::run_awaitable(s.send_due(false));
    EXPECT_EQ(summary.deferred, 1U);
    EXPECT_TRUE(queued_.empty());
    EXPECT_EQ(store_->pending(std::nullopt)->size(), 1U);
}

TEST_F(SenderTest, NoUsableDestinationDropsTheRows) {
    const auto day = today() - kSecondsPerDay;
    insert(day, {"mailto:victim@other.example"});
    auto s = sender();
    const auto summary = test::run_awaitable(s.send_due(false));
    EXPECT_EQ(summary.messages, 0U);
    EXPECT_EQ(summary.skipped, 1U);
    EXPECT_TRUE(store_->pending(std::nullopt)->empty());
}

}  // namespace
}  // namespace sov::roles
