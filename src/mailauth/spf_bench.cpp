// SPF evaluations per second on one core with a warm resolver cache: check_host() (RFC 7208 §4)
// over a StaticDns, so every lookup is answered from memory and the rate is the evaluator's own
// CPU cost (parsing each record, macro expansion, address matching, the §4.6.4 limit
// bookkeeping). Rates use CPU time. Built by bench/CMakeLists.txt (target spf_bench) when Google
// Benchmark is installed; run it from a Release build:
//   build/release/bench/spf_bench --benchmark_counters_tabular=true
// `--write-zone=FILE` (before the Google Benchmark flags) writes the zone and the cases as JSON, so
// another evaluator can be timed on the same records (bench/auth_speed.py: pyspf).
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include "mailauth/spf_check.hpp"
#include "mailauth/static_dns.hpp"

namespace {

namespace ma = sov::mailauth;

struct Rr {
    std::string_view name;
    std::string_view type;   // TXT, A, AAAA, MX
    std::string_view value;  // MX: "<preference> <host>"
};

// Made-up ranges; the shapes are what matters. provider.example follows the layout large mail
// providers publish: a top record of three includes, two of IPv4 netblocks and one of IPv6.
// worst.example spends exactly the 10 DNS mechanisms §4.6.4 allows and matches on the last one.
constexpr Rr kZone[] = {
    {"simple.example", "TXT", "v=spf1 ip4:192.0.2.0/24 -all"},

    {"provider.example",
     "TXT",
     "v=spf1 include:_netblocks.provider.example include:_netblocks2.provider.example "
     "include:_netblocks3.provider.example ~all"},
    {"_netblocks.provider.example",
     "TXT",
     "v=spf1 ip4:20.10.0.0/19 ip4:31.47.0.0/20 ip4:42.84.0.0/21 ip4:53.121.0.0/22 "
     "ip4:64.158.0.0/23 ip4:75.195.0.0/24 ip4:86.32.0.0/19 ip4:97.69.0.0/20 ip4:108.106.0.0/21 "
     "ip4:119.143.0.0/22 ip4:130.180.0.0/23 ip4:141.17.0.0/24 ip4:152.54.0.0/19 ip4:163.91.0.0/20 "
     "ip4:174.128.0.0/21 ~all"},
    {"_netblocks2.provider.example",
     "TXT",
     "v=spf1 ip6:2001:db8:1000::/40 ip6:2001:db8:1100::/44 ip6:2001:db8:1200::/48 "
     "ip6:2001:db8:1300::/40 ip6:2001:db8:1400::/44 ip6:2001:db8:1500::/48 ip6:2001:db8:1600::/40 "
     "ip6:2001:db8:1700::/44 ip6:2001:db8:1800::/48 ip6:2001:db8:1900::/40 ~all"},
    {"_netblocks3.provider.example",
     "TXT",
     "v=spf1 ip4:150.20.0.0/20 ip4:157.73.16.0/21 ip4:164.126.32.0/22 ip4:171.179.48.0/23 "
     "ip4:178.32.64.0/24 ip4:185.85.80.0/20 ip4:192.138.96.0/21 ip4:199.191.112.0/22 ~all"},

    {"amx.example", "TXT", "v=spf1 a mx -all"},
    {"amx.example", "A", "198.51.100.10"},
    {"amx.example", "MX", "10 mx1.amx.example"},
    {"amx.example", "MX", "20 mx2.amx.example"},
    {"mx1.amx.example", "A", "198.51.100.20"},
    {"mx2.amx.example", "A", "198.51.100.21"},

    {"worst.example", "TXT", "v=spf1 a mx include:_s1.worst.example include:_s2.worst.example -all"
    },
    {"worst.example", "A", "203.0.113.1"},
    {"worst.example", "MX", "10 mx1.worst.example"},
    {"worst.example", "MX", "20 mx2.worst.example"},
    {"mx1.worst.example", "A", "203.0.113.2"},
    {"mx2.worst.example", "A", "203.0.113.3"},
    {"_s1.worst.example",
     "TXT",
     "v=spf1 a:mail1.worst.example mx:relay.worst.example ip4:203.0.113.16/28 -all"},
    {"mail1.worst.example", "A", "203.0.113.4"},
    {"relay.worst.example", "MX", "10 r1.worst.example"},
    {"relay.worst.example", "MX", "20 r2.worst.example"},
    {"r1.worst.example", "A", "203.0.113.5"},
    {"r2.worst.example", "A", "203.0.113.6"},
    {"_s2.worst.example",
     "TXT",
     "v=spf1 include:_s3.worst.example exists:%{ir}._spf.worst.example -all"},
    {"_s3.worst.example", "TXT", "v=spf1 a:mail2.worst.example a:mail3.worst.example -all"},
    {"mail2.worst.example", "A", "203.0.113.7"},
    {"mail3.worst.example", "A", "203.0.113.8"},
    {"77.100.51.198._spf.worst.example", "A", "127.0.0.2"},
};

struct Case {
    std::string_view name;
    std::string_view ip;
    std::string_view domain;
    std::string_view expect;  // the RFC 8601 keyword both evaluators must return
};

constexpr Case kCases[] = {
    {"simple_ip4", "192.0.2.10", "simple.example", "pass"},
    {"provider_ip4_third_include", "199.191.113.9", "provider.example", "pass"},
    {"provider_ip6_second_include", "2001:db8:1800::25", "provider.example", "pass"},
    {"provider_no_match", "192.0.2.99", "provider.example", "softfail"},
    {"a_mx", "198.51.100.21", "amx.example", "pass"},
    {"ten_lookups", "198.51.100.77", "worst.example", "pass"},
};

constexpr std::string_view kHelo = "client.sender.example";
constexpr std::string_view kReceiver = "mx.receiver.example";

void build_zone(ma::StaticDns& dns) {
    for (const auto& rr : kZone) {
        if (rr.type == "TXT") {
            dns.add_txt(rr.name, std::string(rr.value));
        } else if (rr.type == "A" || rr.type == "AAAA") {
            dns.add_address(rr.name, boost::asio::ip::make_address(rr.value));
        } else {
            const auto space = rr.value.find(' ');
            const auto preference = static_cast<std::uint16_t>(std::stoi(std::string(rr.value)));
            dns.add_mx(rr.name, preference, rr.value.substr(space + 1));
        }
    }
}

std::string sender(const Case& c) {
    return "bench-user@" + std::string(c.domain);
}

void check_host(benchmark::State& state, const Case& c) {
    ma::StaticDns dns;
    build_zone(dns);
    const ma::SpfRequest request{
        boost::asio::ip::make_address(c.ip),
        std::string(c.domain),
        sender(c),
        std::string(kHelo),
        std::string(kReceiver),
    };
    boost::asio::io_context io;
    std::size_t as_expected = 0;
    for (auto _ : state) {
        boost::asio::co_spawn(
            io,
            [&]() -> boost::asio::awaitable<void> {
                const auto outcome = co_await ma::check_host(dns, request);
                as_expected += ma::to_string(outcome.result) == c.expect;
            },
            boost::asio::detached
        );
        io.run();
        io.restart();
    }
    if (as_expected != static_cast<std::size_t>(state.iterations())) {
        state.SkipWithError("a result differed from the expected one");
    }
    state.counters["eval/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["lookups"] =
        benchmark::Counter(static_cast<double>(dns.queries()), benchmark::Counter::kAvgIterations);
}

// JSON without a library: every string here is plain ASCII without quotes or backslashes.
bool write_zone(const std::string& path) {
    std::ofstream out(path, std::ios::binary);
    out << "{\"helo\": \"" << kHelo << "\", \"receiver\": \"" << kReceiver
        << "\",\n \"records\": [\n";
    for (std::size_t i = 0; i < std::size(kZone); ++i) {
        out << "  [\"" << kZone[i].name << "\", \"" << kZone[i].type << "\", \"" << kZone[i].value
            << "\"]" << (i + 1 < std::size(kZone) ? ",\n" : "\n");
    }
    out << " ],\n \"cases\": [\n";
    for (std::size_t i = 0; i < std::size(kCases); ++i) {
        const auto& c = kCases[i];
        out << "  {\"name\": \"" << c.name << "\", \"ip\": \"" << c.ip << "\", \"domain\": \""
            << c.domain << "\", \"sender\": \"" << sender(c) << "\", \"expect\": \"" << c.expect
            << "\"}" << (i + 1 < std::size(kCases) ? ",\n" : "\n");
    }
    out << " ]\n}\n";
    return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
    // Our own flag first: Google Benchmark rejects flags it does not know.
    constexpr std::string_view kFlag = "--write-zone=";
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.starts_with(kFlag)) {
            if (!write_zone(std::string(arg.substr(kFlag.size())))) {
                std::fprintf(stderr, "cannot write the zone to %s\n", argv[i] + kFlag.size());
                return 1;
            }
        } else {
            args.push_back(argv[i]);
        }
    }
    for (const auto& c : kCases) {
        benchmark::RegisterBenchmark(("check_host/" + std::string(c.name)).c_str(), check_host, c);
    }
    int count = static_cast<int>(args.size());
    benchmark::Initialize(&count, args.data());
    if (benchmark::ReportUnrecognizedArguments(count, args.data())) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
