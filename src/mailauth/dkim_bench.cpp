// DKIM signing throughput on one core: signatures per second for rsa-sha256 (2048-bit key) and
// ed25519-sha256 on a 4 KiB message, the whole Signer path (split, canonicalise, hash, sign,
// fold), plus the raw private-key operation alone, so the numbers compare directly with
// `openssl speed rsa2048 ed25519` ("sign/s" column). Verification likewise: the whole
// verify_dkim path with the key in a StaticDns (a warm resolver cache: no network; the key record
// is parsed per message, as the server does, and its decoded key comes from PublicKey's cache
// after the first message, also as in the server), the pure CPU step with the key already parsed,
// and the raw public-key operation ("verify/s" column of `openssl speed`). Rates use CPU time: per
// core, even on a busy machine. Built by bench/CMakeLists.txt (target
// dkim_bench) when Google Benchmark is installed; run it from a Release build:
//   build/release/bench/dkim_bench --benchmark_counters_tabular=true
// The whole-path verification runs over a corpus of 2 KB, 20 KB and 200 KB messages.
// `--write-corpus=DIR` (before the Google Benchmark flags) also writes exactly the signed messages
// and key records the process benchmarks, so other verifiers can be timed on the same bytes
// (bench/auth_speed.py: dkimpy): DIR/<algorithm>_<size>.eml and DIR/<algorithm>.txt.
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "mailauth/dkim_canon.hpp"
#include "mailauth/dkim_key.hpp"
#include "mailauth/dkim_sign.hpp"
#include "mailauth/dkim_verify.hpp"
#include "mailauth/static_dns.hpp"

namespace {

namespace ma = sov::mailauth;

// Headers and 76-column text padded to exactly `size` bytes.
std::string message_of_size(std::size_t size) {
    std::string m =
        "From: Alice Example <alice@example.test>\r\n"
        "To: Bob <bob@example.org>, Carol <carol@example.org>\r\n"
        "Subject: Quarterly numbers, folded onto\r\n a second line\r\n"
        "Date: Sun, 29 Nov 2026 07:00:00 +0000\r\n"
        "Message-ID: <bench.1@example.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n";
    const std::string line = "The quick brown fox jumps over the lazy dog, again and again.  \r\n";
    while (m.size() + line.size() <= size) {
        m += line;
    }
    m.append(size - m.size(), 'x');
    return m;
}

// `openssl speed` divides by user CPU time alone (times(2)); Google Benchmark's CPU time also
// counts system time, which a busy machine inflates (scheduling, interrupts). The signing
// benchmarks report "sig/s user" too, measured the way openssl does, and bench/dkim_speed.py
// compares that with openssl's rate.
double thread_user_seconds() {
    rusage usage{};
    getrusage(RUSAGE_THREAD, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec) * 1e-6;
}

void set_signature_rates(benchmark::State& state, double user_before) {
    const auto signatures = static_cast<double>(state.iterations());
    state.counters["sig/s"] = benchmark::Counter(signatures, benchmark::Counter::kIsRate);
    const double user = thread_user_seconds() - user_before;
    state.counters["sig/s user"] = user > 0 ? signatures / user : 0.0;
}

std::string message_4k() {
    return message_of_size(4096);
}

const ma::PrivateKey& key(ma::KeyAlgorithm algorithm) {
    static const ma::PrivateKey kRsa = *ma::PrivateKey::generate(ma::KeyAlgorithm::Rsa, 2048);
    static const ma::PrivateKey kEd = *ma::PrivateKey::generate(ma::KeyAlgorithm::Ed25519);
    return algorithm == ma::KeyAlgorithm::Rsa ? kRsa : kEd;
}

void sign_message(benchmark::State& state, ma::KeyAlgorithm algorithm) {
    const ma::Signer signer("example.test", {{"bench", key(algorithm)}});
    const std::string message = message_4k();
    const double user_before = thread_user_seconds();
    for (auto _ : state) {
        auto fields = signer.sign(message);
        benchmark::DoNotOptimize(fields);
    }
    set_signature_rates(state, user_before);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}

void sign_digest_only(benchmark::State& state, ma::KeyAlgorithm algorithm) {
    const auto digest = ma::sha256("header data");
    const double user_before = thread_user_seconds();
    for (auto _ : state) {
        auto sig = key(algorithm).sign_digest(digest);
        benchmark::DoNotOptimize(sig);
    }
    set_signature_rates(state, user_before);
}

void both_signatures(benchmark::State& state) {
    const ma::Signer signer(
        "example.test",
        {{"rsa", key(ma::KeyAlgorithm::Rsa)}, {"ed", key(ma::KeyAlgorithm::Ed25519)}}
    );
    const std::string message = message_4k();
    for (auto _ : state) {
        auto fields = signer.sign(message);
        benchmark::DoNotOptimize(fields);
    }
    state.counters["msg/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void canonicalise_and_hash_body(benchmark::State& state) {
    const std::string message = message_4k();
    for (auto _ : state) {
        auto digest = ma::body_hash(ma::Canon::Relaxed, message);
        benchmark::DoNotOptimize(digest);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}

// The relaxed/simple body canonicaliser alone (into a reused string, no hashing), the body hash
// (canonicaliser + SHA-256, what signing and verification run), and plain SHA-256 over the same
// bytes (the floor the body hash can approach). state.range(0): message size; only its body is
// used. Compare the bytes_per_second columns.
std::string body_of_size(std::size_t size) {
    const std::string message = message_of_size(size);
    return message.substr(message.find("\r\n\r\n") + 4);
}

void canonicalise_body(benchmark::State& state, ma::Canon canon) {
    const std::string body = body_of_size(static_cast<std::size_t>(state.range(0)));
    std::string out;
    out.reserve(body.size() + 2);
    for (auto _ : state) {
        out.clear();
        ma::BodyCanonicalizer canonicalizer(canon);
        canonicalizer.update(body, out);
        canonicalizer.finish(out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

void hash_body(benchmark::State& state, ma::Canon canon) {
    const std::string body = body_of_size(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        auto digest = ma::body_hash(canon, body);
        benchmark::DoNotOptimize(digest);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

void sha256_only(benchmark::State& state) {
    const std::string body = body_of_size(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        auto digest = ma::sha256(body);
        benchmark::DoNotOptimize(digest);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

// A message of `size` bytes signed with one key (selector "bench"), and a StaticDns serving that
// key's record. Signed once per process and cached, so --write-corpus writes the very bytes the
// benchmarks verify.
struct Signed {
    std::string message;
    ma::StaticDns dns;
};

const char* algorithm_name(ma::KeyAlgorithm algorithm) {
    return algorithm == ma::KeyAlgorithm::Rsa ? "rsa-sha256" : "ed25519-sha256";
}

Signed& signed_message(ma::KeyAlgorithm algorithm, std::size_t size) {
    static std::map<std::pair<ma::KeyAlgorithm, std::size_t>, Signed> cache;
    auto [it, inserted] = cache.try_emplace({algorithm, size});
    if (inserted) {
        const ma::Signer signer("example.test", {{"bench", key(algorithm)}});
        const std::string message = message_of_size(size);
        it->second.message = *signer.sign(message) + message;
        it->second.dns.add_txt("bench._domainkey.example.test", key(algorithm).dns_record());
    }
    return it->second;
}

Signed signed_4k(ma::KeyAlgorithm algorithm) {
    const Signed& cached = signed_message(algorithm, 4096);
    Signed out;
    out.message = cached.message;
    out.dns.add_txt("bench._domainkey.example.test", key(algorithm).dns_record());
    return out;
}

constexpr std::size_t kCorpusSizes[] = {2048, 20480, 204800};

bool write_corpus(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    for (const auto algorithm : {ma::KeyAlgorithm::Rsa, ma::KeyAlgorithm::Ed25519}) {
        std::ofstream(dir / (std::string(algorithm_name(algorithm)) + ".txt"), std::ios::binary)
            << key(algorithm).dns_record();
        for (const auto size : kCorpusSizes) {
            const auto name = std::string(algorithm_name(algorithm)) + "_" + std::to_string(size);
            std::ofstream out(dir / (name + ".eml"), std::ios::binary);
            out << signed_message(algorithm, size).message;
            if (!out) {
                return false;
            }
        }
    }
    return true;
}

// state.range(0): the message size before signing (kCorpusSizes).
void verify_message(benchmark::State& state, ma::KeyAlgorithm algorithm) {
    auto& input = signed_message(algorithm, static_cast<std::size_t>(state.range(0)));
    boost::asio::io_context io;
    std::size_t passed = 0;
    for (auto _ : state) {
        boost::asio::co_spawn(
            io,
            [&]() -> boost::asio::awaitable<void> {
                const auto verdicts = co_await ma::verify_dkim(input.dns, input.message);
                passed += verdicts.size() == 1 && verdicts[0].result == ma::DkimResult::Pass;
            },
            boost::asio::detached
        );
        io.run();
        io.restart();
    }
    if (passed != static_cast<std::size_t>(state.iterations())) {
        state.SkipWithError("a verification did not pass");
    }
    state.counters["verify/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.message.size()));
}

void verify_with_keys_only(benchmark::State& state, ma::KeyAlgorithm algorithm) {
    const auto input = signed_4k(algorithm);
    const auto requests = ma::dkim_key_requests(input.message);
    const std::vector<ma::KeyLookup> keys{ma::parse_key_record(key(algorithm).dns_record())};
    for (auto _ : state) {
        auto verdicts = ma::verify_dkim_with_keys(input.message, requests, keys);
        benchmark::DoNotOptimize(verdicts);
    }
    state.counters["verify/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void verify_digest_only(benchmark::State& state, ma::KeyAlgorithm algorithm) {
    const auto digest = ma::sha256("header data");
    const auto sig = *key(algorithm).sign_digest(digest);
    const auto lookup = ma::parse_key_record(key(algorithm).dns_record());
    const std::span<const std::uint8_t> bytes(
        reinterpret_cast<const std::uint8_t*>(sig.data()), sig.size()
    );
    bool ok = true;
    for (auto _ : state) {
        ok = ok && lookup.record->key.verify_digest(digest, bytes);
    }
    if (!ok) {
        state.SkipWithError("verify_digest failed");
    }
    state.counters["verify/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(verify_message, rsa_sha256, ma::KeyAlgorithm::Rsa)
    ->Arg(2048)
    ->Arg(20480)
    ->Arg(204800);
BENCHMARK_CAPTURE(verify_message, ed25519_sha256, ma::KeyAlgorithm::Ed25519)
    ->Arg(2048)
    ->Arg(20480)
    ->Arg(204800);
BENCHMARK_CAPTURE(verify_with_keys_only, rsa_sha256_4k, ma::KeyAlgorithm::Rsa);
BENCHMARK_CAPTURE(verify_with_keys_only, ed25519_sha256_4k, ma::KeyAlgorithm::Ed25519);
BENCHMARK_CAPTURE(verify_digest_only, rsa2048, ma::KeyAlgorithm::Rsa);
BENCHMARK_CAPTURE(verify_digest_only, ed25519, ma::KeyAlgorithm::Ed25519);
BENCHMARK_CAPTURE(sign_message, rsa_sha256_4k, ma::KeyAlgorithm::Rsa);
BENCHMARK_CAPTURE(sign_message, ed25519_sha256_4k, ma::KeyAlgorithm::Ed25519);
BENCHMARK_CAPTURE(sign_digest_only, rsa2048, ma::KeyAlgorithm::Rsa);
BENCHMARK_CAPTURE(sign_digest_only, ed25519, ma::KeyAlgorithm::Ed25519);
BENCHMARK(both_signatures);
BENCHMARK(canonicalise_and_hash_body);
BENCHMARK_CAPTURE(canonicalise_body, relaxed, ma::Canon::Relaxed)->Arg(4096)->Arg(204800);
BENCHMARK_CAPTURE(canonicalise_body, simple, ma::Canon::Simple)->Arg(4096)->Arg(204800);
BENCHMARK_CAPTURE(hash_body, relaxed, ma::Canon::Relaxed)->Arg(4096)->Arg(204800);
BENCHMARK_CAPTURE(hash_body, simple, ma::Canon::Simple)->Arg(4096)->Arg(204800);
BENCHMARK(sha256_only)->Arg(4096)->Arg(204800);

int main(int argc, char** argv) {
    // Our own flag first: Google Benchmark rejects flags it does not know.
    constexpr std::string_view kFlag = "--write-corpus=";
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.starts_with(kFlag)) {
            if (!write_corpus(std::string(arg.substr(kFlag.size())))) {
                std::fprintf(stderr, "cannot write the corpus to %s\n", argv[i] + kFlag.size());
                return 1;
            }
        } else {
            args.push_back(argv[i]);
        }
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
