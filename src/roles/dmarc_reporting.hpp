#pragma once
// DMARC aggregate reports we send (RFC 9990 §3, §4): the MX records one evaluation row per
// message whose DMARC Policy Record asks for reports (rua), into <data>/reports/dmarc.db; once an
// hour the rows of every UTC day that has ended are folded into one report per policy domain,
// written as XML, gzipped, mailed to each rua address (after the external-destination check) and
// queued like any outbound mail, so they are DKIM-signed and retried. `sovereign dmarc` reads the
// same database (SQLite WAL) while the server runs.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/config.hpp"
#include "core/result.hpp"
#include "core/sqlite.hpp"
#include "mailauth/dmarc_report.hpp"
#include "mailauth/dns_source.hpp"
#include "roles/inbound_auth.hpp"
#include "roles/report_store.hpp"
#include "roles/settings_slot.hpp"

namespace sov::roles {

/// One evaluation as stored: the policy in force and where reports go, plus the row itself.
struct StoredEvaluation {
    std::int64_t day = 0;              // utc_day() of the evaluation
    mailauth::PolicyPublished policy;  // policy.domain: the DMARC Policy Domain
    std::vector<std::string> rua;      // the record's rua URIs, "uri[!size-in-octets]"
    mailauth::EvaluationRow row;
};

/// Rows waiting for one report.
struct PendingReport {
    std::string domain;
    std::int64_t day = 0;
    std::uint64_t rows = 0;
    std::uint64_t messages = 0;  // sum of the rows' counts
};

/// What one report is built from: the newest row's policy and rua (RFC 9990 §3.1: "note only the
/// final configuration observed during the period"), every row, and the highest row id read.
struct ReportBatch {
    mailauth::PolicyPublished policy;
    std::vector<std::string> rua;
    std::vector<mailauth::EvaluationRow> rows;
    std::int64_t last_row_id = 0;
    std::uint64_t reports_sent = 0;  // reports already queued for this (domain, day)
};

/// <data>/reports/dmarc.db. Thread-safe (one mutex around the connection); every call blocks.
class DmarcReportStore {
public:
    /// Opens (creating, mode 0700) `dir` and dmarc.db inside it.
    static Result<std::unique_ptr<DmarcReportStore>> open(const std::filesystem::path& dir);

    Status insert(const StoredEvaluation& evaluation);
    /// (domain, day) pairs with rows from days before `before_day` (every day when nullopt),
    /// ordered by day then domain.
    Result<std::vector<PendingReport>> pending(std::optional<std::int64_t> before_day);
    /// The rows of one (domain, day); an empty batch when there are none.
    Result<ReportBatch> load(std::string_view domain, std::int64_t day);
    /// In one transaction: deletes the rows of (domain, day) up to `last_row_id` and records
    /// `report_id` as queued. Rows that arrived after load() stay for a later report.
    Status finish(
        std::string_view domain,
        std::int64_t day,
        std::int64_t last_row_id,
        std::string_view report_id,
        std::int64_t now
    );
    /// Drops the rows of (domain, day) up to `last_row_id` without recording a report (nothing
    /// could be sent, e.g. no usable rua).
    Status discard(std::string_view domain, std::int64_t day, std::int64_t last_row_id);

private:
    DmarcReportStore() = default;
    Status init(const std::filesystem::path& dir);
    Status delete_rows(std::string_view domain, std::int64_t day, std::int64_t last_row_id);

    std::mutex mutex_;
    core::Db db_;
};

/// The rows an AuthVerdict gives (one per distinct RCPT domain; one without envelope_to when
/// there is none); empty when the verdict has no policy domain, record or client address.
[[nodiscard]] std::vector<StoredEvaluation> evaluations_of(
    const AuthVerdict& verdict,
    const smtp::server::SessionInfo& session,
    const smtp::wire::Envelope& envelope,
    std::int64_t unix_time
);

/// The MX side: every verdict with a rua goes into the store, off the I/O thread.
class DmarcReportRecorder final : public DmarcRecorder {
public:
    DmarcReportRecorder(DmarcReportStore& store, boost::asio::thread_pool& pool)
        : store_(store), pool_(pool) {}

    /// Maps the verdict now (cheap) and posts the inserts to the pool; never blocks or throws.
    void record(
        const AuthVerdict& verdict,
        const smtp::server::SessionInfo& session,
        const smtp::wire::Envelope& envelope
    ) override;

private:
    DmarcReportStore& store_;
    boost::asio::thread_pool& pool_;
};

struct ReportSenderSettings {
    std::string hostname;           // org_name, Submitter and the receiver in file names
    std::string reporting_address;  // From: and envelope sender (postmaster@first domain)
    /// report_metadata "email" (RFC 9990 §3.1.1.2); empty: reporting_address.
    std::string contact;
    std::chrono::seconds interval{3600};
    /// Rows whose destinations had only temporary DNS failures are kept and retried; after this
    /// many days they are dropped.
    std::int64_t max_retry_days = 3;
};

/// The settings from the config ([mailauth] dmarc_report_contact) and the hostname; reports come
/// from postmaster@`mail_domain` (the first hosted domain).
[[nodiscard]] ReportSenderSettings dmarc_report_settings(
    const core::Config& config, std::string_view mail_domain
);

/// Builds the report of one batch (report_metadata from `settings`, date_range = the UTC day).
[[nodiscard]] mailauth::AggregateReport build_report(
    const ReportBatch& batch,
    std::string_view domain,
    std::int64_t day,
    const ReportSenderSettings& settings
);

/// The email carrying `report` to `to`: multipart/mixed, a short text part, the gzipped XML as
/// an application/gzip attachment (base64) named per §3.5.2; Message-ID is the Report-ID.
[[nodiscard]] ReportEmail compose_report_email(
    const mailauth::AggregateReport& report,
    std::string_view unique_id,
    std::string_view to,
    const ReportSenderSettings& settings,
    std::int64_t unix_time
);

class DmarcReportSender {
public:
    DmarcReportSender(
        DmarcReportStore& store,
        mailauth::DnsSource& dns,
        boost::asio::thread_pool& pool,
        ReportSenderSettings settings,
        ReportEnqueue enqueue
    )
        : store_(store),
          dns_(dns),
          pool_(pool),
          settings_(std::move(settings)),
          enqueue_(std::move(enqueue)) {}

    /// Runs send_due() every settings.interval on `ioc` (the first time one minute after start).
    void start(boost::asio::io_context& ioc);

    /// SIGHUP: reports built from now on use `settings` (the interval stays as started).
    void reload(ReportSenderSettings settings) { settings_.set(std::move(settings)); }

    /// Builds and queues every report due: rows of days that have ended (UTC), and today's too
    /// when `include_today`.
    boost::asio::awaitable<SendSummary> send_due(bool include_today);

private:
    boost::asio::awaitable<void> send_one(const PendingReport& pending, SendSummary& summary);

    DmarcReportStore& store_;
    mailauth::DnsSource& dns_;
    boost::asio::thread_pool& pool_;
    SettingsSlot<ReportSenderSettings> settings_;
    ReportEnqueue enqueue_;
};

}  // namespace sov::roles
