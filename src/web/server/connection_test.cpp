#include "web/server/connection.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "accounts/directory.hpp"
#include "support/temp_dir.hpp"

namespace sov::web::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
const std::string kPolicy =
    "version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\n"
    "max_age: 604800\r\n";

/// What the client saw: every byte until the server closed (or the client gave up).
struct Seen {
    std::string bytes;
    bool closed_by_server = false;
    std::chrono::steady_clock::duration elapsed{};
};

/// One server connection on loopback and a scripted client, in one io_context that runs for at
/// most a few seconds: a hung connection fails the test instead of hanging it.
class Loopback : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = accounts::Directory::open(dir_.path() / "accounts.db");
        ASSERT_TRUE(opened);
        directory_ = std::move(*opened);
        ASSERT_TRUE(directory_->add_domain("example.test"));
        ASSERT_TRUE(directory_->add_domain_alias("alias.test", "example.test"));
        settings_.mta_sts_policy = kPolicy;
        // The test client reads until the server closes, so each lingering close lasts this long.
        settings_.linger_timeout = 200ms;
        services_ = ConnectionServices{
            .tls = nullptr, .registry = &registry_, .pool = nullptr, .directory = directory_.get()
        };
    }

    /// Sends `request` (then, if `pause`, waits that long and sends `after`), and reads until
    /// the server closes.
    Seen talk(
        std::string request,
        std::optional<std::chrono::milliseconds> pause = std::nullopt,
        std::string after = {}
    ) {
        tcp::acceptor acceptor{ioc_, {asio::ip::make_address("127.0.0.1"), 0}};
        const auto endpoint = acceptor.local_endpoint();
        bool server_done = false;
        auto serve = [&]() -> asio::awaitable<void> {
            auto socket = co_await acceptor.async_accept(asio::use_awaitable);
            co_await run_connection(
                boost::beast::tcp_stream{std::move(socket)}, "test", settings_, services_
            );
            server_done = true;
        };
        Seen seen;
        auto client = [&]() -> asio::awaitable<void> {
            const auto start = std::chrono::steady_clock::now();
            tcp::socket socket{ioc_};
            co_await socket.async_connect(endpoint, asio::use_awaitable);
            co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
            if (pause) {
                asio::steady_timer timer{ioc_, *pause};
                co_await timer.async_wait(asio::use_awaitable);
                if (!after.empty()) {
                    co_await asio::async_write(socket, asio::buffer(after), kTuple);
                }
            }
            std::array<char, 4096> buffer{};
            while (true) {
                auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), kTuple);
                seen.bytes.append(buffer.data(), n);
                if (ec) {
                    seen.closed_by_server = ec == asio::error::eof;
                    break;
                }
            }
            seen.elapsed = std::chrono::steady_clock::now() - start;
        };
        auto rethrow = [](const std::exception_ptr& e) {
            if (e) {
                std::rethrow_exception(e);
            }
        };
        asio::co_spawn(ioc_, serve(), rethrow);
        asio::co_spawn(ioc_, client(), rethrow);
        ioc_.run_for(10s);
        ioc_.restart();
        EXPECT_TRUE(server_done) << "the connection did not end";
        return seen;
    }

    static std::size_t count(const std::string& text, std::string_view what) {
        std::size_t n = 0;
        for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
            ++n;
        }
        return n;
    }

    test::TempDir dir_;
    std::unique_ptr<accounts::Directory> directory_;
    asio::io_context ioc_;
    net::SessionRegistry registry_;
    ConnectionSettings settings_;
    ConnectionServices services_;
};

TEST_F(Loopback, ServesThePolicyAndClosesOnRequest) {
    const auto seen = talk(
        "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.Example.test:443\r\n"
        "Connection: close\r\n\r\n"
    );
    EXPECT_TRUE(seen.bytes.starts_with("HTTP/1.1 200 OK\r\n")) << seen.bytes;
    EXPECT_NE(seen.bytes.find("\r\nContent-Type: text/plain\r\n"), std::string::npos);
    EXPECT_NE(seen.bytes.find("\r\nConnection: close\r\n"), std::string::npos);
    EXPECT_TRUE(seen.bytes.ends_with("\r\n\r\n" + kPolicy)) << seen.bytes;
    EXPECT_TRUE(seen.closed_by_server);
}

TEST_F(Loopback, DomainAliasesAndUnknownHosts) {
    auto seen = talk(
        "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.alias.test\r\n"
        "Connection: close\r\n\r\n"
    );
    EXPECT_TRUE(seen.bytes.starts_with("HTTP/1.1 200 OK\r\n")) << seen.bytes;
    seen = talk(
        "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.unknown.test\r\n"
        "Connection: close\r\n\r\n"
    );
    EXPECT_TRUE(seen.bytes.starts_with("HTTP/1.1 404 Not Found\r\n")) << seen.bytes;
}

TEST_F(Loopback, KeepAliveAndPipelining) {
    // Three requests in one segment: answered in order on one connection, the last one closes.
    const auto seen = talk(
        "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
        "\r\n"  // RFC 9112 §2.2: a stray empty line before a request-line is ignored
        "HEAD /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.test\r\n\r\n"
        "GET /nothing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    );
    EXPECT_EQ(count(seen.bytes, "HTTP/1.1 200 OK\r\n"), 2U) << seen.bytes;
    EXPECT_EQ(count(seen.bytes, "HTTP/1.1 404 Not Found\r\n"), 1U) << seen.bytes;
    // HEAD: the policy's length, no policy bytes.
    EXPECT_NE(
        seen.bytes.find("Content-Length: " + std::to_string(kPolicy.size())), std::string::npos
    );
    EXPECT_EQ(seen.bytes.find("STSv1"), std::string::npos);
    EXPECT_EQ(count(seen.bytes, "Connection: close"), 1U);
    EXPECT_TRUE(seen.closed_by_server);
}

TEST_F(Loopback, SecondRequestAfterAPause) {
    const auto seen = talk(
        "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
        50ms,
        "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    );
    EXPECT_EQ(count(seen.bytes, "HTTP/1.1 200 OK\r\n"), 2U) << seen.bytes;
}

TEST_F(Loopback, IdleConnectionIsClosedSilently) {
    settings_.idle_timeout = 200ms;
    const auto seen = talk("");
    EXPECT_EQ(seen.bytes, "");
    EXPECT_TRUE(seen.closed_by_server);
    EXPECT_GE(seen.elapsed, 190ms);
    EXPECT_LT(seen.elapsed, 5s);
}

TEST_F(Loopback, KeepAliveIdleTimeout) {
    settings_.idle_timeout = 200ms;
    const auto seen = talk("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(count(seen.bytes, "HTTP/1.1 200 OK\r\n"), 1U);
    EXPECT_TRUE(seen.closed_by_server);
    EXPECT_LT(seen.elapsed, 5s);
}

TEST_F(Loopback, SlowHeadIsDisconnected) {
    // A head that starts and never ends (slowloris): closed at the header deadline, though
    // bytes kept arriving before it. The idle timeout is long, so only the header deadline can
    // end this.
    settings_.header_timeout = 300ms;
    settings_.idle_timeout = 30s;
    const auto seen = talk("GET /healthz HTTP/1.1\r\nHost: a\r\n", 150ms, "X-Slow: 1\r\n");
    EXPECT_EQ(seen.bytes, "");
    EXPECT_TRUE(seen.closed_by_server);
    EXPECT_GE(seen.elapsed, 290ms);  // steady timers may fire a little early
    EXPECT_LT(seen.elapsed, 5s);
}

TEST_F(Loopback, OversizedHeadGets431) {
    settings_.limits.max_header_bytes = 1024;
    const auto seen =
        talk("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4000, 'x') + "\r\n\r\n");
    EXPECT_TRUE(seen.bytes.starts_with("HTTP/1.1 431 ")) << seen.bytes;
    EXPECT_TRUE(seen.closed_by_server);  // after the linger, a clean close rather than a reset
}

TEST_F(Loopback, BodyGets413AndClose) {
    const auto seen = talk(
        "POST /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.test\r\n"
        "Content-Length: 10000\r\n\r\n" +
        std::string(10000, 'b')
    );
    EXPECT_TRUE(seen.bytes.starts_with("HTTP/1.1 413 ")) << seen.bytes;
    EXPECT_NE(seen.bytes.find("Connection: close"), std::string::npos);
    EXPECT_TRUE(seen.closed_by_server);
}

TEST_F(Loopback, MethodNotAllowedKeepsTheConnection) {
    const auto seen = talk(
        "DELETE /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    );
    EXPECT_TRUE(seen.bytes.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << seen.bytes;
    EXPECT_NE(seen.bytes.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
    EXPECT_EQ(count(seen.bytes, "HTTP/1.1 200 OK\r\n"), 1U);
}

TEST_F(Loopback, GarbageGets400) {
    const auto seen = talk("\x16\x03\x01\x02\x05\x01 hello\r\n\r\n");
    EXPECT_TRUE(seen.bytes.starts_with("HTTP/1.1 400 Bad Request\r\n")) << seen.bytes;
    EXPECT_TRUE(seen.closed_by_server);
}

TEST_F(Loopback, MaxRequestsPerConnection) {
    settings_.max_requests = 2;
    const auto seen = talk(
        "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
    );
    EXPECT_EQ(count(seen.bytes, "HTTP/1.1 200 OK\r\n"), 2U) << seen.bytes;
    EXPECT_EQ(count(seen.bytes, "Connection: close"), 1U);
    EXPECT_TRUE(seen.closed_by_server);
}

TEST_F(Loopback, ShutdownEndsAnIdleConnection) {
    settings_.idle_timeout = 30s;
    asio::steady_timer stop{ioc_, 100ms};
    stop.async_wait([this](const boost::system::error_code&) { registry_.stop_all(); });
    const auto seen = talk("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(count(seen.bytes, "HTTP/1.1 200 OK\r\n"), 1U);
    EXPECT_TRUE(seen.closed_by_server);
    EXPECT_LT(seen.elapsed, 5s);
    EXPECT_EQ(registry_.size(), 0U);
}

}  // namespace
}  // namespace sov::web::server
