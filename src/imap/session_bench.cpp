// What one IMAP command costs the server itself: Session::handle run in this process on a real
// data directory, without TLS, sockets or another thread. issue 3's benchmark (bench/README.md)
// times whole round trips, where waking the client's CPU costs as much as the command on this
// host; this one measures the part a change to the engine or the store can move. Its spread
// from repetition to repetition is 5-10 % on this host, the round trips' tens of percent.
//
// Point it at a copy of a data directory (the FETCHes only read, but LOGIN and SELECT may
// write, and BM_StoreAll changes flags):
//   cp -a /var/tmp/<bench>/sovereign/data /tmp/sessbench
//   SOV_SESSION_BENCH_DATA=/tmp/sessbench SOV_SESSION_BENCH_USER=bench@example.test \
//   SOV_SESSION_BENCH_PASSWORD='bench password' build/release/bench/session_bench
// Built by bench/CMakeLists.txt (target session_bench, linked with sov_roles for the store
// options of `serve`).
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "accounts/directory.hpp"
#include "accounts/login_throttle.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "imap/engine/session.hpp"
#include "imap/wire/parser.hpp"
#include "roles/store_setup.hpp"
#include "store/store.hpp"

namespace {

using namespace sov;

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

/// The server's objects over the data directory, and one logged-in session with INBOX selected.
class World {
public:
    bool open(benchmark::State& state) {
        const std::filesystem::path data = env("SOV_SESSION_BENCH_DATA");
        if (data.empty()) {
            state.SkipWithError("set SOV_SESSION_BENCH_DATA (see the top of session_bench.cpp)");
            return false;
        }
        auto directory = accounts::Directory::open(data / "accounts.db");
        if (!directory) {
            state.SkipWithError("cannot open accounts.db");
            return false;
        }
        directory_ = std::move(*directory);
        core::Config server;
        server.data_dir = data;
        auto options = roles::make_store_options(server);  // what `sovereign serve` uses
        auto opened = store::Store::open(std::move(options));
        if (!opened) {
            state.SkipWithError("cannot open the store");
            return false;
        }
        store_ = std::move(*opened);
        imap::SessionConfig config;
        config.hostname = "bench.example.test";
        config.tls_active = true;
        session_ = std::make_unique<imap::Session>(
            imap::Services{
                .store = store_.get(), .directory = directory_.get(), .throttle = &throttle_
            },
            config,
            "127.0.0.1"
        );
        std::string out;
        run("a1 LOGIN \"" + env("SOV_SESSION_BENCH_USER") + "\" \"" +
                env("SOV_SESSION_BENCH_PASSWORD") + "\"\r\n",
            out);
        if (out.find("a1 OK") == std::string::npos) {
            state.SkipWithError(("LOGIN failed: " + out).c_str());
            return false;
        }
        out.clear();
        run("a2 SELECT INBOX\r\n", out);
        for (std::size_t at = out.find("* "); at != std::string::npos;
             at = out.find("\r\n* ", at + 1)) {
            const auto line = out.substr(at + (out[at] == '*' ? 0 : 2));
            if (const auto exists = line.find(" EXISTS"); exists < line.find("\r\n")) {
                messages_ = std::stoul(line.substr(2, exists - 2));
            }
        }
        if (out.find("a2 OK") == std::string::npos || messages_ == 0) {
            state.SkipWithError("SELECT INBOX failed or found no message");
            return false;
        }
        return true;
    }

    /// Feeds `input` to the parser and runs each command as the connection does: on the I/O
    /// thread's quick path first, else as offloaded work.
    void run(const std::string& input, std::string& out) {
        std::size_t pos = 0;
        for (;;) {
            const auto step = parser_.feed(std::string_view(input).substr(pos));
            pos += step.consumed;
            if (step.status == imap::wire::ParseStatus::NeedMore) {
                return;
            }
            if (step.status == imap::wire::ParseStatus::Command) {
                if (session_->handle(parser_.command(), out, true) == imap::After::Offload) {
                    session_->handle(parser_.command(), out);
                }
                parser_.set_options(session_->parser_options());
            }
        }
    }

    [[nodiscard]] std::uint32_t messages() const { return messages_; }

private:
    std::unique_ptr<accounts::Directory> directory_;
    std::unique_ptr<store::Store> store_;
    accounts::LoginThrottle throttle_;
    std::unique_ptr<imap::Session> session_;
    imap::wire::CommandParser parser_;
    std::uint32_t messages_ = 0;
};

/// Commands for random messages, made before the timing starts (UIDs 1..n: a mailbox loaded
/// by the benchmark and never expunged).
std::vector<std::string> commands(std::uint32_t n, std::string_view items) {
    std::mt19937_64 random(1);
    std::vector<std::string> out;
    for (int i = 0; i < 1000; ++i) {
        out.push_back(
            "p UID FETCH " + std::to_string(random() % n + 1) + " " + std::string(items) + "\r\n"
        );
    }
    return out;
}

/// Runs the commands `make(messages in INBOX)` gives, one per iteration, round and round.
void command_loop(
    benchmark::State& state, const std::function<std::vector<std::string>(std::uint32_t)>& make
) {
    World world;
    if (!world.open(state)) {
        return;
    }
    const auto list = make(world.messages());
    std::string out;
    std::size_t i = 0;
    std::uint64_t bytes = 0;
    for (auto _ : state) {
        out.clear();
        world.run(list[i++ % list.size()], out);
        bytes += out.size();
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void fetch_loop(benchmark::State& state, std::string_view items) {
    command_loop(state, [items](std::uint32_t n) { return commands(n, items); });
}

// The benchmark's 500 random BODY.PEEK[] (bench/imap_load.cpp @body_peek), one per iteration.
void BM_BodyPeek(benchmark::State& state) {
    fetch_loop(state, "BODY.PEEK[]");
}
BENCHMARK(BM_BodyPeek)->Unit(benchmark::kMicrosecond);

// A command that reads no message file: what every command pays (parse, store row, poll).
void BM_FlagsFetch(benchmark::State& state) {
    fetch_loop(state, "FLAGS");
}
BENCHMARK(BM_FlagsFetch)->Unit(benchmark::kMicrosecond);

// FETCH 1:* BODYSTRUCTURE of the whole mailbox (the benchmark's row), built in one buffer: the
// engine's part of it, without the hand-over to the I/O thread and the TLS writes.
void BM_BodyStructureAll(benchmark::State& state) {
    command_loop(state, [](std::uint32_t) {
        return std::vector<std::string>{"b FETCH 1:* BODYSTRUCTURE\r\n"};
    });
}
BENCHMARK(BM_BodyStructureAll)->Unit(benchmark::kMillisecond);

// STORE 1:* +FLAGS (\Flagged), not silent (10,000 FETCH replies), the benchmark's row; every
// other iteration takes the flag away again, so each one changes every message (this writes
// to the data directory: point it at a copy).
void BM_StoreAll(benchmark::State& state) {
    command_loop(state, [](std::uint32_t) {
        return std::vector<std::string>{
            "s STORE 1:* +FLAGS (\\Flagged)\r\n", "s STORE 1:* -FLAGS (\\Flagged)\r\n"
        };
    });
}
BENCHMARK(BM_StoreAll)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    sov::log::configure(sov::log::Level::Warn, sov::log::Format::Logfmt);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
