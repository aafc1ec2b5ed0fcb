// Framing: literals (collected, streamed, refused), continuation requests, raw lines, limits,
// resynchronisation after bad input, and chunking independence (STYLE.md §3.11 #2).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "imap/wire/detail/test_driver.hpp"
#include "imap/wire/parser.hpp"

namespace sov::imap::wire {
namespace {

using detail::DriverPolicy;
using detail::TestDriver;

std::vector<std::string> run(
    const std::string& wire,
    ParserLimits limits = {},
    ParserOptions options = {},
    DriverPolicy policy = {}
) {
    TestDriver d(limits, options, policy);
    EXPECT_TRUE(d.push(wire));
    return d.events();
}

using Events = std::vector<std::string>;

ParserLimits small_limits() {
    ParserLimits l;
    l.max_line = 200;
    l.max_literal = 64;
    l.max_command = 400;
    l.max_append = 100;
    l.max_discard = 150;
    return l;
}

// A session exercising every framing path; small limits keep the split loop quick.
const std::string kSession = std::string(
                                 "a1 LOGIN {4}\r\nfred {6+}\r\nsecret\r\n"
                                 "a2 SELECT INBOX\r\n"
                                 "a3 APPEND INBOX (\\Seen) \" 1-Jan-2020 10:00:00 +0100\" {12}\r\n"
                                 "Hello\r\nWorld (\\Flagged) ~{3+}\r\nx"
                             ) +
                             std::string(1, '\0') +
                             "y\r\n"
                             "a4 IDLE\r\nDONE\r\n"
                             "a5 AUTHENTICATE PLAIN\r\nAGZvbwBiYXI=\r\n"
                             "a6 FETCH 1 (FLAGS\r\n"
                             "a7 SEARCH TEXT {100+}\r\n" +
                             std::string(100, 'z') +
                             " ALL\r\n"
                             "a8 APPEND INBOX {0}\r\n\r\n"
                             "a9 APPEND INBOX {101}\r\n"
                             "a10 NOOP\n";

const Events kSessionEvents = {
    "+",
    "C a1 LOGIN fred secret",
    "C a2 SELECT INBOX",
    "A a3 INBOX #0 12 flags=1",
    "+",
    "D Hello\r\nWorld",
    "A a3 INBOX #1 3+ bin flags=1",
    std::string("D x") + '\0' + "y",
    "C a3 APPEND INBOX (\\Seen) \" 1-Jan-2020 10:00:00 +0100\" {12} (\\Flagged) ~{3}",
    "C a4 IDLE",
    "L DONE",
    "C a5 AUTHENTICATE PLAIN",
    "L AGZvbwBiYXI=",
    "E a6 BAD Missing ')'",
    "E a7 BAD [TOOBIG] Literal too large",
    "A a8 INBOX #0 0 flags=0",
    "+",
    "D ",
    "C a8 APPEND INBOX {0}",
    "E a9 NO [TOOBIG] Message too large",
    "C a10 NOOP",
};

TEST(ImapFraming, SessionEventsInOneChunk) {
    EXPECT_EQ(run(kSession, small_limits()), kSessionEvents);
}

TEST(ImapFraming, SplitAtEveryOffsetGivesTheSameEvents) {
    for (std::size_t split = 1; split < kSession.size(); ++split) {
        TestDriver d(small_limits());
        ASSERT_TRUE(d.push(kSession.substr(0, split)));
        ASSERT_TRUE(d.push(kSession.substr(split)));
        ASSERT_EQ(d.events(), kSessionEvents) << "split at " << split;
        EXPECT_EQ(d.buffered(), 0U);
    }
}

TEST(ImapFraming, ByteAtATimeGivesTheSameEvents) {
    TestDriver d(small_limits());
    for (const char c : kSession) {
        ASSERT_TRUE(d.push(std::string(1, c)));
    }
    EXPECT_EQ(d.events(), kSessionEvents);
}

TEST(ImapFraming, NeedMoreCopiesPartialInputAndConsumesIt) {
    CommandParser p;
    const Step s = p.feed("a1 NOO");
    EXPECT_EQ(s.status, ParseStatus::NeedMore);
    EXPECT_EQ(s.consumed, 6U);  // the driver's buffer never holds more than one read
    const Step t = p.feed("P\r\na2 NOOP\r\n");
    EXPECT_EQ(t.status, ParseStatus::Command);
    EXPECT_EQ(t.consumed, 3U);  // pipelined a2 stays for the next call
    EXPECT_EQ(p.command().tag, "a1");
}

TEST(ImapFraming, SynchronisingLiteralAsksForContinuation) {
    CommandParser p;
    const Step s = p.feed("a LOGIN {4}\r\n");
    EXPECT_EQ(s.status, ParseStatus::Continue);
    EXPECT_EQ(s.consumed, 13U);
    EXPECT_EQ(p.feed("").status, ParseStatus::NeedMore);
    const Step t = p.feed("fred pw\r\n");
    EXPECT_EQ(t.status, ParseStatus::Command);
    EXPECT_EQ(std::get<LoginArgs>(p.command().args).user, "fred");
}

TEST(ImapFraming, LiteralsMayCarryAnyOctetButNul) {
    EXPECT_EQ(
        run("a LOGIN {6}\r\nx\r\n\"(\xff {1}\r\n)\r\n"),
        (Events{"+", "+", "C a LOGIN {6}\r\nx\r\n\"(\xff \")\""})
    );
    EXPECT_EQ(
        run(std::string("a LOGIN {3}\r\na") + '\0' + "b c\r\nb NOOP\r\n"),
        (Events{"+", "E a BAD NUL in a literal", "C b NOOP"})
    );
}

TEST(ImapFraming, AppendMessagesStreamAndNeverEnterTheCommandBuffer) {
    ParserLimits l;
    l.max_line = 100;
    l.max_command = 100;  // far below the message size: streaming is the only way through
    l.max_append = 10000;
    TestDriver d(l);
    ASSERT_TRUE(d.push("a APPEND INBOX {5000+}\r\n" + std::string(5000, 'm') + "\r\n"));
    ASSERT_EQ(d.events().size(), 3U);
    EXPECT_EQ(d.events()[0], "A a INBOX #0 5000+ flags=0");
    EXPECT_EQ(d.events()[1], "D " + std::string(5000, 'm'));
    EXPECT_EQ(d.events()[2], "C a APPEND INBOX {5000}");
}

TEST(ImapFraming, AppendVariants) {
    // The mailbox itself as a literal is collected, the message after it is streamed.
    EXPECT_EQ(
        run("a APPEND {5}\r\nINBOX {3}\r\nabc\r\n"),
        (Events{"+", "A a INBOX #0 3 flags=0", "+", "D abc", "C a APPEND INBOX {3}"})
    );
    // MULTIAPPEND (RFC 3502)
    EXPECT_EQ(
        run("m APPEND Sent {2}\r\nab (\\Seen \\Draft) {1}\r\nc\r\n"),
        (Events{
            "A m Sent #0 2 flags=0",
            "+",
            "D ab",
            "A m Sent #1 1 flags=2",
            "+",
            "D c",
            "C m APPEND Sent {2} (\\Seen \\Draft) {1}"
        })
    );
    // CATENATE (RFC 4469): the URL is collected, TEXT parts are streamed.
    EXPECT_EQ(
        run("c APPEND Drafts CATENATE (URL {4}\r\n/a;b TEXT {3+}\r\nxyz URL \"/c\")\r\n"),
        (Events{
            "+",
            "A c Drafts #0 3+ text flags=0",
            "D xyz",
            "C c APPEND Drafts CATENATE (URL /a;b TEXT {3} URL /c)"
        })
    );
    // RFC 6855 §4: a message with UTF-8 header fields as `UTF8 (literal8)`, alone and in a
    // MULTIAPPEND; without its ")" the command is an error.
    EXPECT_EQ(
        run("u APPEND INBOX UTF8 (~{3}\r\nabc) (\\Seen) UTF8 (~{2+}\r\nde)\r\n"),
        (Events{
            "A u INBOX #0 3 bin flags=0",
            "+",
            "D abc",
            "A u INBOX #1 2+ bin flags=1",
            "D de",
            "C u APPEND INBOX UTF8 (~{3}) (\\Seen) UTF8 (~{2})"
        })
    );
    EXPECT_EQ(
        run("v APPEND INBOX UTF8 (~{1+}\r\nx\r\nw NOOP\r\n"),
        (Events{"A v INBOX #0 1+ bin flags=0", "D x", "E v BAD Missing ')'", "C w NOOP"})
    );
    // A syntax error after the message: the engine gets Error and discards what it wrote.
    EXPECT_EQ(
        run("e APPEND INBOX {1}\r\nx junk\r\nf NOOP\r\n"),
        (Events{"A e INBOX #0 1 flags=0", "+", "D x", "E e BAD Expected a literal", "C f NOOP"})
    );
}

TEST(ImapFraming, RejectedAppendLiteralsKeepTheSessionInSync) {
    DriverPolicy reject;
    reject.reject_appends = true;
    // Synchronising: the client never sends the data.
    EXPECT_EQ(
        run("a APPEND Nope {5}\r\nb NOOP\r\n", {}, {}, reject),
        (Events{"A a Nope #0 5 flags=0", "C b NOOP"})
    );
    // Non-synchronising: the data is read and dropped with the rest of the command,
    // including a second non-synchronising message (MULTIAPPEND).
    EXPECT_EQ(
        run("a APPEND Nope {5+}\r\nhello {3+}\r\nabc\r\nb NOOP\r\n", {}, {}, reject),
        (Events{"A a Nope #0 5+ flags=0", "C b NOOP"})
    );
}

TEST(ImapFraming, HugeLiteralsGetTooBig) {
    // Issue 3: "a literal announced as {4294967296}": refused before the client sends it.
    EXPECT_EQ(
        run("a APPEND INBOX {4294967296}\r\nb NOOP\r\n"),
        (Events{"E a NO [TOOBIG] Message too large", "C b NOOP"})
    );
    EXPECT_EQ(
        run("a LOGIN {4294967296}\r\nb NOOP\r\n"),
        (Events{"E a BAD [TOOBIG] Literal too large", "C b NOOP"})
    );
    EXPECT_EQ(
        run("a LOGIN {99999999999999999999999999}\r\nb NOOP\r\n"),
        (Events{"E a BAD [TOOBIG] Literal too large", "C b NOOP"})
    );
    // Non-synchronising and too big to drain: BYE (RFC 7888 §4 choice 2).
    TestDriver d;
    ASSERT_TRUE(d.push("a APPEND INBOX {4294967296+}\r\nxxxx"));
    EXPECT_EQ(d.events(), (Events{"F * BAD [TOOBIG] Message too large"}));
    EXPECT_EQ(d.parser().feed("b NOOP\r\n").status, ParseStatus::Fatal);
}

TEST(ImapFraming, NonSynchronisingLiteralOverLimitIsDrainedThenRefused) {
    const std::string big(100, 'q');
    EXPECT_EQ(
        run("a LOGIN {100+}\r\n" + big + " pw\r\nb NOOP\r\n", small_limits()),
        (Events{"E a BAD [TOOBIG] Literal too large", "C b NOOP"})
    );
    // LITERAL- (RFC 7888 §5): over 4096 octets non-synchronising is refused even for APPEND.
    ParserOptions minus;
    minus.literal_minus = true;
    EXPECT_EQ(
        run("a APPEND INBOX {5000+}\r\n" + std::string(5000, 'x') + "\r\nb NOOP\r\n", {}, minus),
        (Events{
            "E a BAD [TOOBIG] Non-synchronizing literal over 4096 octets (LITERAL-)", "C b NOOP"
        })
    );
    EXPECT_EQ(run("a LOGIN {4+}\r\nfred pw\r\n", {}, minus), (Events{"C a LOGIN fred pw"}));
}

TEST(ImapFraming, OverlongLineIsSkippedAndTheNextCommandParses) {
    ParserLimits l;
    l.max_line = 64;
    EXPECT_EQ(
        run("x1 NOOP " + std::string(100, 'a') + "\r\nx2 NOOP\r\n", l),
        (Events{"E x1 BAD Command line too long", "C x2 NOOP"})
    );
    // Split so that the tag arrived in an earlier read.
    TestDriver d(l);
    ASSERT_TRUE(d.push("x3 SEARCH TEXT "));
    ASSERT_TRUE(d.push(std::string(100, 'b')));
    ASSERT_TRUE(d.push(" {5+}\r\nabcde\r\nx4 NOOP\r\n"));
    EXPECT_EQ(d.events(), (Events{"E x3 BAD Command line too long", "C x4 NOOP"}));
}

TEST(ImapFraming, DeepNestingAndTooManyArgumentsAreRefused) {
    const std::string deep = std::string(40, '(') + "ALL" + std::string(40, ')');
    EXPECT_EQ(run("a SEARCH " + deep + "\r\n"), (Events{"E a BAD Too deeply nested"}));
    const std::string ok = std::string(10, '(') + "ALL" + std::string(10, ')');
    EXPECT_EQ(run("a SEARCH " + ok + "\r\n").at(0).substr(0, 2), "C ");
    ParserLimits l;
    l.max_args = 10;
    std::string set = "1";
    for (int i = 2; i <= 20; ++i) {
        set += "," + std::to_string(i);
    }
    EXPECT_EQ(run("a FETCH " + set + " FLAGS\r\n", l), (Events{"E a BAD Too many arguments"}));
    EXPECT_EQ(
        run("a SEARCH SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN SEEN\r\n", l),
        (Events{"E a BAD Too many arguments"})
    );
}

TEST(ImapFraming, BadInputNeverDesynchronises) {
    EXPECT_EQ(
        run(std::string("a LOGIN a") + '\0' + "b c\r\nb NOOP\r\n"),
        (Events{"E a BAD NUL byte in command", "C b NOOP"})
    );
    EXPECT_EQ(
        run("a SEARCH ((SEEN)\r\nb FETCH 1 FLAGS))\r\nc NOOP\r\n"),
        (Events{"E a BAD Missing ')'", "E b BAD Unexpected extra arguments", "C c NOOP"})
    );
    EXPECT_EQ(
        run("a SELECT \xff\xfe\r\nb NOOP\r\n"),
        (Events{"E a BAD 8-bit byte in an atom", "C b NOOP"})
    );
    // Issue 3: 200 bad commands, then the server still serves.
    std::string junk;
    for (int i = 0; i < 200; ++i) {
        junk += "t" + std::to_string(i) + " BOGUS (((\r\n";
    }
    const auto ev = run(junk + "ok NOOP\r\n");
    ASSERT_EQ(ev.size(), 201U);
    EXPECT_EQ(ev.back(), "C ok NOOP");
    EXPECT_EQ(ev.front(), "E t0 BAD Unknown command");
}

TEST(ImapFraming, RawLinesForIdleAndSasl) {
    EXPECT_EQ(run("a IDLE\r\ndone\r\nb NOOP\r\n"), (Events{"C a IDLE", "L done", "C b NOOP"}));
    EXPECT_EQ(run("s AUTHENTICATE PLAIN\r\n*\r\n"), (Events{"C s AUTHENTICATE PLAIN", "L *"}));
    ParserLimits l;
    l.max_line = 24;
    EXPECT_EQ(
        run("s AUTHENTICATE X\r\n" + std::string(40, 'A') + "\r\nb NOOP\r\n", l),
        (Events{"C s AUTHENTICATE X", "E s BAD Line too long", "C b NOOP"})
    );
}

TEST(ImapFraming, OptionsCanChangeBetweenCommands) {
    CommandParser p;
    ASSERT_EQ(p.feed("a ENABLE UTF8=ACCEPT\r\n").status, ParseStatus::Command);
    ParserOptions o = p.options();
    o.utf8 = true;
    p.set_options(o);
    ASSERT_EQ(p.feed("b SELECT \"\xC3\xA9\"\r\n").status, ParseStatus::Command);
    EXPECT_EQ(std::get<SelectArgs>(p.command().args).mailbox, "\xC3\xA9");
}

}  // namespace
}  // namespace sov::imap::wire
