#include "imap/search/search.hpp"

#include <random>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "imap/search/detail/text_match.hpp"
#include "imap/wire/parser.hpp"
#include "mime/date.hpp"
#include "mime/text.hpp"
#include "store/store.hpp"

namespace sov::imap::search {
namespace {

namespace flag = store::flag;

// ---- fixtures ---------------------------------------------------------------------------------

// A message as the engine would hold it: bytes plus the structure computed at delivery.
class FakeContent final : public MessageContent {
public:
    explicit FakeContent(std::string bytes, bool cached_structure = true)
        : bytes_(std::move(bytes)),
          structure_(mime::parse_message(bytes_)),
          cached_(cached_structure) {}

    const mime::MessageStructure* structure() override {
        ++structure_calls;
        return cached_ ? &structure_ : nullptr;
    }
    std::string_view bytes() override {
        ++bytes_calls;
        return bytes_;
    }
    [[nodiscard]] const mime::Envelope& envelope() const { return structure_.envelopes.at(0); }

    int structure_calls = 0;
    int bytes_calls = 0;

private:
    std::string bytes_;
    mime::MessageStructure structure_;
    bool cached_;
};

// The sample of RFC 9051 §6.3.12 (APPEND), CRLF line ends.
const std::string kMsg1 =
    "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
    "From: Fred Foobar <foobar@Blurdybloop.example>\r\n"
    "Subject: afternoon meeting\r\n"
    "To: mooch@owatagu.siam.example\r\n"
    "Message-Id: <B27397-0100000@Blurdybloop.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    "\r\n"
    "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

// UTF-8 everywhere: encoded-word subject and display name, base64 body. The Date is
// 1 Mar 2022 locally but still 28 Feb in UTC.
const std::string kMsg2 =
    "Date: Tue, 1 Mar 2022 00:30:00 +1300\r\n"
    "From: =?utf-8?q?J=C3=B6hn_M=C3=BCller?= <john@example.com>\r\n"
    "To: Team <team@example.org>, boss@example.org\r\n"
    "Cc: =?utf-8?b?w4RubmUgU3RyYcOfZQ==?= <anne@example.net>\r\n"
    "Subject: =?utf-8?q?=C3=84pfel_und_Birnen?=\r\n"
    "Message-ID: <m2@example.com>\r\n"
    "X-Priority: 1\r\n"
    "Received: from a by b; Tue, 1 Mar 2022 00:30:01 +1300\r\n"
    "Received: from c by d; Tue, 1 Mar 2022 00:30:02 +1300\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "R3LDvMOfZSBhdXMgQmVybGluISBEaWUgw4RwZmVsIHNpbmQgcmVpZi4=\r\n";  // "Grüße aus Berlin! Die
                                                                     // Äpfel sind reif."

// ISO-8859-1, quoted-printable, no Date header (SENT* fall back to the internal date), Bcc, and
// an address list that does not parse into addresses.
const std::string kMsg3 =
    "From: =?ISO-8859-1?Q?K=E4the?= <kaethe@example.de>\r\n"
    "To: undisclosed-recipients:;\r\n"
    "Bcc: hidden@example.com\r\n"
    "Subject: =?ISO-8859-1?Q?K=E4se?= und Wein\r\n"
    "X-Mailer: Sovereign\r\n"
    "X-Mailer: Second\r\n"
    "Content-Type: text/plain; charset=ISO-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Der K=E4se ist gr=FCn und sehr, sehr lan=\r\ng gereift.\r\n";

// Multipart: HTML text and a binary attachment whose base64 happens to contain "secret".
const std::string kMsg4 =
    "Date: 2 Mar 2022 10:00:00 -0500\r\n"
    "From: alerts@example.com\r\n"
    "Subject: [list] Re: Weekly report\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"=_b\"\r\n"
    "\r\n"
    "--=_b\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>All <b>systems</b>&nbsp;green</p>\r\n"
    "--=_b\r\n"
    "Content-Type: application/octet-stream; name=secret.bin\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "c2VjcmV0IHBheWxvYWQ=\r\n"
    "--=_b--\r\n";

const std::vector<std::string> kKeywordsA = {"$Forwarded", "Project"};

wire::Command parse_command(const std::string& line) {
    wire::CommandParser parser;
    const std::string input = line + "\r\n";
    const wire::Step step = parser.feed(input);
    EXPECT_EQ(step.status, wire::ParseStatus::Command) << line << ": " << parser.error().text;
    return parser.command();
}

// A LITERAL+ string (RFC 7888): how clients send non-ASCII search strings.
std::string lit(const std::string& s) {
    return "{" + std::to_string(s.size()) + "+}\r\n" + s;
}

wire::SearchKey key(const std::string& criteria) {
    const wire::Command c = parse_command("t UID SEARCH " + criteria);
    const auto* args = std::get_if<wire::SearchArgs>(&c.args);
    return args != nullptr ? args->key : wire::SearchKey{};
}

std::int64_t utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
    return mime::DateTime{y, mo, d, h, mi, s, 0}.unix_time();
}

struct Mailbox {
    std::vector<FakeContent> content;
    std::vector<MessageFacts> facts;
    Context ctx;
    std::vector<std::uint32_t> saved = {20, 40};

    Mailbox() {
        content.emplace_back(kMsg1);
        content.emplace_back(kMsg2);
        content.emplace_back(kMsg3);
        content.emplace_back(kMsg4);
        facts.resize(4);
        const std::uint32_t uids[] = {10, 20, 30, 40};
        const std::uint64_t sizes[] = {1000, 2000, 1500, 3000};
        for (std::uint32_t i = 0; i < 4; ++i) {
            MessageFacts& f = facts[i];
            f.seq = i + 1;
            f.uid = uids[i];
            f.modseq = 100 * (i + 1);
            f.size = sizes[i];
        }
        facts[0].flags = flag::kSeen | flag::kAnswered;
        facts[0].keywords = &kKeywordsA;
        facts[0].internal_date = utc(1994, 2, 8, 5, 52, 30);
        facts[0].save_date = utc(2022, 3, 5, 12);
        facts[0].email_id = "M6d99ac3275bb4e";
        facts[0].thread_id = "T64b478a75b7ea9";
        facts[1].flags = flag::kFlagged;
        facts[1].recent = true;
        // 1 Mar 2022 23:30 -0500 = 2 Mar 04:30 UTC: its own day is 1 Mar.
        facts[1].internal_date = utc(2022, 3, 2, 4, 30);
        facts[1].internal_zone_minutes = -300;
        facts[1].save_date = utc(2022, 3, 2, 4, 31);
        facts[2].flags = flag::kDeleted | flag::kDraft | flag::kSeen;
        facts[2].recent = true;
        facts[2].internal_date = utc(2022, 3, 3, 9);
        facts[2].internal_zone_minutes = 60;
        facts[3].internal_date = utc(2022, 3, 4, 9);
        facts[3].save_date = utc(2022, 3, 4, 9);
        ctx.max_seq = 4;
        ctx.max_uid = 40;
        ctx.now = utc(2022, 3, 4, 10);
        ctx.saved = &saved;
    }

    // Sequence numbers of the messages matching `criteria`, as a string "1 3".
    std::string search(const std::string& criteria) {
        const Matcher m(key(criteria));
        std::string out;
        for (std::size_t i = 0; i < facts.size(); ++i) {
            if (m.matches(facts[i], content[i], ctx)) {
                out += (out.empty() ? "" : " ") + std::to_string(facts[i].seq);
            }
        }
        return out;
    }
};

// ---- SEARCH: message record keys -------------------------------------------------------------

TEST(Search, SystemFlagsAndRecent) {
    Mailbox mb;
    EXPECT_EQ(mb.search("ALL"), "1 2 3 4");
    EXPECT_EQ(mb.search("ANSWERED"), "1");
    EXPECT_EQ(mb.search("UNANSWERED"), "2 3 4");
    EXPECT_EQ(mb.search("DELETED"), "3");
    EXPECT_EQ(mb.search("UNDELETED"), "1 2 4");
    EXPECT_EQ(mb.search("DRAFT"), "3");
    EXPECT_EQ(mb.search("UNDRAFT"), "1 2 4");
    EXPECT_EQ(mb.search("FLAGGED"), "2");
    EXPECT_EQ(mb.search("UNFLAGGED"), "1 3 4");
    EXPECT_EQ(mb.search("SEEN"), "1 3");
    EXPECT_EQ(mb.search("UNSEEN"), "2 4");
    EXPECT_EQ(mb.search("RECENT"), "2 3");
    EXPECT_EQ(mb.search("NEW"), "2");  // RECENT UNSEEN
    EXPECT_EQ(mb.search("OLD"), "1 4");
}

TEST(Search, KeywordsAreCaseInsensitive) {
    Mailbox mb;
    EXPECT_EQ(mb.search("KEYWORD $Forwarded"), "1");
    EXPECT_EQ(mb.search("KEYWORD project"), "1");
    EXPECT_EQ(mb.search("KEYWORD Other"), "");
    EXPECT_EQ(mb.search("UNKEYWORD PROJECT"), "2 3 4");
}

TEST(Search, InternalDateUsesItsOwnDay) {
    Mailbox mb;
    // Message 2 arrived on 1 Mar in its own zone although it was 2 Mar in UTC.
    EXPECT_EQ(mb.search("ON 1-Mar-2022"), "2");
    EXPECT_EQ(mb.search("ON 2-Mar-2022"), "");
    EXPECT_EQ(mb.search("BEFORE 3-Mar-2022"), "1 2");
    EXPECT_EQ(mb.search("SINCE 3-Mar-2022"), "3 4");
    EXPECT_EQ(mb.search("SINCE 1-Jan-2030"), "");
    EXPECT_EQ(mb.search("BEFORE 8-Feb-1994"), "");
    EXPECT_EQ(mb.search("ON 8-Feb-1994"), "1");
}

TEST(Search, SentDatesUseTheHeaderDayWithFallback) {
    Mailbox mb;
    // Msg 1: 7 Feb 1994 -0800 (8 Feb in UTC); msg 2: 1 Mar 2022 +1300 (28 Feb in UTC);
    // msg 3: no Date, internal date 3 Mar 10:00 +0100; msg 4: 2 Mar 2022 -0500.
    EXPECT_EQ(mb.search("SENTON 7-Feb-1994"), "1");
    EXPECT_EQ(mb.search("SENTON 8-Feb-1994"), "");
    EXPECT_EQ(mb.search("SENTON 1-Mar-2022"), "2");
    EXPECT_EQ(mb.search("SENTON 28-Feb-2022"), "");
    EXPECT_EQ(mb.search("SENTON 3-Mar-2022"), "3");
    EXPECT_EQ(mb.search("SENTBEFORE 2-Mar-2022"), "1 2");
    EXPECT_EQ(mb.search("SENTSINCE 2-Mar-2022"), "3 4");
    EXPECT_EQ(mb.search("SENTSINCE 1-Mar-2022 SENTBEFORE 3-Mar-2022"), "2 4");
}

TEST(Search, SaveDate) {
    Mailbox mb;
    EXPECT_EQ(mb.search("SAVEDON 2-Mar-2022"), "2");  // a server timestamp: UTC day
    EXPECT_EQ(mb.search("SAVEDBEFORE 4-Mar-2022"), "2");
    EXPECT_EQ(mb.search("SAVEDSINCE 4-Mar-2022"), "1 4");
    EXPECT_EQ(mb.search("NOT SAVEDSINCE 1-Jan-2000"), "3");  // message 3 has no save date
    EXPECT_EQ(mb.search("SAVEDATESUPPORTED"), "1 2 3 4");
    mb.ctx.save_date_supported = false;
    EXPECT_EQ(mb.search("SAVEDATESUPPORTED"), "");
}

TEST(Search, SizesAreStrict) {
    Mailbox mb;  // sizes 1000 2000 1500 3000
    EXPECT_EQ(mb.search("LARGER 2000"), "4");
    EXPECT_EQ(mb.search("SMALLER 2000"), "1 3");
    EXPECT_EQ(mb.search("LARGER 1999 SMALLER 2001"), "2");
    EXPECT_EQ(mb.search("LARGER 0"), "1 2 3 4");
    EXPECT_EQ(mb.search("SMALLER 1"), "");
}

TEST(Search, OlderYoungerIncludeTheTargetSecond) {
    Mailbox mb;
    // now = 4 Mar 10:00 UTC; message 4 arrived 4 Mar 09:00 (3600 s ago).
    EXPECT_EQ(mb.search("YOUNGER 3600"), "4");
    EXPECT_EQ(mb.search("YOUNGER 3599"), "");
    EXPECT_EQ(mb.search("OLDER 3600"), "1 2 3 4");
    EXPECT_EQ(mb.search("OLDER 3601"), "1 2 3");
    EXPECT_EQ(mb.search("YOUNGER 90000"), "3 4");  // 25 h: message 3 is exactly 25 h old
}

TEST(Search, ModSeqWithAndWithoutEntry) {
    Mailbox mb;
    EXPECT_EQ(mb.search("MODSEQ 200"), "2 3 4");
    EXPECT_EQ(mb.search("MODSEQ 401"), "");
    EXPECT_EQ(mb.search("MODSEQ \"/flags/\\\\draft\" all 300"), "3 4");
    EXPECT_EQ(mb.search("MODSEQ 0"), "1 2 3 4");
}

TEST(Search, SequenceAndUidSetsWithStarAndSaved) {
    Mailbox mb;
    EXPECT_EQ(mb.search("2:3"), "2 3");
    EXPECT_EQ(mb.search("3:*"), "3 4");
    EXPECT_EQ(mb.search("*"), "4");
    EXPECT_EQ(mb.search("4:2"), "2 3 4");
    EXPECT_EQ(mb.search("1,4"), "1 4");
    EXPECT_EQ(mb.search("UID 20:30"), "2 3");
    EXPECT_EQ(mb.search("UID *"), "4");
    EXPECT_EQ(mb.search("UID 35:*"), "4");
    EXPECT_EQ(mb.search("UID 100:*"), "4");  // "*" is 40: 40:100
    EXPECT_EQ(mb.search("UID 11:19"), "");
    EXPECT_EQ(mb.search("UID $"), "2 4");  // RFC 5182: saved UIDs 20 and 40
    EXPECT_EQ(mb.search("$"), "2 4");
    EXPECT_EQ(mb.search("NOT $"), "1 3");
    mb.ctx.saved = nullptr;
    EXPECT_EQ(mb.search("$"), "");
}

TEST(Search, NotOrAndNesting) {
    Mailbox mb;
    EXPECT_EQ(mb.search("OR SEEN FLAGGED"), "1 2 3");
    EXPECT_EQ(mb.search("NOT OR SEEN FLAGGED"), "4");
    EXPECT_EQ(mb.search("OR (SEEN DELETED) (UID 40 UNSEEN)"), "3 4");
    EXPECT_EQ(mb.search("NOT (SEEN NOT DELETED)"), "2 3 4");
    EXPECT_EQ(mb.search("OR OR ANSWERED DRAFT NOT NOT FLAGGED"), "1 2 3");
    EXPECT_EQ(mb.search("SEEN (OR UID 10 UID 40) NOT ANSWERED"), "");
    EXPECT_EQ(mb.search("((((ALL))))"), "1 2 3 4");
}

TEST(Search, ObjectIdsCompareExactly) {
    Mailbox mb;
    EXPECT_EQ(mb.search("EMAILID M6d99ac3275bb4e"), "1");
    EXPECT_EQ(mb.search("EMAILID m6d99ac3275bb4e"), "");
    EXPECT_EQ(mb.search("EMAILID M6d99ac"), "");
    EXPECT_EQ(mb.search("THREADID T64b478a75b7ea9"), "1");
    EXPECT_EQ(mb.search("NOT THREADID T64b478a75b7ea9"), "2 3 4");
}

// ---- SEARCH: text keys ------------------------------------------------------------------------

TEST(Search, SubjectDecodedAndCaseInsensitive) {
    Mailbox mb;
    EXPECT_EQ(mb.search("SUBJECT MEETING"), "1");
    EXPECT_EQ(mb.search("SUBJECT " + lit("äpfel")), "2");  // =?utf-8?q?=C3=84pfel...
    EXPECT_EQ(mb.search("SUBJECT " + lit("ÄPFEL")), "2");
    EXPECT_EQ(mb.search("SUBJECT " + lit("käse u")), "3");  // ISO-8859-1 encoded-word + text
    EXPECT_EQ(mb.search("SUBJECT " + lit("KASE")), "");     // no diacritic folding
    EXPECT_EQ(mb.search("SUBJECT =?utf-8"), "");            // matched decoded, not raw
    EXPECT_EQ(mb.search("SUBJECT \"\""), "1 2 3 4");
    EXPECT_EQ(mb.search("SUBJECT \"re: weekly\""), "4");
}

TEST(Search, AddressesMatchDecodedDisplayForm) {
    Mailbox mb;
    EXPECT_EQ(mb.search("FROM " + lit("Jöhn")), "2");
    EXPECT_EQ(mb.search("FROM " + lit("jöhn müller")), "2");
    EXPECT_EQ(mb.search("FROM JOHN@EX"), "2");
    EXPECT_EQ(mb.search("FROM \"<john@example.com>\""), "2");
    EXPECT_EQ(mb.search("FROM " + lit("KÄTHE")), "3");
    EXPECT_EQ(mb.search("FROM foobar@blurdybloop"), "1");
    EXPECT_EQ(mb.search("FROM @example."), "2 3 4");
    EXPECT_EQ(mb.search("TO team"), "2");
    EXPECT_EQ(mb.search("TO boss@"), "2");
    EXPECT_EQ(mb.search("TO undisclosed"), "3");  // group syntax
    EXPECT_EQ(mb.search("CC " + lit("änne")), "2");
    EXPECT_EQ(mb.search("CC " + lit("STRAẞE")), "2");  // CAPITAL SHARP S folds to ß
    EXPECT_EQ(mb.search("CC " + lit("straße")), "2");
    EXPECT_EQ(mb.search("BCC hidden"), "3");
    EXPECT_EQ(mb.search("BCC example"), "3");
    EXPECT_EQ(mb.search("NOT CC \"\""), "");
}

TEST(Search, HeaderAnyOccurrenceAndPresence) {
    Mailbox mb;
    EXPECT_EQ(mb.search("HEADER X-Mailer \"\""), "3");
    EXPECT_EQ(mb.search("HEADER x-mailer second"), "3");  // the second occurrence counts
    EXPECT_EQ(mb.search("HEADER X-Mailer third"), "");
    EXPECT_EQ(mb.search("HEADER Message-ID <m2@example.com>"), "2");
    EXPECT_EQ(mb.search("HEADER MESSAGE-ID blurdybloop"), "1");
    EXPECT_EQ(mb.search("HEADER Received 00:30:02"), "2");
    EXPECT_EQ(mb.search("HEADER Subject " + lit("käse")), "3");  // decoded
    EXPECT_EQ(mb.search("HEADER Content-Type multipart/mixed"), "4");
    EXPECT_EQ(mb.search("HEADER Date \"\""), "1 2 4");
    // Only the top-level header: the attachment's Content-Type is a MIME header of a part.
    EXPECT_EQ(mb.search("HEADER Content-Type octet-stream"), "");
}

TEST(Search, BodyDecodedFromBase64AndQuotedPrintable) {
    Mailbox mb;
    EXPECT_EQ(mb.search("BODY " + lit("grüße aus")), "2");          // base64 UTF-8
    EXPECT_EQ(mb.search("BODY " + lit("ÄPFEL SIND")), "2");         // case across non-ASCII
    EXPECT_EQ(mb.search("BODY " + lit("käse ist grÜ")), "3");       // QP ISO-8859-1
    EXPECT_EQ(mb.search("BODY \"sehr, sehr lang gereift\""), "3");  // soft line break
    EXPECT_EQ(mb.search("BODY \"systems green\""), "4");            // HTML stripped, &nbsp;
    EXPECT_EQ(mb.search("BODY secret"), "");                        // attachment skipped
    EXPECT_EQ(mb.search("BODY R3LDvMOfZSBhdXMg"), "");              // not the raw base64
    EXPECT_EQ(mb.search("BODY meeting"), "");                       // only in the Subject
    EXPECT_EQ(mb.search("BODY \"3:30 TOMORROW\""), "1");
}

TEST(Search, TextCoversHeadersAndBody) {
    Mailbox mb;
    EXPECT_EQ(mb.search("TEXT meeting"), "1");
    EXPECT_EQ(mb.search("TEXT tomorrow"), "1");
    EXPECT_EQ(mb.search("TEXT " + lit("KÄTHE")), "3");  // decoded From
    EXPECT_EQ(mb.search("TEXT sovereign"), "3");        // any header field
    EXPECT_EQ(mb.search("TEXT example"), "1 2 3 4");
    EXPECT_EQ(mb.search("TEXT nowhere"), "");
}

TEST(Search, WithoutCachedStructureBytesAreParsed) {
    FakeContent c(kMsg2, /*cached_structure=*/false);
    MessageFacts f;
    f.seq = 1;
    f.uid = 1;
    const Context ctx;
    EXPECT_TRUE(matches(key("SUBJECT " + lit("Birne") + " FROM john"), f, c, ctx));
    EXPECT_TRUE(matches(key("BODY berlin"), f, c, ctx));
    EXPECT_FALSE(matches(key("SUBJECT nothing"), f, c, ctx));
}

// ---- SEARCH: laziness (the benchmark path) ----------------------------------------------------

TEST(Search, EnvelopeKeysNeverTouchBytes) {
    Mailbox mb;
    EXPECT_EQ(mb.search("SUBJECT und FROM e OR TO team CC y"), "2");
    EXPECT_EQ(mb.search("BCC hidden SENTBEFORE 1-Jan-2030"), "3");
    for (const FakeContent& c : mb.content) {
        EXPECT_EQ(c.bytes_calls, 0);
    }
    EXPECT_EQ(mb.search("HEADER X-Priority 1"), "2");
    EXPECT_GT(mb.content[1].bytes_calls, 0);
}

TEST(Search, CheapKeysRunFirstAndSpareTheContent) {
    Mailbox mb;
    // Written text-first; the flag test is evaluated first and rejects 1, 3 and 4.
    EXPECT_EQ(mb.search("BODY reif SUBJECT x FLAGGED"), "");
    EXPECT_EQ(mb.content[0].structure_calls, 0);
    EXPECT_EQ(mb.content[0].bytes_calls, 0);
    EXPECT_EQ(mb.content[3].structure_calls, 0);
    EXPECT_GT(mb.content[1].structure_calls, 0);
    EXPECT_EQ(mb.content[1].bytes_calls, 0);  // SUBJECT failed before BODY loaded the bytes
}

TEST(Search, ContentNeedsAndRequiredTerms) {
    EXPECT_FALSE(needs_content(key("SEEN UID 1:* OR LARGER 5 MODSEQ 3")));
    EXPECT_EQ(content_need(key("SEEN NOT SENTON 1-Jan-2020")), ContentNeed::Structure);
    EXPECT_EQ(content_need(key("FROM x")), ContentNeed::Structure);
    EXPECT_EQ(content_need(key("OR SEEN HEADER X-A b")), ContentNeed::Bytes);
    EXPECT_EQ(content_need(key("NOT BODY x")), ContentNeed::Bytes);
    EXPECT_TRUE(needs_content(key("(SEEN (TEXT x))")));
    EXPECT_EQ(Matcher(key("SEEN")).content_need(), ContentNeed::None);
    EXPECT_EQ(Matcher(key("SEEN CC a")).content_need(), ContentNeed::Structure);

    using Terms = std::vector<std::pair<bool, std::string>>;
    EXPECT_EQ(
        required_text_terms(key("BODY Hello (TEXT " + lit("Wörld") + " SEEN) SUBJECT x")),
        (Terms{{false, "hello"}, {true, "wörld"}})  // folded, as the index's text is
    );
    // SUBJECT: its blank-free pieces of 3 bytes or more, as TEXT terms.
    EXPECT_EQ(
        required_text_terms(key("SUBJECT \"  Re: Weekly  \tMEETING at 5\"")),
        (Terms{{true, "re:"}, {true, "weekly"}, {true, "meeting"}})
    );
    EXPECT_EQ(required_text_terms(key("NOT SUBJECT weekly")), Terms{});
    EXPECT_EQ(
        required_text_terms(key("FROM \"Ada Okonkwo\" TO bo CC x@y.z BCC " + lit("Jöhn"))),
        (Terms{{true, "ada"}, {true, "okonkwo"}, {true, "x@y.z"}, {true, "jöhn"}})
    );
    EXPECT_EQ(required_text_terms(key("OR BODY a BODY b NOT TEXT c BODY \"\"")), Terms{});
}

// Every blank-free run of `compared` is somewhere in `indexed`.
::testing::AssertionResult runs_in(const std::string& compared, const std::string& indexed) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    for (std::size_t i = 0; i < compared.size();) {
        if (blank(compared[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < compared.size() && !blank(compared[j])) {
            ++j;
        }
        if (indexed.find(compared.substr(i, j - i)) == std::string::npos) {
            return ::testing::AssertionFailure()
                   << testing::PrintToString(compared.substr(i, j - i)) << " of "
                   << testing::PrintToString(compared) << " not in "
                   << testing::PrintToString(indexed);
        }
        i = j;
    }
    return ::testing::AssertionSuccess();
}

// SUBJECT, FROM, TO, CC and BCC take candidates from the full-text index (required_text_terms):
// every blank-free run of the text they compare with must be in the index's text of the
// message, or the index would hide a match. Random field values: encoded words (Q and B, split
// and adjacent), folds, runs of blanks, 8-bit bytes, stray "=?", and for addresses quoted
// names with quoted-pairs, comments, CFWS inside addresses, groups and unparsable lists.
TEST(Search, HeaderTextIsInTheIndexedText) {
    const std::vector<std::string> subject_pieces = {
        "Halvorsen",
        "Ärger",
        " ",
        "  ",
        "\t",
        "\r\n ",
        "\r\n\t",
        "=?utf-8?q?Halv?=",
        "=?utf-8?q?orsen_=C3=A9t=C3=A9?=",
        "=?iso-8859-1?b?5Gxn?=",
        "=?",
        "?=",
        "=?bad",
        "\xe9",
        "\xc3\xa9",
        "re:",
        "(x)",
        "\"q\"",
        "a=?utf-8?q?b?=c",
        "=?UTF-8?Q?=E2=82=AC?=",
    };
    const std::vector<std::string> address_pieces = {
        "Ada Okonkwo <ada@example.org>",
        "\"Ada \\\"The\\\" Okonkwo\" <a@b.c>",
        "\"Okon\\kwo\" <o@k.w>",
        "=?utf-8?q?Ok=C3=B6nkwo?= <q@x.y>",
        "\"=?utf-8?q?Okonkwo?=\" <r@x.y>",
        "ada @ example . org",
        "(comment Okonkwo) s@t.u",
        "Team: a@b.c, d@e.f;",
        "x@y.z (Xavier Zed)",
        "\r\n ",
        ", ",
        "Halvorsen, Ida <ida@h.no>",
        "\"Halvorsen, Ida\" <ida@h.no>",
        "<bare@host>",
        "undisclosed-recipients:;",
        "=?iso-8859-1?q?J=F6hn?= <j@d.e>",
        "J\xf6hn <j@x.y>",
        "  ",
        "just words",
        "@@",
        "<",
    };
    std::mt19937 rng(7);
    const auto value = [&](const std::vector<std::string>& pieces, int most) {
        std::string v;
        const int n = 1 + static_cast<int>(rng() % static_cast<unsigned>(most));
        for (int i = 0; i < n; ++i) {
            v += pieces[rng() % pieces.size()];
        }
        return v;
    };
    for (int round = 0; round < 3000; ++round) {
        const std::string subject = value(subject_pieces, 8);
        const std::string from = value(address_pieces, 4);
        const std::string to = value(address_pieces, 4);
        const std::string cc = value(address_pieces, 2);
        const std::string message = "From: " + from + "\r\nSubject:" + subject + "\r\nTo: " + to +
                                    "\r\nCc:" + cc + "\r\nBcc: " + from + "\r\n\r\nbody\r\n";
        const auto structure = mime::parse_message(message);
        ASSERT_FALSE(structure.envelopes.empty());
        const mime::Envelope& e = structure.envelopes[0];
        const std::string indexed = mime::folded_searchable_text(message).headers;
        std::string compared;
        detail::fold_header_value(e.subject, compared);
        ASSERT_TRUE(runs_in(compared, indexed)) << "subject";
        detail::address_text(e.from_addr, e.from, compared);
        ASSERT_TRUE(runs_in(compared, indexed)) << "from";
        detail::address_text(e.to_addr, e.to, compared);
        ASSERT_TRUE(runs_in(compared, indexed)) << "to";
        detail::address_text(e.cc_addr, e.cc, compared);
        ASSERT_TRUE(runs_in(compared, indexed)) << "cc";
        detail::address_text(e.bcc_addr, e.bcc, compared);
        ASSERT_TRUE(runs_in(compared, indexed)) << "bcc";
    }
}

TEST(Search, OneShotMatchesAgreesWithMatcher) {
    Mailbox mb;
    const auto k = key("OR FROM john SUBJECT meeting");
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(
            matches(k, mb.facts[i], mb.content[i], mb.ctx),
            Matcher(k).matches(mb.facts[i], mb.content[i], mb.ctx)
        );
    }
    EXPECT_TRUE(matches(k, mb.facts[0], mb.content[0], mb.ctx));
    EXPECT_FALSE(matches(k, mb.facts[2], mb.content[2], mb.ctx));
}

TEST(Search, CompressSetForEsearchAll) {
    EXPECT_EQ(compress_set({2, 10, 11}), "2,10:11");  // RFC 9051 §6.4.4 example
    EXPECT_EQ(compress_set({1, 2, 3, 5, 7, 8}), "1:3,5,7:8");
    EXPECT_EQ(compress_set({4294967295U}), "4294967295");
    EXPECT_EQ(compress_set({}), "");
}

// ---- base subject (RFC 5256 §2.1) -------------------------------------------------------------

TEST(BaseSubject, Rfc5256Rules) {
    EXPECT_EQ(base_subject("Hello"), "hello");
    EXPECT_EQ(base_subject("Re: hello"), "hello");
    EXPECT_EQ(base_subject("RE: Re: re:hello"), "hello");
    EXPECT_EQ(base_subject("Fwd: hello"), "hello");
    EXPECT_EQ(base_subject("FW: hello"), "hello");
    EXPECT_EQ(base_subject("Re[2]: hello"), "hello");  // subj-refwd with a blob
    EXPECT_EQ(base_subject("Re [list]: hello"), "hello");
    EXPECT_EQ(base_subject("[list] Re: hello"), "hello");  // *subj-blob subj-refwd
    EXPECT_EQ(base_subject("Re: [list] hello"), "hello");  // step (4)
    EXPECT_EQ(base_subject("[a][b] hello"), "hello");
    EXPECT_EQ(base_subject("[PATCH]"), "[patch]");  // a blob alone is the base
    EXPECT_EQ(base_subject("[a] [b]"), "[b]");
    EXPECT_EQ(base_subject("hello (fwd)"), "hello");
    EXPECT_EQ(base_subject("hello (fwd) (FWD)  "), "hello");
    EXPECT_EQ(base_subject("[Fwd: hello]"), "hello");
    EXPECT_EQ(base_subject("Re: [Fwd: Re: hello] (fwd)"), "hello");
    EXPECT_EQ(base_subject("  hello \t  wide\r\n world  "), "hello wide world");
    EXPECT_EQ(base_subject("Re:"), "");
    EXPECT_EQ(base_subject(""), "");
    EXPECT_EQ(base_subject("Reply: hello"), "reply: hello");  // "re" must be followed by ':'
    EXPECT_EQ(base_subject("=?utf-8?q?Re=3A_=C3=84pfel?="), "äpfel");
    EXPECT_EQ(base_subject("=?ISO-8859-1?Q?AW=3A_K=E4se?="), "aw: käse");  // not translated
}

TEST(BaseSubject, ReplyOrForwardFlag) {
    EXPECT_FALSE(extract_base_subject("hello").reply_or_forward);
    EXPECT_FALSE(extract_base_subject("[list] hello").reply_or_forward);
    EXPECT_TRUE(extract_base_subject("Re: hello").reply_or_forward);
    EXPECT_TRUE(extract_base_subject("[list] fwd: hello").reply_or_forward);
    EXPECT_TRUE(extract_base_subject("hello (fwd)").reply_or_forward);
    EXPECT_TRUE(extract_base_subject("[fwd: hello]").reply_or_forward);
}

// ---- SORT -------------------------------------------------------------------------------------

std::vector<wire::SortKey> sort_keys(const std::string& program) {
    const wire::Command c = parse_command("t SORT " + program + " UTF-8 ALL");
    const auto* args = std::get_if<wire::SortArgs>(&c.args);
    return args != nullptr ? args->criteria : std::vector<wire::SortKey>{};
}

struct SortBox {
    std::vector<mime::MessageStructure> parsed;
    std::vector<SortInput> in;

    explicit SortBox(const std::vector<std::string>& headers) {
        parsed.reserve(headers.size());
        for (std::size_t i = 0; i < headers.size(); ++i) {
            parsed.push_back(mime::parse_message(headers[i] + "\r\nbody\r\n"));
            SortInput s;
            s.seq = static_cast<std::uint32_t>(i + 1);
            s.uid = static_cast<std::uint32_t>(100 + i);
            s.internal_date = 1000 - static_cast<std::int64_t>(i);  // arrival: reverse order
            s.size = 10 * (i % 3);
            s.envelope = &parsed.back().envelopes.at(0);
            in.push_back(s);
        }
    }

    std::string run(const std::string& program) const {
        std::string out;
        for (const std::size_t i : sort(sort_keys(program), in)) {
            out += (out.empty() ? "" : " ") + std::to_string(in[i].seq);
        }
        return out;
    }
};

TEST(Sort, CriteriaReverseAndTies) {
    SortBox box({
        "Subject: Re: banana\r\nFrom: Zed <zed@x>\r\nDate: 2 Jan 2020 00:00 +0000\r\n"
        "To: b@x\r\nCc: c@x\r\n",
        "Subject: apple\r\nFrom: =?utf-8?q?=C3=84rger?= <b@x>\r\nDate: 1 Jan 2020 23:00 -0200\r\n"
        "To: a@x\r\n",
        "Subject: [shop] Banana\r\nFrom: amy <AMY@x>\r\nDate: 3 Jan 2020 00:00 +0000\r\n"
        "To: Bob <c@x>\r\nCc: a@x\r\n",
        "Subject: cherry\r\nFrom: Bob <bob@x>\r\n",  // no Date: internal date 997 (earliest)
    });
    EXPECT_EQ(box.run("(SUBJECT)"), "2 1 3 4");
    EXPECT_EQ(box.run("(REVERSE SUBJECT)"), "4 1 3 2");  // ties 1,3 stay in sequence order
    // Sent dates in UTC: 1 → 2 Jan 00:00, 2 → 2 Jan 01:00, 3 → 3 Jan, 4 → internal 997 s.
    EXPECT_EQ(box.run("(DATE)"), "4 1 2 3");
    EXPECT_EQ(box.run("(REVERSE DATE)"), "3 2 1 4");
    EXPECT_EQ(box.run("(ARRIVAL)"), "4 3 2 1");
    EXPECT_EQ(box.run("(SIZE)"), "1 4 2 3");  // sizes 0 10 20 0
    EXPECT_EQ(box.run("(REVERSE SIZE)"), "3 2 1 4");
    EXPECT_EQ(box.run("(SIZE REVERSE DATE)"), "1 4 2 3");
    EXPECT_EQ(box.run("(SUBJECT REVERSE DATE)"), "2 3 1 4");
    EXPECT_EQ(box.run("(FROM)"), "3 2 4 1");  // amy b bob zed (mailbox, folded)
    EXPECT_EQ(box.run("(TO)"), "4 2 1 3");    // "" a b c
    EXPECT_EQ(box.run("(CC)"), "2 4 3 1");    // "" "" a c
    EXPECT_EQ(box.run("(REVERSE CC)"), "1 3 2 4");
    EXPECT_EQ(box.run("(DISPLAYFROM)"), "3 4 1 2");  // amy bob zed ärger
    EXPECT_EQ(box.run("(DISPLAYTO)"), "4 2 1 3");    // "" a@x b@x bob
}

// RFC 5957 §3 sorts by the first IMAP address structure: a group's is its name (as in
// Dovecot's imaptest script sort-display-to), a name-less address its mailbox@host or mailbox.
TEST(Sort, DisplayValueOfGroupsAndBareAddresses) {
    SortBox box({
        "To: Mid <m@x>\r\n",
        "To: zeta: a@x, b@y;\r\n",         // "zeta", not a@x
        "To: nobody:;\r\n",                // "nobody"
        "To: d\r\n",                       // "d": no host
        "To: =?utf-8?q?Able?= <z@x>\r\n",  // "able", decoded
        "To: c@x\r\n",
    });
    EXPECT_EQ(box.run("(DISPLAYTO)"), "5 6 4 1 3 2");  // able c@x d mid nobody zeta
    EXPECT_EQ(box.run("(REVERSE DISPLAYTO)"), "2 3 1 4 6 5");
}

TEST(Sort, MissingEnvelopeSortsAsEmpty) {
    SortBox box({"Subject: b\r\n", "Subject: a\r\n"});
    SortInput none;
    none.seq = 3;
    none.internal_date = 5;
    box.in.push_back(none);
    EXPECT_EQ(box.run("(SUBJECT)"), "3 2 1");
    EXPECT_EQ(box.run("(REVERSE FROM)"), "1 2 3");  // all empty: sequence order
    EXPECT_EQ(sort(sort_keys("(DATE)"), {}).size(), 0U);
    EXPECT_EQ(sent_date(nullptr, 42), 42);
}

// ---- THREAD -----------------------------------------------------------------------------------

struct ThreadBox {
    std::vector<FakeContent> msgs;
    std::vector<ThreadInput> in;
    std::vector<std::string> refs;

    explicit ThreadBox(const std::vector<std::string>& headers) {
        msgs.reserve(headers.size());
        refs.reserve(headers.size());
        for (std::size_t i = 0; i < headers.size(); ++i) {
            FakeContent& c = msgs.emplace_back(headers[i] + "\r\nbody\r\n");
            const mime::MessageStructure& s = *c.structure();
            refs.push_back(mime::header_value(c.bytes(), s.parts[0], "References"));
        }
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            const mime::Envelope& e = msgs[i].envelope();
            ThreadInput t;
            t.id = static_cast<std::uint32_t>(i + 1);
            t.sent_date = sent_date(&e, 0);
            t.message_id = e.message_id;
            t.in_reply_to = e.in_reply_to;
            t.references = refs[i];
            t.subject = e.subject;
            in.push_back(t);
        }
    }

    std::string run(std::string_view algorithm) const {
        return format_threads(thread(algorithm, in));
    }
};

TEST(Thread, ReferencesConversationWithMissingParent) {
    const ThreadBox box({
        // 1: the start of a conversation
        "Message-ID: <a@x>\r\nSubject: Meeting\r\nDate: 1 Jan 2020 10:00 +0000\r\n",
        // 2: reply to 1
        "Message-ID: <b@x>\r\nReferences: <a@x>\r\nSubject: Re: Meeting\r\n"
        "Date: 1 Jan 2020 11:00 +0000\r\n",
        // 3: reply to a message we do not have, itself a reply to 1 (dummy pruned away)
        "Message-ID: <c@x>\r\nReferences: <a@x>\r\n <\"missing\"@x>\r\n"
        "In-Reply-To: <missing@x>\r\nSubject: Re: Meeting\r\nDate: 1 Jan 2020 12:00 +0000\r\n",
        // 4, 5: two replies to a message that is gone: siblings under a dummy
        "Message-ID: <d@x>\r\nIn-Reply-To: <gone@x> (sent by someone)\r\nSubject: Re: Lunch\r\n"
        "Date: 2 Jan 2020 10:00 +0000\r\n",
        "Message-ID: <e@x>\r\nReferences: <gone@x>\r\nSubject: Re: Lunch\r\n"
        "Date: 2 Jan 2020 09:00 +0000\r\n",
        // 6: a reply without references: joined to 1 by its subject
        "Message-ID: <f@x>\r\nSubject: RE: meeting\r\nDate: 3 Jan 2020 10:00 +0000\r\n",
        // 7: no Message-ID, earliest
        "Subject: Other\r\nDate: 1 Jan 2019 10:00 +0000\r\n",
        // 8: duplicate Message-ID of 1: gets a unique one, so it is its own thread
        "Message-ID: <a@x>\r\nSubject: Dup\r\nDate: 4 Jan 2020 10:00 +0000\r\n",
    });
    EXPECT_EQ(box.run("REFERENCES"), "(7)(1 (2)(3)(6))((5)(4))(8)");
}

TEST(Thread, ReferencesChainsLoopsAndSubjectMerge) {
    const ThreadBox chain({
        "Message-ID: <1@x>\r\nSubject: s\r\nDate: 1 Jan 2020 00:00 +0000\r\n",
        "Message-ID: <2@x>\r\nReferences: <1@x>\r\nSubject: Re: s\r\n"
        "Date: 1 Jan 2020 00:01 +0000\r\n",
        "Message-ID: <3@x>\r\nReferences: <1@x> <2@x>\r\nSubject: Re: s\r\n"
        "Date: 1 Jan 2020 00:02 +0000\r\n",
        // a truncated References line must not move 3 away from 2
        "Message-ID: <4@x>\r\nReferences: <1@x> <3@x>\r\nSubject: Re: s\r\n"
        "Date: 1 Jan 2020 00:03 +0000\r\n",
    });
    EXPECT_EQ(chain.run("REFERENCES"), "(1 2 3 4)");

    const ThreadBox loop({
        "Message-ID: <x@x>\r\nReferences: <y@x>\r\nSubject: a\r\nDate: 1 Jan 2020 00:00 +0000\r\n",
        "Message-ID: <y@x>\r\nReferences: <x@x>\r\nSubject: b\r\nDate: 1 Jan 2020 00:01 +0000\r\n",
        "Message-ID: <z@x>\r\nReferences: <z@x>\r\nSubject: c\r\nDate: 1 Jan 2020 00:02 +0000\r\n",
    });
    EXPECT_EQ(loop.run("REFERENCES"), "(2 1)(3)");

    // Same base subject, neither a reply: a new dummy holds both (step 5, last rule). A reply
    // to a missing message under the same subject joins as well.
    const ThreadBox merge({
        "Message-ID: <p@x>\r\nSubject: Lunch\r\nDate: 1 Jan 2020 00:00 +0000\r\n",
        "Message-ID: <q@x>\r\nSubject: lunch\r\nDate: 1 Jan 2020 00:01 +0000\r\n",
        "Message-ID: <r@x>\r\nSubject: Other\r\nDate: 1 Jan 2020 00:02 +0000\r\n",
        "Message-ID: <s@x>\r\nSubject: \r\nDate: 1 Jan 2020 00:03 +0000\r\n",
        "Message-ID: <t@x>\r\nSubject: \r\nDate: 1 Jan 2020 00:04 +0000\r\n",
    });
    EXPECT_EQ(merge.run("REFERENCES"), "((1)(2))(3)(4)(5)");  // empty subjects never merge
}

TEST(Thread, LoneReplyToMissingMessageIsPromoted) {
    // A root dummy with one child is replaced by that child (step 3), so the tree has no dummy.
    const ThreadBox box({
        "Message-ID: <r@x>\r\nReferences: <gone1@x> <gone2@x>\r\nSubject: Re: a\r\n",
    });
    const auto t = thread("REFERENCES", box.in);
    ASSERT_EQ(t.size(), 1U);
    EXPECT_EQ(t[0], (ThreadNode{1, {}}));
    EXPECT_EQ(box.run("REFERENCES"), "(1)");
}

TEST(Thread, OrderedSubject) {
    const ThreadBox box({
        "Subject: Hello\r\nDate: 1 Jan 2020 00:05 +0000\r\n",
        "Subject: Re: hello\r\nDate: 1 Jan 2020 00:03 +0000\r\n",
        "Subject: Other\r\nDate: 1 Jan 2020 00:01 +0000\r\n",
        "Subject: re: other\r\nDate: 1 Jan 2020 00:02 +0000\r\n",
        "Subject: [x] Hello\r\nDate: 1 Jan 2020 00:04 +0000\r\n",
        "Subject: third\r\nDate: 1 Jan 2020 00:10 +0000\r\n",
    });
    EXPECT_EQ(box.run("ORDEREDSUBJECT"), "(3 4)(2 (5)(1))(6)");
    EXPECT_EQ(box.run("UNKNOWN"), "");
    EXPECT_EQ(format_threads(thread("REFERENCES", {})), "");
}

TEST(Thread, FormatMatchesRfc5256Examples) {
    // "(2)(3 6 (4 23)(44 7 96))" from RFC 5256 §4.
    const std::vector<ThreadNode> t = {
        {2, {}},
        {3, {{6, {{4, {{23, {}}}}, {44, {{7, {{96, {}}}}}}}}}},
    };
    EXPECT_EQ(format_threads(t), "(2)(3 6 (4 23)(44 7 96))");
    // "((3)(5))": siblings under a missing parent.
    EXPECT_EQ(format_threads({{0, {{3, {}}, {5, {}}}}}), "((3)(5))");
    // A dummy with one child prints nothing of itself.
    EXPECT_EQ(format_threads({{1, {{0, {{2, {}}}}}}}), "(1 2)");
    EXPECT_EQ(format_threads({{0, {{3, {{4, {}}, {5, {}}}}, {6, {}}}}}), "((3 (4)(5))(6))");
}

TEST(Thread, DeepChainNeedsNoRecursion) {
    // 5000 messages each replying to the previous one: the References algorithm and the
    // formatter use explicit stacks.
    constexpr int kN = 5000;
    std::vector<std::string> ids;
    std::vector<std::string> parents;
    std::vector<ThreadInput> in;
    ids.reserve(kN);
    parents.reserve(kN);
    for (int i = 0; i < kN; ++i) {
        ids.push_back("<" + std::to_string(i) + "@deep>");
        parents.push_back(i == 0 ? std::string() : ids[static_cast<std::size_t>(i - 1)]);
    }
    for (int i = 0; i < kN; ++i) {
        ThreadInput t;
        t.id = static_cast<std::uint32_t>(i + 1);
        t.sent_date = i;
        t.message_id = ids[static_cast<std::size_t>(i)];
        t.in_reply_to = parents[static_cast<std::size_t>(i)];
        t.subject = "deep";
        in.push_back(t);
    }
    const auto threads = thread("REFERENCES", in);
    ASSERT_EQ(threads.size(), 1U);
    const std::string s = format_threads(threads);
    EXPECT_EQ(s.substr(0, 8), "(1 2 3 4");
    EXPECT_EQ(s.substr(s.size() - 6), " 5000)");
}

}  // namespace
}  // namespace sov::imap::search
