#include "mime/header.hpp"

#include <gtest/gtest.h>

#include "mime/address.hpp"
#include "mime/content_type.hpp"
#include "mime/date.hpp"
#include "mime/encoded_word.hpp"

namespace sov::mime {
namespace {

TEST(Header, UnfoldKeepsWsp) {
    EXPECT_EQ(unfold(" a\r\n b\n\tc \r\n"), "a b\tc");
    EXPECT_EQ(field_value_extent("x\r\n y\r\nNext: 1"), "x\r\n y");
}

TEST(EncodedWord, CharsetsAndInvalid) {
    EXPECT_EQ(decode_unstructured("=?ISO-8859-2?Q?=B1?="), "ą");               // via iconv
    EXPECT_EQ(decode_unstructured("=?x-unknown?Q?a?="), "=?x-unknown?Q?a?=");  // kept raw
    EXPECT_EQ(decode_unstructured("=?utf-8?B?w6k=?= =?utf-8?B?w6k=?="), "éé");
    EXPECT_EQ(decode_unstructured("=?utf-8?Q?broken"), "=?utf-8?Q?broken");
}

TEST(ContentType, Rfc2231AndDefaults) {
    ContentType ct;
    ASSERT_TRUE(parse_content_type("Text/HTML; CHARSET=\"UTF-8\"; name*0=a; name*1=b", ct));
    EXPECT_EQ(ct.type, "text");
    EXPECT_EQ(ct.subtype, "html");
    EXPECT_EQ(*ct.param("charset"), "UTF-8");
    EXPECT_EQ(*ct.param("name"), "ab");
    EXPECT_FALSE(parse_content_type(" ; x=y", ct));
}

TEST(Address, GroupsRoutesAndComments) {
    const auto l = parse_address_list("G: <@r1,@r2:a@b>;, c@d (Cee), \"q\\\"n\" <e@f>");
    ASSERT_EQ(l.size(), 5U);
    EXPECT_EQ(l[0].kind, Address::Kind::GroupStart);
    EXPECT_EQ(l[0].name, "G");
    EXPECT_EQ(l[1].adl, "@r1,@r2");
    EXPECT_EQ(l[1].mailbox, "a");
    EXPECT_EQ(l[2].kind, Address::Kind::GroupEnd);
    EXPECT_EQ(l[3].name, "Cee");
    EXPECT_EQ(l[4].name, "q\"n");
    const auto bare = parse_address_list("Someone");
    ASSERT_EQ(bare.size(), 1U);
    EXPECT_EQ(bare[0].mailbox, "Someone");
    EXPECT_TRUE(bare[0].host.empty());
}

TEST(Date, UnixTimeAndZones) {
    const auto d = parse_date("Thu, 1 Jan 1970 01:00:00 +0100");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->unix_time(), 0);
    const auto e = parse_date("1 Jan 70 00:00 EDT");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->zone_minutes, -240);
    EXPECT_EQ(e->unix_time(), 4 * 3600);
    EXPECT_FALSE(parse_date("32 Jan 2020 00:00 +0000").has_value());
    EXPECT_FALSE(parse_date("").has_value());
}

}  // namespace
}  // namespace sov::mime
