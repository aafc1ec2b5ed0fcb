// pingpong: what one round trip on loopback costs on this host, without any server. Two
// processes exchange one byte over TCP 20,000 times; the child answers either from a blocking
// recv() or by polling with non-blocking recv() (`spin`). Prints percentiles in µs.
//
//   build/release/bench/pingpong          # both sides block: a reply may wake a halted CPU
//   build/release/bench/pingpong spin     # the answering side never sleeps
//
// On a VM without guest halt polling the blocking case is bimodal: same-CPU or awake-CPU
// round trips of ~10 µs, and ones that wait for the hypervisor to wake a vCPU (bench/README.md,
// IMAP, session 14). That floor is the same for every IMAP server measured here.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

namespace {

constexpr int kRounds = 20'000;

void no_delay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

[[noreturn]] void answer(int listener, bool spin) {
    const int fd = ::accept(listener, nullptr, nullptr);
    no_delay(fd);
    char byte = 0;
    for (;;) {
        ssize_t n = 0;
        do {
            n = ::recv(fd, &byte, 1, spin ? MSG_DONTWAIT : 0);
        } while (spin && n < 0);
        if (n <= 0 || ::send(fd, &byte, 1, 0) != 1) {
            _exit(0);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const bool spin = argc > 1 && std::strcmp(argv[1], "spin") == 0;
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener, 1) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        std::perror("pingpong: listen");
        return 1;
    }
    const pid_t child = ::fork();
    if (child == 0) {
        answer(listener, spin);
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("pingpong: connect");
        return 1;
    }
    no_delay(fd);
    std::vector<double> micros;
    micros.reserve(kRounds);
    char byte = 'x';
    for (int i = 0; i < kRounds; ++i) {
        const auto start = std::chrono::steady_clock::now();
        if (::send(fd, &byte, 1, 0) != 1 || ::recv(fd, &byte, 1, 0) != 1) {
            std::perror("pingpong: round trip");
            return 1;
        }
        micros.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                .count()
        );
    }
    ::close(fd);
    ::waitpid(child, nullptr, 0);
    std::sort(micros.begin(), micros.end());
    std::printf("%s:", spin ? "spin" : "blocking");
    for (const int q : {10, 25, 50, 75, 90, 95, 99}) {
        std::printf(" p%d %.1f", q, micros[micros.size() * static_cast<std::size_t>(q) / 100]);
    }
    std::printf(" (µs, %d round trips)\n", kRounds);
    return 0;
}
