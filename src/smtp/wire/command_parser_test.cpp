#include "smtp/wire/command_parser.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sov::smtp::wire {
namespace {

TEST(CommandParser, FramesCrlfLine) {
    const auto r = parse_command_line("NOOP\r\nQUIT\r\n", {});
    EXPECT_EQ(r.status, ParseStatus::Complete);
    EXPECT_EQ(r.line, "NOOP");
    EXPECT_EQ(r.consumed, 6U);
    EXPECT_FALSE(r.bare_lf);
}

TEST(CommandParser, NeedMoreConsumesNothing) {
    const auto r = parse_command_line("MAIL FROM:<a@b>\r", {});
    EXPECT_EQ(r.status, ParseStatus::NeedMore);
    EXPECT_EQ(r.consumed, 0U);
}

TEST(CommandParser, BareLfPolicy) {
    auto r = parse_command_line("NOOP\n", {});
    EXPECT_EQ(r.status, ParseStatus::Complete);
    EXPECT_TRUE(r.bare_lf);
    EXPECT_EQ(r.line, "NOOP");
    CommandLimits strict;
    strict.allow_bare_lf = false;
    r = parse_command_line("NOOP\n", strict);
    EXPECT_EQ(r.status, ParseStatus::BadBytes);
    EXPECT_EQ(r.consumed, 5U);
}

TEST(CommandParser, NulAndBareCrAreBadBytes) {
    const std::string nul("NO\0OP\r\n", 7);
    auto r = parse_command_line(nul, {});
    EXPECT_EQ(r.status, ParseStatus::BadBytes);
    EXPECT_EQ(r.consumed, 7U);
    r = parse_command_line("NO\rOP\r\n", {});
    EXPECT_EQ(r.status, ParseStatus::BadBytes);
}

TEST(CommandParser, LineTooLong) {
    CommandLimits limits;
    limits.max_line = 16;
    const std::string exact = std::string(14, 'a') + "\r\n";  // 16 octets including CRLF
    EXPECT_EQ(parse_command_line(exact, limits).status, ParseStatus::Complete);
    const std::string over = std::string(15, 'a') + "\r\n";
    auto r = parse_command_line(over, limits);
    EXPECT_EQ(r.status, ParseStatus::LineTooLong);
    EXPECT_TRUE(r.terminated);
    EXPECT_EQ(r.consumed, over.size());
    const std::string huge(100 * 1024, 'x');
    r = parse_command_line(huge, limits);
    EXPECT_EQ(r.status, ParseStatus::LineTooLong);
    EXPECT_FALSE(r.terminated);
    EXPECT_EQ(r.consumed, huge.size());
    const auto sk = skip_to_line_end("xxxx\r\nNOOP\r\n");
    EXPECT_TRUE(sk.found_end);
    EXPECT_EQ(sk.consumed, 6U);
}

TEST(CommandParser, SplitAtEveryOffsetGivesSameLines) {
    const std::string wire = "EHLO a\r\nMAIL FROM:<x@y> SIZE=10\r\nRCPT TO:<z@y>\nQUIT\r\n";
    const auto frame_all = [](const std::string& in) {
        std::vector<std::string> lines;
        std::string_view rest = in;
        for (;;) {
            const auto r = parse_command_line(rest, {});
            if (r.status != ParseStatus::Complete) {
                break;
            }
            lines.emplace_back(r.line);
            rest.remove_prefix(r.consumed);
        }
        return lines;
    };
    const auto expected = frame_all(wire);
    ASSERT_EQ(expected.size(), 4U);
    for (std::size_t split = 1; split < wire.size(); ++split) {
        // A driver keeps unconsumed bytes and appends the next read.
        std::string buffer = wire.substr(0, split);
        std::vector<std::string> lines;
        bool appended = false;
        for (;;) {
            const auto r = parse_command_line(buffer, {});
            if (r.status == ParseStatus::Complete) {
                lines.emplace_back(r.line);
                buffer.erase(0, r.consumed);
                continue;
            }
            if (appended) {
                break;
            }
            buffer += wire.substr(split);
            appended = true;
        }
        EXPECT_EQ(lines, expected) << "split at " << split;
    }
}

TEST(CommandParser, Verbs) {
    auto c = parse_command("mail FROM:<a@b>");
    EXPECT_EQ(c.verb, Verb::Mail);
    EXPECT_EQ(c.args, "FROM:<a@b>");
    EXPECT_TRUE(c.has_args);
    c = parse_command("StartTLS");
    EXPECT_EQ(c.verb, Verb::Starttls);
    EXPECT_FALSE(c.has_args);
    c = parse_command("LHLO   client.example");
    EXPECT_EQ(c.verb, Verb::Lhlo);
    EXPECT_EQ(c.args, "client.example");
    EXPECT_EQ(parse_command("MAILX").verb, Verb::Unknown);
    EXPECT_EQ(parse_command("").verb, Verb::Unknown);
    EXPECT_FALSE(parse_command("RSET   ").has_args);
}

TEST(CommandParser, BdatArgs) {
    auto b = parse_bdat_args("1000");
    EXPECT_TRUE(b.ok);
    EXPECT_EQ(b.size, 1000U);
    EXPECT_FALSE(b.last);
    b = parse_bdat_args("0 LAST");
    EXPECT_TRUE(b.ok);
    EXPECT_EQ(b.size, 0U);
    EXPECT_TRUE(b.last);
    EXPECT_TRUE(parse_bdat_args("5 last").last);
    EXPECT_FALSE(parse_bdat_args("").ok);
    EXPECT_FALSE(parse_bdat_args("-1").ok);
    EXPECT_FALSE(parse_bdat_args("10 FIRST").ok);
    EXPECT_FALSE(parse_bdat_args("10LAST").ok);
    EXPECT_FALSE(parse_bdat_args("99999999999999999999999").ok);
}

}  // namespace
}  // namespace sov::smtp::wire
