// imap_load: the IMAP client of the benchmark harness (bench/README.md, "IMAP").
//
// Blocking sockets, one thread per connection, implicit TLS (OpenSSL, no certificate check:
// loopback, self-signed) or plaintext with --plain. Every timed operation is measured from the
// write of its command to the tagged reply; literals in the responses are read and discarded
// ({n} announces n bytes, RFC 9051 §4.3). Modes, each printing one JSON object on stdout:
//
//   ops     one session runs the --op commands in order: --warmup untimed runs, then --repeat
//           timed runs each (wall ms, server CPU ms from the --cpu-file cgroup counters, the
//           client's own CPU ms). NAME=@login_select (a new connection per run, LOGIN + SELECT
//           timed) and NAME=@body_peek:COUNT:SEED (COUNT random UID FETCH u BODY.PEEK[]) are
//           built in; --reset NAME=COMMAND runs untimed after each run (undo a STORE).
//           --latencies FILE: one line per timed @body_peek command, "<literal bytes> <us>"
//           (bench/peek_latency.py sums them up by message size).
//   logins  --count sessions, --concurrency at a time: connect + TLS + LOGIN + LOGOUT.
//   mixed   --connections sessions for --duration seconds, each looping over a weighted mix of
//           client operations (see kMix); ops/s and latency per kind.
//   idle    --connections sessions LOGIN + SELECT + IDLE (--no-select: without SELECT), then
//           print a "ready" line, hold them until stdin closes, and close them.
//
// Not part of Sovereign: plain threads and OpenSSL, no project libraries.

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

using SteadyClock = std::chrono::steady_clock;

struct OpSpec {
    std::string name;
    std::string command;  // or "@login_select", "@body_peek:COUNT:SEED"
    std::string reset;    // untimed, after every run
};

struct Options {
    std::string mode;
    std::string host = "127.0.0.1";
    int port = 0;
    bool tls = true;
    std::string user;
    std::string password;
    std::string mailbox = "INBOX";
    std::vector<std::string> cpu_files;  // cgroup cpuacct.usage files of the server
    std::string dump_path;               // ops: the responses of one more run of each op
    std::string latencies_path;          // ops: each timed @body_peek command's time
    std::vector<OpSpec> ops;
    int repeat = 3;
    int warmup = 1;
    int count = 100;
    int concurrency = 1;
    int connections = 1;
    int threads = 8;
    double duration_s = 30;
    std::uint64_t seed = 1;
    double timeout_s = 300;
    bool select = true;  // idle: SELECT before IDLE (--no-select: IDLE in the authenticated state)
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(
        stderr,
        "imap_load: %s\n"
        "usage: imap_load ops|logins|mixed|idle --port N --user U --password P [--host A]\n"
        "         [--plain] [--mailbox M] [--cpu-file F]... [--timeout S]\n"
        "  ops:    --op NAME=COMMAND|@login_select|@body_peek:COUNT:SEED ... [--reset NAME=CMD]\n"
        "          [--repeat R] [--warmup W] [--dump FILE] [--latencies FILE]\n"
        "  logins: [--count N] [--concurrency C]\n"
        "  mixed:  [--connections C] [--duration S] [--seed N]\n"
        "  idle:   [--connections N] [--threads T] [--no-select]\n",
        why.c_str()
    );
    std::exit(2);
}

Options parse_options(int argc, char** argv) {
    Options o;
    if (argc < 2) {
        usage("missing mode");
    }
    o.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage("missing value for " + std::string(arg));
            }
            return argv[++i];
        };
        auto named = [&](std::string text) {
            const auto eq = text.find('=');
            if (eq == std::string::npos || eq == 0) {
                usage("expected NAME=COMMAND: " + text);
            }
            return std::pair(text.substr(0, eq), text.substr(eq + 1));
        };
        if (arg == "--host") {
            o.host = value();
        } else if (arg == "--port") {
            o.port = std::atoi(value().c_str());
        } else if (arg == "--plain") {
            o.tls = false;
        } else if (arg == "--user") {
            o.user = value();
        } else if (arg == "--password") {
            o.password = value();
        } else if (arg == "--mailbox") {
            o.mailbox = value();
        } else if (arg == "--cpu-file") {
            o.cpu_files.push_back(value());
        } else if (arg == "--op") {
            auto [name, command] = named(value());
            o.ops.push_back({name, command, ""});
        } else if (arg == "--reset") {
            // Not a structured binding: clang 14 cannot capture one in a lambda.
            const auto spec = named(value());
            auto it = std::find_if(o.ops.begin(), o.ops.end(), [&](auto& op) {
                return op.name == spec.first;
            });
            if (it == o.ops.end()) {
                usage("--reset for an unknown --op: " + spec.first);
            }
            it->reset = spec.second;
        } else if (arg == "--no-select") {
            o.select = false;
        } else if (arg == "--dump") {
            o.dump_path = value();
        } else if (arg == "--latencies") {
            o.latencies_path = value();
        } else if (arg == "--repeat") {
            o.repeat = std::atoi(value().c_str());
        } else if (arg == "--warmup") {
            o.warmup = std::atoi(value().c_str());
        } else if (arg == "--count") {
            o.count = std::atoi(value().c_str());
        } else if (arg == "--concurrency") {
            o.concurrency = std::atoi(value().c_str());
        } else if (arg == "--connections") {
            o.connections = std::atoi(value().c_str());
        } else if (arg == "--threads") {
            o.threads = std::atoi(value().c_str());
        } else if (arg == "--duration") {
            o.duration_s = std::atof(value().c_str());
        } else if (arg == "--seed") {
            o.seed = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--timeout") {
            o.timeout_s = std::atof(value().c_str());
        } else {
            usage("unknown option " + std::string(arg));
        }
    }
    if (o.port <= 0 || o.user.empty() || o.repeat < 1 || o.warmup < 0 || o.count < 1 ||
        o.concurrency < 1 || o.connections < 1 || o.threads < 1) {
        usage("need --port and --user; counts must be positive");
    }
    return o;
}

double now_s() {
    return std::chrono::duration<double>(SteadyClock::now().time_since_epoch()).count();
}

// Server CPU: the sum of the cgroup counters (cpuacct.usage, ns) given with --cpu-file.
double server_cpu_s(const Options& o) {
    double total = 0;
    for (const auto& path : o.cpu_files) {
        std::ifstream in(path);
        std::uint64_t ns = 0;
        in >> ns;
        total += static_cast<double>(ns) / 1e9;
    }
    return total;
}

// Time the hypervisor ran something else while this machine's CPUs wanted to run (steal,
// summed over all CPUs; /proc/stat counts it in USER_HZ ticks, so this is exact to 10 ms).
// A run that saw steal measured the host as much as the servers.
double steal_s() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    std::uint64_t field[8] = {};
    in >> cpu;
    for (auto& f : field) {
        in >> f;
    }
    const long hz = sysconf(_SC_CLK_TCK);
    return cpu == "cpu" && hz > 0 ? static_cast<double>(field[7]) / static_cast<double>(hz) : 0;
}

double thread_cpu_s() {
    rusage ru{};
    getrusage(RUSAGE_THREAD, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

SSL_CTX* client_context() {
    static SSL_CTX* ctx = [] {
        SSL_CTX* c = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
        // Idle sessions keep no record buffers (the client holds thousands in idle mode).
        SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_AUTO_RETRY);
        return c;
    }();
    return ctx;
}

// What a command's responses contained, besides the tagged status.
struct Reply {
    std::string status;  // OK / NO / BAD / "" on I/O error
    std::string text;    // the tagged line
    std::uint64_t untagged = 0;
    std::uint64_t bytes = 0;            // everything read for this command
    std::uint64_t literals = 0;         // literal bytes
    std::vector<std::uint32_t> search;  // numbers of "* SEARCH" responses
    std::int64_t exists = -1;
    bool ok() const { return status == "OK"; }
};

class Connection {
public:
    explicit Connection(const Options& o) : o_(o) {}
    ~Connection() { close(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // TCP connect, TLS handshake, greeting.
    bool open() {
        close();
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) {
            return fail("socket: " + std::string(std::strerror(errno)));
        }
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(o_.timeout_s);
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(o_.port));
        if (::inet_pton(AF_INET, o_.host.c_str(), &addr.sin_addr) != 1 ||
            ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            return fail("connect: " + std::string(std::strerror(errno)));
        }
        if (o_.tls) {
            ssl_ = SSL_new(client_context());
            SSL_set_fd(ssl_, fd_);
            if (SSL_connect(ssl_) != 1) {
                return fail("TLS handshake failed");
            }
        }
        Reply greeting;
        std::string line;
        if (!read_line(line, greeting) || line.rfind("* OK", 0) != 0) {
            return fail("greeting: " + line);
        }
        return true;
    }

    bool login() {
        auto r = command("LOGIN " + quoted(o_.user) + " " + quoted(o_.password));
        return r.ok() || fail("LOGIN: " + r.text);
    }

    Reply select() {
        auto r = command("SELECT " + quoted(o_.mailbox));
        if (!r.ok()) {
            fail("SELECT: " + r.text);
        }
        return r;
    }

    // Sends "<tag> <text>" and reads up to the tagged reply.
    Reply command(std::string_view text) {
        const std::string tag = next_tag();
        Reply r;
        if (!send(tag + " " + std::string(text) + "\r\n")) {
            return r;
        }
        read_until_tagged(tag, r);
        return r;
    }

    // A command ending in a synchronizing literal: waits for the continuation, sends the data.
    Reply command_with_literal(std::string_view text, std::string_view literal) {
        const std::string tag = next_tag();
        Reply r;
        if (!send(
                tag + " " + std::string(text) + " {" + std::to_string(literal.size()) + "}\r\n"
            )) {
            return r;
        }
        if (!wait_continuation(tag, r)) {
            return r;
        }
        if (!send(std::string(literal) + "\r\n")) {
            return r;
        }
        read_until_tagged(tag, r);
        return r;
    }

    // IDLE (RFC 2177): true once the server's continuation arrived.
    bool idle() {
        const std::string tag = next_tag();
        Reply r;
        return send(tag + " IDLE\r\n") && wait_continuation(tag, r);
    }

    // Drops the read buffer's memory (idle mode keeps thousands of connections).
    void shrink() {
        buffer_.clear();
        buffer_.shrink_to_fit();
        head_ = 0;
    }

    void close() {
        if (ssl_ != nullptr) {
            SSL_free(ssl_);
            ssl_ = nullptr;
        }
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

    const std::string& error() const { return error_; }

    // While set, every response byte read (literals included) is appended to *capture.
    void capture(std::string* capture) { capture_ = capture; }

private:
    bool fail(std::string what) {
        if (error_.empty()) {
            error_ = std::move(what);
        }
        return false;
    }

    std::string next_tag() { return "a" + std::to_string(++tag_counter_); }

    bool send(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            long n = 0;
            if (ssl_ != nullptr) {
                n = SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done));
            } else {
                n = ::write(fd_, data.data() + done, data.size() - done);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
            }
            if (n <= 0) {
                return fail("write failed");
            }
            done += static_cast<std::size_t>(n);
        }
        return true;
    }

    // Appends what the socket has to the buffer; false on EOF, error or timeout.
    bool fill(Reply& r) {
        if (head_ > 0 && head_ == buffer_.size()) {
            buffer_.clear();
            head_ = 0;
        } else if (head_ > (1U << 20)) {
            buffer_.erase(0, head_);
            head_ = 0;
        }
        constexpr std::size_t kChunk = 64 * 1024;
        const auto old = buffer_.size();
        buffer_.resize(old + kChunk);
        long n = 0;
        for (;;) {
            if (ssl_ != nullptr) {
                n = SSL_read(ssl_, buffer_.data() + old, static_cast<int>(kChunk));
            } else {
                n = ::read(fd_, buffer_.data() + old, kChunk);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
            }
            break;
        }
        buffer_.resize(old + static_cast<std::size_t>(std::max(n, 0L)));
        if (n <= 0) {
            return fail("connection closed or read timed out");
        }
        r.bytes += static_cast<std::uint64_t>(n);
        return true;
    }

    // One response line with its literals read and dropped: `line` gets the text parts only.
    bool read_line(std::string& line, Reply& r) {
        line.clear();
        std::size_t scan = head_;
        for (;;) {
            const auto eol = buffer_.find("\r\n", scan);
            if (eol == std::string::npos) {
                scan = buffer_.size() > head_ ? buffer_.size() - 1 : head_;
                const auto offset = scan - head_;
                if (!fill(r)) {
                    return false;
                }
                scan = head_ + offset;
                continue;
            }
            const std::string_view piece(buffer_.data() + head_, eol - head_);
            line.append(piece);
            if (capture_ != nullptr) {
                capture_->append(buffer_, head_, eol + 2 - head_);
            }
            head_ = eol + 2;
            const auto literal = literal_size(piece);
            if (literal < 0) {
                return true;
            }
            // Skip the literal's bytes, partly buffered, the rest straight from the socket.
            auto left = static_cast<std::uint64_t>(literal);
            r.literals += left;
            for (;;) {
                const auto buffered = std::min<std::uint64_t>(left, buffer_.size() - head_);
                if (capture_ != nullptr) {
                    capture_->append(buffer_, head_, buffered);
                }
                head_ += buffered;
                left -= buffered;
                if (left == 0) {
                    break;
                }
                if (!fill(r)) {
                    return false;
                }
            }
            scan = head_;
        }
    }

    // "... {123}" at the end of a line announces a literal of 123 bytes; -1 if none.
    static std::int64_t literal_size(std::string_view piece) {
        if (piece.empty() || piece.back() != '}') {
            return -1;
        }
        const auto open = piece.rfind('{');
        if (open == std::string_view::npos || open + 2 > piece.size() - 1) {
            return -1;
        }
        std::int64_t n = 0;
        for (std::size_t i = open + 1; i + 1 < piece.size(); ++i) {
            const char c = piece[i];
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    void untagged(std::string_view line, Reply& r) {
        ++r.untagged;
        if (line.rfind("* SEARCH", 0) == 0) {
            std::uint32_t n = 0;
            bool in_number = false;
            for (std::size_t i = 8; i <= line.size(); ++i) {
                if (i < line.size() && line[i] >= '0' && line[i] <= '9') {
                    n = n * 10 + static_cast<std::uint32_t>(line[i] - '0');
                    in_number = true;
                } else if (in_number) {
                    r.search.push_back(n);
                    n = 0;
                    in_number = false;
                }
            }
        } else if (line.size() > 9 && line.substr(line.size() - 7) == " EXISTS") {
            r.exists = std::atoll(std::string(line.substr(2)).c_str());
        }
    }

    void read_until_tagged(const std::string& tag, Reply& r) {
        std::string line;
        while (read_line(line, r)) {
            if (line.size() > tag.size() && line.compare(0, tag.size(), tag) == 0 &&
                line[tag.size()] == ' ') {
                r.text = line;
                const auto rest = std::string_view(line).substr(tag.size() + 1);
                r.status = std::string(rest.substr(0, rest.find(' ')));
                return;
            }
            if (line.rfind("* ", 0) == 0) {
                untagged(line, r);
            }
        }
        r.text = error_;
    }

    bool wait_continuation(const std::string& tag, Reply& r) {
        std::string line;
        while (read_line(line, r)) {
            if (line.rfind("+", 0) == 0) {
                return true;
            }
            if (line.rfind(tag + " ", 0) == 0) {
                return fail("no continuation: " + line);
            }
            if (line.rfind("* ", 0) == 0) {
                untagged(line, r);
            }
        }
        return false;
    }

    const Options& o_;
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    std::string buffer_;
    std::size_t head_ = 0;
    std::uint64_t tag_counter_ = 0;
    std::string error_;
    std::string* capture_ = nullptr;
};

// --- JSON output helpers

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

template <typename T>
std::string json_list(const std::vector<T>& values) {
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        out += (i ? ", " : "") + std::to_string(values[i]);
    }
    return out + "]";
}

std::string json_ms(const std::vector<double>& seconds) {
    std::string out = "[";
    char buf[32];
    for (std::size_t i = 0; i < seconds.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%s%.3f", i ? ", " : "", seconds[i] * 1000);
        out += buf;
    }
    return out + "]";
}

double percentile_ms(std::vector<double> seconds, double p) {
    if (seconds.empty()) {
        return 0;
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds[static_cast<std::size_t>(p / 100 * static_cast<double>(seconds.size() - 1))] *
           1000;
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "imap_load: %s\n", what.c_str());
    std::exit(1);
}

// --- ops

struct OpResult {
    std::vector<double> wall, server_cpu, client_cpu, steal;
    Reply last;
};

// One run of an op on the open session (@body_peek: a summary of its commands, each one's
// literal size and time written to `latencies` when given).
Reply run_op(Connection& conn, const OpSpec& op, std::uint32_t exists, std::FILE* latencies) {
    if (op.command.rfind("@body_peek:", 0) == 0) {
        int count = 0;
        std::uint64_t seed = 0;
        std::sscanf(op.command.c_str(), "@body_peek:%d:%" SCNu64, &count, &seed);
        std::mt19937_64 rng(seed);
        std::uniform_int_distribution<std::uint32_t> pick(1, exists);
        Reply total;
        total.status = "OK";
        for (int i = 0; i < count; ++i) {
            const std::string command = "UID FETCH " + std::to_string(pick(rng)) + " BODY.PEEK[]";
            const double t0 = now_s();
            auto r = conn.command(command);
            if (!r.ok() || r.literals == 0) {
                die("body_peek: " + r.text + " (literal bytes " + std::to_string(r.literals) + ")");
            }
            if (latencies != nullptr) {
                std::fprintf(latencies, "%" PRIu64 " %.1f\n", r.literals, (now_s() - t0) * 1e6);
            }
            total.untagged += r.untagged;
            total.bytes += r.bytes;
            total.literals += r.literals;
        }
        return total;
    }
    return conn.command(op.command);
}

int mode_ops(const Options& o) {
    Connection conn(o);
    if (!conn.open() || !conn.login()) {
        die(conn.error());
    }
    const auto selected = conn.select();
    if (!selected.ok() || selected.exists <= 0) {
        die("SELECT: " + selected.text);
    }
    const auto exists = static_cast<std::uint32_t>(selected.exists);
    struct FileClose {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, FileClose> latencies;
    if (!o.latencies_path.empty()) {
        latencies.reset(std::fopen(o.latencies_path.c_str(), "a"));
        if (!latencies) {
            die("--latencies: cannot open " + o.latencies_path);
        }
    }
    std::string dump;
    std::string out = "{\"exists\": " + std::to_string(exists) + ", \"ops\": [";
    bool first = true;
    for (const auto& op : o.ops) {
        OpResult res;
        for (int run = 0; run < o.warmup + o.repeat; ++run) {
            std::unique_ptr<Connection> fresh;
            Reply r;
            const double cpu0 = server_cpu_s(o), own0 = thread_cpu_s(), t0 = now_s();
            const double steal0 = steal_s();
            if (op.command == "@login_select") {
                // A new session: connect + TLS untimed, then LOGIN + SELECT timed.
                fresh = std::make_unique<Connection>(o);
                if (!fresh->open()) {
                    die("login_select: " + fresh->error());
                }
                const double c1 = server_cpu_s(o), o1 = thread_cpu_s(), t1 = now_s();
                if (!fresh->login()) {
                    die(fresh->error());
                }
                r = fresh->select();
                const double t2 = now_s();
                if (run >= o.warmup) {
                    res.wall.push_back(t2 - t1);
                    res.server_cpu.push_back(server_cpu_s(o) - c1);
                    res.client_cpu.push_back(thread_cpu_s() - o1);
                    res.steal.push_back(steal_s() - steal0);
                }
                (void)fresh->command("LOGOUT");
            } else {
                r = run_op(conn, op, exists, run >= o.warmup ? latencies.get() : nullptr);
                const double t1 = now_s();
                if (run >= o.warmup) {
                    res.wall.push_back(t1 - t0);
                    res.server_cpu.push_back(server_cpu_s(o) - cpu0);
                    res.client_cpu.push_back(thread_cpu_s() - own0);
                    res.steal.push_back(steal_s() - steal0);
                }
            }
            if (!r.ok()) {
                die(op.name + ": " + r.text);
            }
            if (!op.reset.empty()) {
                if (auto reset = conn.command(op.reset); !reset.ok()) {
                    die(op.name + " reset: " + reset.text);
                }
            }
            res.last = std::move(r);
        }
        if (!o.dump_path.empty() && op.command[0] != '@' && op.reset.empty()) {
            // One more, untimed run whose responses are written out (to compare the servers).
            std::string captured;
            conn.capture(&captured);
            (void)conn.command(op.command);
            conn.capture(nullptr);
            dump += "== " + op.name + "\r\n" + captured;
        }
        auto& r = res.last;
        std::sort(r.search.begin(), r.search.end());
        if (r.search.size() > 2000) {
            r.search.resize(2000);
        }
        out += std::string(first ? "" : ", ") + "{\"name\": " + json_string(op.name) +
               ", \"command\": " + json_string(op.command) + ", \"wall_ms\": " + json_ms(res.wall) +
               ", \"server_cpu_ms\": " + json_ms(res.server_cpu) +
               ", \"client_cpu_ms\": " + json_ms(res.client_cpu) +
               ", \"steal_ms\": " + json_ms(res.steal) +
               ", \"untagged\": " + std::to_string(r.untagged) +
               ", \"bytes\": " + std::to_string(r.bytes) +
               ", \"literal_bytes\": " + std::to_string(r.literals) +
               ", \"search\": " + json_list(r.search) + ", \"tagged\": " + json_string(r.text) +
               "}";
        first = false;
    }
    if (!o.dump_path.empty()) {
        std::ofstream(o.dump_path, std::ios::binary) << dump;
    }
    std::printf("%s]}\n", out.c_str());
    return 0;
}

// --- logins

int mode_logins(const Options& o) {
    std::atomic<int> next{0}, failed{0};
    std::vector<std::vector<double>> times(static_cast<std::size_t>(o.concurrency));
    std::vector<std::thread> threads;
    std::mutex error_mutex;
    std::string first_error;
    const double cpu0 = server_cpu_s(o), t0 = now_s();
    for (int t = 0; t < o.concurrency; ++t) {
        threads.emplace_back([&, t] {
            while (next.fetch_add(1) < o.count) {
                const double start = now_s();
                Connection conn(o);
                if (!conn.open() || !conn.login() || !conn.command("LOGOUT").ok()) {
                    ++failed;
                    std::lock_guard lock(error_mutex);
                    if (first_error.empty()) {
                        first_error = conn.error();
                    }
                    continue;
                }
                times[static_cast<std::size_t>(t)].push_back(now_s() - start);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    const double wall = now_s() - t0, cpu = server_cpu_s(o) - cpu0;
    std::vector<double> all;
    for (auto& v : times) {
        all.insert(all.end(), v.begin(), v.end());
    }
    std::printf(
        "{\"count\": %d, \"failed\": %d, \"error\": %s, \"wall_s\": %.3f, \"server_cpu_s\": %.4f, "
        "\"server_cpu_ms_per_login\": %.3f, \"p50_ms\": %.3f, \"p99_ms\": %.3f}\n",
        o.count,
        failed.load(),
        json_string(first_error).c_str(),
        wall,
        cpu,
        cpu * 1000 / std::max<std::size_t>(all.size(), 1),
        percentile_ms(all, 50),
        percentile_ms(all, 99)
    );
    return failed.load() == 0 ? 0 : 1;
}

// --- mixed

// A client's working day against one big mailbox: list-view refreshes, opening messages,
// flag changes, unseen counts, idle polls, re-selects and the odd saved draft. Weights in %.
enum class Kind {
    FetchFlags,
    FetchHeaders,
    FetchBody,
    Store,
    SearchUnseen,
    Noop,
    Select,
    Append
};
struct MixEntry {
    Kind kind;
    const char* name;
    int weight;
};
constexpr MixEntry kMix[] = {
    {Kind::FetchFlags, "fetch_flags_50", 20},
    {Kind::FetchHeaders, "fetch_headers_50", 15},
    {Kind::FetchBody, "fetch_body", 25},
    {Kind::Store, "store_seen", 15},
    {Kind::SearchUnseen, "search_unseen", 10},
    {Kind::Noop, "noop", 10},
    {Kind::Select, "select", 3},
    {Kind::Append, "append_4k", 2},
};
constexpr std::size_t kKinds = std::size(kMix);

std::string draft_message(std::uint64_t id) {
    std::string m =
        "From: Bench User <bench@example.test>\r\nTo: someone@example.org\r\n"
        "Subject: draft " +
        std::to_string(id) + "\r\nMessage-ID: <draft." + std::to_string(id) +
        "@load.test>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    while (m.size() < 4096) {
        m += "A draft line of the benchmark's mixed load, long enough to look like text.\r\n";
    }
    return m;
}

int mode_mixed(const Options& o) {
    struct PerThread {
        std::vector<std::vector<double>> latency = std::vector<std::vector<double>>(kKinds);
        std::uint64_t failed = 0;
        double client_cpu = 0;
        std::string error;
    };
    std::vector<PerThread> results(static_cast<std::size_t>(o.connections));
    std::vector<std::unique_ptr<Connection>> conns;
    std::uint32_t exists = 0;
    for (int c = 0; c < o.connections; ++c) {
        auto conn = std::make_unique<Connection>(o);
        if (!conn->open() || !conn->login()) {
            die(conn->error());
        }
        const auto s = conn->select();
        if (!s.ok() || s.exists <= 0) {
            die("SELECT: " + s.text);
        }
        exists = static_cast<std::uint32_t>(s.exists);
        conns.push_back(std::move(conn));
    }
    int total_weight = 0;
    for (const auto& m : kMix) {
        total_weight += m.weight;
    }
    std::atomic<std::uint64_t> drafts{0};
    const double cpu0 = server_cpu_s(o), t0 = now_s(), deadline = t0 + o.duration_s;
    std::vector<std::thread> threads;
    for (int c = 0; c < o.connections; ++c) {
        threads.emplace_back([&, c] {
            auto& res = results[static_cast<std::size_t>(c)];
            auto& conn = *conns[static_cast<std::size_t>(c)];
            std::mt19937_64 rng(o.seed * 1000 + static_cast<std::uint64_t>(c));
            std::uniform_int_distribution<int> roll(0, total_weight - 1);
            std::uniform_int_distribution<std::uint32_t> uid(1, exists);
            const double own0 = thread_cpu_s();
            while (now_s() < deadline) {
                int r = roll(rng);
                std::size_t k = 0;
                while (r >= kMix[k].weight) {
                    r -= kMix[k].weight;
                    ++k;
                }
                const auto u = uid(rng);
                const auto window =
                    std::to_string(std::min(u, exists > 49 ? exists - 49 : 1U)) + ":" +
                    std::to_string(std::min(u, exists > 49 ? exists - 49 : 1U) + 49);
                const double start = now_s();
                Reply reply;
                switch (kMix[k].kind) {
                    case Kind::FetchFlags:
                        reply = conn.command("UID FETCH " + window + " (UID FLAGS)");
                        break;
                    case Kind::FetchHeaders:
                        reply = conn.command(
                            "UID FETCH " + window +
                            " (UID RFC822.SIZE FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM TO "
                            "CC "
                            "SUBJECT DATE MESSAGE-ID CONTENT-TYPE)])"
                        );
                        break;
                    case Kind::FetchBody:
                        reply = conn.command("UID FETCH " + std::to_string(u) + " BODY.PEEK[]");
                        break;
                    case Kind::Store:
                        reply = conn.command(
                            "UID STORE " + std::to_string(u) + (rng() % 2 ? " +" : " -") +
                            "FLAGS (\\Seen)"
                        );
                        break;
                    case Kind::SearchUnseen:
                        reply = conn.command("UID SEARCH UNSEEN");
                        break;
                    case Kind::Noop:
                        reply = conn.command("NOOP");
                        break;
                    case Kind::Select:
                        reply = conn.select();
                        break;
                    case Kind::Append:
                        reply = conn.command_with_literal(
                            "APPEND " + quoted(o.mailbox) + " (\\Seen \\Draft)",
                            draft_message(++drafts)
                        );
                        break;
                }
                if (!reply.ok()) {
                    ++res.failed;
                    if (res.error.empty()) {
                        res.error = std::string(kMix[k].name) + ": " + reply.text;
                    }
                    if (reply.status.empty()) {
                        return;  // the connection is gone
                    }
                    continue;
                }
                res.latency[k].push_back(now_s() - start);
            }
            res.client_cpu = thread_cpu_s() - own0;
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    const double wall = now_s() - t0, cpu = server_cpu_s(o) - cpu0;
    std::uint64_t ops = 0, failed = 0;
    double client_cpu = 0;
    std::vector<double> all;
    std::string kinds, error;
    for (std::size_t k = 0; k < kKinds; ++k) {
        std::vector<double> lat;
        for (auto& r : results) {
            lat.insert(lat.end(), r.latency[k].begin(), r.latency[k].end());
        }
        ops += lat.size();
        all.insert(all.end(), lat.begin(), lat.end());
        char buf[256];
        std::snprintf(
            buf,
            sizeof buf,
            "%s\"%s\": {\"ops\": %zu, \"p50_ms\": %.3f, \"p99_ms\": %.3f}",
            k ? ", " : "",
            kMix[k].name,
            lat.size(),
            percentile_ms(lat, 50),
            percentile_ms(lat, 99)
        );
        kinds += buf;
    }
    for (auto& r : results) {
        failed += r.failed;
        client_cpu += r.client_cpu;
        if (error.empty()) {
            error = r.error;
        }
    }
    std::printf(
        "{\"connections\": %d, \"duration_s\": %.3f, \"ops\": %" PRIu64 ", \"failed\": %" PRIu64
        ", \"error\": %s, \"ops_per_s\": %.2f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
        "\"server_cpu_s\": %.3f, \"client_cpu_s\": %.3f, \"kinds\": {%s}}\n",
        o.connections,
        wall,
        ops,
        failed,
        json_string(error).c_str(),
        static_cast<double>(ops) / wall,
        percentile_ms(all, 50),
        percentile_ms(all, 99),
        cpu,
        client_cpu,
        kinds.c_str()
    );
    return failed == 0 ? 0 : 1;
}

// --- idle

int mode_idle(const Options& o) {
    std::vector<std::unique_ptr<Connection>> conns(static_cast<std::size_t>(o.connections));
    std::atomic<int> next{0}, failed{0};
    std::mutex error_mutex;
    std::string first_error;
    const double t0 = now_s();
    std::vector<std::thread> threads;
    for (int t = 0; t < o.threads; ++t) {
        threads.emplace_back([&] {
            for (int i; (i = next.fetch_add(1)) < o.connections;) {
                auto conn = std::make_unique<Connection>(o);
                if (!conn->open() || !conn->login() || (o.select && !conn->select().ok()) ||
                    !conn->idle()) {
                    ++failed;
                    std::lock_guard lock(error_mutex);
                    if (first_error.empty()) {
                        first_error = conn->error();
                    }
                    continue;
                }
                conn->shrink();
                conns[static_cast<std::size_t>(i)] = std::move(conn);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    std::printf(
        "{\"ready\": %d, \"failed\": %d, \"error\": %s, \"setup_s\": %.3f}\n",
        o.connections - failed.load(),
        failed.load(),
        json_string(first_error).c_str(),
        now_s() - t0
    );
    std::fflush(stdout);
    // Hold the sessions until the driver has measured and closes our stdin.
    char buf[256];
    while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
    }
    conns.clear();
    return failed.load() == 0 ? 0 : 1;
}

void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    raise_fd_limit();
    OPENSSL_init_ssl(0, nullptr);
    if (o.mode == "ops") {
        return mode_ops(o);
    }
    if (o.mode == "logins") {
        return mode_logins(o);
    }
    if (o.mode == "mixed") {
        return mode_mixed(o);
    }
    if (o.mode == "idle") {
        return mode_idle(o);
    }
    usage("unknown mode " + o.mode);
}
