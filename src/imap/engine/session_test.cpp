// The IMAP engine over a real store and accounts database, driven through the real command
// parser: what a client sends goes in as bytes, what it would read comes out as bytes.
#include "imap/engine/session.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "accounts/directory.hpp"
#include "accounts/login_throttle.hpp"
#include "imap/engine/detail/session_harness.hpp"
#include "mime/serialize.hpp"
#include "mime/structure.hpp"
#include "mime/text.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace sov::imap {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kUser = "joe@example.test";
constexpr std::string_view kPassword = "pass word";

class World {
public:
    World() {
        accounts::Directory::Options opts;
        opts.password = accounts::PasswordParams::minimum_for_test();
        directory = std::move(*accounts::Directory::open(dir.path() / "accounts.db", opts));
        EXPECT_TRUE(directory->add_domain("example.test"));
        EXPECT_TRUE(directory->add_user(kUser, kPassword));
        store::StoreOptions so;
        so.data_dir = dir.path();
        so.structure_of = [](std::string_view b) {
            return mime::serialize(mime::parse_message(b));
        };
        so.text_of = [](std::string_view b) {
            auto t = mime::folded_searchable_text(b);
            return store::IndexedText{.headers = std::move(t.headers), .body = std::move(t.body)};
        };
        so.sync_threads = 1;
        store = std::move(*store::Store::open(std::move(so)));
    }
    Services services() {
        return Services{.store = store.get(), .directory = directory.get(), .throttle = &throttle};
    }
    void deliver(std::string_view message) {
        auto in = store->begin_message();
        ASSERT_TRUE(in);
        ASSERT_TRUE(in->append(message));
        store::DeliveryRequest req;
        store::Recipient rcpt;
        rcpt.account = std::string(kUser);
        req.recipients.push_back(std::move(rcpt));
        auto out = store->deliver(std::move(*in), std::move(req));
        ASSERT_TRUE(out.at(0).delivered());
    }

    test::TempDir dir;
    std::unique_ptr<accounts::Directory> directory;
    std::unique_ptr<store::Store> store;
    accounts::LoginThrottle throttle;
};

/// One client connection: bytes in, bytes out, like the driver (imap/server/connection.cpp).
class Client : public detail::SessionHarness {
public:
    explicit Client(World& world, bool tls = true)
        : SessionHarness(world.services(), config(tls)) {}
    static SessionConfig config(bool tls) {
        SessionConfig c;
        c.hostname = "mail.example.test";
        c.starttls_available = !tls;
        c.tls_active = tls;
        return c;
    }
    std::string send(std::string_view input) {
        auto out = SessionHarness::send(input);
        EXPECT_FALSE(quick_refusal_wrote);  // nothing written when refused
        return out;
    }
    std::string login() {
        return send("L1 LOGIN " + std::string(kUser) + " \"" + std::string(kPassword) + "\"\r\n");
    }
};

std::string msg(std::string_view subject, std::string_view body = "hello\r\n") {
    return "From: Ann <ann@example.org>\r\nTo: joe@example.test\r\nSubject: " +
           std::string(subject) + "\r\nMessage-ID: <" + std::string(subject) +
           "@example.org>\r\n\r\n" + std::string(body);
}

TEST(ImapSession, PlaintextRefusesLoginAndAdvertisesStarttls) {
    World w;
    Client c(w, false);
    EXPECT_THAT(c.greeting(), HasSubstr("STARTTLS"));
    EXPECT_THAT(c.greeting(), HasSubstr("LOGINDISABLED"));
    EXPECT_THAT(c.greeting(), Not(HasSubstr("AUTH=PLAIN")));
    EXPECT_THAT(c.login(), HasSubstr("L1 NO [PRIVACYREQUIRED]"));
    EXPECT_THAT(c.send("a SELECT INBOX\r\n"), HasSubstr("a BAD"));
}

// "\0joe@example.test\0pass word" and friends, base64 (RFC 4616 messages).
constexpr std::string_view kPlainB64 = "AGpvZUBleGFtcGxlLnRlc3QAcGFzcyB3b3Jk";
constexpr std::string_view kPlainWrongB64 = "AGpvZUBleGFtcGxlLnRlc3QAd3Jvbmc=";
constexpr std::string_view kPlainOtherAuthzB64 =
    "Ym9iQGV4YW1wbGUudGVzdABqb2VAZXhhbXBsZS50ZXN0AHBhc3Mgd29yZA==";

TEST(ImapSession, AuthenticatePlainWithAndWithoutInitialResponse) {
    World w;
    Client ir(w);
    EXPECT_THAT(
        ir.send("a AUTHENTICATE PLAIN " + std::string(kPlainB64) + "\r\n"),
        HasSubstr("a OK [CAPABILITY")
    );
    Client cont(w);
    EXPECT_EQ(cont.send("b AUTHENTICATE plain\r\n"), "+ \r\n");
    EXPECT_THAT(cont.send(std::string(kPlainB64) + "\r\n"), HasSubstr("b OK [CAPABILITY"));
    EXPECT_THAT(cont.send("s SELECT INBOX\r\n"), HasSubstr("s OK [READ-WRITE]"));
}

TEST(ImapSession, AuthenticateFailures) {
    World w;
    Client c(w);
    EXPECT_THAT(
        c.send("a AUTHENTICATE PLAIN " + std::string(kPlainWrongB64) + "\r\n"),
        HasSubstr("a NO [AUTHENTICATIONFAILED]")
    );
    EXPECT_EQ(w.throttle.failures("acct:joe@example.test"), 1U);
    EXPECT_THAT(
        c.send("b AUTHENTICATE PLAIN " + std::string(kPlainOtherAuthzB64) + "\r\n"),
        HasSubstr("b NO [AUTHORIZATIONFAILED]")
    );
    EXPECT_THAT(c.send("c AUTHENTICATE PLAIN =\r\n"), HasSubstr("c BAD Malformed PLAIN"));
    EXPECT_THAT(c.send("d AUTHENTICATE CRAM-MD5\r\n"), HasSubstr("d NO [CANNOT]"));
    EXPECT_EQ(c.send("e AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    EXPECT_EQ(c.send("*\r\n"), "e BAD Authentication cancelled\r\n");
    EXPECT_THAT(c.send("s SELECT INBOX\r\n"), HasSubstr("s BAD"));  // still not logged in
}

TEST(ImapSession, AuthenticateLogin) {
    World w;
    Client c(w);
    EXPECT_EQ(c.send("a AUTHENTICATE LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
    EXPECT_EQ(c.send("am9lQGV4YW1wbGUudGVzdA==\r\n"), "+ UGFzc3dvcmQ6\r\n");
    EXPECT_THAT(c.send("cGFzcyB3b3Jk\r\n"), HasSubstr("a OK [CAPABILITY"));
}

TEST(ImapSession, LoginSelectAppendFetch) {
    World w;
    Client c(w);
    EXPECT_THAT(
        c.send("L0 LOGIN joe@example.test wrong\r\n"), HasSubstr("L0 NO [AUTHENTICATIONFAILED]")
    );
    EXPECT_THAT(c.login(), HasSubstr("L1 OK [CAPABILITY"));
    auto out = c.send("s SELECT INBOX\r\n");
    EXPECT_THAT(out, HasSubstr("* 0 EXISTS"));
    EXPECT_THAT(out, HasSubstr("s OK [READ-WRITE]"));
    const std::string m = msg("first");
    out = c.send("ap APPEND INBOX (\\Flagged) {" + std::to_string(m.size()) + "}\r\n" + m + "\r\n");
    EXPECT_THAT(out, HasSubstr("+ Ready"));
    EXPECT_THAT(out, HasSubstr("* 1 EXISTS"));  // the selected mailbox hears of its new message
    EXPECT_THAT(out, HasSubstr("ap OK [APPENDUID "));
    out =
        c.send("f UID FETCH 1 (FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)] ENVELOPE)\r\n");
    EXPECT_THAT(
        out,
        HasSubstr(
            "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent) RFC822.SIZE " + std::to_string(m.size())
        )
    );
    EXPECT_THAT(out, HasSubstr("Subject: first\r\n\r\n"));
    EXPECT_THAT(out, HasSubstr("((\"Ann\" NIL \"ann\" \"example.org\"))"));
    EXPECT_THAT(out, HasSubstr("f OK"));
    out = c.send("g FETCH 1 BODY[TEXT]\r\n");
    EXPECT_THAT(out, HasSubstr("BODY[TEXT] {7}\r\nhello\r\n"));
    EXPECT_THAT(out, HasSubstr("\\Seen"));
}

// MULTIAPPEND (RFC 3502): several messages in one APPEND, stored together with consecutive
// UIDs, or none of them when one is refused.
TEST(ImapSession, MultiappendIsAllOrNothing) {
    World w;
    w.deliver(msg("zero"));
    // Three messages at most: the session takes the quota from the directory at login.
    ASSERT_TRUE(w.directory->set_quota(kUser, {.bytes = 0, .messages = 3}));
    Client c(w);
    EXPECT_THAT(c.login(), HasSubstr(" MULTIAPPEND "));
    const auto literal = [](const std::string& m) {
        return "{" + std::to_string(m.size()) + "+}\r\n" + m;
    };
    const std::string one = msg("one");
    const std::string two = msg("two");
    auto out = c.send(
        "m1 APPEND INBOX (\\Seen) " + literal(one) + " (\\Flagged) " + literal(two) + "\r\n"
    );
    EXPECT_THAT(out, HasSubstr("m1 OK [APPENDUID "));
    EXPECT_THAT(out, HasSubstr(" 2,3]"));
    // Two more would make four messages of three: neither is stored, no UID is used.
    out = c.send("m2 APPEND INBOX " + literal(msg("three")) + " " + literal(msg("four")) + "\r\n");
    EXPECT_THAT(out, HasSubstr("m2 NO [OVERQUOTA]"));
    out = c.send("s SELECT INBOX\r\n");
    EXPECT_THAT(out, HasSubstr("* 3 EXISTS"));
    EXPECT_THAT(out, HasSubstr("[UIDNEXT 4]"));
    out = c.send("f FETCH 2:3 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n");
    EXPECT_THAT(out, HasSubstr("* 2 FETCH (FLAGS (\\Seen \\Recent)"));
    EXPECT_THAT(out, HasSubstr("Subject: one"));
    EXPECT_THAT(out, HasSubstr("* 3 FETCH (FLAGS (\\Flagged \\Recent)"));
    EXPECT_THAT(out, HasSubstr("Subject: two"));
    // At most 100 messages in one APPEND: the 101st is refused, none is stored, and the
    // session goes on.
    std::string many = "m4 APPEND INBOX";
    for (int i = 0; i < 101; ++i) {
        many += " " + literal(msg("many"));
    }
    out = c.send(many + "\r\n");
    EXPECT_THAT(out, HasSubstr("m4 NO [LIMIT]"));
    EXPECT_THAT(c.send("n0 NOOP\r\n"), HasSubstr("n0 OK"));
    // An empty message refuses the command before anything is stored.
    out = c.send("m3 APPEND INBOX " + literal(msg("five")) + " {0+}\r\n\r\n");
    EXPECT_THAT(out, HasSubstr("m3 NO"));
    EXPECT_THAT(c.send("n NOOP\r\n"), Not(HasSubstr("EXISTS")));
}

// RFC 6855 §4: with UTF8=ACCEPT, a message with UTF-8 header fields comes as
// `UTF8 (literal8)`; it is stored as sent, and MULTIAPPEND mixes both forms.
TEST(ImapSession, AppendTakesTheUtf8DataItem) {
    World w;
    Client c(w);
    EXPECT_THAT(c.login(), HasSubstr(" UTF8=ACCEPT "));
    EXPECT_THAT(c.send("e ENABLE UTF8=ACCEPT\r\n"), HasSubstr("* ENABLED UTF8=ACCEPT"));
    const std::string utf8 = "Subject: Grüße\r\nFrom: Zoë <zoe@example.org>\r\n\r\nHallo\r\n";
    const std::string plain = msg("plain");
    auto out = c.send(
        "u APPEND INBOX UTF8 (~{" + std::to_string(utf8.size()) + "+}\r\n" + utf8 + ") {" +
        std::to_string(plain.size()) + "+}\r\n" + plain + "\r\n"
    );
    EXPECT_THAT(out, HasSubstr("u OK [APPENDUID "));
    EXPECT_THAT(out, HasSubstr(" 1,2]"));
    c.send("s SELECT INBOX\r\n");
    out = c.send("f FETCH 1:2 (RFC822.SIZE BODY.PEEK[])\r\n");
    EXPECT_THAT(out, HasSubstr("RFC822.SIZE " + std::to_string(utf8.size()) + " BODY[] {"));
    EXPECT_THAT(out, HasSubstr(utf8));
    EXPECT_THAT(out, HasSubstr("Subject: plain"));
    // A UTF8 item without its ")" is a syntax error, and nothing is stored.
    out = c.send("v APPEND INBOX UTF8 (~{5+}\r\nhello\r\n");
    EXPECT_THAT(out, HasSubstr("v BAD"));
    EXPECT_THAT(c.send("n NOOP\r\n"), Not(HasSubstr("EXISTS")));
}

std::string lit(std::string_view text) {
    return "{" + std::to_string(text.size()) + "+}\r\n" + std::string(text);
}

// CATENATE (RFC 4469): TEXT parts and URL parts in order; a URL that names nothing we have is
// NO [BADURL url] and stores nothing, for any of a MULTIAPPEND's messages.
TEST(ImapSession, CatenateJoinsTextAndUrlParts) {
    World w;
    w.deliver("From: Ann <ann@example.org>\r\nSubject: source\r\n\r\nthe body\r\nbare LF\n");
    Client c(w);
    EXPECT_THAT(c.login(), HasSubstr(" CATENATE "));
    c.send("c CREATE Drafts\r\n");
    auto out = c.send(
        "a APPEND Drafts (\\Draft) CATENATE (TEXT " + lit("Subject: fwd\r\n\r\n") +
        " URL \"/INBOX/;UID=1/;SECTION=TEXT\" TEXT " + lit("-- \r\n") + ")\r\n"
    );
    EXPECT_THAT(out, HasSubstr("a OK [APPENDUID "));
    // Only URLs, no literal at all; a relative URL needs a selected mailbox.
    EXPECT_THAT(
        c.send("b APPEND Drafts CATENATE (URL \";UID=1/;SECTION=HEADER\")\r\n"),
        HasSubstr("b NO [BADURL ;UID=1/;SECTION=HEADER]")
    );
    c.send("s SELECT INBOX\r\n");
    EXPECT_THAT(
        c.send(
            "b APPEND Drafts CATENATE (URL \";uid=1/;section=header\" URL "
            "\"/INBOX;UIDVALIDITY=" +
            std::to_string(w.store->mailbox(kUser, "INBOX")->uid_validity) +
            "/;UID=1/;PARTIAL=4.3\")\r\n"
        ),
        HasSubstr("b OK [APPENDUID ")
    );
    // Stale UIDVALIDITY, no such message, no such part, another server: nothing is stored,
    // whichever message of the MULTIAPPEND names it.
    for (const char* bad :
         {"/INBOX;UIDVALIDITY=1/;UID=1",
          "/INBOX/;UID=9",
          "/INBOX/;UID=1/;SECTION=2",
          "imap://joe@mail.example.test/INBOX/;UID=1",
          "/Nope/;UID=1"}) {
        out = c.send(
            "d APPEND Drafts " + lit("Subject: first\r\n\r\nx\r\n") + " CATENATE (TEXT " +
            lit("Subject: second\r\n\r\n") + " URL \"" + bad + "\")\r\n"
        );
        EXPECT_THAT(out, HasSubstr("d NO [BADURL " + std::string(bad) + "]")) << bad;
    }
    // A CATENATE of URLs only, before and after a plain literal (MULTIAPPEND).
    out = c.send(
        "e APPEND Drafts CATENATE (URL \"/INBOX/;UID=1/;SECTION=HEADER\") " +
        lit("Subject: plain\r\n\r\ny\r\n") + " CATENATE (URL \"/Drafts/;UID=1\")\r\n"
    );
    EXPECT_THAT(out, HasSubstr("e OK [APPENDUID "));
    EXPECT_THAT(out, HasSubstr(" 3,4,5]"));
    EXPECT_THAT(
        c.send("f APPEND Nope CATENATE (URL \"/INBOX/;UID=1\")\r\n"), HasSubstr("f NO [TRYCREATE]")
    );
    c.send("g SELECT Drafts\r\n");
    out = c.send("h FETCH 1:* (FLAGS BODY.PEEK[])\r\n");
    // The bare LF of the source comes out as CRLF, as FETCH sends it.
    EXPECT_THAT(
        out,
        HasSubstr("* 1 FETCH (FLAGS (\\Draft \\Recent) BODY[] {40}\r\n"
                  "Subject: fwd\r\n\r\nthe body\r\nbare LF\r\n-- \r\n)")
    );
    EXPECT_THAT(
        out,
        HasSubstr("* 2 FETCH (FLAGS (\\Recent) BODY[] {51}\r\nFrom: Ann "
                  "<ann@example.org>\r\nSubject: source\r\n\r\n: A)")
    );
    EXPECT_THAT(
        out, HasSubstr("* 4 FETCH (FLAGS (\\Recent) BODY[] {21}\r\nSubject: plain\r\n\r\ny\r\n)")
    );
    EXPECT_THAT(out, HasSubstr("* 5 FETCH (FLAGS (\\Recent) BODY[] {40}\r\nSubject: fwd\r\n"));
    EXPECT_THAT(out, Not(HasSubstr("* 6 FETCH")));
}

// APPENDLIMIT bounds the message CATENATE puts together, not only each literal (RFC 4469 §4.2).
TEST(ImapSession, CatenateBeyondTheAppendLimitIsTooBig) {
    World w;
    w.deliver(msg("source", std::string(100, 'x') + "\r\n"));
    auto config = Client::config(true);
    config.max_append = 110;  // the source's text is 102 octets
    detail::SessionHarness c(w.services(), config);
    c.send("L1 LOGIN " + std::string(kUser) + " \"" + std::string(kPassword) + "\"\r\n");
    EXPECT_THAT(
        c.send(
            "a APPEND INBOX CATENATE (TEXT " + lit("Subject: big\r\n\r\n") +
            " URL \"/INBOX/;UID=1/;SECTION=TEXT\")\r\n"
        ),
        HasSubstr("a NO [TOOBIG]")
    );
    EXPECT_THAT(
        c.send("b APPEND INBOX CATENATE (URL \"/INBOX/;UID=1/;SECTION=TEXT\")\r\n"),
        HasSubstr("b OK [APPENDUID ")
    );
    EXPECT_THAT(c.send("s SELECT INBOX\r\n"), HasSubstr("* 2 EXISTS"));
}

TEST(ImapSession, MessageGlobalShapeFollowsTheSessionNotTheRenderCache) {
    // RFC 3501 §9: MESSAGE/GLOBAL is body-type-basic for IMAP4rev1; RFC 9051 §9: body-type-msg
    // after ENABLE IMAP4rev2. The first FETCH stores the render cache; neither mode may get the
    // other's text from it.
    World w;
    w.deliver("Subject: outer\r\nContent-Type: message/global\r\n\r\nSubject: inner\r\n\r\nhi\r\n");
    Client rev1(w);
    Client rev2(w);
    rev1.login();
    rev2.login();
    EXPECT_THAT(rev2.send("e ENABLE IMAP4rev2\r\n"), HasSubstr("* ENABLED IMAP4rev2"));
    rev1.send("s SELECT INBOX\r\n");
    rev2.send("s SELECT INBOX\r\n");
    constexpr std::string_view kBasic = R"(BODY ("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 22))";
    constexpr std::string_view kMsg =
        R"(BODY ("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 22 (NIL "inner")";
    for (int round = 0; round < 2; ++round) {  // the second round reads the stored cache
        EXPECT_THAT(rev1.send("f FETCH 1 BODY\r\n"), HasSubstr(kBasic)) << round;
        EXPECT_THAT(rev2.send("f FETCH 1 BODY\r\n"), HasSubstr(kMsg)) << round;
    }
}

// ESORT (RFC 5267 §3): RETURN options answer with ESEARCH, MIN and MAX are the first and last
// sorted messages and ALL keeps the sort order; with a MODSEQ criterion the plain SORT answer
// ends with the highest mod-sequence (RFC 7162 §3.1.9).
TEST(ImapSession, SortReturnOptionsKeepTheSortOrder) {
    World w;
    for (const auto* subject : {"delta", "alpha", "charlie", "bravo"}) {
        w.deliver(msg(subject));
    }
    Client c(w);
    EXPECT_THAT(c.login(), HasSubstr(" SORT SORT=DISPLAY ESORT "));
    c.send("s SELECT INBOX\r\n");
    EXPECT_THAT(c.send("a SORT (SUBJECT) UTF-8 ALL\r\n"), HasSubstr("* SORT 2 4 3 1\r\n"));
    EXPECT_THAT(
        c.send("b SORT RETURN (MIN MAX ALL COUNT) (SUBJECT) UTF-8 ALL\r\n"),
        HasSubstr("* ESEARCH (TAG \"b\") MIN 2 MAX 1 ALL 2,4,3,1 COUNT 4\r\nb OK")
    );
    EXPECT_THAT(
        c.send("c UID SORT RETURN () (REVERSE SUBJECT) UTF-8 ALL\r\n"),
        HasSubstr("* ESEARCH (TAG \"c\") UID ALL 1,3:4,2\r\nc OK")
    );
    EXPECT_THAT(
        c.send("d SORT RETURN (ALL) (ARRIVAL) UTF-8 NOT SUBJECT charlie\r\n"),
        HasSubstr("* ESEARCH (TAG \"d\") ALL 1:2,4\r\n")
    );
    // SAVE with MIN keeps the first sorted message alone (RFC 5182 §2.4).
    EXPECT_THAT(
        c.send("e UID SORT RETURN (SAVE MIN) (SUBJECT) UTF-8 ALL\r\n"),
        HasSubstr("* ESEARCH (TAG \"e\") UID MIN 2\r\n")
    );
    EXPECT_THAT(c.send("f UID SEARCH UID $\r\n"), HasSubstr("* SEARCH 2\r\n"));
    EXPECT_THAT(c.send("g SORT RETURN (SAVE) (SUBJECT) UTF-8 SUBJECT l\r\n"), Not(HasSubstr("*")));
    EXPECT_THAT(c.send("h SEARCH UID $\r\n"), HasSubstr("* SEARCH 1 2 3\r\n"));
    const auto modseq = c.send("i SORT (SUBJECT) UTF-8 MODSEQ 1\r\n");
    EXPECT_THAT(modseq, testing::ContainsRegex("\\* SORT 2 4 3 1 \\(MODSEQ [0-9]+\\)\r\n"));
    EXPECT_THAT(c.send("j SORT (SUBJECT) UTF-8 MODSEQ 1000000\r\n"), HasSubstr("* SORT\r\n"));
}

// CONTEXT=SEARCH (RFC 5267 §4.3): a SEARCH with UPDATE hears of every change to its result,
// its own session's and others', as ADDTO / REMOVEFROM in mailbox order (position 0); new
// messages' numbers come after their EXISTS, expunged ones' before their EXPUNGE.
TEST(ImapSession, SearchUpdatesFollowTheMailbox) {
    World w;
    for (int i = 1; i <= 5; ++i) {
        w.deliver(msg("s" + std::to_string(i)));
    }
    Client c(w);
    EXPECT_THAT(c.login(), HasSubstr(" CONTEXT=SEARCH CONTEXT=SORT "));
    c.send("s SELECT INBOX\r\n");
    Client other(w);
    other.login();
    other.send("s SELECT INBOX\r\n");
    EXPECT_THAT(
        c.send("a SEARCH RETURN (UPDATE) SEEN\r\n"), HasSubstr("* ESEARCH (TAG \"a\")\r\na OK")
    );
    EXPECT_THAT(
        c.send("b STORE 1,2,4 +FLAGS (\\Seen)\r\n"),
        HasSubstr("* ESEARCH (TAG \"a\") ADDTO (0 1:2,4)\r\nb OK")
    );
    EXPECT_THAT(
        c.send("c STORE 1:2 -FLAGS.SILENT (\\Seen)\r\n"),
        HasSubstr("* ESEARCH (TAG \"a\") REMOVEFROM (0 1:2)\r\nc OK")
    );
    other.send("o1 STORE 3 +FLAGS.SILENT (\\Seen)\r\n");
    auto out = c.send("d NOOP\r\n");
    EXPECT_THAT(out, HasSubstr("* 3 FETCH (FLAGS (\\Seen \\Recent))\r\n"));
    EXPECT_THAT(out, HasSubstr("* ESEARCH (TAG \"a\") ADDTO (0 3)\r\n"));
    EXPECT_LT(out.find("* 3 FETCH"), out.find("ADDTO"));
    // A second context, by UID; message numbers and "$" cannot be followed (NOUPDATE).
    EXPECT_THAT(
        c.send("u UID SEARCH RETURN (UPDATE COUNT) UNSEEN\r\n"),
        HasSubstr("* ESEARCH (TAG \"u\") UID COUNT 3\r\nu OK")
    );
    EXPECT_THAT(c.send("n SEARCH RETURN (UPDATE) 1:2\r\n"), HasSubstr("* NO [NOUPDATE \"n\"]"));
    EXPECT_THAT(c.send("a SEARCH RETURN (UPDATE) ALL\r\n"), HasSubstr("a BAD"));  // tag reuse
    // A new message that matches: its EXISTS first. Expunges: REMOVEFROM first.
    w.deliver(msg("s6"));
    out = c.send("e NOOP\r\n");
    EXPECT_THAT(out, HasSubstr("* 6 EXISTS\r\n"));
    EXPECT_THAT(out, HasSubstr("* ESEARCH (TAG \"u\") UID ADDTO (0 6)\r\n"));
    EXPECT_THAT(out, Not(HasSubstr("(TAG \"a\")")));
    EXPECT_LT(out.find("EXISTS"), out.find("ADDTO"));
    c.send("f STORE 3:4 +FLAGS.SILENT (\\Deleted)\r\n");
    out = c.send("g EXPUNGE\r\n");
    EXPECT_THAT(out, HasSubstr("* ESEARCH (TAG \"a\") REMOVEFROM (0 3:4)\r\n"));
    EXPECT_LT(out.find("REMOVEFROM"), out.find("EXPUNGE\r\n"));
    // An expunge by another session, which changes no flags.
    other.send("o2 NOOP\r\n");  // learns of message 6
    other.send("o3 UID STORE 6 +FLAGS.SILENT (\\Deleted)\r\n");
    other.send("o4 UID EXPUNGE 6\r\n");
    out = c.send("h NOOP\r\n");
    EXPECT_THAT(out, HasSubstr("* ESEARCH (TAG \"u\") UID REMOVEFROM (0 6)\r\n"));
    EXPECT_LT(out.find("REMOVEFROM"), out.find("EXPUNGE\r\n"));
    // A change that IDLE's first poll reports brings its update with it.
    other.send("o5 STORE 1 +FLAGS.SILENT (\\Seen)\r\n");
    out = c.send("x IDLE\r\n");
    EXPECT_THAT(out, HasSubstr("* ESEARCH (TAG \"a\") ADDTO (0 1)\r\n"));
    EXPECT_THAT(out, HasSubstr("* ESEARCH (TAG \"u\") UID REMOVEFROM (0 1)\r\n"));
    EXPECT_LT(out.find("ESEARCH"), out.find("+ idling"));
    c.send("DONE\r\n");
    // CANCELUPDATE ends them; an unknown tag is an error.
    EXPECT_THAT(c.send("i CANCELUPDATE \"a\" \"u\"\r\n"), HasSubstr("i OK"));
    EXPECT_THAT(c.send("j STORE 1 +FLAGS (\\Seen)\r\n"), Not(HasSubstr("ESEARCH")));
    EXPECT_THAT(c.send("k CANCELUPDATE \"a\"\r\n"), HasSubstr("k BAD"));
    // A context ends with its mailbox.
    c.send("l SEARCH RETURN (UPDATE) UNSEEN\r\n");
    c.send("m UNSELECT\r\n");
    c.send("s2 SELECT INBOX\r\n");
    EXPECT_THAT(c.send("p STORE 1 -FLAGS (\\Seen)\r\n"), Not(HasSubstr("ESEARCH")));
}

// CONTEXT=SORT: updates say where in the sorted result messages leave and enter; REMOVEFROM
// positions count in the list as it is while they are removed (RFC 5267 §4.3.3-4.3.4).
TEST(ImapSession, SortUpdatesCarryPositions) {
    World w;
    for (const auto* subject : {"delta", "alpha", "charlie", "bravo"}) {
        w.deliver(msg(subject));
    }
    Client c(w);
    c.login();
    c.send("s SELECT INBOX\r\n");
    EXPECT_THAT(
        c.send("a SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNSEEN\r\n"),
        HasSubstr("* ESEARCH (TAG \"a\") ALL 2,4,3,1\r\n")
    );
    EXPECT_THAT(
        c.send("b STORE 3 +FLAGS.SILENT (\\Seen)\r\n"),
        HasSubstr("* ESEARCH (TAG \"a\") REMOVEFROM (3 3)\r\n")
    );
    EXPECT_THAT(
        c.send("c STORE 3 -FLAGS.SILENT (\\Seen)\r\n"),
        HasSubstr("* ESEARCH (TAG \"a\") ADDTO (3 3)\r\n")
    );
    EXPECT_THAT(
        c.send("d STORE 2,4 +FLAGS.SILENT (\\Seen)\r\n"),
        HasSubstr("* ESEARCH (TAG \"a\") REMOVEFROM (1 2,4)\r\n")
    );
    EXPECT_THAT(
        c.send("e STORE 2,1 -FLAGS.SILENT (\\Seen)\r\n"),
        HasSubstr("* ESEARCH (TAG \"a\") ADDTO (1 2)\r\n")
    );
    EXPECT_THAT(
        c.send("f STORE 2 +FLAGS.SILENT (\\Seen)\r\n"),
        HasSubstr("* ESEARCH (TAG \"a\") REMOVEFROM (1 2)\r\n")
    );
    EXPECT_THAT(
        c.send("g STORE 4,2 -FLAGS.SILENT (\\Seen)\r\n"),
        HasSubstr("* ESEARCH (TAG \"a\") ADDTO (1 2,4)\r\n")
    );
    c.send("h STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    const auto out = c.send("i EXPUNGE\r\n");
    EXPECT_THAT(out, HasSubstr("* ESEARCH (TAG \"a\") REMOVEFROM (4 1)\r\n* 1 EXPUNGE\r\n"));
    // The result as the client now has it: alpha bravo charlie, renumbered.
    EXPECT_THAT(
        c.send("j SORT RETURN (ALL) (SUBJECT) UTF-8 UNSEEN\r\n"),
        HasSubstr("* ESEARCH (TAG \"j\") ALL 1,3,2\r\n")
    );
}

// PARTIAL (RFC 5267 §4.4): positions in the result, in its order; NIL past the end.
TEST(ImapSession, PartialResults) {
    World w;
    for (const auto* subject : {"delta", "alpha", "charlie", "bravo", "echo"}) {
        w.deliver(msg(subject));
    }
    Client c(w);
    c.login();
    c.send("s SELECT INBOX\r\n");
    EXPECT_THAT(
        c.send("a SEARCH RETURN (PARTIAL 4:2) ALL\r\n"),
        HasSubstr("* ESEARCH (TAG \"a\") PARTIAL (2:4 2:4)\r\n")
    );
    EXPECT_THAT(
        c.send("b SEARCH RETURN (PARTIAL 2:9 COUNT) NOT 3\r\n"),
        HasSubstr("* ESEARCH (TAG \"b\") COUNT 4 PARTIAL (2:9 2,4:5)\r\n")
    );
    EXPECT_THAT(
        c.send("c UID SEARCH RETURN (PARTIAL 6:6) ALL\r\n"),
        HasSubstr("* ESEARCH (TAG \"c\") UID PARTIAL (6:6 NIL)\r\n")
    );
    EXPECT_THAT(
        c.send("d SORT RETURN (PARTIAL 2:4) (SUBJECT) UTF-8 ALL\r\n"),
        HasSubstr("* ESEARCH (TAG \"d\") PARTIAL (2:4 4,3,1)\r\n")
    );
    EXPECT_THAT(c.send("e SEARCH RETURN (PARTIAL 1:2 ALL) ALL\r\n"), HasSubstr("e BAD"));
    // RFC 9394 §3.1: counted from the last result.
    EXPECT_THAT(
        c.send("f SEARCH RETURN (PARTIAL -2:-1) ALL\r\n"),
        HasSubstr("* ESEARCH (TAG \"f\") PARTIAL (-1:-2 4:5)\r\n")
    );
    EXPECT_THAT(
        c.send("g SEARCH RETURN (PARTIAL -4:-9) ALL\r\n"),
        HasSubstr("* ESEARCH (TAG \"g\") PARTIAL (-4:-9 1:2)\r\n")
    );
    EXPECT_THAT(
        c.send("h SEARCH RETURN (PARTIAL -6:-7) ALL\r\n"),
        HasSubstr("* ESEARCH (TAG \"h\") PARTIAL (-6:-7 NIL)\r\n")
    );
    EXPECT_THAT(
        c.send("i SORT RETURN (PARTIAL -1:-2) (SUBJECT) UTF-8 ALL\r\n"),
        HasSubstr("* ESEARCH (TAG \"i\") PARTIAL (-1:-2 1,5)\r\n")
    );
    // SAVE with PARTIAL keeps what PARTIAL (and MIN / MAX) return; with COUNT, everything
    // (RFC 9394 §3.2, table 1).
    c.send("j UID SEARCH RETURN (SAVE PARTIAL 3:4 MIN) ALL\r\n");
    EXPECT_THAT(c.send("k UID SEARCH UID $\r\n"), HasSubstr("* SEARCH 1 3 4\r\n"));
    c.send("l UID SEARCH RETURN (SAVE PARTIAL 1:1 COUNT) ALL\r\n");
    EXPECT_THAT(c.send("m UID SEARCH UID $\r\n"), HasSubstr("* SEARCH 1 2 3 4 5\r\n"));
}

// RFC 9394 §3.3-3.4: UID FETCH ... (PARTIAL range) answers for that window of the messages the
// set names; CHANGEDSINCE then applies within the window.
TEST(ImapSession, FetchPartialModifier) {
    World w;
    for (int i = 1; i <= 5; ++i) {
        w.deliver(msg("m" + std::to_string(i)));
    }
    Client c(w);
    EXPECT_THAT(c.login(), HasSubstr(" PARTIAL "));
    const auto selected = c.send("s SELECT INBOX (CONDSTORE)\r\n");
    const auto at = selected.find("[HIGHESTMODSEQ ");
    ASSERT_NE(at, std::string::npos);
    const auto modseq = std::stoull(selected.substr(at + 15));
    auto out = c.send("a UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)\r\n");
    EXPECT_THAT(out, HasSubstr("* 4 FETCH (UID 4 FLAGS"));
    EXPECT_THAT(out, HasSubstr("* 5 FETCH (UID 5 FLAGS"));
    EXPECT_THAT(out, Not(HasSubstr("* 3 FETCH")));
    out = c.send("b UID FETCH 2:* (UID) (PARTIAL 2:3)\r\n");
    EXPECT_THAT(out, HasSubstr("* 3 FETCH (UID 3)\r\n* 4 FETCH (UID 4)\r\nb OK"));
    c.send("c STORE 1,5 +FLAGS.SILENT (\\Flagged)\r\n");
    out = c.send(
        "d UID FETCH 1:* (FLAGS) (PARTIAL -1:-3 CHANGEDSINCE " + std::to_string(modseq) + ")\r\n"
    );
    EXPECT_THAT(out, HasSubstr("* 5 FETCH (UID 5 FLAGS (\\Flagged \\Recent) MODSEQ ("));
    EXPECT_THAT(out, Not(HasSubstr("* 1 FETCH")));  // changed, but outside the window
}

TEST(ImapSession, FetchPreview) {  // RFC 8970
    World w;
    w.deliver(msg("plain", "Hello Ann,\r\n\r\nlunch at noon?\r\n> earlier text\r\n"));
    w.deliver(
        "Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<html><head><title>t</title></head><body><p>Grüße"
        " &amp; more</p></body></html>\r\n"
    );
    w.deliver(
        "Subject: image\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "iVBORw0KGgo=\r\n"
    );
    Client c(w);
    EXPECT_THAT(c.login(), HasSubstr(" PREVIEW "));
    c.send("s SELECT INBOX\r\n");
    auto out = c.send("a FETCH 1:3 (PREVIEW)\r\n");
    EXPECT_THAT(out, HasSubstr("* 1 FETCH (PREVIEW \"Hello Ann, lunch at noon?\")\r\n"));
    // 8-bit text goes as a literal to an IMAP4rev1 client, quoted once UTF8=ACCEPT is on.
    EXPECT_THAT(out, HasSubstr("* 2 FETCH (PREVIEW {14}\r\nGrüße & more)\r\n"));
    EXPECT_THAT(out, HasSubstr("* 3 FETCH (PREVIEW \"\")\r\n"));  // no text: "", never NIL
    EXPECT_THAT(out, HasSubstr("a OK"));
    EXPECT_THAT(c.send("f FETCH 1 (FLAGS)\r\n"), Not(HasSubstr("\\Seen")));  // PREVIEW is a peek

    // LAZY: NIL unless the FETCH reads the whole file anyway.
    out = c.send("b FETCH 1:3 (UID PREVIEW (LAZY))\r\n");
    EXPECT_THAT(out, HasSubstr("* 1 FETCH (UID 1 PREVIEW NIL)\r\n"));
    EXPECT_THAT(out, HasSubstr("* 3 FETCH (UID 3 PREVIEW NIL)\r\n"));
    out = c.send("c FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] PREVIEW (LAZY))\r\n");
    EXPECT_THAT(out, HasSubstr("PREVIEW NIL)"));
    out = c.send("d FETCH 1 (PREVIEW (LAZY) BODY.PEEK[TEXT])\r\n");
    EXPECT_THAT(out, HasSubstr("* 1 FETCH (PREVIEW \"Hello Ann, lunch at noon?\" BODY[TEXT] {"));

    c.send("e ENABLE UTF8=ACCEPT\r\n");
    EXPECT_THAT(
        c.send("g FETCH 2 PREVIEW\r\n"), HasSubstr("* 2 FETCH (PREVIEW \"Grüße & more\")\r\n")
    );
}

TEST(ImapSession, StoreSearchCopyMoveExpunge) {
    World w;
    w.deliver(msg("alpha", "the quick brown fox\r\n"));
    w.deliver(msg("beta", "lazy dog\r\n"));
    w.deliver(msg("gamma", "brown bear\r\n"));
    Client c(w);
    c.login();
    c.send("s SELECT INBOX\r\n");
    auto out = c.send("a STORE 2 +FLAGS (\\Deleted $Work)\r\n");
    EXPECT_THAT(out, HasSubstr("* 2 FETCH (FLAGS (\\Deleted \\Recent $Work))"));
    EXPECT_THAT(out, HasSubstr("* FLAGS ("));  // a new keyword is announced
    EXPECT_THAT(c.send("b SEARCH DELETED\r\n"), HasSubstr("* SEARCH 2\r\n"));
    EXPECT_THAT(c.send("c SEARCH BODY brown\r\n"), HasSubstr("* SEARCH 1 3\r\n"));
    EXPECT_THAT(c.send("d UID SEARCH SUBJECT GAMMA\r\n"), HasSubstr("* SEARCH 3\r\n"));
    EXPECT_THAT(
        c.send("e SEARCH RETURN (MIN COUNT) TEXT brown\r\n"),
        HasSubstr("* ESEARCH (TAG \"e\") MIN 1 COUNT 2")
    );
    EXPECT_THAT(c.send("f COPY 1 Nope\r\n"), HasSubstr("f NO [TRYCREATE]"));
    EXPECT_THAT(c.send("g COPY 1:2 Archive\r\n"), HasSubstr("g OK [COPYUID "));
    out = c.send("h MOVE 3 Trash\r\n");
    EXPECT_THAT(out, HasSubstr("* OK [COPYUID "));
    EXPECT_THAT(out, HasSubstr("* 3 EXPUNGE"));
    out = c.send("i EXPUNGE\r\n");
    EXPECT_THAT(out, HasSubstr("* 2 EXPUNGE"));
    EXPECT_THAT(c.send("j SEARCH ALL\r\n"), HasSubstr("* SEARCH 1\r\n"));
    EXPECT_THAT(
        c.send("k STATUS Archive (MESSAGES UNSEEN)\r\n"), HasSubstr("(MESSAGES 2 UNSEEN 2)")
    );
}

TEST(ImapSession, OtherSessionsHearChangesAtAllowedMoments) {
    World w;
    w.deliver(msg("one"));
    w.deliver(msg("two"));
    Client a(w);
    Client b(w);
    a.login();
    b.login();
    a.send("s SELECT INBOX\r\n");
    b.send("s SELECT INBOX\r\n");
    a.send("x STORE 1 +FLAGS (\\Answered)\r\n");
    EXPECT_THAT(b.send("n NOOP\r\n"), HasSubstr("* 1 FETCH (FLAGS (\\Answered))"));
    a.send("y STORE 2 +FLAGS (\\Deleted)\r\ny2 EXPUNGE\r\n");
    // No EXPUNGE during FETCH (RFC 9051 §7.5.1)...
    auto out = b.send("f FETCH 1 FLAGS\r\n");
    EXPECT_THAT(out, Not(HasSubstr("EXPUNGE")));
    // ... but at the next NOOP; the new delivery comes with it.
    w.deliver(msg("three"));
    out = b.send("n2 NOOP\r\n");
    EXPECT_THAT(out, HasSubstr("* 2 EXPUNGE\r\n"));
    EXPECT_THAT(out, HasSubstr("* 2 EXISTS\r\n"));
    EXPECT_LT(out.find("EXPUNGE"), out.find("n2 OK"));
}

// The selected mailbox is the one SELECT opened, not whatever has its name later (store
// MailboxKey::identity): a rename elsewhere leaves the session working on the same messages; a
// delete ends it, even when a new mailbox of the same name has a message under the same UID.
TEST(ImapSession, TheSelectedMailboxIsTheOneSelectOpened) {
    World w;
    Client a(w);
    Client b(w);
    a.login();
    b.login();
    auto append = [&](Client& c, const std::string& box, const std::string& m) {
        return c.send("ap APPEND " + box + " {" + std::to_string(m.size()) + "}\r\n" + m + "\r\n");
    };
    b.send("c CREATE Work\r\n");
    EXPECT_THAT(append(b, "Work", msg("old")), HasSubstr("ap OK [APPENDUID "));
    EXPECT_THAT(a.send("s SELECT Work\r\n"), HasSubstr("* 1 EXISTS"));
    Client quick(w);  // tries each command on the I/O thread first, as the driver does
    quick.quick = true;
    quick.login();
    EXPECT_THAT(quick.send("s SELECT Work\r\n"), HasSubstr("* 1 EXISTS"));

    EXPECT_THAT(b.send("r RENAME Work Projects\r\n"), HasSubstr("r OK"));
    auto out = a.send("f UID FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\n");
    EXPECT_THAT(out, HasSubstr("Subject: old"));
    EXPECT_THAT(out, HasSubstr("f OK"));
    // A session does not delete its own selected mailbox, whatever its name is now.
    EXPECT_THAT(a.send("d DELETE Projects\r\n"), HasSubstr("d NO [INUSE]"));

    EXPECT_THAT(b.send("d DELETE Projects\r\n"), HasSubstr("d OK"));
    b.send("c CREATE Work\r\n");
    EXPECT_THAT(append(b, "Work", msg("new")), HasSubstr("ap OK [APPENDUID "));
    out = a.send("f2 UID FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\n");
    EXPECT_THAT(out, Not(HasSubstr("Subject:")));
    EXPECT_THAT(out, HasSubstr("* BYE "));
    // BODY[] sets \Seen: refused on the I/O thread (a write), yet the BYE is what comes back.
    out = quick.send("f3 UID FETCH 1 BODY[]\r\n");
    EXPECT_EQ(out, "* BYE Selected mailbox was deleted\r\n");
}

TEST(ImapSession, IdleEndsWhenTheSelectedMailboxIsDeleted) {
    World w;
    Client a(w);
    Client b(w);
    a.login();
    b.login();
    b.send("c CREATE Work\r\n");
    a.send("s SELECT Work\r\n");
    EXPECT_THAT(a.send("i IDLE\r\n"), HasSubstr("+ idling"));
    EXPECT_THAT(b.send("d DELETE Work\r\n"), HasSubstr("d OK"));
    EXPECT_THAT(a.idle_poll(), HasSubstr("* BYE "));
}

TEST(ImapSession, IdleReportsNewMail) {
    World w;
    Client c(w);
    c.login();
    c.send("s SELECT INBOX\r\n");
    EXPECT_THAT(c.send("i IDLE\r\n"), HasSubstr("+ idling"));
    w.deliver(msg("ping"));
    EXPECT_THAT(c.idle_poll(), HasSubstr("* 1 EXISTS"));
    EXPECT_EQ(c.idle_poll(), "");
    EXPECT_THAT(c.send("DONE\r\n"), HasSubstr("i OK"));
}

TEST(ImapSession, QresyncReportsVanished) {
    World w;
    for (int i = 0; i < 4; ++i) {
        w.deliver(msg("m" + std::to_string(i)));
    }
    Client c(w);
    c.login();
    EXPECT_THAT(c.send("e ENABLE QRESYNC\r\n"), HasSubstr("* ENABLED QRESYNC"));
    auto out = c.send("s SELECT INBOX\r\n");
    const auto p = out.find("UIDVALIDITY ");
    ASSERT_NE(p, std::string::npos);
    const std::string validity = out.substr(p + 12, out.find(']', p) - p - 12);
    const auto h = out.find("HIGHESTMODSEQ ");
    const std::string modseq = out.substr(h + 14, out.find(']', h) - h - 14);
    out =
        c.send("x STORE 2,3 +FLAGS.SILENT (\\Deleted)\r\ny EXPUNGE\r\nz STORE 1 +FLAGS (\\Seen)\r\n"
        );
    EXPECT_THAT(out, HasSubstr("* VANISHED 2:3"));
    c.send("u UNSELECT\r\n");
    out = c.send("s2 SELECT INBOX (QRESYNC (" + validity + " " + modseq + " 1:4))\r\n");
    EXPECT_THAT(out, HasSubstr("* VANISHED (EARLIER) 2:3"));
    EXPECT_THAT(out, HasSubstr("* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ ("));
}

TEST(ImapSession, ListAndCreateValidateNames) {
    World w;
    Client c(w);
    c.login();
    EXPECT_THAT(c.send("a CREATE Work/Projects\r\n"), HasSubstr("a OK"));
    auto out = c.send("b LIST \"\" *\r\n");
    EXPECT_THAT(out, HasSubstr("* LIST (\\HasChildren) \"/\" Work"));
    EXPECT_THAT(out, HasSubstr("* LIST (\\HasNoChildren \\Sent) \"/\" Sent"));
    EXPECT_THAT(c.send("c LIST \"\" %/%\r\n"), HasSubstr("Work/Projects"));
    EXPECT_THAT(c.send("d CREATE ../x\r\n"), HasSubstr("d NO"));
    EXPECT_THAT(c.send("e CREATE a//b\r\n"), HasSubstr("e NO"));
    EXPECT_THAT(c.send("f DELETE INBOX\r\n"), HasSubstr("f NO"));
    // Not modified UTF-7 (RFC 3501 §5.1.3): CREATE refuses, SELECT finds nothing.
    EXPECT_THAT(c.send("f2 CREATE &Jjo\r\n"), HasSubstr("f2 BAD"));
    EXPECT_THAT(c.send("f3 SELECT &Jjo\r\n"), HasSubstr("f3 NO"));
    EXPECT_THAT(c.send("g RENAME Work Job\r\n"), HasSubstr("g OK"));
    EXPECT_THAT(c.send("h LIST \"\" Job/*\r\n"), HasSubstr("Job/Projects"));
}

}  // namespace
}  // namespace sov::imap

namespace sov::imap {
namespace {

// Session::handle(..., quick): what may run on the driver's I/O thread runs there with the
// same answer; what reads a lot or writes is refused with nothing written and runs again.
TEST(ImapSession, QuickCommandsAnswerAsOnWorkerThreads) {
    World w;
    for (int i = 0; i < 20; ++i) {
        w.deliver(msg("m" + std::to_string(i)));
    }
    Client q(w);
    Client ref(w);
    for (Client* c : {&q, &ref}) {
        c->login();
        c->send("x EXAMINE INBOX\r\n");  // read-only: neither claims \Recent nor sets \Seen
    }
    q.quick = true;
    const auto same = [&](const std::string& command, bool quick) {
        const std::string got = q.send(command);
        EXPECT_EQ(q.ran_quick, quick) << command;
        EXPECT_EQ(got, ref.send(command)) << command;
        return got;
    };
    EXPECT_THAT(same("a UID FETCH 3 BODY.PEEK[]\r\n", true), HasSubstr("Subject: m2"));
    same("b FETCH 1:16 (UID FLAGS RFC822.SIZE)\r\n", true);
    same("c FETCH 1:17 (UID FLAGS)\r\n", false);  // more than a few messages
    same("d NOOP\r\n", true);
    // The render cache is empty: rendering and storing it is for a worker thread; then cached.
    same("e FETCH 2 BODYSTRUCTURE\r\n", false);
    same("f FETCH 2 BODYSTRUCTURE\r\n", true);
    // A new message: the poll claims \Recent for SELECT sessions (a store write), so refused.
    Client rw(w);
    rw.login();
    rw.send("s SELECT INBOX\r\n");
    rw.quick = true;
    w.deliver(msg("new"));
    EXPECT_THAT(rw.send("g NOOP\r\n"), HasSubstr("* 21 EXISTS"));
    EXPECT_FALSE(rw.ran_quick);
    EXPECT_EQ(rw.send("h NOOP\r\n"), "h OK NOOP completed\r\n");
    EXPECT_TRUE(rw.ran_quick);
    // Refused after it started: its CONDSTORE enabling is still reported when it runs again.
    w.deliver(msg("newer"));
    const std::string out = rw.send("i FETCH 1 (MODSEQ)\r\n");
    EXPECT_FALSE(rw.ran_quick);
    EXPECT_THAT(out, HasSubstr("* OK [HIGHESTMODSEQ "));
    EXPECT_THAT(out, HasSubstr("* 22 EXISTS"));
    // \Seen to set (a write): never quick.
    EXPECT_THAT(rw.send("j UID FETCH 1 BODY[]\r\n"), HasSubstr("\\Seen"));
    EXPECT_FALSE(rw.ran_quick);
}

// A FETCH answer of megabytes is handed to the driver in pieces while it is made (the driver
// sends them meanwhile): the pieces, then what is left in `out`, are the same bytes in the same
// order as without, each piece whole responses, and updates still precede the tagged reply.
TEST(ImapSession, LargeFetchAnswersAreHandedOverInPieces) {
    World w;
    const std::string body(3000, 'x');
    for (int i = 0; i < 100; ++i) {
        w.deliver(msg("m" + std::to_string(i), body + "\r\n"));
    }
    Client spill(w);
    Client ref(w);
    for (Client* c : {&spill, &ref}) {
        c->login();
        c->send("x SELECT INBOX\r\n");
    }
    spill.collect_spills();
    w.deliver(msg("new"));  // reported by the poll after the FETCH, before its tagged OK
    const std::string rest = spill.send("f FETCH 1:* BODY.PEEK[]\r\n");
    ASSERT_GE(spill.spilled.size(), 3U);  // 300 KB in pieces of 64 KB or more
    std::string all;
    for (const auto& piece : spill.spilled) {
        EXPECT_GE(piece.size(), 64U * 1024);
        EXPECT_TRUE(piece.ends_with(")\r\n"));
        all += piece;
    }
    all += rest;
    EXPECT_TRUE(rest.ends_with(")\r\n* 101 EXISTS\r\n* 101 RECENT\r\nf OK FETCH completed\r\n"));
    // The same bytes up to the RECENT count, which differs (`spill` claimed them first).
    const std::string expected = ref.send("f FETCH 1:* BODY.PEEK[]\r\n");
    const auto cut = [](const std::string& t) { return t.substr(0, t.find("EXISTS\r\n")); };
    EXPECT_TRUE(cut(all) == cut(expected));  // (EXPECT_EQ would print megabytes)
    EXPECT_GT(cut(all).size(), 300'000U);
    // A small answer is not handed over.
    spill.spilled.clear();
    EXPECT_THAT(spill.send("g FETCH 1 BODY.PEEK[]\r\n"), HasSubstr("g OK"));
    EXPECT_TRUE(spill.spilled.empty());
}

}  // namespace
}  // namespace sov::imap
