// Sequence sets, modified UTF-7 and literal markers.
#include <gtest/gtest.h>

#include "imap/wire/literal.hpp"
#include "imap/wire/sequence_set.hpp"
#include "mime/mutf7.hpp"

namespace sov::imap::wire {
namespace {

TEST(ImapSequenceSet, ParsesAndPrints) {
    const auto s = parse_sequence_set("1:3,5,7:*,*:9,4294967295");
    ASSERT_TRUE(s);
    ASSERT_EQ(s->ranges.size(), 5U);
    EXPECT_EQ(s->ranges[2], (SeqRange{7, kStar}));
    EXPECT_EQ(to_string(*s), "1:3,5,7:*,*:9,4294967295");
    EXPECT_TRUE(parse_sequence_set("$")->saved);
    for (const char* bad : {"", "0", "1:", ":1", "1,,2", "4294967296", "1:0", "01", "$,1", "a"}) {
        EXPECT_FALSE(parse_sequence_set(bad)) << bad;
    }
}

TEST(ImapSequenceSet, ContainsHandlesStarAndReversedRanges) {
    const auto s = *parse_sequence_set("4:2,10:*");
    EXPECT_TRUE(s.contains(3, 20));
    EXPECT_FALSE(s.contains(5, 20));
    EXPECT_TRUE(s.contains(15, 20));
    EXPECT_FALSE(s.contains(15, 12));
    EXPECT_TRUE(s.contains(12, 12));
}

TEST(ImapMutf7, RoundTripsAndRejectsMalformed) {
    // RFC 3501 §5.1.3 example.
    EXPECT_EQ(
        *mime::mutf7_decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        "~peter/mail/\xE5\x8F\xB0\xE5\x8C\x97/\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"
    );
    EXPECT_EQ(*mime::mutf7_decode("&-"), "&");
    EXPECT_EQ(*mime::mutf7_encode("a&b"), "a&-b");
    EXPECT_EQ(*mime::mutf7_encode("\xF0\x9F\x98\x80"), "&2D3eAA-");  // surrogate pair
    EXPECT_EQ(*mime::mutf7_decode("&2D3eAA-"), "\xF0\x9F\x98\x80");
    for (const char* s : {"&", "&AOk", "&AGE-", "&2D3-", "&3gA-", "\x80", "&AOl-", "&A*k-"}) {
        EXPECT_FALSE(mime::mutf7_decode(s)) << s;
    }
    EXPECT_FALSE(mime::mutf7_encode("\xC3("));
    for (const char* s : {"INBOX", "caf\xC3\xA9", "\xE6\x97\xA5 & \xE6\x9C\xAC", "&&", ""}) {
        EXPECT_EQ(*mime::mutf7_decode(*mime::mutf7_encode(s)), s) << s;
    }
}

TEST(ImapLiteralMarker, FindsMarkersAtLineEnd) {
    auto m = find_literal_marker("a LOGIN {12}");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->size, 12U);
    EXPECT_TRUE(m->sync);
    EXPECT_FALSE(m->binary);
    m = find_literal_marker("a APPEND x ~{0007+}");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->size, 7U);
    EXPECT_FALSE(m->sync);
    EXPECT_TRUE(m->binary);
    EXPECT_EQ(m->length, 8U);
    m = find_literal_marker("{99999999999999999999}");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->overflow);
    for (const char* s : {"a {}", "a {+}", "a 12}", "a {12} ", "a {1a}", "}"}) {
        EXPECT_FALSE(find_literal_marker(s)) << s;
    }
}

}  // namespace
}  // namespace sov::imap::wire
