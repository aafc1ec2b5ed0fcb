#include "mailauth/dmarc_report.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "mailauth/static_dns.hpp"
#include "support/rfc9990_schema.hpp"
#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

const fs::path kReports = fs::path(SOV_CONFORMANCE_DIR) / "reports";

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

AggregateReport sample_report() {
    AggregateReport r;
    r.metadata.org_name = "Sovereign <test> & \"friends\"";
    r.metadata.email = "dmarc@receiver.example";
    r.metadata.extra_contact_info = "https://receiver.example/dmarc?a=1&b=2";
    r.metadata.report_id = make_report_id(1700000000, "Example.COM", "receiver.example");
    r.metadata.date_range = {1700000000, 1700086399};
    r.metadata.errors = {"multiple records at _dmarc.example.com"};
    r.metadata.generator = "Sovereign 0.1";
    r.policy.domain = "example.com";
    r.policy.discovery_method = DiscoveryMethod::Treewalk;
    r.policy.p = ReportPolicy::Quarantine;
    r.policy.sp = ReportPolicy::Reject;
    r.policy.np = ReportPolicy::None;
    r.policy.fo = "1:d";
    r.policy.adkim = ReportAlignment::Strict;
    r.policy.aspf = ReportAlignment::Relaxed;
    r.policy.testing = false;

    ReportRecord a;
    a.source_ip = asio::ip::make_address("192.0.2.10");
    a.count = 42;
    a.policy_evaluated = {
        ReportDisposition::None,
        AlignedResult::Fail,
        AlignedResult::Fail,
        {{OverrideType::MailingList, "list <l@example.org>"}, {OverrideType::LocalPolicy, {}}}
    };
    a.identifiers = {"example.com", "", "receiver.example"};
    a.dkim = {
        {"example.com", "s1", ReportDkimResult::Fail, "body hash did not verify"},
        {"list.example.org", "k", ReportDkimResult::Pass, {}}
    };
    a.spf = {{"bounce.example.org", SpfScope::MailFrom, ReportSpfResult::SoftFail, {}}};
    ReportRecord b;
    b.source_ip = asio::ip::make_address("2001:db8::25");
    b.count = 1;
    b.policy_evaluated = {ReportDisposition::Pass, AlignedResult::Pass, AlignedResult::Pass, {}};
    b.identifiers = {"mail.example.com", "example.com", {}};
    b.dkim = {{"example.com", "s2", ReportDkimResult::Pass, {}}};
    r.records = {a, b};
    return r;
}

TEST(DmarcReport, WriteReadRoundTrip) {
    const auto report = sample_report();
    const auto xml = write_aggregate_report(report);
    EXPECT_EQ(xml, write_aggregate_report(report));  // deterministic
    EXPECT_NE(xml.find("<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">"), std::string::npos);
    EXPECT_NE(xml.find("<version>1.0</version>"), std::string::npos);
    EXPECT_NE(xml.find("Sovereign &lt;test&gt; &amp; &quot;friends&quot;"), std::string::npos);
    auto back = read_aggregate_report(xml);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_TRUE(back->rfc9990_namespace);
    EXPECT_FALSE(back->recovered);
    auto expected = report;
    expected.rfc9990_namespace = true;
    EXPECT_EQ(*back, expected);
    EXPECT_EQ(back->metadata.report_id, "1700000000-example.com@receiver.example");
}

TEST(DmarcReport, WrittenXmlValidatesAgainstRfc9990Schema) {
    EXPECT_EQ(test::rfc9990_schema_errors(write_aggregate_report(sample_report())), "");
    // A minimal report (only required fields) too.
    AggregateReport minimal;
    minimal.metadata.report_id = "x";
    minimal.policy.domain = "example.com";
    ReportRecord rec;
    rec.source_ip = asio::ip::make_address("192.0.2.1");
    rec.count = 1;
    rec.identifiers.header_from = "example.com";
    minimal.records.push_back(rec);
    EXPECT_EQ(test::rfc9990_schema_errors(write_aggregate_report(minimal)), "");
    // The validator is not a rubber stamp: a wrong enumeration value fails.
    auto bad = write_aggregate_report(minimal);
    bad.replace(bad.find("<p>none</p>"), 11, "<p>nope</p>");
    EXPECT_NE(test::rfc9990_schema_errors(bad), "");
}

TEST(DmarcReport, EscapesControlCharactersAndBadUtf8) {
    auto report = sample_report();
    report.metadata.org_name = std::string(
        "a\x01"
        "b\xff"
        "c\r\n\xc3\xa9",
        10
    );
    report.records[0].dkim[0].human_result = "]]> <![CDATA[ x";
    const auto xml = write_aggregate_report(report);
    EXPECT_EQ(test::rfc9990_schema_errors(xml), "");
    auto back = read_aggregate_report(xml);
    ASSERT_TRUE(back);
    EXPECT_EQ(
        back->metadata.org_name,
        "ab\xEF\xBF\xBD"
        "c\r\n\xc3\xa9"
    );
    EXPECT_EQ(back->records[0].dkim[0].human_result, "]]> <![CDATA[ x");
}

TEST(DmarcReport, RejectsDtdsAndEntities) {
    const std::string laughs =
        "<?xml version=\"1.0\"?><!DOCTYPE feedback [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
        "<feedback><report_metadata><org_name>&c;</org_name></report_metadata></feedback>";
    auto r = read_aggregate_report(laughs);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), ReportErrc::HasDtd);
    const std::string xxe =
        "<?xml version=\"1.0\"?><!DOCTYPE feedback [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<feedback><report_metadata><org_name>&x;</org_name></report_metadata></feedback>";
    auto x = read_aggregate_report(xxe);
    ASSERT_FALSE(x);
    EXPECT_EQ(x.error(), ReportErrc::HasDtd);
}

TEST(DmarcReport, PrefixedRootAndUtf16) {
    auto xml = write_aggregate_report(sample_report());
    // <d:feedback xmlns:d="..."> with unprefixed children.
    xml.replace(xml.find("<feedback xmlns="), 16, "<d:feedback xmlns:d=");
    xml.replace(xml.find("</feedback>"), 11, "</d:feedback>");
    auto prefixed = read_aggregate_report(xml);
    ASSERT_TRUE(prefixed) << prefixed.error().message();
    EXPECT_EQ(prefixed->records.size(), 2U);
    // A DOCTYPE in UTF-16 (not visible to a byte search) is refused after parsing.
    const std::string ascii =
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?><!DOCTYPE feedback>"
        "<feedback/>";
    std::string utf16 = "\xFF\xFE";
    for (const char c : ascii) {
        utf16 += c;
        utf16 += '\0';
    }
    auto r = read_aggregate_report(utf16);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), ReportErrc::HasDtd);
}

TEST(DmarcReport, Limits) {
    const auto xml = write_aggregate_report(sample_report());
    auto small = read_aggregate_report(xml, {.max_bytes = 100});
    ASSERT_FALSE(small);
    EXPECT_EQ(small.error(), ReportErrc::TooLarge);
    auto few = read_aggregate_report(xml, {.max_records = 1});
    ASSERT_FALSE(few);
    EXPECT_EQ(few.error(), ReportErrc::TooManyRecords);
    EXPECT_TRUE(read_aggregate_report(xml, {.max_records = 2}));
}

TEST(DmarcReport, RejectsWrongDocuments) {
    EXPECT_EQ(read_aggregate_report("").error(), ReportErrc::NotXml);
    EXPECT_EQ(read_aggregate_report("<other/>").error(), ReportErrc::NotFeedback);
    EXPECT_EQ(
        read_aggregate_report("<feedback xmlns=\"urn:x\"><report_metadata/></feedback>").error(),
        ReportErrc::NotFeedback
    );
    auto xml = write_aggregate_report(sample_report());
    auto no_id = xml;
    no_id.replace(no_id.find("<report_id>"), 11, "<rid>");
    no_id.replace(no_id.find("</report_id>"), 12, "</rid>");
    EXPECT_EQ(read_aggregate_report(no_id).error(), ReportErrc::MissingField);
    auto bad_ip = xml;
    bad_ip.replace(bad_ip.find("192.0.2.10"), 10, "192.0.2.x0");
    EXPECT_EQ(read_aggregate_report(bad_ip).error(), ReportErrc::BadValue);
    auto bad_p = xml;
    bad_p.replace(bad_p.find("<p>quarantine</p>"), 17, "<p>QUARANTINE</p>");
    EXPECT_EQ(read_aggregate_report(bad_p).error(), ReportErrc::BadValue);
}

TEST(DmarcReport, ExtensionsAreIgnored) {
    // RFC 9990 §5 example shape: a file-level <extension> and a record-level namespaced element.
    auto xml = write_aggregate_report(sample_report());
    xml.replace(
        xml.find("<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">"),
        51,
        "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\" xmlns:ext=\"urn:x-ext\">"
    );
    xml.replace(
        xml.find("  <record>"),
        10,
        "  <extension><ext:arc-override>never</ext:arc-override></extension>\n  <record>"
    );
    xml.replace(
        xml.find("</auth_results>"),
        15,
        "</auth_results><ext:arc-results><ext:domain>evil</ext:domain></ext:arc-results>"
    );
    EXPECT_EQ(test::rfc9990_schema_errors(xml), "");
    auto back = read_aggregate_report(xml);
    ASSERT_TRUE(back) << back.error().message();
    auto expected = sample_report();
    expected.rfc9990_namespace = true;
    EXPECT_EQ(*back, expected);
}

TEST(DmarcReport, GzipRoundTripAndLimits) {
    const auto xml = write_aggregate_report(sample_report());
    const auto gz = gzip(xml);
    ASSERT_GE(gz.size(), 18U);
    EXPECT_EQ(gz, gzip(xml));
    auto back = gunzip(gz, 1 << 20);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, xml);
    EXPECT_EQ(gunzip(gz, xml.size() - 1).error(), ReportErrc::TooLarge);
    EXPECT_EQ(gunzip("not gzip at all, not gzip", 100).error(), ReportErrc::BadGzip);
    EXPECT_EQ(gunzip(gz.substr(0, gz.size() / 2), 1 << 20).error(), ReportErrc::BadGzip);
    // A bomb: 16 MiB of zeros compresses to ~16 KiB; the limit stops it early.
    const auto bomb = gzip(std::string(std::size_t{16} << 20U, '\0'));
    EXPECT_EQ(gunzip(bomb, std::size_t{1} << 20U).error(), ReportErrc::TooLarge);
    // Two members (RFC 1952 §2.2).
    auto two = gunzip(gzip("ab") + gzip("cd"), 100);
    ASSERT_TRUE(two);
    EXPECT_EQ(*two, "abcd");
    auto decoded = decode_report_file(gz, 1 << 20);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, xml);
}

TEST(DmarcReport, FilenameAndSubject) {
    auto report = sample_report();
    report.policy.domain = "example.com";
    report.metadata.date_range = {1013662812, 1013749130};
    // RFC 9990 §3.5.2 example.
    EXPECT_EQ(
        report_filename("mail.receiver.example", report, "", true),
        "mail.receiver.example!example.com!1013662812!1013749130.xml.gz"
    );
    EXPECT_EQ(
        report_filename("mail.receiver.example", report, "a1-b2", false),
        "mail.receiver.example!example.com!1013662812!1013749130!a1b2.xml"
    );
    report.metadata.report_id = "sample-ridtxt@example.com";
    EXPECT_EQ(
        report_subject("mail.receiver.example", report),
        "Report Domain: example.com Submitter: mail.receiver.example "
        "Report-ID: <sample-ridtxt@example.com>"
    );
}

TEST(DmarcReport, AggregatesRows) {
    const auto ip1 = asio::ip::make_address("192.0.2.1");
    const auto ip2 = asio::ip::make_address("192.0.2.2");
    EvaluationRow pass;
    pass.source_ip = ip2;
    pass.header_from = "Example.com";
    pass.envelope_from = "example.com";
    pass.disposition = ReportDisposition::Pass;
    pass.dkim_aligned = AlignedResult::Pass;
    pass.spf_aligned = AlignedResult::Pass;
    pass.dkim = {
        {"other.example", "x", ReportDkimResult::Pass, {}},
        {"example.com", "bad", ReportDkimResult::Fail, {}},
        {"mail.example.com", "r", ReportDkimResult::Pass, {}},
        {"EXAMPLE.com", "s", ReportDkimResult::Pass, {}},
    };
    pass.spf = SpfAuthResult{"example.com", SpfScope::MailFrom, ReportSpfResult::Pass, {}};
    EvaluationRow fail = pass;
    fail.source_ip = ip1;
    fail.disposition = ReportDisposition::Quarantine;
    fail.dkim_aligned = AlignedResult::Fail;
    fail.dkim.clear();
    fail.reasons = {{OverrideType::PolicyTestMode, {}}};
    std::vector<EvaluationRow> rows{pass, fail, pass, pass, fail};
    rows.back().count = 5;
    const auto records = aggregate_rows(rows);
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(records[0].source_ip, ip1);  // sorted by address
    EXPECT_EQ(records[0].count, 6U);
    EXPECT_EQ(records[1].count, 3U);
    EXPECT_EQ(records[1].identifiers.header_from, "example.com");
    ASSERT_EQ(records[1].dkim.size(), 4U);
    // RFC 9990 §3.1.3 order: same domain pass, relaxed pass, other pass, failures.
    EXPECT_EQ(records[1].dkim[0].selector, "s");
    EXPECT_EQ(records[1].dkim[1].selector, "r");
    EXPECT_EQ(records[1].dkim[2].selector, "x");
    EXPECT_EQ(records[1].dkim[3].selector, "bad");
    // Input order does not matter.
    std::vector<EvaluationRow> reversed(rows.rbegin(), rows.rend());
    EXPECT_EQ(aggregate_rows(reversed), records);

    AggregateReport report;
    report.metadata.report_id = "r";
    report.policy.domain = "example.com";
    report.records = records;
    EXPECT_EQ(test::rfc9990_schema_errors(write_aggregate_report(report)), "");
}

TEST(DmarcReport, CapsDkimSignaturesAt100) {
    EvaluationRow row;
    row.source_ip = asio::ip::make_address("192.0.2.1");
    row.header_from = "example.com";
    for (int i = 0; i < 150; ++i) {
        row.dkim.push_back({"d" + std::to_string(i) + ".example", "s", ReportDkimResult::Fail, {}});
    }
    row.dkim.push_back({"example.com", "keep", ReportDkimResult::Pass, {}});
    const std::vector<EvaluationRow> rows{row};
    const auto records = aggregate_rows(rows);
    ASSERT_EQ(records.size(), 1U);
    ASSERT_EQ(records[0].dkim.size(), 100U);
    EXPECT_EQ(records[0].dkim[0].selector, "keep");
}

TEST(DmarcReport, ExternalDestinationVerification) {
    StaticDns dns;
    dns.add_txt("blue.example.com._report._dmarc.red.example.net", "v=DMARC1");
    dns.add_txt(
        "a.example._report._dmarc.override.example", "v=DMARC1; rua=mailto:x@override.example!10m"
    );
    dns.add_txt(
        "b.example._report._dmarc.override.example", "v=DMARC1; rua=mailto:x@elsewhere.example"
    );
    dns.add_txt("c.example._report._dmarc.bad.example", "rua=mailto:x@bad.example; v=DMARC1");
    dns.add_txt("d.example._report._dmarc.bad.example", "v=spf1 -all");
    dns.fail("slow.example._report._dmarc.red.example.net", dns::RrType::TXT);

    // RFC 9990 §4 example.
    EXPECT_TRUE(test::run_awaitable(
        external_destination_allowed(dns, "blue.example.com", "red.example.net")
    ));
    EXPECT_TRUE(test::run_awaitable(
        external_destination_allowed(dns, "blue.example.com", "Red.Example.NET.")
    ));
    EXPECT_FALSE(test::run_awaitable(
        external_destination_allowed(dns, "green.example.com", "red.example.net")
    ));
    EXPECT_FALSE(test::run_awaitable(external_destination_allowed(dns, "c.example", "bad.example"))
    );  // v= not first
    EXPECT_FALSE(test::run_awaitable(external_destination_allowed(dns, "d.example", "bad.example"))
    );

    auto over =
        test::run_awaitable(verify_external_destination(dns, "a.example", "override.example"));
    EXPECT_EQ(over.status, DestinationStatus::Allowed);
    ASSERT_EQ(over.override_uris.size(), 1U);
    EXPECT_EQ(over.override_uris[0], "mailto:x@override.example!10m");
    // An override to another host: no report to either (§4, after step 9).
    EXPECT_EQ(
        test::run_awaitable(verify_external_destination(dns, "b.example", "override.example"))
            .status,
        DestinationStatus::NotAllowed
    );
    EXPECT_EQ(
        test::run_awaitable(verify_external_destination(dns, "slow.example", "red.example.net"))
            .status,
        DestinationStatus::TempError
    );
    // Step 4: too long a name is never queried.
    const auto queries = dns.queries();
    const std::string long_domain =
        std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') + ".example";
    EXPECT_FALSE(test::run_awaitable(
        external_destination_allowed(dns, long_domain, std::string(40, 'd') + ".example")
    ));
    EXPECT_EQ(dns.queries(), queries);
    // ruf (RFC 9991 §5).
    dns.add_txt(
        "e.example._report._dmarc.red.example.net", "v=DMARC1; ruf=mailto:f@red.example.net"
    );
    auto ruf =
        test::run_awaitable(verify_external_destination(dns, "e.example", "red.example.net", "ruf")
        );
    EXPECT_EQ(ruf.status, DestinationStatus::Allowed);
    EXPECT_EQ(ruf.override_uris.size(), 1U);

    EXPECT_EQ(mailto_host("mailto:reports@Red.Example.NET!10m"), "red.example.net");
    EXPECT_EQ(mailto_host("https://example.com/"), "");
}

// ---- conformance: stalwart mail-auth vectors ------------------------------------------------

/// "TrustedForwarder" -> "trusted_forwarder"; mail-auth's enum spellings to RFC keywords.
std::string keyword(const std::string& camel) {
    if (camel == "MailFrom") {
        return "mfrom";
    }
    if (camel == "Relaxed") {
        return "r";
    }
    if (camel == "Strict") {
        return "s";
    }
    if (camel == "TempError") {
        return "temperror";
    }
    if (camel == "PermError") {
        return "permerror";
    }
    if (camel == "SoftFail") {
        return "softfail";
    }
    std::string out;
    for (const char c : camel) {
        if (std::isupper(static_cast<unsigned char>(c)) != 0 && !out.empty()) {
            out += '_';
        }
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

/// An expected optional value: null, missing and "Unspecified" all mean "absent".
std::string expected_opt(const YAML::Node& n) {
    if (!n || n.IsNull()) {
        return "";
    }
    const auto s = n.as<std::string>();
    return s == "Unspecified" ? "" : keyword(s);
}

template <class E>
std::string got_opt(const std::optional<E>& v) {
    return v ? std::string(to_string(*v)) : "";
}

std::string text_or_empty(const YAML::Node& n) {
    return !n || n.IsNull() ? "" : n.as<std::string>();
}

void compare_with_expected(
    const AggregateReport& got, const YAML::Node& want, const std::string& ctx
) {
    SCOPED_TRACE(ctx);
    const double version = got.version.empty() ? 0.0 : std::stod(got.version);
    EXPECT_DOUBLE_EQ(version, want["version"].as<double>());
    const auto& md = want["report_metadata"];
    EXPECT_EQ(got.metadata.org_name, md["org_name"].as<std::string>());
    EXPECT_EQ(got.metadata.email, md["email"].as<std::string>());
    EXPECT_EQ(
        got.metadata.extra_contact_info.value_or(""), text_or_empty(md["extra_contact_info"])
    );
    EXPECT_EQ(got.metadata.report_id, md["report_id"].as<std::string>());
    EXPECT_EQ(got.metadata.date_range.begin, md["date_range"]["begin"].as<std::int64_t>());
    EXPECT_EQ(got.metadata.date_range.end, md["date_range"]["end"].as<std::int64_t>());
    EXPECT_EQ(got.metadata.errors.size(), md["error"].size());
    EXPECT_EQ(got.metadata.generator.value_or(""), text_or_empty(md["generator"]));
    const auto& pp = want["policy_published"];
    EXPECT_EQ(got.policy.domain, pp["domain"].as<std::string>());
    EXPECT_EQ(to_string(got.policy.p), keyword(pp["p"].as<std::string>()));
    EXPECT_EQ(got_opt(got.policy.sp), expected_opt(pp["sp"]));
    EXPECT_EQ(got_opt(got.policy.np), expected_opt(pp["np"]));
    EXPECT_EQ(got_opt(got.policy.adkim), expected_opt(pp["adkim"]));
    EXPECT_EQ(got_opt(got.policy.aspf), expected_opt(pp["aspf"]));
    EXPECT_EQ(got_opt(got.policy.discovery_method), expected_opt(pp["discovery_method"]));
    EXPECT_EQ(got.policy.testing.value_or(false), pp["testing"].as<bool>());
    EXPECT_EQ(got.policy.fo.value_or(""), text_or_empty(pp["fo"]));
    const auto& records = want["record"];
    ASSERT_EQ(got.records.size(), records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        SCOPED_TRACE("record " + std::to_string(i));
        const auto& w = records[i];
        const auto& g = got.records[i];
        EXPECT_EQ(g.source_ip.to_string(), w["row"]["source_ip"].as<std::string>());
        EXPECT_EQ(g.count, w["row"]["count"].as<std::uint64_t>());
        const auto& pe = w["row"]["policy_evaluated"];
        EXPECT_EQ(
            to_string(g.policy_evaluated.disposition), keyword(pe["disposition"].as<std::string>())
        );
        EXPECT_EQ(to_string(g.policy_evaluated.dkim), keyword(pe["dkim"].as<std::string>()));
        EXPECT_EQ(to_string(g.policy_evaluated.spf), keyword(pe["spf"].as<std::string>()));
        ASSERT_EQ(g.policy_evaluated.reasons.size(), pe["reason"].size());
        for (std::size_t k = 0; k < pe["reason"].size(); ++k) {
            EXPECT_EQ(
                to_string(g.policy_evaluated.reasons[k].type),
                keyword(pe["reason"][k]["type_"].as<std::string>())
            );
            EXPECT_EQ(
                g.policy_evaluated.reasons[k].comment.value_or(""),
                text_or_empty(pe["reason"][k]["comment"])
            );
        }
        const auto& ids = w["identifiers"];
        EXPECT_EQ(g.identifiers.header_from, ids["header_from"].as<std::string>());
        EXPECT_EQ(g.identifiers.envelope_from.value_or(""), text_or_empty(ids["envelope_from"]));
        EXPECT_EQ(g.identifiers.envelope_to.value_or(""), text_or_empty(ids["envelope_to"]));
        const auto& dkim = w["auth_results"]["dkim"];
        ASSERT_EQ(g.dkim.size(), dkim.size());
        for (std::size_t k = 0; k < dkim.size(); ++k) {
            EXPECT_EQ(g.dkim[k].domain, dkim[k]["domain"].as<std::string>());
            EXPECT_EQ(g.dkim[k].selector, text_or_empty(dkim[k]["selector"]));
            EXPECT_EQ(to_string(g.dkim[k].result), keyword(dkim[k]["result"].as<std::string>()));
            EXPECT_EQ(g.dkim[k].human_result.value_or(""), text_or_empty(dkim[k]["human_result"]));
        }
        const auto& spf = w["auth_results"]["spf"];
        ASSERT_EQ(g.spf.size(), spf.size());
        for (std::size_t k = 0; k < spf.size(); ++k) {
            EXPECT_EQ(g.spf[k].domain, spf[k]["domain"].as<std::string>());
            EXPECT_EQ(got_opt(g.spf[k].scope), expected_opt(spf[k]["scope"]));
            EXPECT_EQ(to_string(g.spf[k].result), keyword(spf[k]["result"].as<std::string>()));
            EXPECT_EQ(g.spf[k].human_result.value_or(""), text_or_empty(spf[k]["human_result"]));
        }
    }
}

TEST(DmarcReportConformance, StalwartAggregateXml) {
    const auto dir = kReports / "stalwart-mail-auth" / "dmarc-feedback";
    for (const char* name : {"001", "002", "003", "004", "005"}) {
        const auto xml = read_file(dir / (std::string(name) + ".xml"));
        auto got = read_aggregate_report(xml);
        ASSERT_TRUE(got) << name << ": " << got.error().message();
        compare_with_expected(
            *got, YAML::LoadFile((dir / (std::string(name) + ".json")).string()), name
        );
    }
}

TEST(DmarcReportConformance, StalwartReportEmails) {
    const auto dir = kReports / "stalwart-mail-auth" / "dmarc-feedback";
    for (const char* name : {"100", "101", "102", "103", "104"}) {
        const auto eml = read_file(dir / (std::string(name) + ".eml"));
        auto got = read_aggregate_report_email(eml);
        ASSERT_TRUE(got) << name << ": " << got.error().message();
        compare_with_expected(
            *got, YAML::LoadFile((dir / (std::string(name) + ".json")).string()), name
        );
    }
}

TEST(DmarcReportConformance, Rfc9990SampleValidates) {
    // The RFC's own Appendix B sample (stalwart 004) passes our schema copy and reads back
    // as written by our writer, which again validates.
    const auto xml = read_file(kReports / "stalwart-mail-auth" / "dmarc-feedback" / "004.xml");
    EXPECT_EQ(test::rfc9990_schema_errors(xml), "");
    auto got = read_aggregate_report(xml);
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->rfc9990_namespace);
    EXPECT_EQ(test::rfc9990_schema_errors(write_aggregate_report(*got)), "");
}

TEST(DmarcReportConformance, ParsedmarcAggregateSamples) {
    const auto dir = kReports / "parsedmarc-samples" / "aggregate";
    std::size_t parsed = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const auto path = entry.path();
        const auto name = path.filename().string();
        SCOPED_TRACE(name);
        const auto data = read_file(path);
        Result<AggregateReport> got = path.extension() == ".eml"
                                          ? read_aggregate_report_email(data)
                                          : [&]() -> Result<AggregateReport> {
            auto xml = decode_report_file(data, std::size_t{50} << 20U);
            if (!xml) {
                return xml.error();
            }
            return read_aggregate_report(*xml);
        }();
        ASSERT_TRUE(got) << got.error().message();
        EXPECT_FALSE(got->policy.domain.empty());
        EXPECT_FALSE(got->metadata.report_id.empty());
        // Only the deliberately broken files (and ikea's, wrapped in junk) need recovery mode.
        EXPECT_EQ(
            got->recovered,
            name == "invalid_xml.xml" || name == "invalid_utf_8.xml" ||
                name.starts_with("ikea.com!")
        );
        // Whatever we read, we can write as a valid RFC 9990 report.
        EXPECT_EQ(test::rfc9990_schema_errors(write_aggregate_report(*got)), "");
        ++parsed;
    }
    EXPECT_EQ(parsed, 19U);
}

TEST(DmarcReportConformance, ParsedmarcInvalidAndEmpty) {
    // Upper-cased "PASS": RFC 9990 §3.1.1.12/13 results are lowercase keywords; refused.
    const auto invalid = read_file(
        kReports / "parsedmarc-samples" / "aggregate_invalid" / "report_with_upper_cased_pass.xml"
    );
    auto got = read_aggregate_report(invalid);
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error(), ReportErrc::BadValue);
    const auto empty = read_file(kReports / "parsedmarc-samples" / "empty.xml");
    EXPECT_EQ(read_aggregate_report(empty).error(), ReportErrc::NotXml);
}

TEST(DmarcReportConformance, ParsedmarcExtractReportFormats) {
    const auto dir = kReports / "parsedmarc-samples" / "extract_report";
    const auto plain = read_file(dir / "nice-input.xml");
    for (const char* name : {"nice-input.xml", "nice-input.xml.gz", "nice-input.xml.zip"}) {
        auto xml = decode_report_file(read_file(dir / name), 1 << 20);
        ASSERT_TRUE(xml) << name << ": " << xml.error().message();
        EXPECT_EQ(*xml, plain) << name;
    }
    auto report = read_aggregate_report(plain);
    ASSERT_TRUE(report);
    // The same report sent by us: gzip attachment in an email, found again by the extractor.
    const auto gz = gzip(write_aggregate_report(*report));
    std::string b64;
    {
        static constexpr char kAlphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::size_t i = 0;
        for (; i + 2 < gz.size(); i += 3) {
            const auto n = (static_cast<unsigned char>(gz[i]) << 16U) |
                           (static_cast<unsigned char>(gz[i + 1]) << 8U) |
                           static_cast<unsigned char>(gz[i + 2]);
            b64 += kAlphabet[(n >> 18U) & 63U];
            b64 += kAlphabet[(n >> 12U) & 63U];
            b64 += kAlphabet[(n >> 6U) & 63U];
            b64 += kAlphabet[n & 63U];
        }
        if (i < gz.size()) {
            unsigned n = static_cast<unsigned char>(gz[i]) << 16U;
            if (i + 1 < gz.size()) {
                n |= static_cast<unsigned char>(gz[i + 1]) << 8U;
            }
            b64 += kAlphabet[(n >> 18U) & 63U];
            b64 += kAlphabet[(n >> 12U) & 63U];
            b64 += i + 1 < gz.size() ? kAlphabet[(n >> 6U) & 63U] : '=';
            b64 += '=';
        }
    }
    const std::string mail =
        "From: dmarc@receiver.example\r\nTo: rua@example.com\r\nSubject: " +
        report_subject("receiver.example", *report) +
        "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        "Content-Type: text/plain\r\n\r\nDMARC report\r\n--b\r\nContent-Type: application/gzip\r\n"
        "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"" +
        report_filename("receiver.example", *report, "", true) + "\"\r\n\r\n" + b64 +
        "\r\n--b--\r\n";
    auto again = read_aggregate_report_email(mail);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->records, report->records);
    EXPECT_EQ(again->metadata.report_id, report->metadata.report_id);
    EXPECT_EQ(
        read_aggregate_report_email("Subject: x\r\n\r\nno report\r\n").error(), ReportErrc::NoReport
    );
}

}  // namespace
}  // namespace sov::mailauth
