#include "smtp/wire/dot_decoder.hpp"

#include <string>

#include <gtest/gtest.h>

#include "smtp/wire/detail/dot_reference.hpp"

namespace sov::smtp::wire {
namespace {

struct Decoded {
    std::string body;
    bool done = false;
    std::size_t end = 0;
    bool bad = false;
    friend bool operator==(const Decoded&, const Decoded&) = default;
};

std::ostream& operator<<(std::ostream& os, const Decoded& d) {
    return os << "{body=" << testing::PrintToString(d.body) << " done=" << d.done
              << " end=" << d.end << " bad=" << d.bad << "}";
}

// Feeds `wire` as a driver would: `split` bytes first, then the rest, keeping unconsumed bytes.
Decoded decode_split(std::string_view wire, std::size_t split, BareLineEnding policy) {
    DotDecoder dec(policy);
    Decoded out;
    std::string buffer(wire.substr(0, split));
    std::size_t fed = split;
    std::size_t used = 0;
    for (;;) {
        const auto s = dec.decode(buffer);
        out.body.append(s.data);
        buffer.erase(0, s.consumed);
        used += s.consumed;
        if (s.done) {
            out.done = true;
            break;
        }
        if (s.consumed == 0) {
            if (fed == wire.size()) {
                break;
            }
            buffer += wire.substr(fed);
            fed = wire.size();
        }
    }
    out.end = used;
    out.bad = dec.bad_line_ending();
    return out;
}

Decoded reference(std::string_view wire, BareLineEnding policy) {
    const auto r = detail::dot_reference(wire, policy);
    return {r.body, r.done, r.end, r.bad};
}

TEST(DotDecoder, UnstuffsAndEndsAtEveryOffset) {
    // Bytes after the terminator (a pipelined QUIT) are not consumed.
    const std::string wire = "Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n";
    const Decoded expected{"Subject: x\r\n\r\n.leading dot\r\n", true, 32, false};
    for (std::size_t split = 0; split <= wire.size(); ++split) {
        EXPECT_EQ(decode_split(wire, split, BareLineEnding::Normalize), expected)
            << "split at " << split;
    }
}

TEST(DotDecoder, PlainLinesComeInOneStep) {
    // Whole CRLF lines are passed on together, up to a line that starts with a dot or has an odd
    // line end: a 100 KB body is a few dozen steps, not two per line.
    DotDecoder dec;
    std::string_view wire = "one\r\ntwo\r\n..three\r\nfour\r\rfive\r\n.\r\n";
    auto s = dec.decode(wire);
    EXPECT_EQ(s.data, "one\r\ntwo\r\n");
    wire.remove_prefix(s.consumed);
    s = dec.decode(wire);  // the stuffing dot
    EXPECT_EQ(s.consumed, 1U);
    wire.remove_prefix(s.consumed);
    s = dec.decode(wire);  // the rest of its line; "four\r\r" holds a bare CR
    EXPECT_EQ(s.data, ".three\r\n");
    wire.remove_prefix(s.consumed);
    s = dec.decode(wire);
    EXPECT_EQ(s.data, "four");
    EXPECT_FALSE(dec.bad_line_ending());
}

TEST(DotDecoder, EmptyMessage) {
    EXPECT_EQ(decode_split(".\r\n", 1, BareLineEnding::Normalize), (Decoded{"", true, 3, false}));
}

TEST(DotDecoder, SmugglingSequencesDoNotEnd) {
    // SEC Consult 2023 variants: none of these may end the data.
    for (const char* bad : {"a\n.\nb", "a\n.\r\nb", "a\r\n.\nb", "a\r.\r\nb", "a\r\n.\rb"}) {
        const auto d = decode_split(bad, 0, BareLineEnding::Normalize);
        EXPECT_FALSE(d.done) << testing::PrintToString(std::string(bad));
    }
    // Normalize: bare LF lines are stored as CRLF lines; ".\r\n" after a bare LF is content.
    auto d = decode_split("a\n.\r\nb\r\n.\r\n", 0, BareLineEnding::Normalize);
    EXPECT_TRUE(d.done);
    EXPECT_FALSE(d.bad);
    EXPECT_EQ(d.body, "a\r\n.\r\nb\r\n");
    // Reject: the same input is refused.
    d = decode_split("a\n.\r\nb\r\n.\r\n", 0, BareLineEnding::Reject);
    EXPECT_TRUE(d.done);
    EXPECT_TRUE(d.bad);
    // A bare CR is refused under both policies.
    d = decode_split("a\r.\r\n.\r\n", 0, BareLineEnding::Normalize);
    EXPECT_TRUE(d.done);
    EXPECT_TRUE(d.bad);
}

TEST(DotDecoder, MatchesReferenceAtEverySplit) {
    const std::string samples[] = {
        "hello\r\n.\r\n",
        "..\r\n...\r\n.x\r\n.\r\n",
        "a\nb\n..c\n.\n.\r\n",
        "\r\r\n.\r\r\n\n.\r\n\r\n.\r\n",
        ".\n.\r\n.\r\n",
        "x\r\n.\r\r\n.\r\n",
        "no end \r\n..",
    };
    for (const auto policy : {BareLineEnding::Normalize, BareLineEnding::Reject}) {
        for (const auto& s : samples) {
            const auto expected = reference(s, policy);
            for (std::size_t split = 0; split <= s.size(); ++split) {
                auto got = decode_split(s, split, policy);
                if (!expected.done) {
                    // Without an end, the two only agree on the common prefix (the reference
                    // sees whole lines, the decoder holds back at most 3 bytes).
                    EXPECT_FALSE(got.done);
                    const auto n = std::min(got.body.size(), expected.body.size());
                    EXPECT_EQ(expected.body.substr(0, n), got.body.substr(0, n));
                    continue;
                }
                EXPECT_EQ(got, expected) << testing::PrintToString(s) << " split " << split;
            }
        }
    }
}

}  // namespace
}  // namespace sov::smtp::wire
