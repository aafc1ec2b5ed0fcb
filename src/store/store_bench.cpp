// Delivery throughput of the store: N concurrent submitters each spool a 4 KB message and wait for
// its durable delivery (what N LMTP sessions do). Reports deliveries/s, server CPU per message and
// syncs per message. Built by bench/CMakeLists.txt (target store_bench); by hand:
//   g++ -O2 -std=c++20 -Isrc src/store/store_bench.cpp build/<rel>/src/store/libsov_store.a \
//       build/<rel>/src/core/libsov_core.a -lbenchmark -lsqlite3 -lfmt -lpthread
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/log.hpp"
#include "store/store.hpp"

namespace {

using namespace sov::store;
namespace fs = std::filesystem;

std::vector<std::string> g_dirs;

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return tv(ru.ru_utime) + tv(ru.ru_stime);
}

std::string message_4k() {
    std::string m =
        "From: sender@example.org\r\nTo: rcpt@example.org\r\nSubject: bench\r\n"
        "Message-ID: <bench@example.org>\r\n\r\n";
    while (m.size() < 4096) {
        m += "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
    }
    m.resize(4096);
    return m;
}

// Args: submitters, accounts.
void BM_Deliver4K(benchmark::State& state) {
    const int submitters = static_cast<int>(state.range(0));
    const int accounts = static_cast<int>(state.range(1));
    const char* base = getenv("SOV_BENCH_DIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") + "/sov-bench-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
        state.SkipWithError("mkdtemp");
        return;
    }
    sov::log::configure(sov::log::Level::Warn, sov::log::Format::Logfmt);
    StoreOptions opt;
    opt.data_dir = templ;
    // Stand-in for the MIME serializer: touches every byte, returns a small blob.
    opt.structure_of = [](std::string_view b) {
        std::size_t lines = 0;
        for (char c : b) {
            lines += c == '\n';
        }
        return std::to_string(lines);
    };
    auto store = Store::open(opt);
    if (!store) {
        state.SkipWithError("open");
        return;
    }
    for (int a = 0; a < accounts; ++a) {
        (void)(*store)->ensure_account("user" + std::to_string(a) + "@example.org", {});
    }
    const std::string msg = message_4k();
    const int per_iteration = std::max(200, submitters * 10);
    std::int64_t total = 0;
    const auto before = (*store)->stats();
    const double cpu0 = cpu_seconds();
    std::atomic<int> failures{0};

    for (auto _ : state) {
        std::atomic<int> next{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < submitters; ++t) {
            threads.emplace_back([&] {
                for (int i = next++; i < per_iteration; i = next++) {
                    auto in = (*store)->begin_message();
                    if (!in || !in->append(msg)) {
                        ++failures;
                        continue;
                    }
                    DeliveryRequest req;
                    Recipient r;
                    r.account = "user" + std::to_string(i % accounts) + "@example.org";
                    req.recipients.push_back(std::move(r));
                    auto out = (*store)->deliver(std::move(*in), std::move(req));
                    if (out.empty() || !out[0].delivered()) {
                        ++failures;
                    }
                }
            });
        }
        for (auto& t : threads) {
            t.join();
        }
        total += per_iteration;
    }
    const double cpu = cpu_seconds() - cpu0;
    const auto after = (*store)->stats();
    const double n = static_cast<double>(after.deliveries - before.deliveries);
    state.SetItemsProcessed(total);
    state.counters["msgs_per_s"] =
        benchmark::Counter(static_cast<double>(total), benchmark::Counter::kIsRate);
    state.counters["cpu_us_per_msg"] = cpu * 1e6 / n;
    state.counters["file_syncs_per_msg"] = (after.file_syncs - before.file_syncs) / n;
    state.counters["dir_syncs_per_msg"] = (after.dir_syncs - before.dir_syncs) / n;
    state.counters["commits_per_msg"] = (after.commits - before.commits) / n;
    state.counters["msgs_per_batch"] = n / static_cast<double>(after.batches - before.batches);
    state.counters["failures"] = failures.load();
    store->reset();
    // Removed at exit, not here: on ext4 a burst of freed inodes makes the next case's file
    // creations scan them (ext4 recently_deleted()), which measures the benchmark, not the store.
    g_dirs.push_back(templ);
}

BENCHMARK(BM_Deliver4K)
    ->ArgNames({"submitters", "accounts"})
    ->Args({1, 1})
    ->Args({8, 1})
    ->Args({32, 1})
    ->Args({8, 8})
    ->Args({32, 32})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    for (const auto& d : g_dirs) {
        std::error_code ec;
        fs::remove_all(d, ec);
    }
    return 0;
}
