// DKIM signing throughput on one core: signatures per second for rsa-sha256 (2048-bit key) and
// ed25519-sha256 on a 4 KiB message, the whole Signer path (split, canonicalise, hash, sign,
// fold), plus the raw private-key operation alone, so the numbers compare directly with
// `openssl speed rsa2048 ed25519` ("sign/s" column). Rates use CPU time: per core, even on a busy
// machine. Built by bench/CMakeLists.txt (target
// dkim_bench) when Google Benchmark is installed; run it from a Release build:
//   build/release/bench/dkim_bench --benchmark_counters_tabular=true
#include <string>

#include <benchmark/benchmark.h>

#include "mailauth/dkim_key.hpp"
#include "mailauth/dkim_sign.hpp"

namespace {

namespace ma = sov::mailauth;

std::string message_4k() {
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
    while (m.size() + line.size() <= 4096) {
        m += line;
    }
    m.append(4096 - m.size(), 'x');
    return m;
}

const ma::PrivateKey& key(ma::KeyAlgorithm algorithm) {
    static const ma::PrivateKey kRsa = *ma::PrivateKey::generate(ma::KeyAlgorithm::Rsa, 2048);
    static const ma::PrivateKey kEd = *ma::PrivateKey::generate(ma::KeyAlgorithm::Ed25519);
    return algorithm == ma::KeyAlgorithm::Rsa ? kRsa : kEd;
}

void sign_message(benchmark::State& state, ma::KeyAlgorithm algorithm) {
    const ma::Signer signer("example.test", {{"bench", key(algorithm)}});
    const std::string message = message_4k();
    for (auto _ : state) {
        auto fields = signer.sign(message);
        benchmark::DoNotOptimize(fields);
    }
    state.counters["sig/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}

void sign_digest_only(benchmark::State& state, ma::KeyAlgorithm algorithm) {
    const auto digest = ma::sha256("header data");
    for (auto _ : state) {
        auto sig = key(algorithm).sign_digest(digest);
        benchmark::DoNotOptimize(sig);
    }
    state.counters["sig/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
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

}  // namespace

BENCHMARK_CAPTURE(sign_message, rsa_sha256_4k, ma::KeyAlgorithm::Rsa);
BENCHMARK_CAPTURE(sign_message, ed25519_sha256_4k, ma::KeyAlgorithm::Ed25519);
BENCHMARK_CAPTURE(sign_digest_only, rsa2048, ma::KeyAlgorithm::Rsa);
BENCHMARK_CAPTURE(sign_digest_only, ed25519, ma::KeyAlgorithm::Ed25519);
BENCHMARK(both_signatures);
BENCHMARK(canonicalise_and_hash_body);

BENCHMARK_MAIN();
