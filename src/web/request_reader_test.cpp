#include "web/request_reader.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sov::web {
namespace {

const std::string kGet =
    "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.test\r\n"
    "User-Agent: test\r\nAccept: */*\r\n\r\n";

/// Feeds `wire` as a driver does: each step sees every unconsumed byte received so far.
struct Fed {
    ReadStep last;
    std::size_t consumed = 0;
};

Fed feed_in_pieces(RequestReader& reader, std::string_view wire, std::size_t piece) {
    std::string buffered;
    Fed fed;
    std::size_t offset = 0;
    while (offset < wire.size()) {
        const std::size_t n = std::min(piece, wire.size() - offset);
        buffered.append(wire.substr(offset, n));
        offset += n;
        fed.last = reader.feed(buffered);
        fed.consumed += fed.last.consumed;
        buffered.erase(0, fed.last.consumed);
        if (fed.last.status != ReadStatus::NeedMore) {
            break;
        }
    }
    return fed;
}

TEST(RequestReader, ReadsAGet) {
    RequestReader reader;
    const auto step = reader.feed(kGet);
    ASSERT_EQ(step.status, ReadStatus::Complete);
    EXPECT_EQ(step.consumed, kGet.size());
    const auto& request = reader.request();
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.target, "/.well-known/mta-sts.txt");
    EXPECT_EQ(request.host_fields, std::vector<std::string>{"mta-sts.example.test"});
    EXPECT_EQ(request.version, 11U);
    EXPECT_TRUE(request.keep_alive);
    EXPECT_FALSE(request.has_body);
}

TEST(RequestReader, EverySplitPointGivesTheSameRequest) {
    // STYLE.md §3.11 #2: chunking must not matter.
    for (std::size_t split = 1; split < kGet.size(); ++split) {
        RequestReader reader;
        std::string buffered = kGet.substr(0, split);
        auto step = reader.feed(buffered);
        ASSERT_EQ(step.status, ReadStatus::NeedMore) << "split at " << split;
        buffered.erase(0, step.consumed);
        buffered += kGet.substr(split);
        const auto second = reader.feed(buffered);
        ASSERT_EQ(second.status, ReadStatus::Complete) << "split at " << split;
        EXPECT_EQ(step.consumed + second.consumed, kGet.size()) << "split at " << split;
        EXPECT_EQ(reader.request().target, "/.well-known/mta-sts.txt");
        EXPECT_EQ(reader.request().host_fields.size(), 1U);
    }
}

TEST(RequestReader, ByteAtATime) {
    RequestReader reader;
    const auto fed = feed_in_pieces(reader, kGet, 1);
    ASSERT_EQ(fed.last.status, ReadStatus::Complete);
    EXPECT_EQ(fed.consumed, kGet.size());
}

TEST(RequestReader, PipelinedRequestsStayForTheNextTurn) {
    RequestReader reader;
    const std::string two = kGet + "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    auto step = reader.feed(two);
    ASSERT_EQ(step.status, ReadStatus::Complete);
    EXPECT_EQ(step.consumed, kGet.size());
    reader.reset();
    step = reader.feed(std::string_view(two).substr(kGet.size()));
    ASSERT_EQ(step.status, ReadStatus::Complete);
    EXPECT_EQ(reader.request().method, "HEAD");
    EXPECT_FALSE(reader.request().keep_alive);
}

TEST(RequestReader, Http10IsNotKeptAlive) {
    RequestReader reader;
    const auto step = reader.feed("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_EQ(step.status, ReadStatus::Complete);
    EXPECT_EQ(reader.request().version, 10U);
    EXPECT_TRUE(reader.request().host_fields.empty());
    EXPECT_FALSE(reader.request().keep_alive);
}

TEST(RequestReader, BodiesAreReportedNotRead) {
    for (const char* framing :
         {"Content-Length: 5\r\n",
          "Transfer-Encoding: chunked\r\n",
          "Transfer-Encoding: gzip, chunked\r\n"}) {
        RequestReader reader;
        const std::string head = std::string("POST / HTTP/1.1\r\nHost: x\r\n") + framing + "\r\n";
        const auto step = reader.feed(head + "hello");
        ASSERT_EQ(step.status, ReadStatus::Complete) << framing;
        EXPECT_EQ(step.consumed, head.size()) << framing;
        EXPECT_TRUE(reader.request().has_body) << framing;
    }
    RequestReader reader;
    ASSERT_EQ(
        reader.feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").status,
        ReadStatus::Complete
    );
    EXPECT_FALSE(reader.request().has_body);
}

TEST(RequestReader, DuplicateHostFieldsAreAllKept) {
    RequestReader reader;
    ASSERT_EQ(
        reader.feed("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n").status, ReadStatus::Complete
    );
    EXPECT_EQ(reader.request().host_fields, (std::vector<std::string>{"a", "b"}));
}

TEST(RequestReader, MalformedHeadsAre400) {
    for (const char* wire :
         {"GET\r\n\r\n",
          "GET / HTTP/1.1 \r\n\r\n",
          "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
          "GET / FTP/1.1\r\n\r\n",
          "GET / HTTP/1.1\r\nHost x\r\n\r\n",
          "GET / HTTP/1.1\r\nHo st: x\r\n\r\n",
          "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
          "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
          "\x16\x03\x01\x02\x05\x01\r\n\r\n"}) {
        RequestReader reader;
        const auto step = reader.feed(wire);
        EXPECT_EQ(step.status, ReadStatus::Error) << wire;
        EXPECT_EQ(step.error_status, 400U) << wire;
        // Spent: nothing more is accepted until reset().
        EXPECT_EQ(reader.feed(kGet).status, ReadStatus::Error);
        reader.reset();
        EXPECT_EQ(reader.feed(kGet).status, ReadStatus::Complete);
    }
}

TEST(RequestReader, NulInsideAFieldValueIs400) {
    RequestReader reader;
    static constexpr char kWire[] = "GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n";
    const std::string wire(kWire, sizeof kWire - 1);
    const auto step = reader.feed(wire);
    EXPECT_EQ(step.status, ReadStatus::Error);
    EXPECT_EQ(step.error_status, 400U);
}

TEST(RequestReader, OversizedHeadIs431AtOnce) {
    RequestReader reader(ReaderLimits{.max_header_bytes = 1024});
    const std::string wire =
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
    const auto step = reader.feed(wire);
    EXPECT_EQ(step.status, ReadStatus::Error);
    EXPECT_EQ(step.error_status, 431U);
}

TEST(RequestReader, OversizedHeadIs431WhenTrickled) {
    // Many small fields, each complete: Beast's own limit applies per call, ours to the whole head.
    for (const std::size_t piece : {1UL, 7UL, 100UL, 1000UL}) {
        RequestReader reader(ReaderLimits{.max_header_bytes = 1024});
        std::string wire = "GET / HTTP/1.1\r\nHost: x\r\n";
        for (int i = 0; i < 200; ++i) {
            wire += "X-F: v\r\n";
        }
        wire += "\r\n";
        const auto fed = feed_in_pieces(reader, wire, piece);
        EXPECT_EQ(fed.last.status, ReadStatus::Error) << piece;
        EXPECT_EQ(fed.last.error_status, 431U) << piece;
        // Memory stays bounded: Beast parses at most one limit's worth per call.
        EXPECT_LE(fed.consumed, 1024U + piece) << piece;
    }
}

TEST(RequestReader, HeadJustUnderTheLimitIsAccepted) {
    const std::string start = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    const std::size_t limit = 1024;
    const std::string wire = start + std::string(limit - start.size() - 5, 'p') + "\r\n\r\n";
    ASSERT_EQ(wire.size(), limit - 1);
    for (const std::size_t piece : {1UL, 13UL, limit}) {
        RequestReader reader(ReaderLimits{.max_header_bytes = limit});
        const auto fed = feed_in_pieces(reader, wire, piece);
        EXPECT_EQ(fed.last.status, ReadStatus::Complete) << piece;
    }
}

TEST(RequestReader, IncompleteHeadNeedsMore) {
    RequestReader reader;
    auto step = reader.feed("");
    EXPECT_EQ(step.status, ReadStatus::NeedMore);
    step = reader.feed("GET / HTTP/1.1\r\nHost: x\r\n");
    EXPECT_EQ(step.status, ReadStatus::NeedMore);
}

}  // namespace
}  // namespace sov::web
