// DATA decoding speed (smtp/wire/dot_decoder.hpp): a 100 KB body of 76-column lines, some of
// them dot-stuffed, fed in 16 KB reads as a session receives it. bench/README.md, issue 2.
//
//   ninja -C build/release dot_decoder_bench && build/release/bench/dot_decoder_bench
#include <algorithm>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include "smtp/wire/dot_decoder.hpp"

namespace {

using sov::smtp::wire::DotDecoder;

std::string wire_body() {
    std::string body;
    for (int i = 0; i < 1300; ++i) {
        body += std::string(76, static_cast<char>('a' + i % 26));
        body += "\r\n";
        if (i % 100 == 0) {
            body += "..a line that starts with a dot\r\n";
        }
    }
    return body + ".\r\n";
}

void BM_DecodeBody(benchmark::State& state) {
    const std::string wire = wire_body();
    constexpr std::size_t kRead = 16 * 1024;
    std::size_t steps = 0;
    for (auto _ : state) {
        DotDecoder decoder;
        std::size_t pos = 0;
        std::size_t out = 0;
        for (;;) {
            const auto s = decoder.decode(
                std::string_view(wire).substr(pos, std::min(kRead, wire.size() - pos))
            );
            pos += s.consumed;
            out += s.data.size();
            ++steps;
            if (s.done) {
                break;
            }
        }
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
    state.counters["steps_per_body"] =
        static_cast<double>(steps) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_DecodeBody);

}  // namespace

BENCHMARK_MAIN();
