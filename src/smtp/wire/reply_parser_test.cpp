#include "smtp/wire/reply_parser.hpp"

#include <gtest/gtest.h>

namespace sov::smtp::wire {
namespace {

using Status = ReplyParser::Status;

TEST(ReplyParser, MultilineEhloReplyInAnySplit) {
    const std::string wire =
        "250-mx.peer.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
        "250 SMTPUTF8\r\n220 next";
    for (std::size_t split = 0; split <= wire.size(); ++split) {
        ReplyParser parser;
        std::string_view first(wire.data(), split);
        std::string_view rest(wire.data() + split, wire.size() - split);
        auto status = parser.feed(first);
        if (status == Status::NeedMore) {
            EXPECT_TRUE(first.empty());
            status = parser.feed(rest);
        } else {
            rest = std::string_view(first.data(), first.size() + rest.size());
        }
        ASSERT_EQ(status, Status::Complete) << split;
        EXPECT_EQ(rest, "220 next");
        EXPECT_EQ(parser.reply().code, 250);
        ASSERT_EQ(parser.reply().lines.size(), 5U);
        const auto keywords = ehlo_keywords(parser.reply());
        EXPECT_EQ(keywords.at("SIZE"), "10240000");
        EXPECT_TRUE(keywords.contains("STARTTLS"));
        EXPECT_FALSE(keywords.contains("MX.PEER.TEST"));
    }
}

TEST(ReplyParser, CodeAloneAndBareLf) {
    ReplyParser parser;
    std::string_view in = "354\n";
    ASSERT_EQ(parser.feed(in), Status::Complete);
    EXPECT_EQ(parser.reply().code, 354);
    EXPECT_EQ(parser.reply().lines, std::vector<std::string>{""});
    parser.reset();
    in = "550 5.1.1 no such user\r\n";
    ASSERT_EQ(parser.feed(in), Status::Complete);
    EXPECT_TRUE(parser.reply().permanent());
    EXPECT_EQ(parser.reply().summary(), "550 5.1.1 no such user");
}

TEST(ReplyParser, GrammarViolationsAreErrors) {
    for (const std::string& bad : std::vector<std::string>{
             "hello\r\n",
             "25\r\n",
             "650 x\r\n",
             "250x\r\n",
             "250-a\r\n251 b\r\n",
             std::string("250 a\0b\r\n", 9)
         }) {
        ReplyParser parser;
        std::string_view in = bad;
        EXPECT_EQ(parser.feed(in), Status::Error) << bad;
        EXPECT_FALSE(parser.error().empty());
        std::string_view more = "250 ok\r\n";
        EXPECT_EQ(parser.feed(more), Status::Error) << "stays failed";
    }
}

TEST(ReplyParser, LimitsOnLineLengthAndLineCount) {
    ReplyParser parser(64, 3);
    const std::string long_line = "250 " + std::string(100, 'x');  // no LF yet: already too long
    std::string_view in = long_line;
    EXPECT_EQ(parser.feed(in), Status::Error);

    ReplyParser counted(64, 3);
    std::string_view many = "250-a\r\n250-b\r\n250-c\r\n250 d\r\n";
    EXPECT_EQ(counted.feed(many), Status::Error);
    EXPECT_EQ(counted.error(), "too many reply lines");
}

}  // namespace
}  // namespace sov::smtp::wire
