#pragma once
// SMTP TLS Reporting, the reports we send (RFC 8460): the queue runner tells us how every TLS
// negotiation with a remote MX went (smtp::queue::TlsAttempt); the counts go into
// <data>/reports/tlsrpt.db per recipient domain, UTC day and policy; once an hour the days that
// have ended are folded into one JSON report per domain (§4), gzipped (§5.2) and mailed to each
// mailto: rua of the domain's "_smtp._tls" TXT record (§3, §5.3) through the queue, and POSTed
// to each https: rua (§5.4). Domains without a TLSRPT record get no report.
// `sovereign tlsrpt` reads the same database (SQLite WAL) while the server runs.
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
#include "dns/resolver.hpp"
#include "mailauth/dns_source.hpp"
#include "net/tls_context.hpp"
#include "roles/report_store.hpp"
#include "roles/settings_slot.hpp"
#include "smtp/queue/runner.hpp"
#include "tls/tlsrpt_report.hpp"

namespace sov::roles {

/// One counter row: sessions with the same domain, day, policy, host and result.
struct TlsResultRow {
    std::int64_t id = 0;  // rowid, set by load()
    std::int64_t day = 0;
    std::string domain;
    tls::PolicyType policy_type = tls::PolicyType::NoPolicyFound;
    std::vector<std::string> policy_strings;
    std::vector<std::string> mx_patterns;
    std::string mx_host;
    std::string sending_ip;    // empty: unknown
    std::string receiving_ip;  // empty for successes
    std::optional<tls::ResultType> failure;
    std::string reason;
    std::uint64_t count = 0;
};

struct TlsPendingReport {
    std::string domain;
    std::int64_t day = 0;
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
};

struct TlsReportBatch {
    std::vector<TlsResultRow> rows;
    std::uint64_t reports_sent = 0;  // reports already queued for this (domain, day)
};

/// The row an attempt adds (count 1); successes carry no addresses or reason (§4.4: those
/// belong to failure-details only).
[[nodiscard]] TlsResultRow row_of(const smtp::queue::TlsAttempt& attempt, std::int64_t unix_time);

/// <data>/reports/tlsrpt.db. Thread-safe (one mutex around the connection); every call blocks.
class TlsReportStore {
public:
    /// Opens (creating, mode 0700) `dir` and tlsrpt.db inside it.
    static Result<std::unique_ptr<TlsReportStore>> open(const std::filesystem::path& dir);

    /// Adds row.count to the matching counter (creating it).
    Status add(const TlsResultRow& row);
    /// (domain, day) pairs with counts from days before `before_day` (all when nullopt).
    Result<std::vector<TlsPendingReport>> pending(std::optional<std::int64_t> before_day);
    Result<TlsReportBatch> load(std::string_view domain, std::int64_t day);
    /// In one transaction: takes the loaded counts off their rows (sessions counted since load()
    /// stay for a later report) and, when `report_id` is not empty, records it as queued.
    Status finish(
        const TlsReportBatch& batch,
        std::string_view domain,
        std::int64_t day,
        std::string_view report_id,
        std::int64_t now
    );

private:
    TlsReportStore() = default;
    Status init(const std::filesystem::path& dir);

    std::mutex mutex_;
    core::Db db_;
};

/// The runner's recorder: maps the attempt on the runner's strand and adds it on the pool.
class TlsReportRecorder final : public smtp::queue::TlsAttemptRecorder {
public:
    TlsReportRecorder(TlsReportStore& store, boost::asio::thread_pool& pool)
        : store_(store), pool_(pool) {}
    void record(smtp::queue::TlsAttempt attempt) override;

private:
    TlsReportStore& store_;
    boost::asio::thread_pool& pool_;
};

struct TlsReportSettings {
    std::string organization;  // "organization-name"
    std::string submitter;     // our hostname: TLS-Report-Submitter, file names, report ids
    std::string contact;       // "contact-info"
    std::string sender;        // From: and envelope sender; empty: `contact`
    std::chrono::seconds interval{3600};
    /// Reports whose TXT lookup failed temporarily are retried; after this many days dropped.
    std::int64_t max_retry_days = 3;
};

/// The settings from [tlsrpt] and the hostname; reports come from postmaster@`mail_domain`
/// (the first hosted domain), which is also the contact-info unless [tlsrpt] contact says
/// otherwise.
[[nodiscard]] TlsReportSettings tls_report_settings(
    const core::Config& config, std::string_view mail_domain
);

/// The report of one (domain, day) (RFC 8460 §4.4): one policy entry per distinct applied
/// policy, its summary, and one failure-details entry per distinct failure.
[[nodiscard]] tls::Report build_tls_report(
    const TlsReportBatch& batch,
    std::string_view domain,
    std::int64_t day,
    const TlsReportSettings& settings
);

/// The §5.3 report email to `to`: multipart/report; report-type="tlsrpt", a text part and the
/// gzipped JSON as application/tlsrpt+gzip (base64), TLS-Report-Domain/-Submitter fields.
[[nodiscard]] ReportEmail compose_tls_report_email(
    const tls::Report& report,
    std::string_view domain,
    std::string_view unique_id,
    std::string_view to,
    const TlsReportSettings& settings,
    std::int64_t unix_time
);

/// Uploads a gzipped report to an https: rua (RFC 8460 §5.4): (uri, body) -> done, or the
/// reason it failed (a transport error or a non-2xx status).
using ReportUpload =
    std::function<boost::asio::awaitable<Result<void>>(std::string uri, std::string body)>;

/// The real upload: tls::post_https() with Content-Type application/tlsrpt+gzip, the host's
/// addresses from `resolver`, PKIX against `context` ([tls] trusted_cas or the system store).
/// Both must outlive the uploads.
[[nodiscard]] ReportUpload https_report_upload(
    dns::Resolver& resolver, net::SslContextPtr context, std::chrono::milliseconds timeout
);

class TlsReportSender {
public:
    TlsReportSender(
        TlsReportStore& store,
        mailauth::DnsSource& dns,
        boost::asio::thread_pool& pool,
        TlsReportSettings settings,
        ReportEnqueue enqueue
    )
        : store_(store),
          dns_(dns),
          pool_(pool),
          settings_(std::move(settings)),
          enqueue_(std::move(enqueue)) {}

    /// Reports to https: rua are POSTed with `upload`; without one they are skipped and logged.
    void set_upload(ReportUpload upload) { upload_ = std::move(upload); }

    /// Runs send_due() every settings.interval on `ioc`, the first time a few minutes (with
    /// jitter) after start.
    void start(boost::asio::io_context& ioc);

    /// SIGHUP: reports built from now on use `settings` (the interval stays as started).
    void reload(TlsReportSettings settings) { settings_.set(std::move(settings)); }

    /// Builds and queues every report due: days that have ended (UTC), and today's too when
    /// `include_today`.
    boost::asio::awaitable<SendSummary> send_due(bool include_today);

private:
    boost::asio::awaitable<void> send_one(const TlsPendingReport& pending, SendSummary& summary);
    /// POSTs the report to one https: rua; true when the receiver accepted it.
    boost::asio::awaitable<bool> upload(
        const tls::Report& report,
        const std::string& domain,
        const std::string& uri,
        SendSummary& summary
    );

    TlsReportStore& store_;
    mailauth::DnsSource& dns_;
    boost::asio::thread_pool& pool_;
    SettingsSlot<TlsReportSettings> settings_;
    ReportEnqueue enqueue_;
    ReportUpload upload_;
};

}  // namespace sov::roles
