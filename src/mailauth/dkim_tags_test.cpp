#include "mailauth/dkim_tags.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sov::mailauth {
namespace {

TEST(DkimTags, SignatureLikeList) {
    const std::string_view input =
        "v=1; a=rsa-sha256; d=example.net; s=brisbane;\r\n c=simple; q=dns/txt; i=@eng.example.net;"
        "\r\n h=from:to:subject;\r\n bh=abc\r\n def=;\r\n "
        "b=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeru"
        "\r\n  D00lszZVoG4ZHRNiYzR";
    const auto tags = TagList::parse(input);
    ASSERT_TRUE(tags.ok()) << to_string(tags.status());
    EXPECT_EQ(tags.size(), 10U);
    EXPECT_EQ(tags.find("v"), "1");
    EXPECT_EQ(tags.find("d"), "example.net");
    EXPECT_EQ(tags.find("i"), "@eng.example.net");
    EXPECT_EQ(tags.find("bh"), "abc\r\n def=");  // inner FWS kept; strip_fws removes it
    EXPECT_EQ(strip_fws(*tags.find("bh")), "abcdef=");
    EXPECT_EQ(
        strip_fws(*tags.find("b")),
        "dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR"
    );
    EXPECT_EQ(tags.find("x"), std::nullopt);
}

TEST(DkimTags, KeyRecord) {
    const auto tags =
        TagList::parse("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    ASSERT_TRUE(tags.ok());
    EXPECT_EQ(tags[0].name, "v");
    EXPECT_EQ(tags.find("p"), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

TEST(DkimTags, EmptyValuesAndTrailingSemicolon) {
    const auto tags = TagList::parse(" a = ; b=2 ;");
    ASSERT_TRUE(tags.ok());
    EXPECT_EQ(tags.find("a"), "");
    EXPECT_EQ(tags.find("b"), "2");
    EXPECT_TRUE(TagList::parse("").ok());
    EXPECT_TRUE(TagList::parse("  ").ok());
}

TEST(DkimTags, NamesAreCaseSensitive) {
    const auto tags = TagList::parse("A=1; a=2");
    ASSERT_TRUE(tags.ok());
    EXPECT_EQ(tags.find("A"), "1");
    EXPECT_EQ(tags.find("a"), "2");
}

TEST(DkimTags, Errors) {
    using S = TagList::Status;
    EXPECT_EQ(TagList::parse("a=1; a=2").status(), S::DuplicateTag);
    EXPECT_EQ(TagList::parse("a").status(), S::Syntax);
    EXPECT_EQ(TagList::parse("=1").status(), S::Syntax);
    EXPECT_EQ(TagList::parse("1a=1").status(), S::Syntax);
    EXPECT_EQ(TagList::parse("a=1;;b=2").status(), S::Syntax);
    EXPECT_EQ(TagList::parse("a-b=1").status(), S::Syntax);
    EXPECT_EQ(TagList::parse("a=x\r\ny").status(), S::Syntax);    // CRLF not followed by WSP
    EXPECT_EQ(TagList::parse("a=x\ny").status(), S::Syntax);      // bare LF
    EXPECT_EQ(TagList::parse("a=\x01").status(), S::Syntax);      // control character
    EXPECT_EQ(TagList::parse("a=\xc3\xa4").status(), S::Syntax);  // 8-bit
    EXPECT_TRUE(TagList::parse("a_1=x y\t z").ok());
    std::string many;
    for (std::size_t i = 0; i <= kMaxTags; ++i) {
        many += "t" + std::to_string(i) + "=v;";
    }
    EXPECT_EQ(TagList::parse(many).status(), S::TooManyTags);
    EXPECT_EQ(TagList::parse(std::string(100, 'a'), {.max_octets = 50}).status(), S::TooLong);
    const auto failed = TagList::parse("a=1; a=2");
    EXPECT_EQ(failed.size(), 0U);
}

}  // namespace
}  // namespace sov::mailauth
