#include "net/stream.hpp"

#include <future>
#include <memory>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/error.hpp>
#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace sov::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A connected pair of Streams over loopback, TLS set up on both (server: our context; client:
// no verification, which is not what these tests are about).
class StreamPair : public ::testing::Test {
protected:
    void SetUp() override {
        std::string error;
        ASSERT_TRUE(write_self_signed_certificate(
            "mail.example.test", dir_.path() / "cert.pem", dir_.path() / "key.pem", error
        )) << error;
        auto server_context =
            make_server_context(dir_.path() / "cert.pem", dir_.path() / "key.pem", error);
        ASSERT_TRUE(server_context) << error;
        server_context_ = *server_context;
        client_context_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);

        tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        tcp::socket client_socket(io_);
        client_socket.connect(acceptor.local_endpoint());
        tcp::socket server_socket = acceptor.accept();
        server_ = std::make_unique<Stream>(boost::beast::tcp_stream(std::move(server_socket)));
        client_ = std::make_unique<Stream>(boost::beast::tcp_stream(std::move(client_socket)));
    }

    // Runs `body` to completion on the test's io_context (not until the context runs out of
    // work: a Stream's deadline timer stays armed after its operation, see Stream::Deadline).
    template <class T>
    T run(asio::awaitable<T> body) {
        auto future = asio::co_spawn(io_, std::move(body), asio::use_future);
        io_.restart();
        while (future.wait_for(0s) != std::future_status::ready && io_.run_one() > 0) {
        }
        return future.get();
    }

    // The result of a coroutine spawned on the test's loop, awaited without blocking the loop
    // (both sides of a pair run on the same thread).
    template <class T>
    asio::awaitable<T> finished(std::future<T>& future) {
        while (future.wait_for(0s) != std::future_status::ready) {
            co_await asio::post(io_, asio::use_awaitable);
        }
        co_return future.get();
    }

    asio::awaitable<bool> handshake() {
        auto server = [this]() -> asio::awaitable<ErrorCode> {
            co_return co_await server_->handshake_server(server_context_, 5s);
        };
        auto server_result = asio::co_spawn(io_, server(), asio::use_future);
        const auto client_ec =
            co_await client_->handshake_client(client_context_, [](SSL*) { return true; }, 5s);
        const auto server_ec = co_await finished(server_result);
        co_return !client_ec && !server_ec;
    }

    // Reads until `n` bytes arrived or an error.
    asio::awaitable<std::pair<ErrorCode, std::string>> read_exactly(Stream& s, std::size_t n) {
        std::string got;
        std::string chunk(4096, '\0');
        while (got.size() < n) {
            auto [ec, k] = co_await s.read_some(asio::buffer(chunk), 5s);
            if (ec) {
                co_return std::pair{ec, got};
            }
            got.append(chunk, 0, k);
        }
        co_return std::pair{ErrorCode{}, got};
    }

    test::TempDir dir_;
    asio::io_context io_;
    SslContextPtr server_context_;
    SslContextPtr client_context_;
    std::unique_ptr<Stream> server_;
    std::unique_ptr<Stream> client_;
};

TEST_F(StreamPair, TlsCarriesDataLargerThanManyRecordsBothWays) {
    ASSERT_TRUE(run(handshake()));
    EXPECT_TRUE(server_->is_tls());
    EXPECT_NE(server_->tls_description().find("TLSv1.3"), std::string::npos);
    std::string big(1 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); i += 7) {
        big[i] = static_cast<char>('a' + i % 26);
    }
    // The client writes 1 MB while the server reads it: both must progress together.
    auto exchange = [&]() -> asio::awaitable<bool> {
        auto writer = asio::co_spawn(io_, client_->write_all(big, 5s), asio::use_future);
        auto [ec, got] = co_await read_exactly(*server_, big.size());
        const auto written = co_await finished(writer);
        co_return !ec && !written && got == big;
    };
    EXPECT_TRUE(run(exchange()));
    auto reply = [&]() -> asio::awaitable<bool> {
        if (co_await server_->write_all("pong\r\n", 5s)) {
            co_return false;
        }
        auto [ec, got] = co_await read_exactly(*client_, 6);
        co_return !ec && got == "pong\r\n";
    };
    EXPECT_TRUE(run(reply()));
}

// A write larger than the socket's buffers hold, to a peer that reads only once the writer is
// stuck, waits for room record by record and arrives whole and in order.
TEST_F(StreamPair, LargeWriteToASlowReaderArrivesWhole) {
    ASSERT_TRUE(run(handshake()));
    std::string big(16 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>('a' + (i / 4093 + i) % 26);
    }
    auto exchange = [&]() -> asio::awaitable<bool> {
        auto writer = asio::co_spawn(io_, server_->write_all(big, 5s), asio::use_future);
        // The writer runs until the socket is full before this reader first reads.
        co_await asio::post(io_, asio::use_awaitable);
        auto [ec, got] = co_await read_exactly(*client_, big.size());
        const auto written = co_await finished(writer);
        co_return !ec && !written && got == big;
    };
    EXPECT_TRUE(run(exchange()));
}

// A write that a peer never reads is held to its deadline.
TEST_F(StreamPair, LargeWriteToAPeerThatNeverReadsTimesOut) {
    ASSERT_TRUE(run(handshake()));
    const std::string big(16 << 20, 'x');
    EXPECT_EQ(run(server_->write_all(big, 200ms)), boost::beast::error::timeout);
}

TEST_F(StreamPair, ReadTimesOutWhenThePeerIsSilent) {
    ASSERT_TRUE(run(handshake()));
    auto silent = [&]() -> asio::awaitable<ErrorCode> {
        std::string buf(16, '\0');
        auto [ec, n] = co_await server_->read_some(asio::buffer(buf), 50ms);
        co_return ec;
    };
    EXPECT_EQ(run(silent()), boost::beast::error::timeout);
}

// Each read is held to its own deadline, whichever came before (the timer is re-armed, not
// restarted, per operation: Stream::Deadline).
TEST_F(StreamPair, EachReadHasItsOwnDeadline) {
    ASSERT_TRUE(run(handshake()));
    // The client writes `text` after `delay`.
    auto send_later = [&](std::chrono::milliseconds delay, std::string text) {
        auto timer = std::make_shared<asio::steady_timer>(io_, delay);
        timer->async_wait([this, timer, text = std::move(text)](const ErrorCode&) {
            asio::co_spawn(io_, client_->write_all(text, 5s), asio::detached);
        });
    };
    auto reads = [&]() -> asio::awaitable<bool> {
        std::string buf(16, '\0');
        // A short deadline the read meets; the next read waits past it, within its own.
        send_later(20ms, "a");
        auto [ec1, n1] = co_await server_->read_some(asio::buffer(buf), 300ms);
        send_later(600ms, "b");
        auto [ec2, n2] = co_await server_->read_some(asio::buffer(buf), 5s);
        if (ec1 || n1 != 1 || ec2 || n2 != 1 || buf[0] != 'b') {
            co_return false;
        }
        // A long deadline met, then a short one missed: the short one counts.
        send_later(20ms, "c");
        auto [ec3, n3] = co_await server_->read_some(asio::buffer(buf), 10s);
        const auto started = std::chrono::steady_clock::now();
        auto [ec4, n4] = co_await server_->read_some(asio::buffer(buf), 100ms);
        const auto waited = std::chrono::steady_clock::now() - started;
        co_return !ec3 && n3 == 1 && ec4 == boost::beast::error::timeout && waited < 2s;
    };
    EXPECT_TRUE(run(reads()));
}

TEST_F(StreamPair, CancelEndsAPendingRead) {
    ASSERT_TRUE(run(handshake()));
    auto waiting = [&]() -> asio::awaitable<ErrorCode> {
        asio::post(io_, [&] { server_->cancel(); });
        std::string buf(16, '\0');
        auto [ec, n] = co_await server_->read_some(asio::buffer(buf), 5s);
        co_return ec;
    };
    EXPECT_EQ(run(waiting()), asio::error::operation_aborted);
}

TEST_F(StreamPair, PeerCloseIsEndOfStream) {
    ASSERT_TRUE(run(handshake()));
    client_->close();
    auto reading = [&]() -> asio::awaitable<ErrorCode> {
        std::string buf(16, '\0');
        auto [ec, n] = co_await server_->read_some(asio::buffer(buf), 5s);
        co_return ec;
    };
    EXPECT_EQ(run(reading()), asio::error::eof);
}

// A lingering close: our side ends its direction, the peer sees the end at once and may still
// send; we still read it.
TEST_F(StreamPair, ShutdownSendEndsOurDirectionOnly) {
    ASSERT_TRUE(run(handshake()));
    auto closing = [&]() -> asio::awaitable<bool> {
        if (co_await server_->shutdown_send(5s)) {
            co_return false;
        }
        std::string buf(16, '\0');
        auto [client_ec, n] = co_await client_->read_some(asio::buffer(buf), 5s);
        if (client_ec != asio::error::eof) {
            co_return false;
        }
        if (co_await client_->write_all("late", 5s)) {
            co_return false;
        }
        auto [ec, got] = co_await read_exactly(*server_, 4);
        co_return !ec && got == "late";
    };
    EXPECT_TRUE(run(closing()));
}

TEST_F(StreamPair, PlaintextBytesWhereTlsIsExpectedFailTheHandshake) {
    auto attempt = [&]() -> asio::awaitable<ErrorCode> {
        co_await client_->write_all("EHLO plaintext.example\r\n", 5s);
        co_return co_await server_->handshake_server(server_context_, 5s);
    };
    const auto ec = run(attempt());
    EXPECT_TRUE(ec);
    EXPECT_NE(ec, boost::beast::error::timeout);
}

// A read pending (IMAP IDLE) while the other direction writes and times out on its own clock.
TEST_F(StreamPair, ReadAndWriteMayBePendingTogether) {
    ASSERT_TRUE(run(handshake()));
    auto both = [&]() -> asio::awaitable<bool> {
        auto reader = asio::co_spawn(io_, read_exactly(*server_, 4), asio::use_future);
        if (co_await server_->write_all("* 3 EXISTS\r\n", 5s)) {
            co_return false;
        }
        auto [ec, got] = co_await read_exactly(*client_, 12);
        if (ec || got != "* 3 EXISTS\r\n") {
            co_return false;
        }
        if (co_await client_->write_all("DONE", 5s)) {
            co_return false;
        }
        auto [read_ec, read] = co_await finished(reader);
        co_return !read_ec && read == "DONE";
    };
    EXPECT_TRUE(run(both()));
}

}  // namespace
}  // namespace sov::net
