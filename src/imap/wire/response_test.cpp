#include "imap/wire/response.hpp"

#include <string>

#include <gtest/gtest.h>

#include "imap/wire/detail/test_driver.hpp"

namespace sov::imap::wire {
namespace {

TEST(ImapResponse, StatusResponses) {
    std::string out;
    ResponseWriter w(out);
    w.tagged("a1", Condition::Ok, "READ-WRITE", "SELECT completed");
    w.tagged("a2", Condition::No, "", "");
    w.untagged(Condition::Bye, "", "Logging out");
    w.untagged(Condition::Ok, "UIDNEXT 4392", "Predicted next UID");
    w.continuation("");
    w.continuation("Ready\r\nfor more");
    w.tagged("a3", Condition::Bad, "", "[not a code]\r\n");
    EXPECT_EQ(
        out,
        "a1 OK [READ-WRITE] SELECT completed\r\n"
        "a2 NO Failed\r\n"
        "* BYE Logging out\r\n"
        "* OK [UIDNEXT 4392] Predicted next UID\r\n"
        "+ \r\n"
        "+ Ready  for more\r\n"
        "a3 BAD  [not a code]  \r\n"
    );
}

TEST(ImapResponse, ParseErrorsBecomeReplies) {
    std::string out;
    ResponseWriter w(out);
    w.parse_error(ParseError{ParseError::Kind::No, "a", "TOOBIG", "Message too large"}, false);
    w.parse_error(ParseError{ParseError::Kind::Bad, "", "", "Invalid tag"}, false);
    w.parse_error(ParseError{ParseError::Kind::Bad, "", "TOOBIG", "Literal too large"}, true);
    EXPECT_EQ(
        out,
        "a NO [TOOBIG] Message too large\r\n"
        "* BAD Invalid tag\r\n"
        "* BYE [TOOBIG] Literal too large\r\n"
    );
}

TEST(ImapResponse, QuotedOrLiteral) {
    std::string out;
    ResponseWriter w(out);
    w.begin_untagged()
        .number(12)
        .atom("FETCH")
        .begin_list()
        .atom("BODY[HEADER.FIELDS (SUBJECT)]")
        .string("Subject: a \"b\" \\c")
        .atom("X")
        .string("line\r\nbreak")
        .atom("Y")
        .string("caf\xC3\xA9")
        .atom("Z")
        .nstring(std::nullopt)
        .atom("B")
        .literal8(std::string("a\0b", 3))
        .end_list()
        .end();
    EXPECT_EQ(
        out,
        "* 12 FETCH (BODY[HEADER.FIELDS (SUBJECT)] \"Subject: a \\\"b\\\" \\\\c\" X {11}\r\n"
        "line\r\nbreak Y {5}\r\ncaf\xC3\xA9 Z NIL B ~{3}\r\na" +
            std::string(1, '\0') + "b)\r\n"
    );
}

TEST(ImapResponse, Utf8SessionsGetQuotedUtf8AndUtf8MailboxNames) {
    std::string out;
    ResponseWriter w(out, WriterOptions{.utf8 = true});
    w.begin_untagged().atom("LIST").begin_list().end_list().string("/").mailbox("caf\xC3\xA9");
    w.string("\xC3(").end();  // invalid UTF-8 still goes as a literal
    EXPECT_EQ(out, "* LIST () \"/\" \"caf\xC3\xA9\" {2}\r\n\xC3(\r\n");

    std::string rev1;
    ResponseWriter r(rev1);
    r.begin_untagged().atom("LIST").begin_list().atom("\\HasNoChildren").end_list();
    r.string("/").mailbox("caf\xC3\xA9 & co").end();
    EXPECT_EQ(rev1, "* LIST (\\HasNoChildren) \"/\" \"caf&AOk- &- co\"\r\n");
}

TEST(ImapResponse, LongStringsBecomeLiterals) {
    std::string out;
    ResponseWriter w(out, WriterOptions{.utf8 = false, .max_quoted = 4});
    w.string("abcd").string("abcde").astring("atom").astring("NIL").astring("").astring("a b");
    EXPECT_EQ(out, "\"abcd\" {5}\r\nabcde atom \"NIL\" \"\" \"a b\"");
}

// A large literal makes room for what follows it: the reply grows (and moves) once.
TEST(ImapResponse, LiteralLeavesRoomForTheReplysEnd) {
    const std::string big(100000, 'x');
    for (const bool eight : {false, true}) {
        std::string out;
        ResponseWriter w(out);
        w.begin_untagged().number(1).atom("FETCH").begin_list().atom("BODY[]");
        if (eight) {
            w.literal8(big);
        } else {
            w.literal(big);
        }
        const char* at = out.data();
        w.end_list().end();
        w.tagged("a1", Condition::Ok, "", "FETCH completed");
        EXPECT_EQ(out.data(), at);
        EXPECT_EQ(out.substr(out.size() - 26), ")\r\na1 OK FETCH completed\r\n");
    }
}

TEST(ImapResponse, DateTimeAndSets) {
    std::string out;
    ResponseWriter w(out);
    w.date_time(DateTime{Date{2024, 3, 5}, 9, 7, 3, -330});
    w.date_time(DateTime{Date{1999, 12, 31}, 23, 59, 60, 60});
    w.sequence_set(*parse_sequence_set("1:3,5,*"));
    w.flag_list(std::vector<std::string>{"\\Seen", "$Junk"});
    EXPECT_EQ(
        out, "\" 5-Mar-2024 09:07:03 -0530\" \"31-Dec-1999 23:59:60 +0100\" 1:3,5,* (\\Seen $Junk)"
    );
}

// The writer and the parser share chars.hpp: whatever the writer emits as a string, the
// parser reads back unchanged (quoted or literal).
TEST(ImapResponse, WriterOutputReadsBackThroughTheParser) {
    const std::vector<std::string> samples = {
        "",
        "plain",
        "with space",
        "q\"uo\\te",
        "NIL",
        "a]b",
        "crlf\r\ninside",
        "tab\there",
        "caf\xC3\xA9",
        "\xff\xfe raw 8-bit",
        std::string(2000, 'x'),
        "{5}",
        "%*",
    };
    for (const bool utf8 : {false, true}) {
        for (const auto& s : samples) {
            std::string wire = "t LOGIN ";
            ResponseWriter w(wire, WriterOptions{.utf8 = utf8});
            w.astring(s).astring(s);
            wire += "\r\n";
            detail::TestDriver d;
            ASSERT_TRUE(d.push(wire));
            ASSERT_FALSE(d.events().empty());
            ASSERT_EQ(d.events().back().substr(0, 2), "C ") << wire;
            const auto& login = std::get<LoginArgs>(d.parser().command().args);
            EXPECT_EQ(login.user, s);
            EXPECT_EQ(login.password, s);
        }
    }
}

}  // namespace
}  // namespace sov::imap::wire
