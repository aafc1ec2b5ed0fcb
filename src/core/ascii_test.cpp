#include "core/ascii.hpp"

#include <gtest/gtest.h>

namespace sov::core {
namespace {

TEST(Ascii, CaseFoldsOnlyAsciiLetters) {
    EXPECT_EQ(ascii_lowercase("Subject-ÄB"), "subject-Äb");
    EXPECT_TRUE(ascii_iequals("Message-ID", "message-id"));
    EXPECT_FALSE(ascii_iequals("a", "ab"));
}

TEST(Ascii, HexDigitsAndEscapedOctets) {
    EXPECT_EQ(hex_value('0'), 0);
    EXPECT_EQ(hex_value('9'), 9);
    EXPECT_EQ(hex_value('a'), 10);
    EXPECT_EQ(hex_value('F'), 15);
    EXPECT_EQ(hex_value('g'), -1);
    EXPECT_EQ(hex_value('/'), -1);
    EXPECT_EQ(hex_octet("%2F", 1), 0x2f);
    EXPECT_EQ(hex_octet("=3d", 1), 0x3d);
    EXPECT_EQ(hex_octet("%ff", 1), 0xff);
    EXPECT_EQ(hex_octet("%2", 1), -1);  // one digit left
    EXPECT_EQ(hex_octet("%", 1), -1);   // none
    EXPECT_EQ(hex_octet("%", 5), -1);   // past the end
    EXPECT_EQ(hex_octet("%G1", 1), -1);
    EXPECT_EQ(hex_octet("%1G", 1), -1);
}

}  // namespace
}  // namespace sov::core
