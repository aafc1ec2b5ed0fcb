// Table-driven: every command of RFC 9051 and of the extensions parses to the expected
// AST, shown in canonical form by format_command().
#include "imap/wire/parser.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "imap/wire/detail/test_driver.hpp"

namespace sov::imap::wire {
namespace {

struct Case {
    const char* input;     // one command, CRLF appended by the test
    const char* expected;  // canonical form, or "E ..." for an error event
};

std::string run_one(const std::string& wire, ParserOptions options = {}) {
    detail::TestDriver d({}, options);
    EXPECT_TRUE(d.push(wire));
    std::string out;
    for (const auto& e : d.events()) {
        if (e == "+") {
            continue;  // continuations are checked in framing_test.cpp
        }
        if (!out.empty()) {
            out += " | ";
        }
        out += e.rfind("C ", 0) == 0 ? e.substr(2) : e;
    }
    return out;
}

const std::vector<Case> kCases = {
    // any state (RFC 9051 §6.1)
    {"a1 CAPABILITY", "a1 CAPABILITY"},
    {"a2 noop", "a2 NOOP"},
    {"a3 LoGoUt", "a3 LOGOUT"},
    {"a4 ID (\"name\" \"sieve\" \"version\" NIL)", "a4 ID (\"name\" \"sieve\" \"version\" NIL)"},
    {"a5 ID NIL", "a5 ID NIL"},
    {"a5 ID ()", "a5 ID ()"},
    // not authenticated (§6.2)
    {"b1 STARTTLS", "b1 STARTTLS"},
    {"b2 AUTHENTICATE PLAIN", "b2 AUTHENTICATE PLAIN"},
    {"b3 authenticate plain AGZvbwBiYXI=", "b3 AUTHENTICATE PLAIN AGZvbwBiYXI="},
    {"b4 AUTHENTICATE SCRAM-SHA-256 =", "b4 AUTHENTICATE SCRAM-SHA-256 ="},
    {"b5 LOGIN fred \"pass word\"", "b5 LOGIN fred \"pass word\""},
    {"b6 LOGIN {4+}\r\nfred {3+}\r\nx\"y", "b6 LOGIN fred \"x\\\"y\""},
    // authenticated (§6.3)
    {"c1 ENABLE IMAP4rev2 condstore", "c1 ENABLE IMAP4REV2 CONDSTORE"},
    {"c2 SELECT inbox", "c2 SELECT INBOX"},
    {"c3 EXAMINE \"Sent Items\"", "c3 EXAMINE \"Sent Items\""},
    {"c4 SELECT INBOX (CONDSTORE)", "c4 SELECT INBOX (CONDSTORE)"},
    {"c5 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
     "c5 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))"},
    {"c6 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:15,19 "
     "4,8:9,50)))",
     "c6 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:15,19 4,8:9,50)))"},
    {"c7 SELECT INBOX (QRESYNC (1 2 (1 2)))", "c7 SELECT INBOX (QRESYNC (1 2 (1 2)))"},
    {"c8 CREATE Drafts (USE (\\Drafts))", "c8 CREATE Drafts (USE (\\Drafts))"},
    {"c9 CREATE &AOk-t&AOk-", "c9 CREATE &AOk-t&AOk-"},
    {"c10 DELETE foo/bar", "c10 DELETE foo/bar"},
    {"c11 RENAME old new", "c11 RENAME old new"},
    {"c12 SUBSCRIBE news", "c12 SUBSCRIBE news"},
    {"c13 UNSUBSCRIBE news", "c13 UNSUBSCRIBE news"},
    {"c14 LIST \"\" *", "c14 LIST \"\" *"},
    {"c15 LIST \"\" %/%", "c15 LIST \"\" %/%"},
    {"c16 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Sent*\") RETURN (CHILDREN STATUS "
     "(MESSAGES UNSEEN SIZE))",
     "c16 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX Sent*) RETURN (CHILDREN STATUS (MESSAGES "
     "UNSEEN SIZE))"},
    {"c17 LIST \"\" \"*\" RETURN (SPECIAL-USE)", "c17 LIST \"\" * RETURN (SPECIAL-USE)"},
    {"c18 LSUB \"\" *", "c18 LSUB \"\" *"},
    {"c19 NAMESPACE", "c19 NAMESPACE"},
    {"c20 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ "
     "APPENDLIMIT MAILBOXID)",
     "c20 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ "
     "APPENDLIMIT MAILBOXID)"},
    {"c21 IDLE", "c21 IDLE"},
    {"c22 GETQUOTA \"\"", "c22 GETQUOTA \"\""},
    {"c23 GETQUOTAROOT INBOX", "c23 GETQUOTAROOT INBOX"},
    {"c24 SETQUOTA \"\" (STORAGE 512 MESSAGE 1000)", "c24 SETQUOTA \"\" (STORAGE 512 MESSAGE 1000)"
    },
    {"c25 COMPRESS DEFLATE", "c25 COMPRESS DEFLATE"},
    // selected (§6.4)
    {"d1 CHECK", "d1 CHECK"},
    {"d2 CLOSE", "d2 CLOSE"},
    {"d3 UNSELECT", "d3 UNSELECT"},
    {"d4 EXPUNGE", "d4 EXPUNGE"},
    {"d5 UID EXPUNGE 3000:3002", "d5 UID EXPUNGE 3000:3002"},
    {"d6 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
     "d6 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM Smith"},
    {"d7 SEARCH CHARSET UTF-8 TEXT {4}\r\nXXXX", "d7 SEARCH CHARSET UTF-8 TEXT XXXX"},
    {"d8 SEARCH OR (FROM a TO b) NOT (SEEN DELETED) 1:5,*",
     "d8 SEARCH OR (FROM a TO b) NOT (SEEN DELETED) 1:5,*"},
    {"d9 SEARCH RETURN (MIN MAX COUNT) UNSEEN", "d9 SEARCH RETURN (MIN MAX COUNT) UNSEEN"},
    {"d10 SEARCH RETURN () ALL", "d10 SEARCH RETURN () ALL"},
    {"d11 SEARCH RETURN (SAVE) FROM x", "d11 SEARCH RETURN (SAVE) FROM x"},
    {"d12 UID SEARCH UID $ SEEN", "d12 UID SEARCH UID $ SEEN"},
    // RFC 5267 §4: CONTEXT, UPDATE, PARTIAL (a range given high to low means low to high).
    {"d12a SEARCH RETURN (context update partial 9:3) SEEN",
     "d12a SEARCH RETURN (CONTEXT UPDATE PARTIAL 3:9) SEEN"},
    {"d12b UID SORT RETURN (PARTIAL 1:500 COUNT) (ARRIVAL) UTF-8 ALL",
     "d12b UID SORT RETURN (COUNT PARTIAL 1:500) (ARRIVAL) UTF-8 ALL"},
    {"d12c CANCELUPDATE \"d12a\" {4}\r\nd12b", "d12c CANCELUPDATE \"d12a\" \"d12b\""},
    // RFC 9394: ranges from the end, and the UID FETCH modifier.
    {"d12d UID SEARCH RETURN (PARTIAL -100:-1) ALL", "d12d UID SEARCH RETURN (PARTIAL -1:-100) ALL"
    },
    {"d12e UID FETCH 1:* (UID FLAGS) (partial -1:-3 CHANGEDSINCE 5)",
     "d12e UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 5 PARTIAL -1:-3)"},
    {"d13 SEARCH $", "d13 SEARCH $"},
    {"d14 SEARCH HEADER Message-ID \"<x@y>\" LARGER 100 SMALLER 2000",
     "d14 SEARCH HEADER Message-ID <x@y> LARGER 100 SMALLER 2000"},
    {"d15 SEARCH KEYWORD $Forwarded UNKEYWORD $Junk",
     "d15 SEARCH KEYWORD $Forwarded UNKEYWORD $Junk"},
    {"d16 SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338",
     "d16 SEARCH MODSEQ \"/flags/\\\\draft\" ALL 620162338"},
    {"d17 SEARCH MODSEQ 0", "d17 SEARCH MODSEQ 0"},
    {"d18 SEARCH EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9",
     "d18 SEARCH EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9"},
    {"d19 SEARCH SAVEDBEFORE 1-Jan-2020 SAVEDON \"2-Jan-2020\" SAVEDSINCE 03-Jan-2020 "
     "SAVEDATESUPPORTED",
     "d19 SEARCH SAVEDBEFORE 1-Jan-2020 SAVEDON 2-Jan-2020 SAVEDSINCE 3-Jan-2020 "
     "SAVEDATESUPPORTED"},
    {"d20 SEARCH ANSWERED DELETED DRAFT NEW OLD RECENT UNANSWERED UNDELETED UNDRAFT UNFLAGGED "
     "UNSEEN",
     "d20 SEARCH ANSWERED DELETED DRAFT NEW OLD RECENT UNANSWERED UNDELETED UNDRAFT UNFLAGGED "
     "UNSEEN"},
    {"d21 SEARCH BCC a BODY b CC c SUBJECT d TO e BEFORE 1-Jan-2000 ON 1-Jan-2000 SENTBEFORE "
     "1-Jan-2000 SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000 OLDER 10 YOUNGER 20",
     "d21 SEARCH BCC a BODY b CC c SUBJECT d TO e BEFORE 1-Jan-2000 ON 1-Jan-2000 SENTBEFORE "
     "1-Jan-2000 SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000 OLDER 10 YOUNGER 20"},
    {"d22 FETCH 1:* (FLAGS)", "d22 FETCH 1:* (FLAGS)"},
    {"d23 fetch 2:4 full", "d23 FETCH 2:4 FULL"},
    {"d24 FETCH 1 ALL", "d24 FETCH 1 ALL"},
    {"d25 FETCH 1 FAST", "d25 FETCH 1 FAST"},
    {"d26 FETCH 3 body[header.fields (from To)]<0.100>",
     "d26 FETCH 3 BODY[HEADER.FIELDS (FROM TO)]<0.100>"},
    {"d27 UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)",
     "d27 UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)"},
    {"d28 FETCH 1 (BODY.PEEK[1.2.MIME] BODY[1.HEADER.FIELDS.NOT (X-A)] BODY[TEXT] BODY[] "
     "BODYSTRUCTURE BODY RFC822 RFC822.HEADER RFC822.TEXT)",
     "d28 FETCH 1 (BODY.PEEK[1.2.MIME] BODY[1.HEADER.FIELDS.NOT (X-A)] BODY[TEXT] BODY[] "
     "BODYSTRUCTURE BODY RFC822 RFC822.HEADER RFC822.TEXT)"},
    {"d29 FETCH 1 (BINARY[1] BINARY.PEEK[2]<0.10> BINARY.SIZE[1] BINARY[])",
     "d29 FETCH 1 (BINARY[1] BINARY.PEEK[2]<0.10> BINARY.SIZE[1] BINARY[])"},
    {"d30 UID FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 12345 VANISHED)",
     "d30 UID FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 12345 VANISHED)"},
    {"d31 FETCH 1 (EMAILID THREADID SAVEDATE)", "d31 FETCH 1 (EMAILID THREADID SAVEDATE)"},
    // RFC 8970: PREVIEW with or without (LAZY); a list after a lone PREVIEW that is not
    // LAZY is the command's fetch-modifiers.
    {"d31a FETCH 1:* (preview (lazy) UID PREVIEW)", "d31a FETCH 1:* (PREVIEW (LAZY) UID PREVIEW)"},
    {"d31b FETCH 1 PREVIEW (LAZY)", "d31b FETCH 1 PREVIEW (LAZY)"},
    {"d31c FETCH 1 PREVIEW (CHANGEDSINCE 5)", "d31c FETCH 1 PREVIEW (CHANGEDSINCE 5)"},
    {"d31d FETCH 1 PREVIEW (LAZY) (CHANGEDSINCE 5)", "d31d FETCH 1 PREVIEW (LAZY) (CHANGEDSINCE 5)"
    },
    {"d32 FETCH $ UID", "d32 FETCH $ UID"},
    {"d33 STORE 2:4 +FLAGS (\\deleted)", "d33 STORE 2:4 +FLAGS (\\Deleted)"},
    {"d34 STORE 1 -FLAGS.SILENT \\Seen $Junk", "d34 STORE 1 -FLAGS.SILENT (\\Seen $Junk)"},
    {"d35 STORE 1 FLAGS ()", "d35 STORE 1 FLAGS ()"},
    {"d36 UID STORE 1:* (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
     "d36 UID STORE 1:* (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)"},
    {"d37 COPY 2:4 MEETING", "d37 COPY 2:4 MEETING"},
    {"d38 UID MOVE 42:69 foo", "d38 UID MOVE 42:69 foo"},
    {"d39 MOVE $ Trash", "d39 MOVE $ Trash"},
    {"d40 SORT (REVERSE DATE SUBJECT) UTF-8 UNDELETED SINCE 1-Feb-1994",
     "d40 SORT (REVERSE DATE SUBJECT) UTF-8 UNDELETED SINCE 1-Feb-1994"},
    {"d41 UID SORT RETURN (MIN COUNT) (DISPLAYFROM) US-ASCII ALL",
     "d41 UID SORT RETURN (MIN COUNT) (DISPLAYFROM) US-ASCII ALL"},
    {"d42 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000",
     "d42 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-Mar-2000"},
    {"d43 UID THREAD REFERENCES US-ASCII ALL", "d43 UID THREAD REFERENCES US-ASCII ALL"},
    {"d44 SEARCH (OR SEEN (FLAGGED (DRAFT)))", "d44 SEARCH (OR SEEN (FLAGGED (DRAFT)))"},
    // syntax errors → BAD with the tag
    {"e1 FETCH 1 (FLAGS", "E e1 BAD Missing ')'"},
    {"e2 FETCH 1 FLAGS)", "E e2 BAD Unexpected extra arguments"},
    {"e3 SEARCH (SEEN))", "E e3 BAD Unexpected character after a search key"},
    {"e4 FROBNICATE", "E e4 BAD Unknown command"},
    {"e5 UID LOGIN a b", "E e5 BAD Unknown UID command"},
    {"e6 SELECT", "E e6 BAD Missing argument"},
    {"e7 SELECT  INBOX", "E e7 BAD Expected a string"},
    {"e8 FETCH 0 FLAGS", "E e8 BAD Invalid sequence set"},
    {"e9 FETCH 4294967296 FLAGS", "E e9 BAD Invalid sequence set"},
    {"e10 FETCH 1 BODY[MIME]", "E e10 BAD Invalid section"},
    {"e11 FETCH 1 BINARY[1.TEXT]", "E e11 BAD Invalid BINARY section"},
    {"e12 FETCH 1 BODY[1.]", "E e12 BAD Invalid section"},
    {"e13 SEARCH FOO", "E e13 BAD Unknown search key"},
    {"e14 STORE 1 +FLAGS (\\Recent)", "E e14 BAD \\Recent can't be set"},
    {"e16 SELECT \xC3\xA9t\xC3\xA9", "E e16 BAD 8-bit byte in an atom"},
    {"e17 F\xC3\x89TCH 1 FLAGS", "E e17 BAD 8-bit byte in a command name"},
    {"e18 NOOP extra", "E e18 BAD Unexpected extra arguments"},
    {"e19 LOGIN \"a\\x\" b", "E e19 BAD Bad escape in a quoted string"},
    {"e20 SEARCH SINCE 32-Jan-2000", "E e20 BAD Invalid date"},
    {"e21 APPEND INBOX \"1-Jan-2000 00:00:00 +0000\" {1}\r\nx", "E e21 BAD Invalid date-time"},
    {"e22 FETCH 1 BODY[]<0.0>", "E e22 BAD Expected a non-zero number"},
    {"e23 ENABLE", "E e23 BAD Missing argument"},
    {"e24 AUTHENTICATE PLAIN abc", "E e24 BAD Invalid base64 initial response"},
    {"e25 FETCH 1 (PREVIEW (LAZY FUZZY))", "E e25 BAD Unknown PREVIEW modifier"},
    {"e26 FETCH 1 (PREVIEW (FUZZY))", "E e26 BAD Expected a fetch attribute"},
    {"", "E * BAD Empty command"},
    {"+tag NOOP", "E * BAD Invalid tag"},
    {"a(b NOOP", "E * BAD Invalid tag"},
};

TEST(ImapParser, EveryCommandParsesToTheExpectedAst) {
    for (const auto& c : kCases) {
        EXPECT_EQ(run_one(std::string(c.input) + "\r\n"), c.expected) << "input: " << c.input;
    }
}

TEST(ImapParser, CanonicalFormIsAFixedPoint) {
    // Parsing the canonical form again gives the same canonical form (and the same AST).
    for (const auto& c : kCases) {
        detail::TestDriver d;
        ASSERT_TRUE(d.push(std::string(c.input) + "\r\n"));
        if (d.events().empty() || d.events().back().rfind("C ", 0) != 0 ||
            std::string_view(c.input).find("APPEND") != std::string_view::npos) {
            continue;
        }
        const Command first = d.parser().command();
        detail::TestDriver again;
        ASSERT_TRUE(again.push(format_command(first) + "\r\n"));
        EXPECT_EQ(again.parser().command(), first) << c.input;
    }
}

TEST(ImapParser, AstFieldsAreTyped) {
    detail::TestDriver d;
    ASSERT_TRUE(d.push("t1 UID FETCH 5:*,7 (BODY.PEEK[2.1.HEADER.FIELDS (Subject)]<10.20>)\r\n"));
    const Command& c = d.parser().command();
    EXPECT_EQ(c.tag, "t1");
    EXPECT_TRUE(c.uid);
    ASSERT_EQ(c.name, CommandName::Fetch);
    const auto& f = std::get<FetchArgs>(c.args);
    ASSERT_EQ(f.set.ranges.size(), 2U);
    EXPECT_EQ(f.set.ranges[0], (SeqRange{5, kStar}));
    ASSERT_EQ(f.atts.size(), 1U);
    EXPECT_EQ(f.atts[0].item, FetchItem::BodySection);
    EXPECT_TRUE(f.atts[0].peek);
    EXPECT_EQ(f.atts[0].section.part, (std::vector<std::uint32_t>{2, 1}));
    EXPECT_EQ(f.atts[0].section.text, SectionText::HeaderFields);
    EXPECT_EQ(f.atts[0].section.fields, (std::vector<std::string>{"SUBJECT"}));
    ASSERT_TRUE(f.atts[0].partial);
    EXPECT_EQ(f.atts[0].partial->offset, 10U);
    EXPECT_EQ(f.atts[0].partial->length, 20U);
}

// partial-range is nz-number ":" nz-number or its negative form, and PARTIAL excludes ALL.
TEST(ImapParser, PartialRangesAreStrict) {  // RFC 5267 §5, RFC 9394 §4
    for (const auto* bad : {
             "a SEARCH RETURN (PARTIAL 1) ALL\r\n",
             "a SEARCH RETURN (PARTIAL 1:*) ALL\r\n",
             "a SEARCH RETURN (PARTIAL *:1) ALL\r\n",
             "a SEARCH RETURN (PARTIAL 0:4) ALL\r\n",
             "a SEARCH RETURN (PARTIAL 1:2 ALL) ALL\r\n",
             "a SEARCH RETURN (PARTIAL -1:2) ALL\r\n",
             "a SEARCH RETURN (PARTIAL 1:-2) ALL\r\n",
             "a SEARCH RETURN (PARTIAL -0:-2) ALL\r\n",
             "a UID FETCH 1:* FLAGS (PARTIAL 1)\r\n",
             // found by imap_parser_fuzz: an entry name must be "/flags/<flag>" (RFC 7162 §7)
             "a SEARCH MODSEQ \"\" all 5\r\n",
             "a SEARCH MODSEQ \"/flags/\" all 5\r\n",
             "a CANCELUPDATE\r\n",
             "a CANCELUPDATE tag\r\n",
         }) {
        detail::TestDriver d;
        ASSERT_TRUE(d.push(bad)) << bad;
        ASSERT_EQ(d.events().size(), 1U) << bad;
        EXPECT_EQ(d.events()[0].rfind("E a BAD ", 0), 0U) << d.events()[0];
    }
    detail::TestDriver d;
    ASSERT_TRUE(d.push("a UID SEARCH RETURN (PARTIAL 4:2) ALL\r\n"));
    const auto& ret = std::get<SearchArgs>(d.parser().command().args).ret;
    ASSERT_TRUE(ret.partial);
    EXPECT_EQ(ret.partial->low, 2U);
    EXPECT_EQ(ret.partial->high, 4U);
    EXPECT_FALSE(ret.all);
}

TEST(ImapParser, FetchMacrosExpand) {
    detail::TestDriver d;
    ASSERT_TRUE(d.push("m FETCH 1 FULL\r\n"));
    const auto& f = std::get<FetchArgs>(d.parser().command().args);
    ASSERT_EQ(f.atts.size(), 5U);
    EXPECT_EQ(f.atts[0].item, FetchItem::Flags);
    EXPECT_EQ(f.atts[1].item, FetchItem::InternalDate);
    EXPECT_EQ(f.atts[2].item, FetchItem::Rfc822Size);
    EXPECT_EQ(f.atts[3].item, FetchItem::Envelope);
    EXPECT_EQ(f.atts[4].item, FetchItem::Body);
}

TEST(ImapParser, MailboxNamesDecodeModifiedUtf7OrTakeUtf8) {
    detail::TestDriver rev1;
    ASSERT_TRUE(rev1.push("a SELECT &AOk-t&AOk-\r\nb SELECT \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"\r\n"
    ));
    // (the second command's name was decoded; check via a fresh parse of the first)
    detail::TestDriver one;
    ASSERT_TRUE(one.push("a SELECT &AOk-t&AOk-\r\n"));
    EXPECT_EQ(std::get<SelectArgs>(one.parser().command().args).mailbox, "\xC3\xA9t\xC3\xA9");
    detail::TestDriver two;
    ASSERT_TRUE(two.push("b SELECT \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"\r\n"));
    EXPECT_EQ(
        std::get<SelectArgs>(two.parser().command().args).mailbox,
        "~peter/mail/\xE5\x8F\xB0\xE5\x8C\x97/\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"
    );

    detail::TestDriver utf8({}, ParserOptions{.utf8 = true});
    ASSERT_TRUE(utf8.push("c SELECT \"\xC3\xA9t\xC3\xA9\"\r\nd SELECT &AOk-\r\n"));
    ASSERT_EQ(utf8.events().size(), 2U);
    EXPECT_EQ(utf8.events()[0], "C c SELECT \"\xC3\xA9t\xC3\xA9\"");
    EXPECT_EQ(utf8.events()[1], "C d SELECT &AOk-");  // "&" is literal in UTF-8 mode
    // INBOX is case-insensitive (RFC 9051 §5.1) and normalised.
    detail::TestDriver inbox;
    ASSERT_TRUE(inbox.push("e STATUS iNbOx (MESSAGES)\r\n"));
    EXPECT_EQ(std::get<StatusArgs>(inbox.parser().command().args).mailbox, "INBOX");
}

TEST(ImapParser, SearchTreeShape) {
    detail::TestDriver d;
    ASSERT_TRUE(d.push("s SEARCH NOT OR 1:3 (SUBJECT {2}\r\nhi) UID 5\r\n"));
    const auto& s = std::get<SearchArgs>(d.parser().command().args);
    ASSERT_EQ(s.key.op, SearchOp::And);
    ASSERT_EQ(s.key.children.size(), 2U);
    const auto& n = s.key.children[0];
    ASSERT_EQ(n.op, SearchOp::Not);
    ASSERT_EQ(n.children[0].op, SearchOp::Or);
    EXPECT_EQ(n.children[0].children[0].op, SearchOp::Sequence);
    EXPECT_EQ(n.children[0].children[1].op, SearchOp::And);
    EXPECT_EQ(n.children[0].children[1].children[0].text, "hi");
    EXPECT_EQ(s.key.children[1].op, SearchOp::Uid);
}

}  // namespace
}  // namespace sov::imap::wire
