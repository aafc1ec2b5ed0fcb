// Delivery throughput of the store: N concurrent submitters each spool a 4 KB message and wait for
// its durable delivery (what N LMTP sessions do). Reports deliveries/s, server CPU per message and
// syncs per message. Then the IMAP operations of issue 3's benchmark on a 10,000-message mailbox
// of ~20 KB text messages, with the full-text index (SELECT, UID FETCH 1:* FLAGS, STORE on all,
// CONDSTORE changes, SEARCH BODY). Built by bench/CMakeLists.txt (target store_bench); by hand:
//   g++ -O2 -std=c++20 -Isrc src/store/store_bench.cpp build/<rel>/src/store/libsov_store.a \
//       build/<rel>/src/core/libsov_core.a -lbenchmark -lsqlite3 -lfmt -lpthread
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/ascii.hpp"
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

// ---- IMAP operations on a 10,000-message mailbox

constexpr std::uint32_t kBigMailbox = 10000;
constexpr std::size_t kBodySize = 20000;

// Deterministic pseudo-English: words built from frequent English syllables, drawn with a
// Zipf-like skew, so trigram frequencies resemble real text (a few very common, a long tail).
class TextGen {
public:
    TextGen() {
        static const char* kCommon[] = {"the",  "of",   "and",  "to",  "in", "is", "that", "for",
                                        "it",   "with", "as",   "was", "on", "be", "at",   "by",
                                        "this", "have", "from", "or",  "we", "an", "are",  "not"};
        static const char* kSyllables[] = {"th", "er", "on", "an", "re", "he", "in",  "ed",
                                           "nd", "ha", "at", "en", "es", "of", "or",  "nt",
                                           "ea", "ti", "to", "it", "st", "io", "le",  "is",
                                           "ou", "ar", "as", "de", "rt", "ve", "ing", "ion"};
        for (const char* w : kCommon) {
            vocab_.emplace_back(w);
        }
        while (vocab_.size() < 20000) {
            std::string w;
            const auto n = 1 + next() % 4;
            for (std::uint64_t i = 0; i < n; ++i) {
                w += kSyllables[next() % std::size(kSyllables)];
            }
            vocab_.push_back(std::move(w));
        }
    }

    std::string text(std::size_t size) {
        std::string out;
        std::size_t line = 0;
        while (out.size() < size) {
            // Zipf-ish: the index is the product of two uniform draws, skewed to the front.
            const auto a = next() % vocab_.size();
            const auto b = next() % vocab_.size();
            const std::string& w = vocab_[(a * b) / vocab_.size()];
            out += w;
            line += w.size() + 1;
            if (line > 70) {
                out += "\r\n";
                line = 0;
            } else {
                out += ' ';
            }
        }
        return out;
    }

private:
    std::uint64_t next() {  // xorshift64*
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 2685821657736338717ULL;
    }
    std::uint64_t state_ = 88172645463325252ULL;
    std::vector<std::string> vocab_;
};

// Headers and body, folded as IndexedText asks (the generated text is ASCII: folding it is
// lower-casing).
IndexedText split_text(std::string_view bytes) {
    auto end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        return {sov::core::ascii_lowercase(bytes), {}};
    }
    return {
        sov::core::ascii_lowercase(bytes.substr(0, end)),
        sov::core::ascii_lowercase(bytes.substr(end + 4))
    };
}

const char* const kBigAccount = "big@example.org";

struct BigMailbox {
    std::string dir;
    std::unique_ptr<Store> store;
    double fill_msgs_per_s = 0;
    std::string sample;  // a 24-character substring of message 7777's body
};

std::unique_ptr<BigMailbox> g_big;

// Filled once, through the real delivery path (spool, fdatasync, group commit, text index).
BigMailbox& big_mailbox() {
    if (g_big) {
        return *g_big;
    }
    g_big = std::make_unique<BigMailbox>([] {
        BigMailbox b;
        const char* base = getenv("SOV_BENCH_DIR");
        std::string templ = std::string(base != nullptr ? base : "/tmp") + "/sov-bench-XXXXXX";
        if (mkdtemp(templ.data()) == nullptr) {
            return b;
        }
        b.dir = templ;
        g_dirs.push_back(templ);
        StoreOptions opt;
        opt.data_dir = templ;
        opt.structure_of = [](std::string_view) { return std::string(600, 's'); };
        opt.text_of = split_text;
        auto store = Store::open(opt);
        if (!store || !(*store)->ensure_account(kBigAccount, {})) {
            return b;
        }
        b.store = std::move(*store);
        TextGen gen;
        std::counting_semaphore<512> in_flight(256);
        std::atomic<std::uint32_t> failures{0};
        const auto t0 = std::chrono::steady_clock::now();
        for (std::uint32_t i = 1; i <= kBigMailbox; ++i) {
            std::string body = gen.text(kBodySize);
            if (i % 2000 == 1) {
                body += "\r\nPlease pay invoice 48213-XQ by Friday.\r\n";  // 5 messages
            }
            if (i == 7777) {
                b.sample = sov::core::ascii_lowercase(body.substr(9000, 24));
            }
            std::string msg = "From: sender" + std::to_string(i % 97) +
                              "@example.org\r\nTo: big@example.org\r\nSubject: message " +
                              std::to_string(i) + "\r\n\r\n" + body;
            auto in = b.store->begin_message();
            if (!in || !in->append(msg)) {
                ++failures;
                continue;
            }
            in_flight.acquire();
            DeliveryRequest req;
            Recipient r;
            r.account = kBigAccount;
            req.recipients.push_back(std::move(r));
            b.store->deliver_async(std::move(*in), std::move(req), [&](auto outcomes) {
                if (outcomes.empty() || !outcomes[0].delivered()) {
                    ++failures;
                }
                in_flight.release();
            });
        }
        for (int i = 0; i < 256; ++i) {
            in_flight.acquire();
        }
        const auto t1 = std::chrono::steady_clock::now();
        // The background indexes while deliveries go on; finish what is left.
        auto reindexed = b.store->reindex_text(kBigAccount);
        const auto t2 = std::chrono::steady_clock::now();
        const double s = std::chrono::duration<double>(t1 - t0).count();
        b.fill_msgs_per_s = kBigMailbox / s;
        std::fprintf(
            stderr,
            "delivered %u messages of ~20 KB in %.1f s (%u failures); the text index was complete "
            "%.1f s later (%llu left for reindex_text)\n",
            kBigMailbox,
            s,
            failures.load(),
            std::chrono::duration<double>(t2 - t1).count(),
            static_cast<unsigned long long>(reindexed ? *reindexed : 0)
        );
        return b;
    }());
    return *g_big;
}

std::vector<std::uint32_t> all_uids() {
    std::vector<std::uint32_t> uids(kBigMailbox);
    for (std::uint32_t i = 0; i < kBigMailbox; ++i) {
        uids[i] = i + 1;
    }
    return uids;
}

// SELECT: mailbox status (with unseen count), the \Recent claim, and every UID with its flags.
void BM_Select10k(benchmark::State& state) {
    auto& b = big_mailbox();
    if (!b.store) {
        state.SkipWithError("setup");
        return;
    }
    for (auto _ : state) {
        auto box = b.store->mailbox(kBigAccount, "INBOX");
        auto recent = b.store->claim_recent(kBigAccount, "INBOX");
        auto list = b.store->list_messages(
            kBigAccount, "INBOX", 1, {.structure = false, .path = state.range(0) != 0}
        );
        if (!box || !recent || !list || list->size() != kBigMailbox) {
            state.SkipWithError("select");
            return;
        }
        benchmark::DoNotOptimize(list->data());
    }
}

// UID FETCH 1:* (FLAGS RFC822.SIZE INTERNALDATE).
void BM_FetchFlags10k(benchmark::State& state) {
    auto& b = big_mailbox();
    if (!b.store) {
        state.SkipWithError("setup");
        return;
    }
    const auto uids = all_uids();
    for (auto _ : state) {
        auto got = b.store->get_messages(
            kBigAccount, "INBOX", uids, {.structure = false, .path = state.range(0) != 0}
        );
        if (!got || got->size() != kBigMailbox) {
            state.SkipWithError("fetch");
            return;
        }
        benchmark::DoNotOptimize(got->data());
    }
}

// UID STORE 1:* +FLAGS (\Seen), then -FLAGS, alternately: every call changes every message.
void BM_StoreFlags10k(benchmark::State& state) {
    auto& b = big_mailbox();
    if (!b.store) {
        state.SkipWithError("setup");
        return;
    }
    const auto uids = all_uids();
    bool add = true;
    for (auto _ : state) {
        FlagChange c{add ? FlagChange::Mode::Add : FlagChange::Mode::Remove, flag::kSeen, {}};
        auto r = b.store->update_flags(kBigAccount, "INBOX", uids, c);
        if (!r || r->size() != kBigMailbox) {
            state.SkipWithError("store");
            return;
        }
        add = !add;
    }
}

// QRESYNC / CONDSTORE: what changed since a recent mod-sequence (100 messages).
void BM_ChangesSince(benchmark::State& state) {
    auto& b = big_mailbox();
    if (!b.store) {
        state.SkipWithError("setup");
        return;
    }
    std::vector<std::uint32_t> some;
    for (std::uint32_t i = 1; i <= kBigMailbox; i += 100) {
        some.push_back(i);
    }
    // Google Benchmark calls this more than once: a new keyword each time, so 100 change.
    static int round = 0;
    const auto before = b.store->mailbox(kBigAccount, "INBOX")->highest_modseq;
    (void)b.store->update_flags(
        kBigAccount, "INBOX", some, {FlagChange::Mode::Add, 0, {"$x" + std::to_string(++round)}}
    );
    for (auto _ : state) {
        auto ch = b.store->changes_since(kBigAccount, "INBOX", before);
        if (!ch || ch->changed.size() != some.size()) {
            state.SkipWithError("changes");
            return;
        }
    }
}

// SEARCH BODY <needle> through the trigram index. Args: which needle.
void BM_SearchBody(benchmark::State& state) {
    auto& b = big_mailbox();
    if (!b.store) {
        state.SkipWithError("setup");
        return;
    }
    const std::string needles[] = {
        "invoice 48213-xq",  // rare: 5 messages
        b.sample,            // a 24-character substring of one message
        "message 4242",      // headers only: none for BODY
        "thing",             // a common-ish word
        "of the",            // two very common words
    };
    const std::string& needle = needles[static_cast<std::size_t>(state.range(0))];
    std::size_t hits = 0;
    for (auto _ : state) {
        auto r = b.store->search_text(kBigAccount, "INBOX", TextField::Body, needle);
        if (!r || !*r) {
            state.SkipWithError("search");
            return;
        }
        hits = (*r)->size();
    }
    state.SetLabel("\"" + needle + "\"");
    state.counters["hits"] = static_cast<double>(hits);
    state.counters["fill_msgs_per_s"] = b.fill_msgs_per_s;
}

// Arg: whether MessageInfo::path is built (ListOptions::path).
BENCHMARK(BM_Select10k)->ArgName("path")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FetchFlags10k)->ArgName("path")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StoreFlags10k)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChangesSince)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SearchBody)->DenseRange(0, 4)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    g_big.reset();  // stops the store before its directory goes
    for (const auto& d : g_dirs) {
        std::error_code ec;
        fs::remove_all(d, ec);
    }
    return 0;
}
