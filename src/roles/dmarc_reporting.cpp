#include "roles/dmarc_reporting.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/durable_file.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "mailauth/base64.hpp"
#include "mailauth/dmarc_policy.hpp"
#include "mailauth/dmarc_record.hpp"
#include "mime/header.hpp"
#include "roles/report_sender.hpp"
#include "smtp/wire/trace_headers.hpp"

namespace sov::roles {

namespace asio = boost::asio;
namespace ma = sov::mailauth;
namespace fs = std::filesystem;

namespace {

// Version 1. A database with a newer user_version is refused rather than misread.
constexpr int kSchemaVersion = 1;
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS rows (
    id INTEGER PRIMARY KEY,
    day INTEGER NOT NULL,
    domain TEXT NOT NULL,
    p TEXT NOT NULL, sp TEXT, np TEXT, adkim TEXT, aspf TEXT, testing TEXT, fo TEXT,
    rua TEXT NOT NULL,
    source_ip TEXT NOT NULL,
    header_from TEXT NOT NULL,
    envelope_from TEXT,
    envelope_to TEXT,
    disposition TEXT NOT NULL,
    dkim_aligned TEXT NOT NULL,
    spf_aligned TEXT NOT NULL,
    reasons TEXT NOT NULL,
    dkim TEXT NOT NULL,
    spf TEXT,
    count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rows_domain_day ON rows(domain, day);
)";

// ---- enum <-> text (the names the report schema uses) -----------------------------------

template <class E, int N>
std::optional<E> enum_from(std::string_view text) {
    for (int i = 0; i < N; ++i) {
        if (ma::to_string(static_cast<E>(i)) == text) {
            return static_cast<E>(i);
        }
    }
    return std::nullopt;
}

template <class E, int N>
E enum_or(std::string_view text, E fallback) {
    return enum_from<E, N>(text).value_or(fallback);
}

// ---- list encoding: items on lines, fields separated by tabs, optional fields "=" + value --

std::string escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            ++i;
            out += s[i] == 't' ? '\t' : s[i] == 'n' ? '\n' : s[i];
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string opt_field(const std::optional<std::string>& v) {
    return v ? "=" + escape(*v) : std::string();
}

std::optional<std::string> opt_value(std::string_view field) {
    if (field.empty() || field.front() != '=') {
        return std::nullopt;
    }
    return unescape(field.substr(1));
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    if (s.empty()) {
        return out;
    }
    std::size_t pos = 0;
    while (true) {
        const auto next = s.find(sep, pos);
        out.push_back(s.substr(pos, next == std::string_view::npos ? s.size() - pos : next - pos));
        if (next == std::string_view::npos) {
            break;
        }
        pos = next + 1;
    }
    return out;
}

std::string encode_reasons(const std::vector<ma::OverrideReason>& reasons) {
    std::string out;
    for (const auto& r : reasons) {
        out += fmt::format("{}\t{}\n", ma::to_string(r.type), opt_field(r.comment));
    }
    return out;
}

std::vector<ma::OverrideReason> decode_reasons(std::string_view text) {
    std::vector<ma::OverrideReason> out;
    for (auto line : split(text, '\n')) {
        const auto f = split(line, '\t');
        if (f.size() != 2) {
            continue;
        }
        out.push_back(
            {.type = enum_or<ma::OverrideType, 5>(f[0], ma::OverrideType::Other),
             .comment = opt_value(f[1])}
        );
    }
    return out;
}

std::string encode_dkim(const std::vector<ma::DkimAuthResult>& dkim) {
    std::string out;
    for (const auto& d : dkim) {
        out += fmt::format(
            "{}\t{}\t{}\t{}\n",
            escape(d.domain),
            escape(d.selector),
            ma::to_string(d.result),
            opt_field(d.human_result)
        );
    }
    return out;
}

std::vector<ma::DkimAuthResult> decode_dkim(std::string_view text) {
    std::vector<ma::DkimAuthResult> out;
    for (auto line : split(text, '\n')) {
        const auto f = split(line, '\t');
        if (f.size() != 4) {
            continue;
        }
        out.push_back(
            {.domain = unescape(f[0]),
             .selector = unescape(f[1]),
             .result = enum_or<ma::ReportDkimResult, 7>(f[2], ma::ReportDkimResult::None),
             .human_result = opt_value(f[3])}
        );
    }
    return out;
}

std::optional<std::string> encode_spf(const std::optional<ma::SpfAuthResult>& spf) {
    if (!spf) {
        return std::nullopt;
    }
    return fmt::format(
        "{}\t{}\t{}\t{}",
        escape(spf->domain),
        spf->scope ? std::string(ma::to_string(*spf->scope)) : std::string(),
        ma::to_string(spf->result),
        opt_field(spf->human_result)
    );
}

std::optional<ma::SpfAuthResult> decode_spf(std::string_view text) {
    const auto f = split(text, '\t');
    if (f.size() != 4) {
        return std::nullopt;
    }
    return ma::SpfAuthResult{
        .domain = unescape(f[0]),
        .scope = enum_from<ma::SpfScope, 2>(f[1]),
        .result = enum_or<ma::ReportSpfResult, 8>(f[2], ma::ReportSpfResult::None),
        .human_result = opt_value(f[3]),
    };
}

void bind_opt(core::Stmt& s, int i, const std::optional<std::string>& v) {
    if (v) {
        s.bind(i, std::string_view(*v));
    } else {
        s.bind_null(i);
    }
}

std::optional<std::string> column_opt(const core::Stmt& s, int col) {
    if (s.is_null(col)) {
        return std::nullopt;
    }
    return s.text(col);
}

template <class E>
std::optional<std::string> opt_name(const std::optional<E>& v) {
    if (!v) {
        return std::nullopt;
    }
    return std::string(ma::to_string(*v));
}

}  // namespace

// ---- store -------------------------------------------------------------------------------

Result<std::unique_ptr<DmarcReportStore>> DmarcReportStore::open(const fs::path& dir) {
    std::unique_ptr<DmarcReportStore> store(new DmarcReportStore());
    if (auto st = store->init(dir); !st) {
        return st.error();
    }
    return store;
}

Status DmarcReportStore::init(const fs::path& dir) {
    return open_report_db(db_, dir, "dmarc.db", kSchema, kSchemaVersion, "dmarc_report");
}

Status DmarcReportStore::insert(const StoredEvaluation& e) {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare(
        "INSERT INTO rows (day, domain, p, sp, np, adkim, aspf, testing, fo, rua, source_ip, "
        "header_from, envelope_from, envelope_to, disposition, dkim_aligned, spf_aligned, "
        "reasons, dkim, spf, count) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
        "?19, ?20, ?21)"
    );
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    const auto& p = e.policy;
    const auto& r = e.row;
    std::string rua;
    for (const auto& uri : e.rua) {
        rua += (rua.empty() ? "" : ",") + uri;
    }
    const std::optional<std::string> testing =
        p.testing ? std::optional<std::string>(*p.testing ? "y" : "n") : std::nullopt;
    s->bind(1, e.day).bind(2, std::string_view(p.domain)).bind(3, ma::to_string(p.p));
    bind_opt(*s, 4, opt_name(p.sp));
    bind_opt(*s, 5, opt_name(p.np));
    bind_opt(*s, 6, opt_name(p.adkim));
    bind_opt(*s, 7, opt_name(p.aspf));
    bind_opt(*s, 8, testing);
    bind_opt(*s, 9, p.fo);
    const auto ip = r.source_ip.to_string();
    const auto reasons = encode_reasons(r.reasons);
    const auto dkim = encode_dkim(r.dkim);
    s->bind(10, std::string_view(rua))
        .bind(11, std::string_view(ip))
        .bind(12, std::string_view(r.header_from));
    bind_opt(*s, 13, r.envelope_from);
    bind_opt(*s, 14, r.envelope_to);
    s->bind(15, ma::to_string(r.disposition))
        .bind(16, ma::to_string(r.dkim_aligned))
        .bind(17, ma::to_string(r.spf_aligned))
        .bind(18, std::string_view(reasons))
        .bind(19, std::string_view(dkim));
    bind_opt(*s, 20, encode_spf(r.spf));
    s->bind(21, static_cast<std::int64_t>(r.count));
    return s->run();
}

Result<std::vector<PendingReport>> DmarcReportStore::pending(std::optional<std::int64_t> before) {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare(
        "SELECT domain, day, COUNT(*), SUM(count) FROM rows WHERE day < ?1 "
        "GROUP BY domain, day ORDER BY day, domain"
    );
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    s->bind(1, before.value_or(std::numeric_limits<std::int64_t>::max()));
    std::vector<PendingReport> out;
    while (s->step()) {
        out.push_back(
            {.domain = s->text(0),
             .day = s->int64(1),
             .rows = static_cast<std::uint64_t>(s->int64(2)),
             .messages = static_cast<std::uint64_t>(s->int64(3))}
        );
    }
    if (auto st = s->error(); !st) {
        return st.error();
    }
    return out;
}

Result<ReportBatch> DmarcReportStore::load(std::string_view domain, std::int64_t day) {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare(
        "SELECT id, p, sp, np, adkim, aspf, testing, fo, rua, source_ip, header_from, "
        "envelope_from, envelope_to, disposition, dkim_aligned, spf_aligned, reasons, dkim, spf, "
        "count FROM rows WHERE domain = ?1 AND day = ?2 ORDER BY id"
    );
    if (!stmt) {
        return stmt.error();
    }
    ReportBatch batch;
    {
        core::StmtScope s(**stmt);
        s->bind(1, domain).bind(2, day);
        while (s->step()) {
            // The newest row carries the configuration the report shows (RFC 9990 §3.1).
            batch.last_row_id = s->int64(0);
            auto& p = batch.policy;
            p = ma::PolicyPublished{};
            p.domain = std::string(domain);
            p.discovery_method = ma::DiscoveryMethod::Treewalk;  // RFC 9989 §4.10
            p.p = enum_or<ma::ReportPolicy, 3>(s->text(1), ma::ReportPolicy::None);
            if (auto v = column_opt(*s, 2)) {
                p.sp = enum_from<ma::ReportPolicy, 3>(*v);
            }
            if (auto v = column_opt(*s, 3)) {
                p.np = enum_from<ma::ReportPolicy, 3>(*v);
            }
            if (auto v = column_opt(*s, 4)) {
                p.adkim = enum_from<ma::ReportAlignment, 2>(*v);
            }
            if (auto v = column_opt(*s, 5)) {
                p.aspf = enum_from<ma::ReportAlignment, 2>(*v);
            }
            if (auto v = column_opt(*s, 6)) {
                p.testing = *v == "y";
            }
            p.fo = column_opt(*s, 7);
            batch.rua.clear();
            const auto rua = s->text(8);
            for (auto uri : split(rua, ',')) {
                batch.rua.emplace_back(uri);
            }
            boost::system::error_code bad;
            ma::EvaluationRow row;
            row.source_ip = asio::ip::make_address(s->text(9), bad);
            if (bad) {
                continue;
            }
            row.header_from = s->text(10);
            row.envelope_from = column_opt(*s, 11);
            row.envelope_to = column_opt(*s, 12);
            row.disposition =
                enum_or<ma::ReportDisposition, 4>(s->text(13), ma::ReportDisposition::None);
            row.dkim_aligned = enum_or<ma::AlignedResult, 2>(s->text(14), ma::AlignedResult::Fail);
            row.spf_aligned = enum_or<ma::AlignedResult, 2>(s->text(15), ma::AlignedResult::Fail);
            const auto reasons = s->text(16);
            row.reasons = decode_reasons(reasons);
            const auto dkim = s->text(17);
            row.dkim = decode_dkim(dkim);
            if (auto spf = column_opt(*s, 18)) {
                row.spf = decode_spf(*spf);
            }
            row.count = static_cast<std::uint64_t>(std::max<std::int64_t>(1, s->int64(19)));
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

Status DmarcReportStore::delete_rows(
    std::string_view domain, std::int64_t day, std::int64_t last_row_id
) {
    auto stmt = db_.prepare("DELETE FROM rows WHERE domain = ?1 AND day = ?2 AND id <= ?3");
    if (!stmt) {
        return stmt.error();
    }
    core::StmtScope s(**stmt);
    s->bind(1, domain).bind(2, day).bind(3, last_row_id);
    return s->run();
}

Status DmarcReportStore::finish(
    std::string_view domain,
    std::int64_t day,
    std::int64_t last_row_id,
    std::string_view report_id,
    std::int64_t now
) {
    std::lock_guard lock(mutex_);
    return in_transaction(db_, [&]() -> Status {
        if (auto st = delete_rows(domain, day, last_row_id); !st) {
            return st;
        }
        return record_sent(db_, domain, day, report_id, now);
    });
}

Status DmarcReportStore::discard(
    std::string_view domain, std::int64_t day, std::int64_t last_row_id
) {
    std::lock_guard lock(mutex_);
    return delete_rows(domain, day, last_row_id);
}

// ---- recorder ------------------------------------------------------------------------------

namespace {

ma::ReportPolicy report_policy(ma::DmarcPolicy p) {
    switch (p) {
        case ma::DmarcPolicy::None:
            return ma::ReportPolicy::None;
        case ma::DmarcPolicy::Quarantine:
            return ma::ReportPolicy::Quarantine;
        case ma::DmarcPolicy::Reject:
            return ma::ReportPolicy::Reject;
    }
    return ma::ReportPolicy::None;
}

ma::ReportAlignment report_alignment(ma::DmarcAlignment a) {
    return a == ma::DmarcAlignment::Strict ? ma::ReportAlignment::Strict
                                           : ma::ReportAlignment::Relaxed;
}

ma::ReportDkimResult report_dkim(ma::DkimResult r) {
    switch (r) {
        case ma::DkimResult::None:
            return ma::ReportDkimResult::None;
        case ma::DkimResult::Pass:
            return ma::ReportDkimResult::Pass;
        case ma::DkimResult::Fail:
            return ma::ReportDkimResult::Fail;
        case ma::DkimResult::Policy:
            return ma::ReportDkimResult::Policy;
        case ma::DkimResult::Neutral:
            return ma::ReportDkimResult::Neutral;
        case ma::DkimResult::TempError:
            return ma::ReportDkimResult::TempError;
        case ma::DkimResult::PermError:
            return ma::ReportDkimResult::PermError;
    }
    return ma::ReportDkimResult::None;
}

ma::ReportSpfResult report_spf(ma::SpfResult r) {
    switch (r) {
        case ma::SpfResult::None:
            return ma::ReportSpfResult::None;
        case ma::SpfResult::Neutral:
            return ma::ReportSpfResult::Neutral;
        case ma::SpfResult::Pass:
            return ma::ReportSpfResult::Pass;
        case ma::SpfResult::Fail:
            return ma::ReportSpfResult::Fail;
        case ma::SpfResult::SoftFail:
            return ma::ReportSpfResult::SoftFail;
        case ma::SpfResult::TempError:
            return ma::ReportSpfResult::TempError;
        case ma::SpfResult::PermError:
            return ma::ReportSpfResult::PermError;
    }
    return ma::ReportSpfResult::None;
}

std::string fo_text(const ma::DmarcFailureOptions& fo) {
    std::string out;
    auto add = [&out](bool on, const char* v) {
        if (on) {
            out += (out.empty() ? "" : ":");
            out += v;
        }
    };
    add(fo.all_fail, "0");
    add(fo.any_fail, "1");
    add(fo.dkim, "d");
    add(fo.spf, "s");
    return out.empty() ? "0" : out;
}

}  // namespace

std::vector<StoredEvaluation> evaluations_of(
    const AuthVerdict& verdict,
    const smtp::server::SessionInfo& session,
    const smtp::wire::Envelope& envelope,
    std::int64_t unix_time
) {
    const auto& dmarc = verdict.dmarc;
    boost::system::error_code bad_ip;
    const auto ip = asio::ip::make_address(session.client_ip, bad_ip);
    if (dmarc.policy_domain.empty() || !dmarc.record || bad_ip) {
        return {};
    }
    StoredEvaluation e;
    e.day = utc_day(unix_time);
    // policy_published: the discovered or default value of every tag (RFC 9990 §3.1.1.5).
    const auto& record = *dmarc.record;
    auto& p = e.policy;
    p.domain = mime::to_lower(dmarc.policy_domain);
    p.discovery_method = ma::DiscoveryMethod::Treewalk;
    p.p = report_policy(record.p.value_or(ma::DmarcPolicy::None));
    p.sp = report_policy(record.sp.value_or(record.p.value_or(ma::DmarcPolicy::None)));
    p.np = report_policy(
        record.np.value_or(record.sp.value_or(record.p.value_or(ma::DmarcPolicy::None)))
    );
    p.adkim = report_alignment(record.adkim);
    p.aspf = report_alignment(record.aspf);
    p.testing = record.testing;
    p.fo = fo_text(record.fo);
    for (const auto& uri : dmarc.rua) {
        if (!uri.is_usable_mailto()) {
            continue;  // mailto is the only scheme we send to (RFC 9989 §4.7 rua)
        }
        e.rua.push_back(uri.max_size ? fmt::format("{}!{}", uri.uri, *uri.max_size) : uri.uri);
    }
    if (e.rua.empty()) {
        return {};
    }

    auto& row = e.row;
    row.source_ip = ip;
    row.header_from = mime::to_lower(dmarc.author_domain);
    // §3.1.1.10: present but empty for a null reverse-path.
    row.envelope_from = envelope.reverse_path.null
                            ? std::string()
                            : mime::to_lower(envelope.reverse_path.mailbox.domain);
    row.dkim_aligned = dmarc.dkim_aligned ? ma::AlignedResult::Pass : ma::AlignedResult::Fail;
    row.spf_aligned = dmarc.spf_aligned ? ma::AlignedResult::Pass : ma::AlignedResult::Fail;
    // What we did (§3.1.1.9): reject only when the MX refused the message; "pass" is a pass
    // under an enforcing policy (Appendix A); otherwise nothing was done to the message.
    if (verdict.refusal) {
        row.disposition = ma::ReportDisposition::Reject;
    } else if (dmarc.result == ma::DmarcResult::Pass && dmarc.requested != ma::DmarcPolicy::None) {
        row.disposition = ma::ReportDisposition::Pass;
    } else {
        row.disposition = ma::ReportDisposition::None;
    }
    // §3.1.1.9: a failure whose applied policy differs from the published one needs a reason.
    if (dmarc.result == ma::DmarcResult::Fail && !verdict.refusal &&
        dmarc.requested != ma::DmarcPolicy::None) {
        if (dmarc.testing) {
            row.reasons.push_back({.type = ma::OverrideType::PolicyTestMode, .comment = {}});
        }
        if (dmarc.disposition != ma::DmarcPolicy::None) {
            row.reasons.push_back(
                {.type = ma::OverrideType::LocalPolicy, .comment = "policy not enforced"}
            );
        }
    }
    for (const auto& d : verdict.dkim) {
        if (d.domain.empty()) {
            continue;  // a signature without d= identifies nobody
        }
        row.dkim.push_back(
            {.domain = d.domain,
             .selector = d.selector,
             .result = report_dkim(d.result),
             .human_result = std::nullopt}
        );
    }
    if (!verdict.spf_domain.empty()) {
        row.spf = ma::SpfAuthResult{
            .domain = mime::to_lower(verdict.spf_domain),
            .scope = envelope.reverse_path.null ? ma::SpfScope::Helo : ma::SpfScope::MailFrom,
            .result = report_spf(verdict.spf.result),
            .human_result = std::nullopt,
        };
    }

    std::set<std::string> rcpt_domains;
    for (const auto& r : envelope.recipients) {
        if (!r.path.mailbox.domain.empty()) {
            rcpt_domains.insert(mime::to_lower(r.path.mailbox.domain));
        }
    }
    std::vector<StoredEvaluation> out;
    if (rcpt_domains.empty()) {
        out.push_back(std::move(e));
        return out;
    }
    for (const auto& domain : rcpt_domains) {
        out.push_back(e);
        out.back().row.envelope_to = domain;
    }
    return out;
}

void DmarcReportRecorder::record(
    const AuthVerdict& verdict,
    const smtp::server::SessionInfo& session,
    const smtp::wire::Envelope& envelope
) {
    auto rows = evaluations_of(verdict, session, envelope, core::unix_seconds(core::now()));
    if (rows.empty()) {
        return;
    }
    auto job = [&store = store_, rows = std::move(rows), id = session.id] {
        for (const auto& row : rows) {
            if (auto st = store.insert(row); !st) {
                log::error(
                    "dmarc_report.record_failed",
                    {{"session", id}, {"domain", row.policy.domain}, {"error", st.error().message()}
                    }
                );
                return;
            }
        }
    };
    asio::post(pool_, std::move(job));
}

// ---- sender ----------------------------------------------------------------------------------

ma::AggregateReport build_report(
    const ReportBatch& batch,
    std::string_view domain,
    std::int64_t day,
    const ReportSenderSettings& settings
) {
    ma::AggregateReport report;
    report.metadata.org_name = settings.hostname;
    report.metadata.email =
        settings.contact.empty() ? settings.reporting_address : settings.contact;
    report.metadata.report_id = ma::make_report_id(day, domain, settings.hostname);
    if (batch.reports_sent > 0) {
        // Rows that arrived after a report for this day was queued: a second report, with an
        // id of its own (§3.5.1 unique among reports to the same domain).
        auto& id = report.metadata.report_id;
        id.insert(id.find('-'), fmt::format(".{}", batch.reports_sent));
    }
    // §3.1.1.4: the reporting period is the whole UTC day, periods do not overlap.
    report.metadata.date_range = {.begin = day, .end = day + kSecondsPerDay - 1};
    report.metadata.generator = "Sovereign";
    report.policy = batch.policy;
    report.policy.domain = std::string(domain);
    report.records = ma::aggregate_rows(batch.rows);
    return report;
}

ReportEmail compose_report_email(
    const ma::AggregateReport& report,
    std::string_view unique_id,
    std::string_view to,
    const ReportSenderSettings& settings,
    std::int64_t unix_time
) {
    ReportEmail out;
    out.filename = ma::report_filename(settings.hostname, report, unique_id, true);
    const auto gz = ma::gzip(ma::write_aggregate_report(report));
    const auto b64 = ma::base64_encode(gz);
    // The Subject folded before "Submitter:" and "Report-ID:" (1*FWS in §3.5.2's ABNF).
    auto subject = ma::report_subject(settings.hostname, report);
    for (const std::string_view word : {" Submitter: ", " Report-ID: "}) {
        if (auto pos = subject.find(word); pos != std::string::npos) {
            subject.insert(pos, "\r\n");
        }
    }
    const auto boundary = "=_sov_dmarc_" + core::random_id(16);
    const auto& id = report.metadata.report_id;
    auto& m = out.message;
    m += fmt::format("From: <{}>\r\n", settings.reporting_address);
    m += fmt::format("To: <{}>\r\n", to);
    m += fmt::format("Subject: {}\r\n", subject);
    m += fmt::format("Date: {}\r\n", smtp::wire::format_rfc5322_date(unix_time, 0));
    // §3.5.2: the Report-ID as Message-ID, so a re-sent report is recognisable as such.
    m += fmt::format("Message-ID: <{}>\r\n", id);
    m += "Auto-Submitted: auto-generated\r\n";  // RFC 3834 §5: no auto-replies to this
    m += "MIME-Version: 1.0\r\n";
    m += fmt::format("Content-Type: multipart/mixed; boundary=\"{}\"\r\n\r\n", boundary);
    m += "This is a DMARC aggregate report (RFC 9990) in MIME format.\r\n\r\n";
    m += fmt::format("--{}\r\n", boundary);
    m += "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n";
    m += fmt::format(
        "DMARC aggregate report for {} from {}.\r\nReport-ID: {}\r\nPeriod: {} to {} (UTC)\r\n"
        "Messages: {} in {} record(s).\r\n\r\n",
        report.policy.domain,
        settings.hostname,
        id,
        smtp::wire::format_rfc5322_date(report.metadata.date_range.begin, 0),
        smtp::wire::format_rfc5322_date(report.metadata.date_range.end, 0),
        [&report] {
            std::uint64_t n = 0;
            for (const auto& r : report.records) {
                n += r.count;
            }
            return n;
        }(),
        report.records.size()
    );
    m += fmt::format("--{}\r\n", boundary);
    m += fmt::format("Content-Type: application/gzip; name=\"{}\"\r\n", out.filename);
    m += "Content-Transfer-Encoding: base64\r\n";
    m += fmt::format("Content-Disposition: attachment; filename=\"{}\"\r\n\r\n", out.filename);
    for (std::size_t i = 0; i < b64.size(); i += 76) {
        m += b64.substr(i, 76);
        m += "\r\n";
    }
    m += fmt::format("--{}--\r\n", boundary);
    return out;
}

ReportSenderSettings dmarc_report_settings(
    const core::Config& config, std::string_view mail_domain
) {
    const auto address = "postmaster@" + std::string(mail_domain);
    return ReportSenderSettings{
        .hostname = config.hostname,
        .reporting_address = address,
        .contact = config.mailauth.dmarc_report_contact.empty()
                       ? address
                       : config.mailauth.dmarc_report_contact,
        .interval = std::chrono::hours(1),
        .max_retry_days = 3,
    };
}

void DmarcReportSender::start(asio::io_context& ioc) {
    start_report_loop(
        ioc,
        std::chrono::seconds(60),
        settings_.get().interval,
        "dmarc_report",
        [this](bool include_today) { return send_due(include_today); }
    );
}

asio::awaitable<SendSummary> DmarcReportSender::send_due(bool include_today) {
    return send_pending_reports<PendingReport>(
        pool_,
        [this](std::optional<std::int64_t> before) { return store_.pending(before); },
        [this](const PendingReport& pending, SendSummary& summary) {
            return send_one(pending, summary);
        },
        include_today,
        "dmarc_report"
    );
}

asio::awaitable<void> DmarcReportSender::send_one(
    const PendingReport& pending, SendSummary& summary
) {
    auto load_job = [&store = store_, &pending] { return store.load(pending.domain, pending.day); };
    auto batch = co_await core::offload(pool_.get_executor(), std::move(load_job));
    if (!batch) {
        log::error(
            "dmarc_report.load_failed",
            {{"domain", pending.domain}, {"error", batch.error().message()}}
        );
        ++summary.failed;
        co_return;
    }
    if (batch->last_row_id == 0) {
        co_return;  // another process sent them meanwhile
    }
    const auto settings = settings_.get();  // one version for the whole report
    const auto report = build_report(*batch, pending.domain, pending.day, settings);
    ++summary.reports;
    const auto unique_id =
        batch->reports_sent > 0 ? std::to_string(batch->reports_sent) : std::string();
    const auto now = core::unix_seconds(core::now());

    // RFC 9990 §3.5: every rua URI in order; §4: an external destination must confirm.
    std::optional<std::string> policy_org;
    bool temporary = false;
    std::size_t queued = 0;
    std::set<std::string> done;
    for (const auto& text : batch->rua) {
        const auto uri = ma::parse_dmarc_uri(text);
        if (!uri || !uri->is_usable_mailto()) {
            continue;  // §3.5: malformed URIs are ignored
        }
        std::vector<ma::DmarcReportUri> targets{*uri};
        const auto host = ma::mailto_host(uri->uri);
        if (!policy_org) {
            auto org = co_await ma::find_organizational_domain(dns_, pending.domain);
            if (!org) {
                temporary = true;
                continue;
            }
            policy_org = *org;
        }
        auto dest_org = co_await ma::find_organizational_domain(dns_, host);
        if (!dest_org) {
            temporary = true;
            continue;
        }
        if (*dest_org != *policy_org) {
            const auto check = co_await ma::verify_external_destination(
                dns_, pending.domain, host, std::string("rua")
            );
            if (check.status == ma::DestinationStatus::TempError) {
                temporary = true;
                continue;
            }
            if (check.status != ma::DestinationStatus::Allowed) {
                log::info(
                    "dmarc_report.destination_refused",
                    {{"domain", pending.domain},
                     {"rua", uri->uri},
                     {"reason", std::string_view("not confirmed")}}
                );
                ++summary.skipped;
                continue;
            }
            if (!check.override_uris.empty()) {
                // §4 step 9: the Report Consumer's own rua replaces the requested one.
                targets.clear();
                for (const auto& o : check.override_uris) {
                    if (auto parsed = ma::parse_dmarc_uri(o);
                        parsed && parsed->is_usable_mailto()) {
                        targets.push_back(*parsed);
                    }
                }
            }
        }
        for (const auto& target : targets) {
            const auto address = target.address;
            if (!done.insert(mime::to_lower(address)).second) {
                continue;
            }
            auto email = compose_report_email(report, unique_id, address, settings, now);
            // RFC 7489 §6.2 "!size": the report is not sent where it would exceed the limit
            // (RFC 9989 §4.8 lets reporters ignore the suffix; honouring it is the polite way).
            if (target.max_size && email.message.size() > *target.max_size) {
                log::info(
                    "dmarc_report.too_large",
                    {{"domain", pending.domain},
                     {"rua", target.uri},
                     {"size", email.message.size()},
                     {"limit", *target.max_size}}
                );
                ++summary.skipped;
                continue;
            }
            // A named vector: a braced list inside co_await trips GCC 12 ("array used as
            // initializer").
            std::vector<std::string> recipients;
            recipients.push_back(address);
            auto id = co_await enqueue_(
                settings.reporting_address, std::move(recipients), std::move(email.message)
            );
            if (!id) {
                log::error(
                    "dmarc_report.enqueue_failed",
                    {{"domain", pending.domain}, {"rua", address}, {"error", id.error().message()}}
                );
                ++summary.failed;
                continue;
            }
            ++queued;
            ++summary.messages;
            log::info(
                "dmarc_report.queued",
                {{"domain", pending.domain},
                 {"report_id", report.metadata.report_id},
                 {"rua", address},
                 {"records", report.records.size()},
                 {"message", *id}}
            );
        }
    }
    const auto today = utc_day(now);
    if (queued == 0 && temporary &&
        pending.day + settings.max_retry_days * kSecondsPerDay > today) {
        ++summary.deferred;  // §4 step 5: repeat the check at the next run
        co_return;
    }
    const auto last = batch->last_row_id;
    const auto report_id = report.metadata.report_id;
    auto finish_job = [&store = store_, &pending, last, report_id, now, queued] {
        return queued > 0 ? store.finish(pending.domain, pending.day, last, report_id, now)
                          : store.discard(pending.domain, pending.day, last);
    };
    if (auto st = co_await core::offload(pool_.get_executor(), std::move(finish_job)); !st) {
        log::error(
            "dmarc_report.finish_failed",
            {{"domain", pending.domain}, {"error", st.error().message()}}
        );
        ++summary.failed;
    }
}

}  // namespace sov::roles
