// smtp_load: a closed-loop SMTP load generator for the benchmark harness (bench/README.md).
//
// N connections, one thread each, blocking POSIX sockets. Every connection says EHLO once, then
// sends messages back to back: MAIL, RCPT and DATA in one write (RFC 2920 §3.1: DATA may end a
// pipelined group; the body waits for the 354), then the body and "." in one write. The latency
// of a message is measured from the write of MAIL to the final reply of DATA. Only messages
// whose final reply is 2xx count as accepted. Output: one JSON object on stdout; with --trace
// FILE also one line per accepted message ("message-id send_unix_ns done_unix_ns") so the driver
// can match accepted messages with what reached the mailbox.
//
// Submission (--starttls, --auth USER:PASS): after the first EHLO the connection upgrades with
// STARTTLS (RFC 3207; the server certificate is not checked: loopback benchmark), says EHLO
// again and authenticates once with AUTH PLAIN (RFC 4954, RFC 4616), then sends messages as above
// over TLS; each command group and each message (headers + body + dot) is one SSL_write.
//
// Not a server, not part of Sovereign: plain threads, no Asio, no project libraries.

#include <sys/socket.h>
#include <sys/uio.h>
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
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Options {
    std::string host = "127.0.0.1";
    int port = 25;
    int connections = 1;
    std::uint64_t messages = 0;  // total over all connections; 0 = run for `duration_s`
    double duration_s = 0;
    std::size_t size = 4096;  // approximate message size in bytes (headers + body)
    std::string mail_from = "load@sender.test";
    std::string rcpt_to = "bench@example.test";
    std::string helo = "load.sender.test";
    std::string tag = "run";  // goes into every Message-ID: <bench.TAG.N@load.test>
    std::string trace_path;
    double timeout_s = 120;  // per reply
    bool starttls = false;
    std::string auth;        // "user:password" for AUTH PLAIN, empty: no AUTH
    SSL_CTX* tls = nullptr;  // set by main() when starttls
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(
        stderr,
        "smtp_load: %s\n"
        "usage: smtp_load --port N [--host A] [--connections C] (--messages M | --duration S)\n"
        "                 [--size BYTES] [--from ADDR] [--to ADDR] [--helo NAME] [--tag T]\n"
        "                 [--trace FILE] [--timeout S] [--starttls] [--auth USER:PASS]\n",
        why
    );
    std::exit(2);
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage("missing value");
            }
            return argv[++i];
        };
        if (arg == "--host") {
            o.host = value();
        } else if (arg == "--port") {
            o.port = std::atoi(value().c_str());
        } else if (arg == "--connections") {
            o.connections = std::atoi(value().c_str());
        } else if (arg == "--messages") {
            o.messages = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--duration") {
            o.duration_s = std::atof(value().c_str());
        } else if (arg == "--size") {
            o.size = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--from") {
            o.mail_from = value();
        } else if (arg == "--to") {
            o.rcpt_to = value();
        } else if (arg == "--helo") {
            o.helo = value();
        } else if (arg == "--tag") {
            o.tag = value();
        } else if (arg == "--trace") {
            o.trace_path = value();
        } else if (arg == "--timeout") {
            o.timeout_s = std::atof(value().c_str());
        } else if (arg == "--starttls") {
            o.starttls = true;
        } else if (arg == "--auth") {
            o.auth = value();
            if (o.auth.find(':') == std::string::npos) {
                usage("--auth wants USER:PASS");
            }
        } else {
            usage("unknown option");
        }
    }
    if (o.port <= 0 || o.port > 65535 || o.connections <= 0 ||
        (o.messages == 0) == (o.duration_s <= 0)) {
        usage("need --port, --connections > 0 and exactly one of --messages / --duration");
    }
    if (!o.auth.empty() && !o.starttls) {
        usage("--auth needs --starttls (submission servers refuse AUTH in plaintext)");
    }
    return o;
}

std::int64_t unix_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A body of printable 76-column lines, none starting with '.', so no dot-stuffing is needed.
std::string make_body(std::size_t bytes) {
    static constexpr std::string_view kAlphabet =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
    std::string body;
    body.reserve(bytes + 80);
    std::uint32_t x = 2463534242u;  // xorshift32: fixed, so every run sends the same bytes
    while (body.size() < bytes) {
        for (int i = 0; i < 76; ++i) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            body.push_back(kAlphabet[x % kAlphabet.size()]);
        }
        body[body.size() - 76] = 'L';  // never a leading '.' or space
        body += "\r\n";
    }
    return body;
}

struct Result {
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;   // a 4xx/5xx reply to MAIL, RCPT, DATA or the final dot
    std::uint64_t io_errors = 0;  // connection lost / timeout / unparsable reply
    std::uint64_t reconnects = 0;
    std::vector<std::uint32_t> latency_us;
    std::string trace;
};

class Connection {
public:
    explicit Connection(const Options& o) : o_(o) {}
    ~Connection() { close_fd(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool open() {
        close_fd();
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) {
            return false;
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
            close_fd();
            return false;
        }
        buffer_.clear();
        if (read_reply().value_or(0) != 220) {
            return false;
        }
        if (!send_all("EHLO " + o_.helo + "\r\n") || read_reply().value_or(0) != 250) {
            return false;
        }
        if (!o_.starttls) {
            return true;
        }
        // RFC 3207 §4: STARTTLS, 220, handshake; then everything learnt before is forgotten and
        // the client says EHLO again (§4.2).
        if (!send_all("STARTTLS\r\n") || read_reply().value_or(0) != 220 || !buffer_.empty()) {
            return false;
        }
        ssl_ = SSL_new(o_.tls);
        if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1 || SSL_connect(ssl_) != 1) {
            ERR_clear_error();
            return false;
        }
        if (!send_all("EHLO " + o_.helo + "\r\n") || read_reply().value_or(0) != 250) {
            return false;
        }
        if (o_.auth.empty()) {
            return true;
        }
        // RFC 4616 §2: authzid NUL authcid NUL passwd, base64 as the initial response (RFC 4954
        // §4).
        const auto colon = o_.auth.find(':');
        std::string plain;
        plain.push_back('\0');
        plain += o_.auth.substr(0, colon);
        plain.push_back('\0');
        plain += o_.auth.substr(colon + 1);
        std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
        const int len = EVP_EncodeBlock(
            reinterpret_cast<unsigned char*>(encoded.data()),
            reinterpret_cast<const unsigned char*>(plain.data()),
            static_cast<int>(plain.size())
        );
        encoded.resize(static_cast<std::size_t>(len));
        return send_all("AUTH PLAIN " + encoded + "\r\n") && read_reply().value_or(0) == 235;
    }

    bool send_all(std::string_view data) { return send_parts({data}); }

    // One writev for several pieces (command group, or headers + shared body + terminator).
    bool send_parts(std::initializer_list<std::string_view> parts) {
        if (ssl_ != nullptr) {
            // One record group per write, like the one writev below: concatenate first.
            out_.clear();
            for (auto p : parts) {
                out_.append(p);
            }
            // Blocking socket without SSL_MODE_ENABLE_PARTIAL_WRITE: all or an error.
            if (SSL_write(ssl_, out_.data(), static_cast<int>(out_.size())) <= 0) {
                ERR_clear_error();
                return false;
            }
            return true;
        }
        std::vector<iovec> iov;
        for (auto p : parts) {
            iov.push_back({const_cast<char*>(p.data()), p.size()});
        }
        std::size_t index = 0;
        while (index < iov.size()) {
            const auto n = ::writev(fd_, &iov[index], static_cast<int>(iov.size() - index));
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return false;
            }
            auto left = static_cast<std::size_t>(n);
            while (index < iov.size() && left >= iov[index].iov_len) {
                left -= iov[index].iov_len;
                ++index;
            }
            if (index < iov.size()) {
                iov[index].iov_base = static_cast<char*>(iov[index].iov_base) + left;
                iov[index].iov_len -= left;
            }
        }
        return true;
    }

    // The code of one (possibly multi-line, RFC 5321 §4.2.1) reply; nullopt on I/O error.
    std::optional<int> read_reply() {
        for (;;) {
            const auto eol = buffer_.find("\r\n", scan_);
            if (eol == std::string::npos) {
                scan_ = buffer_.size() > 0 ? buffer_.size() - 1 : 0;
                char chunk[4096];
                const auto n = ssl_ != nullptr ? SSL_read(ssl_, chunk, sizeof chunk)
                                               : ::read(fd_, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (n <= 0) {
                    return std::nullopt;
                }
                buffer_.append(chunk, static_cast<std::size_t>(n));
                continue;
            }
            const std::string line = buffer_.substr(0, eol);
            buffer_.erase(0, eol + 2);
            scan_ = 0;
            if (line.size() < 3) {
                return std::nullopt;
            }
            if (line.size() > 3 && line[3] == '-') {
                continue;  // continuation line
            }
            return std::atoi(line.substr(0, 3).c_str());
        }
    }

    bool is_open() const { return fd_ >= 0; }

    void close_fd() {
        if (ssl_ != nullptr) {
            SSL_free(ssl_);  // no close_notify: the socket goes away anyway
            ssl_ = nullptr;
            ERR_clear_error();
        }
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    const Options& o_;
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    std::string out_;
    std::string buffer_;
    std::size_t scan_ = 0;
};

struct Shared {
    const Options& options;
    const std::string& body;
    std::atomic<std::uint64_t> next{0};
    SteadyClock::time_point deadline;
    std::string envelope;  // MAIL + RCPT + DATA, identical for every message

    // The index of the next message to send, or nullopt when the run is over.
    std::optional<std::uint64_t> claim() {
        if (options.messages > 0) {
            const auto n = next.fetch_add(1);
            return n < options.messages ? std::optional(n) : std::nullopt;
        }
        if (SteadyClock::now() >= deadline) {
            return std::nullopt;
        }
        return next.fetch_add(1);
    }
};

void run_connection(Shared& shared, Result& result) {
    const Options& o = shared.options;
    Connection conn(o);
    char header[512];
    while (auto index = shared.claim()) {
        if (!conn.is_open()) {
            if (!conn.open()) {
                ++result.io_errors;
                conn.close_fd();
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
            ++result.reconnects;
        }
        const int header_len = std::snprintf(
            header,
            sizeof header,
            "From: Load <%s>\r\nTo: <%s>\r\nSubject: bench message %" PRIu64
            "\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <bench.%s.%" PRIu64
            "@load.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
            "charset=us-ascii\r\n\r\n",
            o.mail_from.c_str(),
            o.rcpt_to.c_str(),
            *index,
            o.tag.c_str(),
            *index
        );
        const auto send_ns = unix_ns();
        const auto start = SteadyClock::now();
        if (!conn.send_all(shared.envelope)) {
            ++result.io_errors;
            conn.close_fd();
            continue;
        }
        const auto mail = conn.read_reply();
        const auto rcpt = conn.read_reply();
        const auto data = conn.read_reply();
        if (!mail || !rcpt || !data) {
            ++result.io_errors;
            conn.close_fd();
            continue;
        }
        if (*data != 354) {
            // RCPT or MAIL failed, so DATA was refused (RFC 2920 §3.1): reset and go on.
            ++result.rejected;
            if (!conn.send_all("RSET\r\n") || conn.read_reply().value_or(0) != 250) {
                conn.close_fd();
            }
            continue;
        }
        const auto body_size = o.size > static_cast<std::size_t>(header_len)
                                   ? o.size - static_cast<std::size_t>(header_len)
                                   : 0;
        const std::string_view body(shared.body.data(), std::min(body_size, shared.body.size()));
        // The body is cut at a line end so the terminator follows a CRLF.
        const auto cut = body.empty() ? 0 : body.rfind("\r\n") + 2;
        if (!conn.send_parts(
                {std::string_view(header, static_cast<std::size_t>(header_len)),
                 body.substr(0, cut),
                 ".\r\n"}
            )) {
            ++result.io_errors;
            conn.close_fd();
            continue;
        }
        const auto final_reply = conn.read_reply();
        if (!final_reply) {
            ++result.io_errors;
            conn.close_fd();
            continue;
        }
        const auto elapsed = SteadyClock::now() - start;
        if (*final_reply / 100 != 2) {
            ++result.rejected;
            continue;
        }
        ++result.accepted;
        result.latency_us.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()
        ));
        if (!o.trace_path.empty()) {
            char line[256];
            const int n = std::snprintf(
                line,
                sizeof line,
                "bench.%s.%" PRIu64 "@load.test %" PRId64 " %" PRId64 "\n",
                o.tag.c_str(),
                *index,
                send_ns,
                unix_ns()
            );
            result.trace.append(line, static_cast<std::size_t>(n));
        }
    }
    if (conn.is_open() && conn.send_all("QUIT\r\n")) {
        (void)conn.read_reply();
    }
}

double percentile(const std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
    return sorted[rank] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse_options(argc, argv);
    if (o.starttls) {
        o.tls = SSL_CTX_new(TLS_client_method());
        if (o.tls == nullptr) {
            std::fprintf(stderr, "smtp_load: SSL_CTX_new failed\n");
            return 1;
        }
        SSL_CTX_set_verify(o.tls, SSL_VERIFY_NONE, nullptr);
    }
    const std::string body = make_body(o.size + 80);
    Shared shared{
        .options = o,
        .body = body,
        .next = {},
        .deadline = {},
        .envelope = "MAIL FROM:<" + o.mail_from + "> SIZE=" + std::to_string(o.size) +
                    "\r\nRCPT TO:<" + o.rcpt_to + ">\r\nDATA\r\n",
    };

    std::vector<Result> results(static_cast<std::size_t>(o.connections));
    std::vector<std::thread> threads;
    const auto start_ns = unix_ns();
    const auto start = SteadyClock::now();
    shared.deadline = start + std::chrono::duration_cast<SteadyClock::duration>(
                                  std::chrono::duration<double>(o.duration_s)
                              );
    for (auto& r : results) {
        threads.emplace_back([&shared, &r] { run_connection(shared, r); });
    }
    for (auto& t : threads) {
        t.join();
    }
    const double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
    const auto end_ns = unix_ns();

    Result total;
    for (auto& r : results) {
        total.accepted += r.accepted;
        total.rejected += r.rejected;
        total.io_errors += r.io_errors;
        total.reconnects += r.reconnects;
        total.latency_us.insert(total.latency_us.end(), r.latency_us.begin(), r.latency_us.end());
    }
    std::sort(total.latency_us.begin(), total.latency_us.end());
    double mean = 0;
    for (auto v : total.latency_us) {
        mean += v;
    }
    mean =
        total.latency_us.empty() ? 0 : mean / static_cast<double>(total.latency_us.size()) / 1000;

    if (!o.trace_path.empty()) {
        if (FILE* f = std::fopen(o.trace_path.c_str(), "w")) {
            for (const auto& r : results) {
                std::fwrite(r.trace.data(), 1, r.trace.size(), f);
            }
            std::fclose(f);
        } else {
            std::fprintf(stderr, "smtp_load: cannot write %s\n", o.trace_path.c_str());
            return 1;
        }
    }

    std::printf(
        "{\"connections\": %d, \"size\": %zu, \"accepted\": %" PRIu64 ", \"rejected\": %" PRIu64
        ", \"io_errors\": %" PRIu64 ", \"connects\": %" PRIu64
        ", \"elapsed_s\": %.6f, \"start_unix_ns\": %" PRId64 ", \"end_unix_ns\": %" PRId64
        ", \"accepted_per_s\": %.2f, \"latency_ms\": {\"mean\": %.3f, \"p50\": %.3f, \"p90\": "
        "%.3f, \"p99\": %.3f, \"max\": %.3f}}\n",
        o.connections,
        o.size,
        total.accepted,
        total.rejected,
        total.io_errors,
        total.reconnects,
        elapsed,
        start_ns,
        end_ns,
        elapsed > 0 ? static_cast<double>(total.accepted) / elapsed : 0.0,
        mean,
        percentile(total.latency_us, 50),
        percentile(total.latency_us, 90),
        percentile(total.latency_us, 99),
        total.latency_us.empty() ? 0.0 : total.latency_us.back() / 1000.0
    );
    return total.accepted > 0 ? 0 : 1;
}
