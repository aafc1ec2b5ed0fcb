#include "mailauth/dmarc_failure_report.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace sov::mailauth {
namespace {

namespace fs = std::filesystem;

const fs::path kReports = fs::path(SOV_CONFORMANCE_DIR) / "reports";

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Whitespace runs collapsed: the expected JSON keeps folding, we unfold.
std::string squash(std::string_view s) {
    std::string out;
    bool space = false;
    for (const char c : s) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = !out.empty();
            continue;
        }
        if (space) {
            out += ' ';
            space = false;
        }
        out += c;
    }
    return out;
}

std::string opt(const YAML::Node& n) {
    return !n || n.IsNull() ? "" : n.as<std::string>();
}

std::vector<std::string> list(const YAML::Node& n) {
    std::vector<std::string> out;
    for (const auto& item : n) {
        out.push_back(squash(item.as<std::string>()));
    }
    return out;
}

std::vector<std::string> squashed(const std::vector<std::string>& v) {
    std::vector<std::string> out;
    for (const auto& s : v) {
        out.push_back(squash(s));
    }
    return out;
}

/// mail-auth's enum spellings ("AuthFailure", "BodyHash") as RFC keywords.
std::string keyword(const std::string& camel) {
    if (camel == "AuthFailure") {
        return "auth-failure";
    }
    if (camel == "NotSpam") {
        return "not-spam";
    }
    std::string out;
    for (const char c : camel) {
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

TEST(FailureReportConformance, StalwartArf) {
    const auto dir = kReports / "stalwart-mail-auth" / "arf";
    for (const char* name : {"001", "002", "003", "004", "005"}) {
        SCOPED_TRACE(name);
        const auto parsed = read_failure_report(read_file(dir / (std::string(name) + ".eml")));
        ASSERT_EQ(parsed.status, FailureReportStatus::Ok);
        const auto& r = parsed.report;
        const auto want = YAML::LoadFile((dir / (std::string(name) + ".json")).string());
        EXPECT_EQ(to_string(r.feedback_type), keyword(want["feedback_type"].as<std::string>()));
        EXPECT_EQ(r.user_agent, want["user_agent"].as<std::string>());
        EXPECT_EQ(r.version, want["version"].as<std::string>());
        EXPECT_EQ(
            r.arrival_time.value_or(0),
            want["arrival_date"].IsNull() ? 0 : want["arrival_date"].as<std::int64_t>()
        );
        EXPECT_EQ(squashed(r.authentication_results), list(want["authentication_results"]));
        EXPECT_EQ(r.incidents.value_or(1), want["incidents"].as<std::uint64_t>());
        EXPECT_EQ(r.original_envelope_id.value_or(""), opt(want["original_envelope_id"]));
        EXPECT_EQ(r.original_mail_from.value_or(""), opt(want["original_mail_from"]));
        EXPECT_EQ(
            r.original_rcpt_to.empty() ? "" : r.original_rcpt_to[0], opt(want["original_rcpt_to"])
        );
        EXPECT_EQ(r.reported_domain, list(want["reported_domain"]));
        EXPECT_EQ(r.reported_uri, list(want["reported_uri"]));
        EXPECT_EQ(r.reporting_mta.value_or(""), opt(want["reporting_mta"]));
        EXPECT_EQ(r.source_ip.value_or(""), opt(want["source_ip"]));
        EXPECT_EQ(r.source_port.value_or(0), want["source_port"].as<std::uint32_t>());
        const auto af = want["auth_failure"].as<std::string>();
        EXPECT_EQ(to_string(r.auth_failure), keyword(af));
        EXPECT_EQ(to_string(r.delivery_result), keyword(want["delivery_result"].as<std::string>()));
        EXPECT_EQ(r.dkim_domain.value_or(""), opt(want["dkim_domain"]));
        EXPECT_EQ(r.dkim_identity.value_or(""), opt(want["dkim_identity"]));
        EXPECT_EQ(r.dkim_selector.value_or(""), opt(want["dkim_selector"]));
        EXPECT_EQ(r.dkim_selector_dns.value_or(""), opt(want["dkim_selector_dns"]));
        EXPECT_EQ(r.dkim_canonicalized_body.value_or(""), squash(opt(want["dkim_canonicalized_body"])).empty() ? "" : [&] {
            std::string s = opt(want["dkim_canonicalized_body"]);
            std::erase_if(s, [](char c) { return c == ' ' || c == '\n'; });
            return s;
        }());
        EXPECT_EQ(r.spf_dns.empty() ? "" : r.spf_dns[0], opt(want["spf_dns"]));
        EXPECT_FALSE(r.identity_alignment.has_value());
        // "headers": the text/rfc822-headers part, when the report has one.
        if (const auto headers = opt(want["headers"]); !headers.empty()) {
            EXPECT_EQ(squash(r.original_headers), squash(headers));
        }
    }
}

TEST(FailureReportConformance, ParsedmarcFailureSamples) {
    const auto dir = kReports / "parsedmarc-samples" / "failure";
    std::size_t arf = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const auto name = entry.path().filename().string();
        SCOPED_TRACE(name);
        const auto parsed = read_failure_report(read_file(entry.path()));
        if (name == "exim_plain_text_only_no_arf_part.eml") {
            EXPECT_EQ(parsed.status, FailureReportStatus::NotArf);
            continue;
        }
        ASSERT_EQ(parsed.status, FailureReportStatus::Ok);
        EXPECT_EQ(parsed.report.feedback_type, FeedbackType::AuthFailure);
        // A DMARC failure says so in Auth-Failure (RFC 9991 §4 item 3) or, as Netease does,
        // only through Identity-Alignment.
        EXPECT_TRUE(
            parsed.report.auth_failure == AuthFailure::Dmarc ||
            parsed.report.identity_alignment.has_value()
        );
        EXPECT_FALSE(parsed.report.reported_domain.empty());
        EXPECT_TRUE(parsed.report.source_ip.has_value());
        EXPECT_FALSE(parsed.report.original_headers.empty());
        ++arf;
    }
    EXPECT_EQ(arf, 4U);
    const auto netease =
        read_failure_report(read_file(dir / "[Netease DMARC Failure Report] Rent Reminder.eml"));
    EXPECT_EQ(netease.report.identity_alignment, (IdentityAlignment{false, true, true}));
    EXPECT_EQ(netease.report.arrival_time, 1538124522);
    // The LF and CRLF copies of the LinkedIn report read the same.
    const auto lf = read_failure_report(read_file(dir / "dmarc_ruf_report_linkedin.eml"));
    const auto crlf = read_failure_report(read_file(dir / "dmarc_ruf_report_linkedin.crlf.eml"));
    EXPECT_EQ(lf.report.user_agent, "Lua/1.0");
    EXPECT_EQ(lf.report.version, "1.0");
    EXPECT_EQ(lf.report.original_mail_from, "");  // null reverse-path: present, empty
    EXPECT_EQ(lf.report.delivery_result, DeliveryResult::Delivered);
    EXPECT_EQ(lf.report.arrival_time, 1556590140);
    EXPECT_EQ(crlf.report.source_ip, lf.report.source_ip);
    EXPECT_EQ(crlf.report.authentication_results, lf.report.authentication_results);
}

// RFC 9991 Appendix A (the feedback part), with Identity-Alignment and RFC 6692 Source-Port.
constexpr std::string_view kRfc9991Fields =
    "Feedback-Type: auth-failure\r\n"
    "Version: 1\r\n"
    "User-Agent: DMARC-Filter/1.2.3\r\n"
    "Auth-Failure: dmarc\r\n"
    "Authentication-Results: gen.example;\r\n"
    "  dmarc=fail header.from=consumer.example\r\n"
    "Identity-Alignment: dkim\r\n"
    "DKIM-Domain: consumer.example\r\n"
    "DKIM-Identity: @consumer.example\r\n"
    "DKIM-Selector: epsilon\r\n"
    "Original-Envelope-Id: 65E1A3F0A0\r\n"
    "Original-Mail-From: author=gen.example@forwarder.example\r\n"
    "Source-IP: 192.0.2.2\r\n"
    "Source-Port: 12345\r\n"
    "Reported-Domain: consumer.example\r\n";

TEST(FailureReport, Rfc9991Example) {
    const auto parsed = parse_feedback_fields(kRfc9991Fields);
    ASSERT_EQ(parsed.status, FailureReportStatus::Ok);
    const auto& r = parsed.report;
    EXPECT_EQ(r.feedback_type, FeedbackType::AuthFailure);
    EXPECT_EQ(r.auth_failure, AuthFailure::Dmarc);
    ASSERT_TRUE(r.identity_alignment);
    EXPECT_EQ(*r.identity_alignment, (IdentityAlignment{false, true, false}));
    EXPECT_EQ(
        r.authentication_results,
        std::vector<std::string>{"gen.example; dmarc=fail header.from=consumer.example"}
    );
    EXPECT_EQ(r.dkim_selector, "epsilon");
    EXPECT_EQ(r.source_port, 12345U);
    EXPECT_EQ(r.original_mail_from, "author=gen.example@forwarder.example");
    EXPECT_EQ(r.reported_domain, std::vector<std::string>{"consumer.example"});

    // The same inside a multipart/report message.
    const std::string mail =
        std::string(
            "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n"
        ) +
        "--b\r\nContent-Type: text/plain\r\n\r\nhuman text\r\n"
        "--b\r\nContent-Type: message/feedback-report\r\n\r\n" +
        std::string(kRfc9991Fields) +
        "\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: a@consumer.example\r\n"
        "Subject: hi\r\n\r\n--b--\r\n";
    const auto whole = read_failure_report(mail);
    ASSERT_EQ(whole.status, FailureReportStatus::Ok);
    EXPECT_EQ(whole.report.dkim_domain, "consumer.example");
    EXPECT_EQ(whole.report.original_headers, "From: a@consumer.example\r\nSubject: hi\r\n");
}

TEST(FailureReport, IdentityAlignmentForms) {
    const auto align = [](std::string_view v) {
        const auto p = parse_feedback_fields(
            "Feedback-Type: auth-failure\nUser-Agent: x\nVersion: 1\nIdentity-Alignment:" +
            std::string(v) + "\n"
        );
        return p.report.identity_alignment.value_or(IdentityAlignment{});
    };
    EXPECT_EQ(align(" none"), (IdentityAlignment{true, false, false}));
    EXPECT_EQ(align(" dkim , spf"), (IdentityAlignment{false, true, true}));
    EXPECT_EQ(align(" SPF (comment)"), (IdentityAlignment{false, false, true}));
}

TEST(FailureReport, RequiredFieldsAndLimits) {
    EXPECT_EQ(
        parse_feedback_fields("Feedback-Type: abuse\nVersion: 1\n").status,
        FailureReportStatus::MissingField
    );
    const auto unknown =
        parse_feedback_fields("Feedback-Type: new-kind\nUser-Agent: x\nVersion: 1\n");
    EXPECT_EQ(unknown.status, FailureReportStatus::Ok);
    EXPECT_EQ(unknown.report.feedback_type, FeedbackType::Other);
    EXPECT_EQ(unknown.report.feedback_type_raw, "new-kind");
    std::string many = "Feedback-Type: abuse\nUser-Agent: x\nVersion: 1\n";
    for (int i = 0; i < 300; ++i) {
        many += "Reported-Domain: d" + std::to_string(i) + ".example\n";
    }
    EXPECT_EQ(parse_feedback_fields(many).status, FailureReportStatus::TooManyFields);
    EXPECT_EQ(
        parse_feedback_fields(many, {.max_fields_bytes = 100}).status, FailureReportStatus::TooLarge
    );
    EXPECT_EQ(read_failure_report("Subject: x\n\nhello\n").status, FailureReportStatus::NotArf);
    EXPECT_EQ(
        read_failure_report(std::string(2000, 'x'), {.max_message_bytes = 1000}).status,
        FailureReportStatus::TooLarge
    );
}

}  // namespace
}  // namespace sov::mailauth
