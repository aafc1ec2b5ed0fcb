#include "imap/wire/imap_url.hpp"

#include <gtest/gtest.h>

namespace sov::imap::wire {
namespace {

TEST(ImapUrl, MessageAndPartUrls) {
    auto u = parse_message_part_url("/INBOX;UIDVALIDITY=385759045/;UID=20/;SECTION=1.2.MIME");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->mailbox, "INBOX");
    EXPECT_EQ(u->uid_validity, 385759045U);
    EXPECT_EQ(u->uid, 20U);
    EXPECT_EQ(u->section.part, (std::vector<std::uint32_t>{1, 2}));
    EXPECT_EQ(u->section.text, SectionText::Mime);
    EXPECT_FALSE(u->partial);

    u = parse_message_part_url("/Archive/2026%20old/;uid=7/;section=header/;partial=100.50");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->mailbox, "Archive/2026 old");  // levels keep their "/", %20 decoded
    EXPECT_FALSE(u->uid_validity);
    EXPECT_EQ(u->uid, 7U);
    EXPECT_EQ(u->section.text, SectionText::Header);
    ASSERT_TRUE(u->partial);
    EXPECT_EQ(u->partial->offset, 100U);
    EXPECT_EQ(u->partial->length, 50U);

    u = parse_message_part_url("/Entw%C3%BCrfe/;UID=3/;PARTIAL=5");  // UTF-8, to the end
    ASSERT_TRUE(u);
    EXPECT_EQ(u->mailbox, "Entwürfe");
    EXPECT_EQ(u->partial->length, std::numeric_limits<std::uint64_t>::max());
    EXPECT_TRUE(u->section.part.empty());

    u = parse_message_part_url(";UID=9/;SECTION=HEADER.FIELDS%20(Subject%20From)");
    ASSERT_TRUE(u);
    EXPECT_FALSE(u->mailbox);  // the selected mailbox
    EXPECT_EQ(u->section.text, SectionText::HeaderFields);
    EXPECT_EQ(u->section.fields, (std::vector<std::string>{"SUBJECT", "FROM"}));
}

TEST(ImapUrl, RefusesWhatCatenateCannotUse) {
    for (const char* bad : {
             "",
             "imap://joe@mail.example.test/INBOX/;UID=1",  // absolute (RFC 4469 §3)
             "//mail.example.test/INBOX/;UID=1",
             "/INBOX",              // a mailbox, not a message
             "/INBOX?SUBJECT%20x",  // a message list
             "/INBOX/;UID=0",
             "/INBOX/;UID=x",
             "/INBOX/;UID=1/",
             "/INBOX/;UID=1/;SECTION=",
             "/INBOX/;UID=1/;SECTION=1.BOGUS",
             "/INBOX/;UID=1/;PARTIAL=1.0",
             "/INBOX/;UID=1/;PARTIAL=1.",
             "/INBOX/;UID=1/;URLAUTH=anonymous:internal:0123",  // RFC 4467
             "/INBOX/;UID=1/;EXPIRE=2026-12-01T00:00:00Z",
             "/INBOX/;UID=1/;PARTIAL=1/;SECTION=1",  // out of order
             "/INBOX;UIDVALIDITY=0/;UID=1",
             "/INBOX;FOO=1/;UID=1",
             "/IN%2/;UID=1",
             "/IN%00BOX/;UID=1",
             "/%FF%FE/;UID=1",  // not UTF-8
             "/;UID=1",         // no mailbox
             ";SECTION=1",      // a part of no message
         }) {
        EXPECT_FALSE(parse_message_part_url(bad)) << bad;
    }
    EXPECT_FALSE(parse_message_part_url("/" + std::string(kMaxImapUrl, 'a') + "/;UID=1"));
}

}  // namespace
}  // namespace sov::imap::wire
