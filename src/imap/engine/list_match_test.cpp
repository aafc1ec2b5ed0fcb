#include "imap/engine/list_match.hpp"

#include <gtest/gtest.h>

namespace sov::imap {
namespace {

TEST(ListMatch, WildcardsAndSeparator) {
    EXPECT_TRUE(list_match("*", "a/b/c", '/'));
    EXPECT_TRUE(list_match("%", "Sent", '/'));
    EXPECT_FALSE(list_match("%", "a/b", '/'));
    EXPECT_TRUE(list_match("a/%", "a/b", '/'));
    EXPECT_FALSE(list_match("a/%", "a/b/c", '/'));
    EXPECT_TRUE(list_match("a*c", "a/b/c", '/'));
    EXPECT_FALSE(list_match("a%c", "a/b/c", '/'));
    EXPECT_TRUE(list_match("inbox", "INBOX", '/'));
    EXPECT_TRUE(list_match("Inbox/%", "INBOX/x", '/'));
    EXPECT_FALSE(list_match("Sent", "sent", '/'));  // only INBOX is case-insensitive
    EXPECT_EQ(list_pattern("a/", "/b", '/'), "a/b");
    EXPECT_EQ(list_pattern("a/", "%", '/'), "a/%");
}

TEST(ListMatch, HostilePatternIsLinear) {
    std::string pattern;
    for (int i = 0; i < 500; ++i) {
        pattern += "*%";
    }
    pattern += "x";
    EXPECT_FALSE(list_match(pattern, std::string(1000, 'a'), '/'));
}

}  // namespace
}  // namespace sov::imap
