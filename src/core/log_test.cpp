#include "core/log.hpp"

#include <gtest/gtest.h>

namespace sov::log {
namespace {

TEST(Log, LogfmtQuotesAndEscapesPeerData) {
    const auto line = format_line(
        Format::Logfmt,
        Level::Info,
        "smtp.cmd",
        {{"session", "ab12"}, {"line", "MAIL FROM:<a b>\r\n\x01"}}
    );
    EXPECT_NE(
        line.find("event=smtp.cmd session=ab12 line=\"MAIL FROM:<a b>\\r\\n\\x01\""),
        std::string::npos
    ) << line;
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one event is one line";
}

TEST(Log, JsonEscapes) {
    const auto line = format_line(Format::Json, Level::Warn, "x", {{"k", "a\"b\n"}, {"n", 42}});
    EXPECT_NE(line.find(R"("level":"warn","event":"x","k":"a\"b\n","n":"42"})"), std::string::npos)
        << line;
}

TEST(Log, ParseLevel) {
    Level level = Level::Info;
    EXPECT_TRUE(parse_level("debug", level));
    EXPECT_EQ(level, Level::Debug);
    EXPECT_FALSE(parse_level("loud", level));
}

}  // namespace
}  // namespace sov::log
