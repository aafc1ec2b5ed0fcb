#include "roles/tlsrpt_reporting.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/durable_file.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "mailauth/base64.hpp"
#include "mime/header.hpp"
#include "roles/report_sender.hpp"
#include "smtp/wire/trace_headers.hpp"
#include "tls/errors.hpp"
#include "tls/https_client.hpp"
#include "tls/tlsrpt_record.hpp"

namespace sov::roles {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// Version 1. A database with a newer user_version is refused rather than misread.
constexpr int kSchemaVersion = 1;
// One counter per distinct (day, domain, policy, host, result): a busy day costs a few rows,
// not one per session. Lists are stored joined with "\n" (neither TLSA presentation data nor
// MTA-STS policy lines contain one).
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    day INTEGER NOT NULL,
    domain TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    policy_strings TEXT NOT NULL,
    mx_patterns TEXT NOT NULL,
    mx_host TEXT NOT NULL,
    sending_ip TEXT NOT NULL,
    receiving_ip TEXT NOT NULL,
    result TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    UNIQUE (day, domain, policy_type, policy_strings, mx_patterns, mx_host, sending_ip,
            receiving_ip, result, reason)
);
)";

std::string join_lines(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += (out.empty() ? "" : "\n") + item;
    }
    return out;
}

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        out.emplace_back(text.substr(0, nl));
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
    return out;
}

// "YYYYMMDD" of a UTC day, for report ids.
std::string day_stamp(std::int64_t day) {
    const auto days = std::chrono::sys_days{std::chrono::days{day / kSecondsPerDay}};
    const std::chrono::year_month_day ymd{days};
    return fmt::format(
        "{:04}{:02}{:02}",
        static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()),
        static_cast<unsigned>(ymd.day())
    );
}

const std::string& sender_of(const TlsReportSettings& settings) {
    return settings.sender.empty() ? settings.contact : settings.sender;
}

// RFC 8460 §4.4 report-id; a later report for the same (domain, day) gets a sequence number so
// that ids stay unique. The id is a dot-atom (§5.3 puts it in the Subject as msg-id).
std::string report_id_of(
    std::int64_t day, std::string_view domain, std::uint64_t sequence, std::string_view submitter
) {
    return fmt::format(
        "{}.{}{}@{}",
        day_stamp(day),
        domain,
        sequence > 0 ? fmt::format(".{}", sequence) : std::string(),
        submitter
    );
}

}  // namespace

// ---- store ---------------------------------------------------------------------------------

TlsResultRow row_of(const smtp::queue::TlsAttempt& attempt, std::int64_t unix_time) {
    TlsResultRow row;
    row.day = utc_day(unix_time);
    row.domain = mime::to_lower(attempt.policy_domain);
    row.policy_type = attempt.policy_type;
    row.policy_strings = attempt.policy_strings;
    row.mx_patterns = attempt.mx_patterns;
    if (attempt.policy_type == tls::PolicyType::Tlsa && row.mx_patterns.empty()) {
        // A TLSA policy belongs to one MX host: its name tells the policies apart (§4.4
        // "mx-host").
        row.mx_patterns.push_back(mime::to_lower(attempt.mx_host));
    }
    row.mx_host = mime::to_lower(attempt.mx_host);
    row.failure = attempt.failure;
    if (attempt.failure) {
        row.receiving_ip = attempt.receiving_ip;
        row.sending_ip = attempt.sending_ip;
        row.reason = attempt.failure_reason;
    }
    row.count = 1;
    return row;
}

Result<std::unique_ptr<TlsReportStore>> TlsReportStore::open(const fs::path& dir) {
    std::unique_ptr<TlsReportStore> store(new TlsReportStore());
    if (auto st = store->init(dir); !st) {
        return st.error();
    }
    return store;
}

Status TlsReportStore::init(const fs::path& dir) {
    return open_report_db(db_, dir, "tlsrpt.db", kSchema, kSchemaVersion, "tlsrpt");
}

Status TlsReportStore::add(const TlsResultRow& row) {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare(
        "INSERT INTO results (day, domain, policy_type, policy_strings, mx_patterns, mx_host, "
        "sending_ip, receiving_ip, result, reason, count) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
        "ON CONFLICT (day, domain, policy_type, policy_strings, mx_patterns, mx_host, sending_ip, "
        "receiving_ip, result, reason) DO UPDATE SET count = count + excluded.count"
    );
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    const auto strings = join_lines(row.policy_strings);
    const auto patterns = join_lines(row.mx_patterns);
    const auto result = row.failure ? tls::to_string(*row.failure) : std::string_view();
    s->bind(1, row.day)
        .bind(2, std::string_view(row.domain))
        .bind(3, tls::to_string(row.policy_type))
        .bind(4, std::string_view(strings))
        .bind(5, std::string_view(patterns))
        .bind(6, std::string_view(row.mx_host))
        .bind(7, std::string_view(row.sending_ip))
        .bind(8, std::string_view(row.receiving_ip))
        .bind(9, result)
        .bind(10, std::string_view(row.reason))
        .bind(11, static_cast<std::int64_t>(row.count));
    return s->run();
}

Result<std::vector<TlsPendingReport>> TlsReportStore::pending(std::optional<std::int64_t> before) {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare(
        "SELECT domain, day, SUM(CASE WHEN result = '' THEN count ELSE 0 END), "
        "SUM(CASE WHEN result = '' THEN 0 ELSE count END) FROM results WHERE day < ?1 AND "
        "count > 0 GROUP BY domain, day ORDER BY day, domain"
    );
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    s->bind(1, before.value_or(std::numeric_limits<std::int64_t>::max()));
    std::vector<TlsPendingReport> out;
    while (s->step()) {
        out.push_back(
            {.domain = s->text(0),
             .day = s->int64(1),
             .successes = static_cast<std::uint64_t>(s->int64(2)),
             .failures = static_cast<std::uint64_t>(s->int64(3))}
        );
    }
    if (auto st = s->error(); !st) {
        return st.error();
    }
    return out;
}

Result<TlsReportBatch> TlsReportStore::load(std::string_view domain, std::int64_t day) {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare(
        "SELECT id, policy_type, policy_strings, mx_patterns, mx_host, sending_ip, receiving_ip, "
        "result, reason, count FROM results WHERE domain = ?1 AND day = ?2 AND count > 0 "
        "ORDER BY id"
    );
    if (!stmt) {
        return stmt.error();
    }
    TlsReportBatch batch;
    {
        core::StmtScope s(**stmt);
        s->bind(1, domain).bind(2, day);
        while (s->step()) {
            TlsResultRow row;
            row.id = s->int64(0);
            row.day = day;
            row.domain = std::string(domain);
            row.policy_type =
                tls::policy_type_from_string(s->text(1)).value_or(tls::PolicyType::NoPolicyFound);
            row.policy_strings = split_lines(s->text(2));
            row.mx_patterns = split_lines(s->text(3));
            row.mx_host = s->text(4);
            row.sending_ip = s->text(5);
            row.receiving_ip = s->text(6);
            const auto result = s->text(7);
            if (!result.empty()) {
                row.failure =
                    tls::result_type_from_string(result).value_or(tls::ResultType::ValidationFailure
                    );
            }
            row.reason = s->text(8);
            row.count = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s->int64(9)));
            batch.rows.push_back(std::move(row));
        }
        if (auto st = s->error(); !st) {
            return st.error();
        }
    }
    auto sent = count_sent(db_, domain, day);
    if (!sent) {
        return sent.error();
    }
    batch.reports_sent = *sent;
    return batch;
}

Status TlsReportStore::finish(
    const TlsReportBatch& batch,
    std::string_view domain,
    std::int64_t day,
    std::string_view report_id,
    std::int64_t now
) {
    std::lock_guard lock(mutex_);
    return in_transaction(db_, [&]() -> Status {
        for (const auto& row : batch.rows) {
            auto stmt = db_.prepare("UPDATE results SET count = count - ?2 WHERE id = ?1");
            if (!stmt) {
                return stmt.error();
            }
            core::StmtScope s(**stmt);
            s->bind(1, row.id).bind(2, static_cast<std::int64_t>(row.count));
            if (auto st = s->run(); !st) {
                return st;
            }
        }
        {
            auto stmt =
                db_.prepare("DELETE FROM results WHERE domain = ?1 AND day = ?2 AND count <= 0");
            if (!stmt) {
                return stmt.error();
            }
            core::StmtScope s(**stmt);
            s->bind(1, domain).bind(2, day);
            if (auto st = s->run(); !st) {
                return st;
            }
        }
        if (report_id.empty()) {
            return {};
        }
        return record_sent(db_, domain, day, report_id, now);
    });
}

// ---- recorder --------------------------------------------------------------------------------

void TlsReportRecorder::record(smtp::queue::TlsAttempt attempt) {
    auto row = row_of(attempt, core::unix_seconds(core::now()));
    auto job = [&store = store_, row = std::move(row)] {
        if (auto st = store.add(row); !st) {
            log::error(
                "tlsrpt.record_failed", {{"domain", row.domain}, {"error", st.error().message()}}
            );
        }
    };
    asio::post(pool_, std::move(job));
}

// ---- report ----------------------------------------------------------------------------------

TlsReportSettings tls_report_settings(const core::Config& config, std::string_view mail_domain) {
    const auto postmaster = "postmaster@" + std::string(mail_domain);
    return TlsReportSettings{
        .organization =
            config.tlsrpt.organization.empty() ? config.hostname : config.tlsrpt.organization,
        .submitter = config.hostname,
        .contact = config.tlsrpt.contact.empty() ? postmaster : config.tlsrpt.contact,
        .sender = postmaster,
        .interval = std::chrono::hours(1),
        .max_retry_days = 3,
    };
}

tls::Report build_tls_report(
    const TlsReportBatch& batch,
    std::string_view domain,
    std::int64_t day,
    const TlsReportSettings& settings
) {
    tls::Report report;
    report.organization_name = settings.organization;
    report.contact_info = settings.contact;
    report.report_id = report_id_of(day, domain, batch.reports_sent, settings.submitter);
    // §4.4 "date-range": the UTC day, as in the Appendix B example (00:00:00 to 23:59:59).
    report.date_range = {
        .start = tls::ReportTime{std::chrono::seconds{day}},
        .end = tls::ReportTime{std::chrono::seconds{day + kSecondsPerDay - 1}},
    };
    // One "policies" entry per applied policy, in the order first seen; within it one
    // failure-details entry per distinct (result, addresses, host, reason).
    using PolicyKey = std::tuple<int, std::vector<std::string>, std::vector<std::string>>;
    using DetailKey = std::tuple<int, std::string, std::string, std::string, std::string>;
    std::map<PolicyKey, std::size_t> policy_index;
    std::vector<std::map<DetailKey, std::size_t>> detail_index;
    for (const auto& row : batch.rows) {
        PolicyKey key{static_cast<int>(row.policy_type), row.policy_strings, row.mx_patterns};
        auto [it, added] = policy_index.try_emplace(std::move(key), report.policies.size());
        if (added) {
            tls::PolicyResult entry;
            entry.policy.type = row.policy_type;
            entry.policy.policy_string = row.policy_strings;
            entry.policy.policy_domain = std::string(domain);
            entry.policy.mx_host = row.mx_patterns;
            report.policies.push_back(std::move(entry));
            detail_index.emplace_back();
        }
        auto& entry = report.policies[it->second];
        if (!row.failure) {
            entry.summary.total_successful_session_count += row.count;
            continue;
        }
        entry.summary.total_failure_session_count += row.count;
        DetailKey detail{
            static_cast<int>(*row.failure),
            row.sending_ip,
            row.mx_host,
            row.receiving_ip,
            row.reason
        };
        auto& details = detail_index[it->second];
        auto [at, fresh] = details.try_emplace(std::move(detail), entry.failure_details.size());
        if (fresh) {
            tls::FailureDetail d;
            d.result_type = *row.failure;
            d.sending_mta_ip = row.sending_ip;
            d.receiving_mx_hostname = row.mx_host;
            d.receiving_ip = row.receiving_ip;
            d.failure_reason_code = row.reason;
            entry.failure_details.push_back(std::move(d));
        }
        entry.failure_details[at->second].failed_session_count += row.count;
    }
    return report;
}

ReportEmail compose_tls_report_email(
    const tls::Report& report,
    std::string_view domain,
    std::string_view unique_id,
    std::string_view to,
    const TlsReportSettings& settings,
    std::int64_t unix_time
) {
    ReportEmail out;
    auto filename = tls::report_filename(
        settings.submitter,
        domain,
        report.date_range.start,
        report.date_range.end + std::chrono::seconds{1},
        unique_id,
        true
    );
    out.filename = filename ? *filename : std::string("report.json.gz");
    const auto gz = tls::gzip(tls::to_json(report));
    const auto b64 = mailauth::base64_encode(gz);
    auto subject = tls::report_subject(domain, settings.submitter, report.report_id);
    std::string subject_text = subject ? *subject : "TLS report for " + std::string(domain);
    // Folded before "Submitter:" and "Report-ID:" (§5.3's ABNF separates them by 1*FWS).
    for (const std::string_view word : {" Submitter: ", " Report-ID: "}) {
        if (auto pos = subject_text.find(word); pos != std::string::npos) {
            subject_text.insert(pos, "\r\n");
        }
    }
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
    for (const auto& p : report.policies) {
        successes += p.summary.total_successful_session_count;
        failures += p.summary.total_failure_session_count;
    }
    const auto boundary = "=_sov_tlsrpt_" + core::random_id(16);
    auto& m = out.message;
    m += fmt::format("From: <{}>\r\n", sender_of(settings));
    m += fmt::format("To: <{}>\r\n", to);
    m += fmt::format("Subject: {}\r\n", subject_text);
    m += fmt::format("Date: {}\r\n", smtp::wire::format_rfc5322_date(unix_time, 0));
    m += fmt::format("Message-ID: <{}>\r\n", report.report_id);
    // §5.3: "TLS-Report-Domain" and "TLS-Report-Submitter" header fields.
    m += fmt::format("TLS-Report-Domain: {}\r\n", domain);
    m += fmt::format("TLS-Report-Submitter: {}\r\n", settings.submitter);
    m += "Auto-Submitted: auto-generated\r\n";  // RFC 3834 §5: no auto-replies to this
    m += "MIME-Version: 1.0\r\n";
    // §5.3: "multipart/report" with "report-type" "tlsrpt" (RFC 6522).
    m += fmt::format(
        "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n boundary=\"{}\"\r\n\r\n",
        boundary
    );
    m += "This is an SMTP TLS report (RFC 8460) in MIME format.\r\n\r\n";
    m += fmt::format("--{}\r\n", boundary);
    m += "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n";
    m += fmt::format(
        "SMTP TLS report for {} from {}.\r\nReport-ID: {}\r\nPeriod: {} to {} (UTC)\r\n"
        "Sessions: {} successful, {} failed, under {} policy(ies).\r\n\r\n",
        domain,
        settings.submitter,
        report.report_id,
        tls::format_rfc3339(report.date_range.start),
        tls::format_rfc3339(report.date_range.end),
        successes,
        failures,
        report.policies.size()
    );
    m += fmt::format("--{}\r\n", boundary);
    // §5.3: the gzipped report as "application/tlsrpt+gzip", file name per §5.1.
    m += "Content-Type: application/tlsrpt+gzip\r\n";
    m += "Content-Transfer-Encoding: base64\r\n";
    m += fmt::format("Content-Disposition: attachment;\r\n filename=\"{}\"\r\n\r\n", out.filename);
    for (std::size_t i = 0; i < b64.size(); i += 76) {
        m += b64.substr(i, 76);
        m += "\r\n";
    }
    m += fmt::format("--{}--\r\n", boundary);
    return out;
}

// ---- sender ----------------------------------------------------------------------------------

ReportUpload https_report_upload(
    dns::Resolver& resolver, net::SslContextPtr context, std::chrono::milliseconds timeout
) {
    return [&resolver,
            context = std::move(context),
            timeout](std::string uri, std::string body) -> asio::awaitable<Result<void>> {
        auto target = tls::parse_https_uri(uri);
        if (!target) {
            co_return target.error();
        }
        std::string detail;
        // Named, not built inside the co_await: GCC 12 destroys temporaries of a co_await's
        // argument list twice.
        auto executor = co_await asio::this_coro::executor;
        tls::PostOptions options{.timeout = timeout, .user_agent = "Sovereign TLS-RPT"};
        std::string content_type = "application/tlsrpt+gzip";  // §5.4 with §5.2 compression
        auto posted = co_await tls::post_https(
            executor,
            resolver,
            context,
            std::move(*target),
            std::move(content_type),
            std::move(body),
            std::move(options),
            &detail
        );
        if (!posted) {
            log::info("tlsrpt.upload_error", {{"rua", uri}, {"error", detail}});
            co_return posted.error();
        }
        // §5.4: the receiver "MUST return a 'successful' response ... typically a 200 or 201".
        if (posted->status / 100 != 2) {
            log::info("tlsrpt.upload_refused", {{"rua", uri}, {"status", posted->status}});
            co_return make_error_code(tls::Errc::BadStatus);
        }
        co_return Result<void>{};
    };
}

void TlsReportSender::start(asio::io_context& ioc) {
    // §4.1 asks for reports shortly after the UTC day ends.
    start_report_loop(
        ioc,
        jittered_first_delay(),
        settings_.get().interval,
        "tlsrpt",
        [this](bool include_today) { return send_due(include_today); }
    );
}

asio::awaitable<SendSummary> TlsReportSender::send_due(bool include_today) {
    return send_pending_reports<TlsPendingReport>(
        pool_,
        [this](std::optional<std::int64_t> before) { return store_.pending(before); },
        [this](const TlsPendingReport& pending, SendSummary& summary) {
            return send_one(pending, summary);
        },
        include_today,
        "tlsrpt"
    );
}

asio::awaitable<bool> TlsReportSender::upload(
    const tls::Report& report,
    const std::string& domain,
    const std::string& uri,
    SendSummary& summary
) {
    if (!upload_) {
        log::info(
            "tlsrpt.https_unsupported",
            {{"domain", domain}, {"rua", uri}, {"note", "no HTTPS client configured"}}
        );
        ++summary.skipped;
        co_return false;
    }
    // §5.2: gzip for HTTPS as for email; §5.4: one POST per report.
    auto body = tls::gzip(tls::to_json(report));
    auto done = co_await upload_(uri, std::move(body));
    if (!done) {
        log::error(
            "tlsrpt.upload_failed",
            {{"domain", domain}, {"rua", uri}, {"error", done.error().message()}}
        );
        ++summary.failed;
        co_return false;
    }
    ++summary.messages;
    log::info(
        "tlsrpt.uploaded",
        {{"domain", domain},
         {"report_id", report.report_id},
         {"rua", uri},
         {"policies", report.policies.size()}}
    );
    co_return true;
}

asio::awaitable<void> TlsReportSender::send_one(
    const TlsPendingReport& pending, SendSummary& summary
) {
    auto load_job = [&store = store_, &pending] { return store.load(pending.domain, pending.day); };
    auto batch = co_await core::offload(pool_.get_executor(), std::move(load_job));
    if (!batch) {
        log::error(
            "tlsrpt.load_failed", {{"domain", pending.domain}, {"error", batch.error().message()}}
        );
        ++summary.failed;
        co_return;
    }
    if (batch->rows.empty()) {
        co_return;  // another process sent them meanwhile
    }
    const auto settings = settings_.get();  // one version for the whole report
    const auto now = core::unix_seconds(core::now());
    // §3: the reporting policy is the "_smtp._tls" TXT record of the Policy Domain.
    auto txt = co_await dns_.txt("_smtp._tls." + pending.domain);
    std::optional<tls::TlsRptRecord> record;
    if (!txt) {
        if (pending.day + settings.max_retry_days * kSecondsPerDay > utc_day(now)) {
            ++summary.deferred;
            co_return;
        }
    } else if (auto selected = tls::select_tlsrpt_record(txt->records)) {
        record = std::move(*selected);
    }
    std::size_t delivered = 0;  // report emails queued and uploads accepted
    std::size_t failures = 0;   // queue or upload failures
    tls::Report report;
    if (record) {
        report = build_tls_report(*batch, pending.domain, pending.day, settings);
        ++summary.reports;
        const auto unique_id =
            batch->reports_sent > 0 ? std::to_string(batch->reports_sent) : std::string();
        std::set<std::string> done;
        for (const auto& uri : record->rua) {
            if (uri.scheme == tls::UriScheme::Https) {
                if (!done.insert(uri.uri).second) {
                    continue;
                }
                if (co_await upload(report, pending.domain, uri.uri, summary)) {
                    ++delivered;
                } else if (upload_) {
                    ++failures;
                }
                continue;
            }
            auto addresses = tls::mailto_recipients(uri);
            if (!addresses) {
                ++summary.skipped;
                continue;
            }
            for (const auto& address : *addresses) {
                if (!done.insert(mime::to_lower(address)).second) {
                    continue;
                }
                auto email = compose_tls_report_email(
                    report, pending.domain, unique_id, address, settings, now
                );
                std::vector<std::string> recipients;
                recipients.push_back(address);
                auto id = co_await enqueue_(
                    sender_of(settings), std::move(recipients), std::move(email.message)
                );
                if (!id) {
                    log::error(
                        "tlsrpt.enqueue_failed",
                        {{"domain", pending.domain},
                         {"rua", address},
                         {"error", id.error().message()}}
                    );
                    ++summary.failed;
                    ++failures;
                    continue;
                }
                ++delivered;
                ++summary.messages;
                log::info(
                    "tlsrpt.queued",
                    {{"domain", pending.domain},
                     {"report_id", report.report_id},
                     {"rua", address},
                     {"policies", report.policies.size()},
                     {"message", *id}}
                );
            }
        }
    }
    if (delivered == 0 && failures > 0 &&
        pending.day + settings.max_retry_days * kSecondsPerDay > utc_day(now)) {
        // Every destination failed (queue or upload, §5.4 "may be retried as per local sender
        // policy"): keep the counts for the next run, for a few days at most.
        ++summary.deferred;
        co_return;
    }
    // Sent (at least once: marked only after the queue has it), or nobody asked for it (no
    // TLSRPT record, §3): the counts are done with.
    const std::string report_id = delivered > 0 ? report.report_id : std::string();
    auto finish_job = [&store = store_, &pending, &batch, report_id, now] {
        return store.finish(*batch, pending.domain, pending.day, report_id, now);
    };
    if (auto st = co_await core::offload(pool_.get_executor(), std::move(finish_job)); !st) {
        log::error(
            "tlsrpt.finish_failed", {{"domain", pending.domain}, {"error", st.error().message()}}
        );
        ++summary.failed;
    }
}

}  // namespace sov::roles
