// The ARC conformance suites (tests/conformance/arc/): every case of ValiMail's arc_test_suite
// (validation and signing) and the two real-world chains of stalwart mail-auth.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "mailauth/arc_seal.hpp"
#include "mailauth/arc_verify.hpp"
#include "mailauth/static_dns.hpp"
#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;

const std::filesystem::path kArcDir = std::filesystem::path(SOV_CONFORMANCE_DIR) / "arc";
const std::filesystem::path kValimail = kArcDir / "valimail-arc-test-suite";

// The YAML messages use LF; SMTP carries CRLF (the suite's README says to feed them as CRLF).
std::string to_crlf(const std::string& text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (char c : text) {
        if (c == '\n') {
            out += "\r\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return s;
}

std::string remove_whitespace(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            out += c;
        }
    }
    return out;
}

// A TXT record written over several YAML lines (the signing suite breaks p= values) is one
// string in DNS: the line breaks are not part of it.
void load_txt_records(const YAML::Node& records, StaticDns& dns) {
    if (!records) {
        return;
    }
    for (const auto& entry : records) {
        std::string value = entry.second.as<std::string>();
        std::erase(value, '\n');
        std::erase(value, '\r');
        dns.add_txt(entry.first.as<std::string>(), value);
    }
}

std::string test_name(std::string name, std::set<std::string>& seen) {
    for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) {
            c = '_';
        }
    }
    std::string unique = name;
    for (int i = 2; !seen.insert(unique).second; ++i) {
        unique = name + "_" + std::to_string(i);  // the suite defines as_fields_b_head_case twice
    }
    return unique;
}

// ------------------------------------------------------------------------------- validation

struct ValidationCase {
    std::string name;
    std::string message;
    std::string cv;  // expected, lowercase
    YAML::Node txt_records;
};

std::vector<ValidationCase> load_validation_cases() {
    std::vector<ValidationCase> cases;
    std::set<std::string> seen;
    for (const auto& scenario :
         YAML::LoadAllFromFile((kValimail / "arc-draft-validation-tests.yml").string())) {
        for (const auto& test : scenario["tests"]) {
            ValidationCase c;
            c.name = test_name(test.first.as<std::string>(), seen);
            c.message = to_crlf(test.second["message"].as<std::string>(""));
            // Three cases have an empty cv: their newest AS says cv=fail, so the chain fails
            // (RFC 8617 §5.2 step 2). Mail::DKIM's harness reads empty as fail too.
            c.cv = lower(test.second["cv"].as<std::string>(""));
            if (c.cv.empty()) {
                c.cv = "fail";
            }
            c.txt_records = scenario["txt-records"];
            if (c.name == "ams_fields_c_na") {
                // The one case where we follow the RFC instead of the suite. This AMS has no
                // c= tag and was signed with relaxed header canonicalisation; the suite expects
                // "pass". RFC 8617 §4.1.2 gives the AMS "the same syntax and semantics as the
                // DKIM-Signature field", whose c= defaults to "simple/simple" (RFC 6376 §3.5),
                // so the header hash differs and the newest AMS fails (§5.2 step 4). (Verified:
                // reading the default as relaxed makes this case pass.) Mail::DKIM's older copy
                // of the suite expected "fail" here too (see the suite's README).
                c.cv = "fail";
            }
            cases.push_back(std::move(c));
        }
    }
    return cases;
}

class ArcValimailValidation : public ::testing::TestWithParam<ValidationCase> {};

TEST_P(ArcValimailValidation, ChainValidationStatus) {
    const auto& c = GetParam();
    StaticDns dns;
    load_txt_records(c.txt_records, dns);
    const auto outcome = test::run_awaitable(verify_arc(dns, c.message));
    EXPECT_EQ(to_string(outcome.cv), c.cv) << "reason: " << outcome.reason;
}

// The MX verifies against keys fetched ahead (prefetch_arc_keys), on a worker thread: every
// case must come out the same as against the zone itself, reason included.
TEST_P(ArcValimailValidation, SameOutcomeFromPrefetchedKeys) {
    const auto& c = GetParam();
    StaticDns zone;
    load_txt_records(c.txt_records, zone);
    const auto direct = test::run_awaitable(verify_arc(zone, c.message));
    auto prefetched = test::run_awaitable(prefetch_arc_keys(zone, c.message));
    const auto queries_before = zone.queries();
    const auto outcome = prefetched ? test::run_awaitable(verify_arc(*prefetched, c.message))
                                    : test::run_awaitable(verify_arc(zone, c.message));
    EXPECT_EQ(to_string(outcome.cv), to_string(direct.cv));
    EXPECT_EQ(outcome.reason, direct.reason);
    EXPECT_EQ(outcome.oldest_pass, direct.oldest_pass);
    if (prefetched) {
        EXPECT_EQ(zone.queries(), queries_before) << "verification went back to the zone";
    }
}

INSTANTIATE_TEST_SUITE_P(
    Arc,
    ArcValimailValidation,
    ::testing::ValuesIn(load_validation_cases()),
    [](const auto& param_info) { return param_info.param.name; }
);

TEST(ArcValimailSuiteSize, EveryValidationCaseIsLoaded) {
    // The README counts 171 (pyyaml keeps one copy of a repeated key); four keys of the "Arc Seal
    // Fields" scenario appear twice with different messages, and both copies run here.
    EXPECT_EQ(load_validation_cases().size(), 175U);
}

// ---------------------------------------------------------------------------------- signing

struct SigningCase {
    std::string name;
    std::string message;
    std::int64_t t = 0;
    std::string sig_headers;
    std::string srv_id;
    std::string as, ams, aar;  // expected values
    std::string domain, selector, private_key;
    YAML::Node txt_records;
};

std::vector<SigningCase> load_signing_cases() {
    std::vector<SigningCase> cases;
    std::set<std::string> seen;
    for (const auto& scenario :
         YAML::LoadAllFromFile((kValimail / "arc-draft-sign-tests.yml").string())) {
        for (const auto& test : scenario["tests"]) {
            const auto& v = test.second;
            SigningCase c;
            c.name = test_name(test.first.as<std::string>(), seen);
            c.message = to_crlf(v["message"].as<std::string>());
            c.t = v["t"].as<std::int64_t>();
            c.sig_headers = v["sig-headers"].as<std::string>();
            c.srv_id = v["srv-id"].as<std::string>();
            c.as = v["AS"].as<std::string>("");
            c.ams = v["AMS"].as<std::string>("");
            c.aar = v["AAR"].as<std::string>("");
            c.domain = scenario["domain"].as<std::string>();
            c.selector = scenario["sel"].as<std::string>();
            c.private_key = scenario["privatekey"].as<std::string>();
            c.txt_records = scenario["txt-records"];
            cases.push_back(std::move(c));
        }
    }
    return cases;
}

// The suite's comparison (its README): the set of tag=value pairs after removing whitespace.
std::multiset<std::string> tag_set(std::string_view value) {
    std::multiset<std::string> out;
    const std::string flat = remove_whitespace(value);
    std::size_t start = 0;
    while (start <= flat.size()) {
        auto end = flat.find(';', start);
        if (end == std::string::npos) {
            end = flat.size();
        }
        if (end > start) {
            out.insert(flat.substr(start, end - start));
        }
        start = end + 1;
    }
    return out;
}

// The value of the field `name` in a block of CRLF-terminated fields.
std::string field_value(const std::string& fields, std::string_view name) {
    const std::string header = fields + "\r\n";  // the split's views point into it
    const auto split = split_message(header);
    for (const auto& f : split.fields) {
        if (f.name == name) {
            return std::string(f.raw.substr(f.raw.find(':') + 1));
        }
    }
    return {};
}

class ArcValimailSigning : public ::testing::TestWithParam<SigningCase> {};

TEST_P(ArcValimailSigning, SealMatchesExpectedFields) {
    const auto& c = GetParam();
    StaticDns dns;
    load_txt_records(c.txt_records, dns);
    // The cv of the new seal is what validation of the message as received says (§5.1 4.C).
    const auto received = test::run_awaitable(verify_arc(dns, c.message));
    auto key = PrivateKey::from_pem(c.private_key);
    ASSERT_TRUE(key) << key.error().message();

    std::vector<std::string> names;
    std::stringstream in(c.sig_headers);
    for (std::string name; std::getline(in, name, ':');) {
        names.push_back(name);
    }
    const ArcSealRequest request{
        .domain = c.domain,
        .key = {c.selector, *key},
        .authentication_results = merge_authentication_results(c.message, c.srv_id),
        .chain = received.cv,
        .timestamp = c.t,
        .signed_headers = names,
        .tag_order = ArcTagOrder::Alphabetical,
        .fold_signatures = false,
    };
    const auto sealed = arc_seal(c.message, request);
    ASSERT_TRUE(sealed) << sealed.error().message();

    if (remove_whitespace(c.as).empty()) {
        // no_additional_sig: a chain whose newest seal says cv=fail gets no further set.
        EXPECT_EQ(*sealed, "");
        return;
    }
    SCOPED_TRACE(*sealed);
    EXPECT_EQ(tag_set(field_value(*sealed, "ARC-Seal")), tag_set(c.as));
    EXPECT_EQ(tag_set(field_value(*sealed, "ARC-Message-Signature")), tag_set(c.ams));
    EXPECT_EQ(
        remove_whitespace(field_value(*sealed, "ARC-Authentication-Results")),
        remove_whitespace(c.aar)
    );

    // And the sealed message validates as the new seal's cv says it should.
    const auto resealed = test::run_awaitable(verify_arc(dns, *sealed + c.message));
    EXPECT_EQ(resealed.cv, received.cv == ArcCv::Fail ? ArcCv::Fail : ArcCv::Pass)
        << resealed.reason;
}

INSTANTIATE_TEST_SUITE_P(
    Arc,
    ArcValimailSigning,
    ::testing::ValuesIn(load_signing_cases()),
    [](const auto& param_info) { return param_info.param.name; }
);

TEST(ArcValimailSuiteSize, EverySigningCaseIsLoaded) {
    EXPECT_EQ(load_signing_cases().size(), 17U);
}

// --------------------------------------------------------------------------------- stalwart

// Each file: TXT records "<name> <value>" one per line, an empty line, the message (LF).
TEST(ArcStalwart, RealWorldChainsPass) {
    for (const char* file : {"001.txt", "002.txt"}) {
        SCOPED_TRACE(file);
        std::ifstream in(kArcDir / "stalwart-mail-auth" / "arc" / file, std::ios::binary);
        ASSERT_TRUE(in);
        std::stringstream buffer;
        buffer << in.rdbuf();
        const std::string text = buffer.str();
        const auto blank = text.find("\n\n");
        ASSERT_NE(blank, std::string::npos);
        StaticDns dns;
        std::stringstream records(text.substr(0, blank));
        for (std::string line; std::getline(records, line);) {
            const auto space = line.find(' ');
            ASSERT_NE(space, std::string::npos);
            dns.add_txt(line.substr(0, space), line.substr(space + 1));
        }
        const auto message = to_crlf(text.substr(blank + 2));
        const auto outcome = test::run_awaitable(verify_arc(dns, message));
        EXPECT_EQ(outcome.cv, ArcCv::Pass) << outcome.reason;
        EXPECT_GE(outcome.instance, 1);
        EXPECT_FALSE(outcome.domain.empty());
    }
}

}  // namespace
}  // namespace sov::mailauth
