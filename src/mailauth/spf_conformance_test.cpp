// The openspf RFC 7208 test suite (tests/conformance/spf/openspf-rfc7208/rfc7208-tests.yml):
// every case of every scenario runs check_host() (through check_mail_from(), as the suite's
// mailfrom/helo convention asks) against a StaticDns built from the scenario's zonedata.
//
// Zone data conventions, from the suite's header and README:
// - "SPF" entries (type 99) are served as TXT when the name has no TXT entry of its own: RFC 7208
//   §3.1 dropped type 99, and the suite relies on drivers copying SPF to TXT. A name with TXT
//   entries (even "TXT: NONE") is served its TXT entries only, which is what the "Selecting
//   records" scenario checks.
// - TIMEOUT makes every lookup of the name fail, except lookups of types the name has records
//   of (spftimeout: TXT present, the SPF query timed out).
// - RCODE (not used by this suite) is treated like TIMEOUT.
// - CNAME is emulated by copying the target's records (a loop leaves the name without records).
// - A list of strings is one TXT record of several character-strings, joined without spaces
//   (§3.3); an empty list is a TXT record with no text.
#include <cctype>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "mailauth/spf_check.hpp"
#include "mailauth/static_dns.hpp"
#include "mime/header.hpp"
#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;

const std::filesystem::path kSuite =
    std::filesystem::path(SOV_CONFORMANCE_DIR) / "spf" / "openspf-rfc7208" / "rfc7208-tests.yml";

// The number of cases README.md gives for rfc7208-tests.yml: a check that none went missing.
constexpr std::size_t kSuiteCases = 203;

struct Case {
    std::string scenario;
    std::string name;
    YAML::Node test;
    YAML::Node zone;
};

std::vector<Case> load_cases() {
    std::vector<Case> cases;
    if (!std::filesystem::exists(kSuite)) {
        return cases;
    }
    for (const auto& doc : YAML::LoadAllFromFile(kSuite.string())) {
        if (!doc["tests"]) {
            continue;
        }
        for (const auto& entry : doc["tests"]) {
            cases.push_back(
                {doc["description"].as<std::string>(),
                 entry.first.as<std::string>(),
                 entry.second,
                 doc["zonedata"]}
            );
        }
    }
    return cases;
}

const std::vector<Case>& all_cases() {
    static const std::vector<Case> cases = load_cases();
    return cases;
}

// "4.3.2.1.in-addr.arpa" / "<32 nibbles>.ip6.arpa" back to the address (RFC 1035 §3.5, RFC 3596
// §2.5), so StaticDns::add_ptr can serve it.
std::optional<asio::ip::address> address_of_reverse(std::string name) {
    name = mime::to_lower(name);
    std::vector<std::string> labels;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            labels.push_back(name.substr(start, i - start));
            start = i + 1;
        }
    }
    boost::system::error_code ec;
    if (name.ends_with(".in-addr.arpa") && labels.size() == 6) {
        const auto text = labels[3] + "." + labels[2] + "." + labels[1] + "." + labels[0];
        const auto address = asio::ip::make_address_v4(text, ec);
        return ec ? std::nullopt : std::optional<asio::ip::address>(address);
    }
    if (name.ends_with(".ip6.arpa") && labels.size() == 34) {
        std::string hex;
        for (std::size_t i = 32; i-- > 0;) {
            hex += labels[i];
            if (i % 4 == 0 && i != 0) {
                hex += ':';
            }
        }
        const auto address = asio::ip::make_address_v6(hex, ec);
        return ec ? std::nullopt : std::optional<asio::ip::address>(address);
    }
    return std::nullopt;
}

struct ZoneNode {
    std::vector<std::string> txt;
    bool txt_entry = false;  // any TXT entry, "NONE" included
    std::vector<std::string> spf;
    std::vector<asio::ip::address> a;
    std::vector<asio::ip::address> aaaa;
    std::vector<std::pair<std::uint16_t, std::string>> mx;
    std::vector<std::string> ptr;
    std::string cname;
    bool timeout = false;
};

std::string text_of(const YAML::Node& value) {
    if (value.IsSequence()) {
        std::string joined;  // §3.3: character-strings joined without spaces
        for (const auto& part : value) {
            joined += part.as<std::string>();
        }
        return joined;
    }
    return value.as<std::string>();
}

std::string key_of(std::string name) {
    if (!name.empty() && name.back() == '.') {
        name.pop_back();
    }
    return mime::to_lower(name);
}

void build_zone(const YAML::Node& zonedata, StaticDns& dns) {
    std::map<std::string, ZoneNode> zone;
    for (const auto& owner : zonedata) {
        auto& node = zone[key_of(owner.first.as<std::string>())];
        for (const auto& entry : owner.second) {
            if (entry.IsScalar()) {
                if (entry.as<std::string>() == "TIMEOUT") {
                    node.timeout = true;
                } else {
                    ADD_FAILURE() << "unknown zone entry " << entry.as<std::string>();
                }
                continue;
            }
            for (const auto& kv : entry) {
                const auto type = kv.first.as<std::string>();
                const auto& value = kv.second;
                if (type == "TXT") {
                    node.txt_entry = true;
                    if (!(value.IsScalar() && value.as<std::string>() == "NONE")) {
                        node.txt.push_back(text_of(value));
                    }
                } else if (type == "SPF") {
                    if (!(value.IsScalar() && value.as<std::string>() == "NONE")) {
                        node.spf.push_back(text_of(value));
                    }
                } else if (type == "A") {
                    node.a.push_back(asio::ip::make_address(value.as<std::string>()));
                } else if (type == "AAAA") {
                    node.aaaa.push_back(asio::ip::make_address(value.as<std::string>()));
                } else if (type == "MX") {
                    node.mx.emplace_back(value[0].as<std::uint16_t>(), value[1].as<std::string>());
                } else if (type == "PTR") {
                    node.ptr.push_back(value.as<std::string>());
                } else if (type == "RCODE") {
                    // A server failure code (the schema allows it; this suite has none): every
                    // lookup of the name fails, as for TIMEOUT (§4.4, §5: temperror).
                    node.timeout = true;
                } else if (type == "CNAME") {
                    node.cname = key_of(value.as<std::string>());
                } else {
                    ADD_FAILURE() << "unsupported zone record type " << type;
                }
            }
        }
        if (!node.txt_entry) {
            node.txt = node.spf;  // the suite's "SPF is also TXT" convention
        }
    }
    for (auto& [name, node] : zone) {
        // CNAME: serve the records of the end of the chain; a loop serves nothing.
        if (!node.cname.empty()) {
            std::set<std::string> seen{name};
            std::string target = node.cname;
            const ZoneNode* end = nullptr;
            while (seen.insert(target).second) {
                const auto it = zone.find(target);
                if (it == zone.end()) {
                    break;
                }
                if (it->second.cname.empty()) {
                    end = &it->second;
                    break;
                }
                target = it->second.cname;
            }
            if (end != nullptr) {
                node.txt = end->txt;
                node.a = end->a;
                node.aaaa = end->aaaa;
                node.mx = end->mx;
                node.ptr = end->ptr;
            }
        }
    }
    for (const auto& [name, node] : zone) {
        dns.add_name(name);
        for (const auto& txt : node.txt) {
            dns.add_txt(name, txt);
        }
        for (const auto& a : node.a) {
            dns.add_a(name, a);
        }
        for (const auto& aaaa : node.aaaa) {
            dns.add_aaaa(name, aaaa);
        }
        for (const auto& [preference, host] : node.mx) {
            dns.add_mx(name, preference, host);
        }
        if (!node.ptr.empty()) {
            const auto address = address_of_reverse(name);
            if (!address) {
                ADD_FAILURE() << "PTR at a name that is not a reverse name: " << name;
                continue;
            }
            for (const auto& host : node.ptr) {
                dns.add_ptr(*address, host);
            }
        }
        if (node.timeout) {
            if (node.txt.empty()) {
                dns.fail(name, dns::RrType::TXT);
            }
            if (node.a.empty()) {
                dns.fail(name, dns::RrType::A);
            }
            if (node.aaaa.empty()) {
                dns.fail(name, dns::RrType::AAAA);
            }
            if (node.mx.empty()) {
                dns.fail(name, dns::RrType::MX);
            }
            if (node.ptr.empty()) {
                dns.fail(name, dns::RrType::PTR);
            }
        }
    }
}

// Cases that may not run, each with the RFC reason; empty: every case runs.
const std::map<std::string, std::string>& skipped() {
    static const std::map<std::string, std::string> reasons;
    return reasons;
}

// RFC 7208 §7.3 says the "i" macro of an IPv6 address is a dot-format address and §7.4 shows it
// in lower case; the suite's expected text for v-macro-ip6 has upper-case nibbles. DNS names
// compare case-insensitively, so for these cases the explanation is compared without case.
const std::set<std::string> kCaseInsensitiveExplanation = {"v-macro-ip6"};

class SpfRfc7208 : public testing::TestWithParam<std::size_t> {};

TEST_P(SpfRfc7208, Case) {
    const auto& c = all_cases().at(GetParam());
    SCOPED_TRACE(c.scenario + " / " + c.name);
    if (const auto it = skipped().find(c.name); it != skipped().end()) {
        GTEST_SKIP() << it->second;
    }
    StaticDns dns;
    build_zone(c.zone, dns);
    const auto& t = c.test;
    const auto ip = asio::ip::make_address(t["host"].as<std::string>());
    const auto outcome = test::run_awaitable(check_mail_from(
        dns,
        ip,
        t["helo"].as<std::string>(),
        t["mailfrom"].as<std::string>(),
        "receiver.example.net"
    ));
    std::set<std::string> accepted;
    if (t["result"].IsSequence()) {
        for (const auto& r : t["result"]) {
            accepted.insert(r.as<std::string>());
        }
    } else {
        accepted.insert(t["result"].as<std::string>());
    }
    const std::string got(to_string(outcome.result));
    EXPECT_TRUE(accepted.contains(got))
        << c.name << ": got " << got << " (" << outcome.mechanism << outcome.problem << ")";
    // "DEFAULT" means the implementation's own default text: not compared.
    if (t["explanation"] && got == "fail") {
        const auto expected = t["explanation"].as<std::string>();
        if (expected != "DEFAULT") {
            if (kCaseInsensitiveExplanation.contains(c.name)) {
                EXPECT_TRUE(mime::iequals(outcome.explanation, expected))
                    << outcome.explanation << " vs " << expected;
            } else {
                EXPECT_EQ(outcome.explanation, expected);
            }
        }
    }
}

std::string case_name(const testing::TestParamInfo<std::size_t>& info) {
    const auto& c = all_cases().at(info.param);
    std::string name = std::to_string(info.param) + "_";
    for (const char ch : c.name) {
        name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    }
    return name;
}

INSTANTIATE_TEST_SUITE_P(
    SpfConformance, SpfRfc7208, testing::Range<std::size_t>(0, all_cases().size()), case_name
);

TEST(SpfConformance, EveryCaseOfTheSuiteRuns) {
    ASSERT_TRUE(std::filesystem::exists(kSuite)) << kSuite;
    EXPECT_EQ(all_cases().size(), kSuiteCases);
    std::cout << "[ spf ] RFC 7208 suite: " << all_cases().size() << " cases, " << skipped().size()
              << " skipped\n";
}

}  // namespace
}  // namespace sov::mailauth
