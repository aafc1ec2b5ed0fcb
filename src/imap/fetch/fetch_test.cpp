#include "imap/fetch/fetch.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "imap/fetch/detail/content.hpp"
#include "mime/encoded_word.hpp"

namespace sov::imap::fetch {
namespace {

using wire::FetchAtt;
using wire::FetchItem;
using wire::SectionText;

FetchAtt item(FetchItem i) {
    FetchAtt a;
    a.item = i;
    return a;
}

FetchAtt body(
    std::vector<std::uint32_t> part,
    SectionText text = SectionText::None,
    std::vector<std::string> fields = {},
    std::optional<wire::Partial> partial = std::nullopt
) {
    FetchAtt a;
    a.item = FetchItem::BodySection;
    a.section.part = std::move(part);
    a.section.text = text;
    a.section.fields = std::move(fields);
    a.partial = partial;
    return a;
}

FetchAtt binary(
    std::vector<std::uint32_t> part,
    std::optional<wire::Partial> partial = std::nullopt,
    FetchItem i = FetchItem::BinarySection
) {
    FetchAtt a;
    a.item = i;
    a.section.part = std::move(part);
    a.partial = partial;
    return a;
}

struct Rendered {
    AttStatus status = AttStatus::Ok;
    std::string out;
};

Rendered render(const FetchAtt& att, std::string_view msg, wire::WriterOptions opts = {}) {
    const mime::MessageStructure s = mime::parse_message(msg);
    Rendered r;
    wire::ResponseWriter w(r.out, opts);
    r.status = write_att(w, att, s, needs_bytes(att) ? msg : std::string_view{});
    return r;
}

std::string text(const FetchAtt& att, std::string_view msg, wire::WriterOptions opts = {}) {
    Rendered r = render(att, msg, opts);
    EXPECT_EQ(r.status, AttStatus::Ok);
    return r.out;
}

std::string lit(std::string_view s) {
    return "{" + std::to_string(s.size()) + "}\r\n" + std::string(s);
}

// RFC 9051 §7.5.2's example message, shaped like RFC 3501 §8's.
constexpr std::string_view kSimple =
    "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
    "From: Fred Foobar <foobar@Blurdybloop.example>\r\n"
    "Subject: afternoon meeting\r\n"
    "To: mooch@owatagu.siam.edu.example\r\n"
    "Message-Id: <B27397-0100000@Blurdybloop.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    "\r\n"
    "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

constexpr std::string_view kInner =
    "From: Bob <b@example.com>\r\n"
    "Subject: inner\r\n"
    "Content-Type: multipart/mixed; boundary=inner\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: multipart/alternative; boundary=alt\r\n"
    "\r\n"
    "--alt\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "plain\r\n"
    "--alt\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>caf=C3=A9</p>\r\n"
    "--alt--\r\n"
    "--inner\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "Content-Language: en, de\r\n"
    "\r\n"
    "note\r\n"
    "--inner--";

constexpr std::string_view kInnerBody =
    "--inner\r\n"
    "Content-Type: multipart/alternative; boundary=alt\r\n"
    "\r\n"
    "--alt\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "plain\r\n"
    "--alt\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>caf=C3=A9</p>\r\n"
    "--alt--\r\n"
    "--inner\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "Content-Language: en, de\r\n"
    "\r\n"
    "note\r\n"
    "--inner--";

constexpr std::string_view kAlt =
    "--alt\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "plain\r\n"
    "--alt\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>caf=C3=A9</p>\r\n"
    "--alt--";

constexpr std::string_view kAttachmentHeader =
    "Content-Type: application/octet-stream; name=data.bin\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=data.bin\r\n"
    "Content-ID: <id1@x>\r\n"
    "\r\n";

const std::string kComplex = std::string(
                                 "From: Alice <a@example.com>\r\n"
                                 "To: undisclosed-recipients:;\r\n"
                                 "Subject: =?utf-8?q?caf=C3=A9?= report\r\n"
                                 "Message-ID: <m1@example.com>\r\n"
                                 "MIME-Version: 1.0\r\n"
                                 "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
                                 "\r\n"
                                 "preamble\r\n"
                                 "--outer\r\n"
                                 "Content-Type: text/plain; charset=utf-8\r\n"
                                 "\r\n"
                                 "Part one.\r\n"
                                 "--outer\r\n"
                             ) +
                             std::string(kAttachmentHeader) +
                             "AAECAw==\r\n"
                             "--outer\r\n"
                             "Content-Type: message/rfc822\r\n"
                             "\r\n" +
                             std::string(kInner) +
                             "\r\n"
                             "--outer--\r\n"
                             "epilogue\r\n";

constexpr std::string_view kAliceEnvelopeAddresses =
    R"x((("Alice" NIL "a" "example.com")) (("Alice" NIL "a" "example.com")))x"
    R"x( (("Alice" NIL "a" "example.com")))x";

TEST(FetchEnvelope, SimpleMessage) {
    EXPECT_EQ(
        text(item(FetchItem::Envelope), kSimple),
        R"x(ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800 (PST)" "afternoon meeting")x"
        R"x( (("Fred Foobar" NIL "foobar" "Blurdybloop.example")))x"
        R"x( (("Fred Foobar" NIL "foobar" "Blurdybloop.example")))x"
        R"x( (("Fred Foobar" NIL "foobar" "Blurdybloop.example")))x"
        R"x( ((NIL NIL "mooch" "owatagu.siam.edu.example")) NIL NIL NIL)x"
        R"x( "<B27397-0100000@Blurdybloop.example>"))x"
    );
}

TEST(FetchEnvelope, GroupsEncodedSubjectAndDefaults) {
    // Group syntax (RFC 9051 §7.5.2): start (NIL NIL "name" NIL), end (NIL NIL NIL NIL).
    EXPECT_EQ(
        text(item(FetchItem::Envelope), kComplex),
        std::string(R"x(ENVELOPE (NIL "=?utf-8?q?caf=C3=A9?= report" )x") +
            std::string(kAliceEnvelopeAddresses) +
            R"x( ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)x"
            R"x( "<m1@example.com>"))x"
    );
    constexpr std::string_view kMsg =
        "Sender: Secretary <sec@example.org>\r\n"
        "To: friends: a@x.example, \"B \\\"b\\\"\" <b@y.example>;, c@z.example\r\n"
        "Cc: someone\r\n"
        "Bcc: \r\n"
        "In-Reply-To: <p@example>\r\n"
        "Subject:\r\n"
        "\r\n"
        "body\r\n";
    // No From: from, reply-to NIL; sender present; reply-to defaults to (absent) from.
    EXPECT_EQ(
        text(item(FetchItem::Envelope), kMsg),
        R"x(ENVELOPE (NIL NIL NIL (("Secretary" NIL "sec" "example.org")) NIL)x"
        R"x( ((NIL NIL "friends" NIL)(NIL NIL "a" "x.example")("B \"b\"" NIL "b" "y.example"))x"
        R"x((NIL NIL NIL NIL)(NIL NIL "c" "z.example")))x"
        R"x( ((NIL NIL "someone" "")) NIL "<p@example>" NIL))x"
    );
}

TEST(FetchEnvelope, RawNamesAreSentAndEightBitOnesReencodedForSevenBitSessions) {
    constexpr std::string_view kMsg =
        "From: =?iso-8859-1?q?Andr=E9?= <andre@example.com>\r\n"
        "To: J\xC3\xBCrgen M\xC3\xBCller-L\xC3\xBC"
        "denscheidt Sch\xC3\xB6nheitssalon K\xC3\xB6ln <j@example.com>\r\n"
        "\r\n";
    const std::string seven = text(item(FetchItem::Envelope), kMsg);
    // RFC 9051 §7.5.2: header values go out as written, encoded-words included.
    EXPECT_NE(
        seven.find(R"x((("=?iso-8859-1?q?Andr=E9?=" NIL "andre" "example.com")))x"),
        std::string::npos
    ) << seven;
    // A long name becomes several encoded-words of at most 75 characters, which decode back.
    const auto start = seven.find(R"x((("=?utf-8?b?SsO8)x");
    ASSERT_NE(start, std::string::npos) << seven;
    const auto end = seven.find('"', start + 3);
    const std::string words = seven.substr(start + 3, end - start - 3);
    std::string decoded;
    mime::decode_encoded_words(words, decoded, mime::EncodedWordMode::Text);
    EXPECT_EQ(
        decoded,
        "J\xC3\xBCrgen M\xC3\xBCller-L\xC3\xBC"
        "denscheidt Sch\xC3\xB6nheitssalon K\xC3\xB6ln"
    );
    EXPECT_NE(words.find("?= =?utf-8?b?"), std::string::npos) << words;
    std::size_t from = 0;
    while (from < words.size()) {
        const auto space = words.find(' ', from);
        const auto word =
            words.substr(from, space == std::string::npos ? std::string::npos : space - from);
        EXPECT_LE(word.size(), 75U) << word;
        from = space == std::string::npos ? words.size() : space + 1;
    }
    // UTF-8 sessions (RFC 9051 / RFC 6855) take the UTF-8 name as a quoted string.
    const std::string utf8 = text(item(FetchItem::Envelope), kMsg, {.utf8 = true});
    EXPECT_NE(
        utf8.find("((\"J\xC3\xBCrgen M\xC3\xBCller-L\xC3\xBC"
                  "denscheidt Sch\xC3\xB6nheitssalon K\xC3\xB6ln\" NIL \"j\" \"example.com\"))"),
        std::string::npos
    ) << utf8;
}

TEST(FetchEnvelope, NestedLiteralsAndDamagedStructure) {
    // A Subject with 8-bit bytes goes out as a literal in a 7-bit session.
    constexpr std::string_view kMsg = "Subject: caf\xC3\xA9\r\n\r\n";
    EXPECT_EQ(
        text(item(FetchItem::Envelope), kMsg),
        "ENVELOPE (NIL {5}\r\ncaf\xC3\xA9 NIL NIL NIL NIL NIL NIL NIL NIL)"
    );
    mime::MessageStructure empty;
    std::string out;
    wire::ResponseWriter w(out);
    EXPECT_EQ(write_att(w, item(FetchItem::Envelope), empty, {}), AttStatus::Ok);
    EXPECT_EQ(out, "ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(FetchBodyStructure, SimpleTextMessage) {
    EXPECT_EQ(
        text(item(FetchItem::BodyStructure), kSimple),
        R"x(BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 55 1 NIL NIL NIL NIL))x"
    );
    EXPECT_EQ(
        text(item(FetchItem::Body), kSimple),
        R"x(BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 55 1))x"
    );
    // No MIME header at all: RFC 2045 §5.2 defaults.
    EXPECT_EQ(
        text(item(FetchItem::Body), "Subject: x\r\n\r\nab\r\ncd"),
        R"x(BODY ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 6 2))x"
    );
}

constexpr std::string_view kInnerEnvelope =
    R"x((NIL "inner" (("Bob" NIL "b" "example.com")) (("Bob" NIL "b" "example.com")))x"
    R"x( (("Bob" NIL "b" "example.com")) NIL NIL NIL NIL NIL))x";

TEST(FetchBodyStructure, MultipartWithAttachmentAndNestedMessage) {
    const std::string alt =
        R"x((("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1 NIL NIL NIL NIL))x"
        R"x(("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 16 1 NIL NIL NIL NIL))x"
        R"x( "ALTERNATIVE" ("BOUNDARY" "alt") NIL NIL NIL))x";
    const std::string inner =
        "(" + alt +
        R"x(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 4 1 NIL NIL ("en" "de") NIL))x"
        R"x( "MIXED" ("BOUNDARY" "inner") NIL NIL NIL))x";
    EXPECT_EQ(
        text(item(FetchItem::BodyStructure), kComplex),
        R"x(BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 9 1 NIL NIL NIL NIL))x"
        R"x(("APPLICATION" "OCTET-STREAM" ("NAME" "data.bin") "<id1@x>" NIL "BASE64" 8)x"
        R"x( NIL ("ATTACHMENT" ("FILENAME" "data.bin")) NIL NIL))x"
        R"x(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 413 )x" +
            std::string(kInnerEnvelope) + " " + inner +
            R"x( 23 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "outer") NIL NIL NIL))x"
    );
    EXPECT_EQ(
        text(item(FetchItem::Body), kComplex),
        R"x(BODY (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 9 1))x"
        R"x(("APPLICATION" "OCTET-STREAM" ("NAME" "data.bin") "<id1@x>" NIL "BASE64" 8))x"
        R"x(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 413 )x" +
            std::string(kInnerEnvelope) +
            R"x( ((("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1))x"
            R"x(("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 16 1) "ALTERNATIVE"))x"
            R"x(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 4 1) "MIXED") 23) "MIXED"))x"
    );
}

TEST(FetchBodyStructure, ParametersDispositionMd5Location) {
    constexpr std::string_view kMsg =
        "Content-Type: application/pdf; name*=utf-8''%E2%82%AC.pdf\r\n"
        "Content-Disposition: inline\r\n"
        "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
        "Content-Location: http://example.com/x.pdf\r\n"
        "Content-Transfer-Encoding: 8BIT\r\n"
        "\r\n"
        "%PDF\n";
    EXPECT_EQ(
        text(item(FetchItem::BodyStructure), kMsg),
        R"x(BODYSTRUCTURE ("APPLICATION" "PDF" ("NAME*" "utf-8''%E2%82%AC.pdf") NIL NIL "8BIT" 6)x"
        R"x( "Q2hlY2sgSW50ZWdyaXR5IQ==" ("INLINE" NIL) NIL "http://example.com/x.pdf"))x"
    );
    EXPECT_EQ(
        text(item(FetchItem::Body), kMsg, {.utf8 = true}),
        "BODY (\"APPLICATION\" \"PDF\" (\"NAME\" \"\xE2\x82\xAC.pdf\") NIL NIL \"8BIT\" 6)"
    );
}

TEST(FetchBodyStructure, ContentDescription) {
    // body-fld-desc is the raw Content-Description (encoded-words stay encoded).
    EXPECT_EQ(
        text(
            item(FetchItem::Body),
            "Content-Description: =?utf-8?q?caf=C3=A9?= menu\r\nContent-Type: text/plain\r\n\r\nx"
        ),
        R"x(BODY ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL "=?utf-8?q?caf=C3=A9?= menu" "7BIT" 1 1))x"
    );
}

TEST(FetchBodyStructure, MessageGlobalIsBasicInImap4rev1) {
    constexpr std::string_view kMsg =
        "Content-Type: multipart/mixed; boundary=g\r\n\r\n--g\r\n"
        "Content-Type: message/global\r\n\r\nSubject: s\r\n\r\nbody\r\n--g--\r\n";
    // RFC 3501 §9: media-message is MESSAGE/RFC822 only; any other MESSAGE subtype is
    // body-type-basic, with no envelope, body or lines.
    EXPECT_EQ(
        text(item(FetchItem::Body), kMsg),
        R"x(BODY (("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 18) "MIXED"))x"
    );
    EXPECT_EQ(
        text(item(FetchItem::BodyStructure), kMsg, wire::WriterOptions{.utf8 = true}),
        R"x(BODYSTRUCTURE (("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 18 NIL NIL NIL NIL))x"
        R"x( "MIXED" ("BOUNDARY" "g") NIL NIL NIL))x"
    );
    // RFC 9051 §9: MESSAGE/GLOBAL is body-type-msg once IMAP4rev2 is enabled.
    EXPECT_EQ(
        text(item(FetchItem::Body), kMsg, wire::WriterOptions{.utf8 = true, .imap4rev2 = true}),
        R"x(BODY (("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 18)x"
        R"x( (NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL))x"
        R"x( ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 4 1) 3) "MIXED"))x"
    );
}

TEST(FetchBodyStructure, DegenerateParts) {
    // A multipart without boundary is a leaf for the mime module, and is sent as one.
    EXPECT_EQ(
        text(item(FetchItem::Body), "Content-Type: multipart/mixed\r\n\r\nx\r\n"),
        R"x(BODY ("MULTIPART" "MIXED" NIL NIL NIL "7BIT" 3))x"
    );
    // An encoded message/rfc822 (RFC 2046 §5.2.1 forbids it) is parsed undecoded: a header of
    // field-less lines and an empty body, which is what the sections return (next test).
    EXPECT_EQ(
        text(
            item(FetchItem::BodyStructure),
            "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: "
            "base64\r\n\r\nU3ViamVjdDogeA0KDQo=\r\n"
        ),
        R"x(BODYSTRUCTURE ("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 22)x"
        R"x( (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))x"
        R"x( ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) 1)x"
        R"x( NIL NIL NIL NIL))x"
    );
}

TEST(FetchSection, EncodedMessageSectionsAgreeWithBodyStructure) {
    // BODYSTRUCTURE says part 2.1 is an empty text body (0 octets): BODY[2.1] is empty and the
    // base64 lines are the nested message's header (BODY[2.HEADER], BODY[2.1.MIME]), as in
    // Dovecot. RFC 9051 §7.5.2: body-fld-octets is the size of the section.
    const std::string b64 = "U3ViamVjdDogeA0KDQpib2R5DQo=";
    const std::string m =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nintro\r\n--b\r\n"
        "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        b64 + "\r\n--b--\r\n";
    EXPECT_EQ(
        text(item(FetchItem::Body), m),
        R"x(BODY (("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1))x"
        R"x(("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 28 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))x"
        R"x( ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0) 1) "MIXED"))x"
    );
    EXPECT_EQ(text(body({2}), m), "BODY[2] " + lit(b64));
    EXPECT_EQ(text(body({2}, SectionText::Header), m), "BODY[2.HEADER] " + lit(b64));
    EXPECT_EQ(text(body({2}, SectionText::Text), m), R"(BODY[2.TEXT] "")");
    EXPECT_EQ(text(body({2, 1}), m), R"(BODY[2.1] "")");
    EXPECT_EQ(text(body({2, 1}, SectionText::Mime), m), "BODY[2.1.MIME] " + lit(b64));
}

TEST(FetchSection, PartThatEndsAfterItsHeaderFields) {
    // The CRLF before a delimiter is the delimiter's (RFC 2046 §5.1.1): these parts have no
    // blank line, so their MIME header is the fields alone, or nothing (RFC 9051 §6.4.5).
    const std::string m =
        "Content-Type: multipart/mixed; boundary=\"e\"\r\n\r\n--e\r\n\r\n--e\r\n"
        "Content-Type: message/rfc822\r\n\r\n--e--\r\n";
    EXPECT_EQ(text(body({1}, SectionText::Mime), m), R"(BODY[1.MIME] "")");
    EXPECT_EQ(text(body({1}), m), R"(BODY[1] "")");
    EXPECT_EQ(
        text(body({2}, SectionText::Mime), m),
        "BODY[2.MIME] " + lit("Content-Type: message/rfc822\r\n")
    );
    EXPECT_EQ(text(body({2}), m), R"(BODY[2] "")");
    EXPECT_EQ(text(body({2}, SectionText::Header), m), R"(BODY[2.HEADER] "")");
}

TEST(FetchSection, PartsOfAComplexMessage) {
    const std::string& m = kComplex;
    EXPECT_EQ(text(body({1}), m), "BODY[1] " + lit("Part one."));
    EXPECT_EQ(text(body({2}), m), "BODY[2] " + lit("AAECAw=="));
    EXPECT_EQ(text(body({2}, SectionText::Mime), m), "BODY[2.MIME] " + lit(kAttachmentHeader));
    EXPECT_EQ(text(body({3}), m), "BODY[3] " + lit(kInner));
    EXPECT_EQ(
        text(body({3}, SectionText::Header), m),
        "BODY[3.HEADER] " + lit("From: Bob <b@example.com>\r\nSubject: inner\r\n"
                                "Content-Type: multipart/mixed; boundary=inner\r\n\r\n")
    );
    EXPECT_EQ(text(body({3}, SectionText::Text), m), "BODY[3.TEXT] " + lit(kInnerBody));
    EXPECT_EQ(text(body({3, 1}), m), "BODY[3.1] " + lit(kAlt));
    EXPECT_EQ(text(body({3, 1, 2}), m), "BODY[3.1.2] " + lit("<p>caf=C3=A9</p>"));
    EXPECT_EQ(
        text(body({3, 1, 2}, SectionText::Mime), m),
        "BODY[3.1.2.MIME] " + lit("Content-Type: text/html; charset=utf-8\r\n"
                                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n")
    );
    EXPECT_EQ(text(body({3, 2}), m), "BODY[3.2] " + lit("note"));
    EXPECT_EQ(text(body({}), m), "BODY[] " + lit(m));
    EXPECT_EQ(
        text(body({}, SectionText::Text), m), "BODY[TEXT] " + lit(m.substr(m.find("\r\n\r\n") + 4))
    );
    EXPECT_EQ(
        text(body({}, SectionText::Header), m),
        "BODY[HEADER] " + lit(m.substr(0, m.find("\r\n\r\n") + 4))
    );
}

TEST(FetchSection, NonexistentSectionsAreEmpty) {
    const std::string& m = kComplex;
    EXPECT_EQ(text(body({4}), m), R"x(BODY[4] "")x");
    EXPECT_EQ(text(body({1, 2}), m), R"x(BODY[1.2] "")x");
    EXPECT_EQ(text(body({3, 3}), m), R"x(BODY[3.3] "")x");
    // HEADER and TEXT exist only for the message and MESSAGE/RFC822 parts (RFC 9051 §6.4.5.1).
    EXPECT_EQ(text(body({1}, SectionText::Header), m), R"x(BODY[1.HEADER] "")x");
    EXPECT_EQ(text(body({3, 1}, SectionText::Text), m), R"x(BODY[3.1.TEXT] "")x");
    // Part 1 of a non-multipart message is its body, and "1.1" of a leaf is the leaf.
    EXPECT_EQ(
        text(body({1}), kSimple),
        "BODY[1] " + lit("Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n")
    );
    EXPECT_EQ(text(body({2}), kSimple), R"x(BODY[2] "")x");
    EXPECT_EQ(text(body({1, 1}), kSimple), text(body({1}), kSimple).replace(5, 1, "1.1"));
}

TEST(FetchSection, HeaderFields) {
    const std::string& m = kComplex;
    EXPECT_EQ(
        text(body({}, SectionText::HeaderFields, {"SUBJECT", "FROM"}), m),
        "BODY[HEADER.FIELDS (SUBJECT FROM)] " +
            lit("From: Alice <a@example.com>\r\nSubject: =?utf-8?q?caf=C3=A9?= report\r\n\r\n")
    );
    EXPECT_EQ(
        text(body({}, SectionText::HeaderFieldsNot, {"SUBJECT", "FROM", "CONTENT-TYPE"}), m),
        "BODY[HEADER.FIELDS.NOT (SUBJECT FROM CONTENT-TYPE)] " +
            lit("To: undisclosed-recipients:;\r\nMessage-ID: <m1@example.com>\r\n"
                "MIME-Version: 1.0\r\n\r\n")
    );
    EXPECT_EQ(
        text(body({3}, SectionText::HeaderFields, {"subject"}), m),
        "BODY[3.HEADER.FIELDS (subject)] " + lit("Subject: inner\r\n\r\n")
    );
    // Folded lines stay folded, bare LFs become CRLF, names needing quotes are quoted. A
    // message without body and blank line gets no blank line (RFC 9051 §6.4.5), so nothing
    // matching gives nothing at all.
    constexpr std::string_view kFolded =
        "X-A: 1\r\nsubject : first\n second\r\nX-B: 2\r\nSUBJECT: again";
    EXPECT_EQ(
        text(body({}, SectionText::HeaderFields, {"SUBJECT", "X]Y"}), kFolded),
        "BODY[HEADER.FIELDS (SUBJECT \"X]Y\")] " +
            lit("subject : first\r\n second\r\nSUBJECT: again\r\n")
    );
    EXPECT_EQ(
        text(body({}, SectionText::HeaderFields, {"NONE"}), kFolded),
        R"(BODY[HEADER.FIELDS (NONE)] "")"
    );
    // With a blank line, nothing matching still gives the blank line.
    EXPECT_EQ(
        text(body({}, SectionText::HeaderFields, {"NONE"}), "X-A: 1\r\n\r\n"),
        "BODY[HEADER.FIELDS (NONE)] " + lit("\r\n")
    );
    auto peek = body({}, SectionText::HeaderFields, {"X-B"}, wire::Partial{2, 3});
    peek.peek = true;  // BODY.PEEK answers as BODY (RFC 9051 §7.5.2)
    EXPECT_EQ(text(peek, kFolded), "BODY[HEADER.FIELDS (X-B)]<2> " + lit("B: "));
}

TEST(FetchSection, Partials) {
    const std::string& m = kComplex;
    EXPECT_EQ(
        text(body({1}, SectionText::None, {}, wire::Partial{5, 100}), m),
        "BODY[1]<5> " + lit("one.")
    );
    EXPECT_EQ(text(body({1}, SectionText::None, {}, wire::Partial{9, 1}), m), R"x(BODY[1]<9> "")x");
    EXPECT_EQ(
        text(body({1}, SectionText::None, {}, wire::Partial{100, 5}), m), R"x(BODY[1]<100> "")x"
    );
    // RFC 9051 §6.4.5: a partial from 0 is answered as a partial.
    EXPECT_EQ(
        text(body({}, SectionText::None, {}, wire::Partial{0, 11}), m),
        "BODY[]<0> " + lit("From: Alice")
    );
    EXPECT_EQ(
        text(body({}, SectionText::None, {}, wire::Partial{0, ~std::uint64_t{0}}), m),
        "BODY[]<0> " + lit(m)
    );
    EXPECT_EQ(
        text(
            body({}, SectionText::None, {}, wire::Partial{~std::uint64_t{0}, ~std::uint64_t{0}}), m
        ),
        "BODY[]<18446744073709551615> \"\""
    );
}

TEST(FetchSection, Rfc822Items) {
    const std::string& m = kComplex;
    EXPECT_EQ(text(item(FetchItem::Rfc822), m), "RFC822 " + lit(m));
    EXPECT_EQ(
        text(item(FetchItem::Rfc822Header), m),
        "RFC822.HEADER " + lit(m.substr(0, m.find("\r\n\r\n") + 4))
    );
    EXPECT_EQ(
        text(item(FetchItem::Rfc822Text), m), "RFC822.TEXT " + lit(m.substr(m.find("\r\n\r\n") + 4))
    );
    EXPECT_EQ(text(item(FetchItem::Rfc822Size), m), "RFC822.SIZE " + std::to_string(m.size()));
    EXPECT_EQ(rfc822_size(mime::parse_message(m)), m.size());
}

// scan_text (32 octets at a time with AVX2, else 16) counts the bare LFs and finds NULs
// as an octet-by-octet reading does: every length around the block sizes, LFs and CRs at block
// edges, both values of prev_cr, each width the CPU offers.
TEST(FetchContent, ScanAgreesWithOctetByOctet) {
    std::mt19937 rng(7);
    const std::string_view alphabet("\r\n\0ab", 5);
    for (int round = 0; round < 4000; ++round) {
        std::string bytes(rng() % 140, 'x');
        for (char& c : bytes) {
            c = alphabet[rng() % (round % 2 == 0 ? 5 : 4)];  // odd rounds: NUL-free
        }
        const bool prev_cr = (rng() & 1U) != 0;
        std::uint64_t bare = 0;
        bool nul = false;
        for (std::size_t k = 0; k < bytes.size(); ++k) {
            const bool after_cr = k == 0 ? prev_cr : bytes[k - 1] == '\r';
            bare += bytes[k] == '\n' && !after_cr ? 1 : 0;
            nul = nul || bytes[k] == '\0';
        }
        for (const auto width :
             {detail::ScanWidth::Widest, detail::ScanWidth::Sixteen, detail::ScanWidth::Octets}) {
            const detail::TextScan scan = detail::scan_text({bytes, prev_cr}, width);
            ASSERT_EQ(scan.bare_lf, bare) << round << " " << static_cast<int>(width);
            ASSERT_EQ(scan.nul, nul) << round << " " << static_cast<int>(width);
        }
    }
}

// The per-lane counters of scan_text hold 255 matches each: a long text of bare LFs (every
// lane matching in every block) must be counted whole, across many flushes, at every width.
TEST(FetchContent, ScanCountsLongRunsOfBareLineFeeds) {
    for (const auto width : {detail::ScanWidth::Widest, detail::ScanWidth::Sixteen}) {
        for (const std::size_t size :
             {std::size_t{4080}, std::size_t{8161}, std::size_t{100'003}}) {
            const std::string lfs(size, '\n');
            EXPECT_EQ(detail::scan_text({lfs, false}, width).bare_lf, size);
            EXPECT_EQ(detail::scan_text({lfs, true}, width).bare_lf, size - 1);
            std::string mixed;
            for (std::size_t k = 0; k < size / 3; ++k) {
                mixed += k % 2 == 0 ? "a\n\n" : "\r\nb";
            }
            EXPECT_EQ(detail::scan_text({mixed, false}, width).bare_lf, (size / 3 + 1) / 2 * 2);
        }
    }
}

// A clean text goes out in one copy; it must equal what the octet-by-octet normalisation
// writes (forced here by claiming a NUL the text does not have), whole and in windows.
TEST(FetchContent, CleanLiteralEqualsTheNormalisedOne) {
    std::mt19937 rng(11);
    for (int round = 0; round < 500; ++round) {
        std::string bytes;
        const std::size_t lines = rng() % 8;
        for (std::size_t l = 0; l < lines; ++l) {
            bytes.append(rng() % 40, 'a');
            bytes += (rng() % 4 == 0) ? "\n" : "\r\n";
        }
        const detail::Text t{bytes, false};
        const detail::TextScan scan = detail::scan_text(t);
        const std::uint64_t total = bytes.size() + scan.bare_lf;
        const std::uint64_t from = total == 0 ? 0 : rng() % total;
        const std::uint64_t to = from + (total == from ? 0 : rng() % (total - from + 1));
        std::string fast;
        std::string slow;
        wire::ResponseWriter w1(fast);
        wire::ResponseWriter w2(slow);
        detail::write_normalized_literal(w1, t, scan, from, to);
        detail::write_normalized_literal(w2, t, {scan.bare_lf, true}, from, to);
        ASSERT_EQ(fast, slow) << round;
    }
}

TEST(FetchSection, NulBecomes0x80InBodyLiterals) {
    constexpr std::string_view kMsg{"Subject: n\r\n\r\na\0b\r\n", 19};
    EXPECT_EQ(
        text(body({1}), kMsg),
        std::string("BODY[1] {5}\r\na\x80"
                    "b\r\n")
    );
}

// A body section's literal (copied in pieces, see content.cpp) makes room for the reply's end.
// Sizes around 30 KB: grown piece by piece, a reply would end within bytes of its capacity for
// some of them.
TEST(FetchSection, BodyLiteralLeavesRoomForTheReplysEnd) {
    for (std::size_t size = 29500; size < 31500; size += 13) {
        std::string msg = "Subject: big\r\n\r\n";
        while (msg.size() + 19 < size) {
            msg += "a line of the body\n";  // bare LFs: the literal goes out in many pieces
        }
        msg.append(size - msg.size(), 'x');
        const mime::MessageStructure s = mime::parse_message(msg);
        std::string out;
        wire::ResponseWriter w(out);
        w.begin_untagged().number(1).atom("FETCH").begin_list();
        ASSERT_EQ(write_att(w, body({}), s, msg), AttStatus::Ok);
        const char* at = out.data();
        w.end_list().end();
        w.tagged("a1", wire::Condition::Ok, "", "FETCH completed");
        EXPECT_EQ(out.data(), at) << size;
    }
}

// BODY[] and RFC822 are the bytes alone: the FETCH handler reads no structure for them, and
// what they answer does not depend on it.
TEST(FetchSection, WholeMessageNeedsNoStructure) {
    EXPECT_FALSE(needs_structure(body({})));
    EXPECT_FALSE(needs_structure(body({}, SectionText::None, {}, wire::Partial{10, 20})));
    EXPECT_FALSE(needs_structure(item(FetchItem::Rfc822)));
    EXPECT_TRUE(needs_structure(body({1})));
    EXPECT_TRUE(needs_structure(body({}, SectionText::Text)));
    EXPECT_TRUE(needs_structure(body({}, SectionText::Header)));
    EXPECT_TRUE(needs_structure(binary({})));
    static constexpr char kBareLfAndNulText[] = "Subject: x\n\nline\nnul \0 here\r\n";
    constexpr std::string_view kBareLfAndNul{kBareLfAndNulText, sizeof kBareLfAndNulText - 1};
    const mime::MessageStructure none;
    for (const std::string_view msg : {kSimple, kBareLfAndNul}) {
        const mime::MessageStructure parsed = mime::parse_message(msg);
        for (const FetchAtt& att :
             {body({}),
              body({}, SectionText::None, {}, wire::Partial{3, 12}),
              item(FetchItem::Rfc822)}) {
            std::string with;
            std::string without;
            wire::ResponseWriter w1(with);
            wire::ResponseWriter w2(without);
            ASSERT_EQ(write_att(w1, att, parsed, msg), AttStatus::Ok);
            ASSERT_EQ(write_att(w2, att, none, msg), AttStatus::Ok);
            EXPECT_EQ(without, with);
            EXPECT_NE(with.find('{'), std::string::npos) << with;  // a literal, not ""
        }
    }
}

// Bare LFs are sent as CRLF, and every size counts the normalised octets.
TEST(FetchSection, BareLfSizesAreConsistent) {
    constexpr std::string_view kMsg =
        "From: x@example.com\r\nSubject: lf\r\n\r\nline1\nline2\r\nline3\n\nend";
    const std::string norm =
        "From: x@example.com\r\nSubject: lf\r\n\r\nline1\r\nline2\r\nline3\r\n\r\nend";
    const mime::MessageStructure s = mime::parse_message(kMsg);
    EXPECT_EQ(rfc822_size(s), norm.size());
    EXPECT_EQ(
        text(item(FetchItem::Rfc822Size), kMsg), "RFC822.SIZE " + std::to_string(norm.size())
    );
    EXPECT_EQ(text(body({}), kMsg), "BODY[] " + lit(norm));
    EXPECT_EQ(text(body({1}), kMsg), "BODY[1] " + lit("line1\r\nline2\r\nline3\r\n\r\nend"));
    EXPECT_EQ(
        text(item(FetchItem::Body), kMsg),
        R"x(BODY ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 26 5))x"
    );
    // Partial offsets count normalised octets.
    EXPECT_EQ(
        text(body({1}, SectionText::None, {}, wire::Partial{4, 4}), kMsg),
        "BODY[1]<4> " + lit("1\r\nl")
    );
    EXPECT_EQ(
        text(body({1}, SectionText::None, {}, wire::Partial{5, 2}), kMsg),
        "BODY[1]<5> " + lit("\r\n")
    );
    EXPECT_EQ(
        text(body({1}, SectionText::None, {}, wire::Partial{6, 1}), kMsg), "BODY[1]<6> " + lit("\n")
    );
}

TEST(FetchSection, BareLfMultipartSizesMatchLiterals) {
    std::string m = kComplex;
    for (std::size_t p = m.find("\r\n"); p != std::string::npos; p = m.find("\r\n", p)) {
        m.erase(p, 1);  // the whole message with LF line ends
    }
    const std::string crlf = kComplex;
    // Every part's literal and BODYSTRUCTURE size equal those of the CRLF form.
    for (const auto& part :
         std::vector<std::vector<std::uint32_t>>{{1}, {2}, {3}, {3, 1}, {3, 1, 2}, {3, 2}}) {
        EXPECT_EQ(text(body(part), m), text(body(part), crlf));
        EXPECT_EQ(
            text(body(part, SectionText::Mime), m), text(body(part, SectionText::Mime), crlf)
        );
    }
    EXPECT_EQ(text(body({3}, SectionText::Header), m), text(body({3}, SectionText::Header), crlf));
    EXPECT_EQ(text(body({3}, SectionText::Text), m), text(body({3}, SectionText::Text), crlf));
    EXPECT_EQ(text(body({}), m), text(body({}), crlf));
    EXPECT_EQ(text(body({}, SectionText::Text), m), text(body({}, SectionText::Text), crlf));
    EXPECT_EQ(text(item(FetchItem::BodyStructure), m), text(item(FetchItem::BodyStructure), crlf));
}

template <class P>
constexpr bool kHasHeaderBareLf = requires(const P& p) { p.header_bare_lf; };

TEST(FetchSection, BareLfHeaderCountsInRfc822Size) {
    if constexpr (!kHasHeaderBareLf<mime::Part>) {
        GTEST_SKIP() << "needs mime::Part::header_bare_lf";
    }
    constexpr std::string_view kMsg = "From: x@example.com\nSubject: lf\n\nbody\n";
    const std::string rendered = text(body({}), kMsg);
    const std::string norm = "From: x@example.com\r\nSubject: lf\r\n\r\nbody\r\n";
    EXPECT_EQ(rendered, "BODY[] " + lit(norm));
    EXPECT_EQ(rfc822_size(mime::parse_message(kMsg)), norm.size());
}

// The octet count of the (first) string value in `out`: a literal's announced size, or the
// length of a quoted string without escapes.
std::uint64_t value_size(const std::string& out) {
    const auto brace = out.find('{');
    if (brace != std::string::npos && out.find("\r\n", brace) != std::string::npos) {
        return std::stoull(out.substr(brace + 1));
    }
    const auto q = out.find('"');
    return q == std::string::npos ? ~std::uint64_t{0} : out.rfind('"') - q - 1;
}

// Section numbers of every part that has one (RFC 9051 §6.4.5.1).
void number_parts(
    const mime::MessageStructure& s,
    std::uint32_t index,
    std::vector<std::uint32_t> path,
    std::vector<std::pair<std::uint32_t, std::vector<std::uint32_t>>>& out
) {
    const mime::Part& p = s.parts[index];
    if (p.is_multipart()) {
        std::uint32_t k = 0;
        for (std::uint32_t c = p.first_child; c != mime::kNoIndex; c = s.parts[c].next_sibling) {
            auto child = path;
            child.push_back(++k);
            out.emplace_back(c, child);
            if (s.parts[c].is_multipart() || s.parts[c].is_message()) {
                number_parts(s, c, child, out);
            }
        }
    } else if (p.is_message()) {
        const std::uint32_t nested = p.first_child;
        if (s.parts[nested].is_multipart()) {
            number_parts(s, nested, path, out);
        } else {
            auto child = path;
            child.push_back(1);
            out.emplace_back(nested, child);
            if (s.parts[nested].is_message()) {
                number_parts(s, nested, child, out);
            }
        }
    }
}

// Property: for every prefix of a complex message (so also every truncated, malformed form),
// in CRLF and in LF form, each part's BODY[n] literal has the size BODYSTRUCTURE announces,
// BINARY.SIZE matches BINARY, and with a CRLF header RFC822.SIZE matches BODY[].
TEST(FetchSection, SizesAgreeForEveryPrefix) {
    std::string lf = kComplex;
    for (std::size_t p = lf.find("\r\n"); p != std::string::npos; p = lf.find("\r\n", p)) {
        lf.erase(p, 1);
    }
    const std::size_t header_end = lf.find("\n\n") + 2;
    std::string mixed = kComplex.substr(0, kComplex.find("\r\n\r\n") + 4) + lf.substr(header_end);
    for (const std::string* full :
         std::initializer_list<const std::string*>{&kComplex, &mixed, &lf}) {
        for (std::size_t len = 0; len <= full->size(); ++len) {
            const std::string_view msg = std::string_view(*full).substr(0, len);
            const mime::MessageStructure s = mime::parse_message(msg);
            std::vector<std::pair<std::uint32_t, std::vector<std::uint32_t>>> parts;
            if (s.parts[0].is_multipart() || s.parts[0].is_message()) {
                number_parts(s, 0, {}, parts);
            } else {
                parts.emplace_back(0, std::vector<std::uint32_t>{1});
            }
            const auto with = [&s, msg](const FetchAtt& att, AttStatus* status = nullptr) {
                std::string out;
                wire::ResponseWriter w(out);
                const AttStatus st = write_att(w, att, s, msg);
                if (status != nullptr) {
                    *status = st;
                }
                return out;
            };
            for (const auto& [index, path] : parts) {
                const mime::Part& p = s.parts[index];
                EXPECT_EQ(value_size(with(body(path))), p.body_size() + p.body_bare_lf)
                    << "len " << len << " part " << index;
                AttStatus status = AttStatus::Ok;
                const std::string size =
                    with(binary(path, std::nullopt, FetchItem::BinarySize), &status);
                if (status == AttStatus::Ok) {
                    EXPECT_EQ(
                        std::to_string(value_size(with(binary(path)))),
                        size.substr(size.rfind(' ') + 1)
                    ) << "len "
                      << len << " part " << index;
                }
            }
            if (full != &lf) {
                EXPECT_EQ(value_size(with(body({}))), rfc822_size(s)) << "len " << len;
            }
        }
    }
}

// Until mime::Part records header bare LFs, rfc822_size() assumes CRLF headers; the bridge
// picks the field up as soon as it exists.
struct PartWithHeaderBareLf {
    std::uint64_t header_bare_lf = 3;
};
struct PartWithoutHeaderBareLf {};

TEST(FetchSection, HeaderBareLfBridge) {
    EXPECT_EQ(detail::header_bare_lf_of(PartWithHeaderBareLf{}), 3U);
    EXPECT_EQ(detail::header_bare_lf_of(PartWithoutHeaderBareLf{}), 0U);
}

constexpr std::string_view kBinaryMessage =
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAEC\r\n"
    "Aw==\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9 =\r\n"
    "soft\r\n"
    "hard=0Aline\r\n"
    "--b\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "a=00b=0A\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: x-uuencode\r\n"
    "\r\n"
    "begin 644 x\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "lf\nonly\n"
    "--b--\r\n";

TEST(FetchBinary, DecodesBase64AndQuotedPrintable) {
    EXPECT_EQ(text(binary({1}), kBinaryMessage), std::string("BINARY[1] ~{4}\r\n\0\1\2\3", 20));
    EXPECT_EQ(
        text(binary({1}, std::nullopt, FetchItem::BinarySize), kBinaryMessage), "BINARY.SIZE[1] 4"
    );
    // Decoded bytes are sent as they are, also for text (RFC 3516 §4.2; Dovecot's imaptest
    // script fetch-binary-mime-base64): an encoded LF stays a bare LF. 8-bit without NUL is a
    // plain literal.
    const std::string qp = "caf\xC3\xA9 soft\r\nhard\nline";
    EXPECT_EQ(text(binary({2}), kBinaryMessage), "BINARY[2] " + lit(qp));
    EXPECT_EQ(
        text(binary({2}, std::nullopt, FetchItem::BinarySize), kBinaryMessage),
        "BINARY.SIZE[2] " + std::to_string(qp.size())
    );
    // Non-text QP keeps an encoded LF as it is, and NUL needs literal8.
    EXPECT_EQ(text(binary({3}), kBinaryMessage), std::string("BINARY[3] ~{4}\r\na\0b\n", 20));
    // Identity CTE: the content, normalised.
    EXPECT_EQ(text(binary({5}), kBinaryMessage), "BINARY[5] " + lit("lf\r\nonly"));
    EXPECT_EQ(
        text(binary({5}, std::nullopt, FetchItem::BinarySize), kBinaryMessage), "BINARY.SIZE[5] 8"
    );
}

TEST(FetchBinary, PartialsUnknownCteAndMissingParts) {
    auto peek = binary({2}, wire::Partial{3, 2});
    peek.peek = true;
    EXPECT_EQ(text(peek, kBinaryMessage), "BINARY[2]<3> " + lit("\xC3\xA9"));
    EXPECT_EQ(
        text(binary({1}, wire::Partial{1, 2}), kBinaryMessage), "BINARY[1]<1> " + lit("\1\2")
    );
    EXPECT_EQ(text(binary({1}, wire::Partial{4, 2}), kBinaryMessage), R"x(BINARY[1]<4> "")x");

    Rendered r = render(binary({4}), kBinaryMessage);
    EXPECT_EQ(r.status, AttStatus::UnknownCte);
    EXPECT_EQ(r.out, "");
    r = render(binary({4}, std::nullopt, FetchItem::BinarySize), kBinaryMessage);
    EXPECT_EQ(r.status, AttStatus::UnknownCte);
    EXPECT_EQ(r.out, "");
    r = render(binary({9}), kBinaryMessage);
    EXPECT_EQ(r.status, AttStatus::NoSuchPart);
    EXPECT_EQ(r.out, "");
    r = render(binary({1, 2}, std::nullopt, FetchItem::BinarySize), kBinaryMessage);
    EXPECT_EQ(r.status, AttStatus::NoSuchPart);
}

TEST(FetchBinary, WholeMessageAndContainers) {
    // BINARY[] of a single-part message: its header, then the decoded body.
    constexpr std::string_view kMsg =
        "Content-Transfer-Encoding: base64\r\nContent-Type: text/plain\r\n\r\naGkKdGhlcmU=\r\n";
    EXPECT_EQ(
        text(binary({}), kMsg),
        "BINARY[] " +
            lit("Content-Transfer-Encoding: base64\r\nContent-Type: text/plain\r\n\r\nhi\nthere")
    );
    EXPECT_EQ(text(binary({1}), kMsg), "BINARY[1] " + lit("hi\nthere"));
    // Containers have an identity CTE: BINARY equals BODY for them.
    EXPECT_EQ(text(binary({3}), kComplex), "BINARY[3] " + lit(kInner));
    EXPECT_EQ(text(binary({3, 1, 2}), kComplex), "BINARY[3.1.2] " + lit("<p>caf\xC3\xA9</p>"));
}

TEST(FetchAtt, NeedsAndNonContentItems) {
    EXPECT_FALSE(needs_bytes(item(FetchItem::Envelope)));
    EXPECT_FALSE(needs_bytes(item(FetchItem::BodyStructure)));
    EXPECT_FALSE(needs_bytes(item(FetchItem::Body)));
    EXPECT_FALSE(needs_bytes(item(FetchItem::Rfc822Size)));
    EXPECT_FALSE(needs_bytes(item(FetchItem::Flags)));
    EXPECT_TRUE(needs_bytes(body({})));
    EXPECT_TRUE(needs_bytes(binary({1})));
    EXPECT_TRUE(needs_bytes(binary({1}, std::nullopt, FetchItem::BinarySize)));
    EXPECT_TRUE(needs_bytes(item(FetchItem::Rfc822)));
    EXPECT_TRUE(needs_bytes(item(FetchItem::Rfc822Header)));
    EXPECT_TRUE(needs_bytes(item(FetchItem::Rfc822Text)));
    EXPECT_TRUE(needs_structure(item(FetchItem::Envelope)));
    EXPECT_TRUE(needs_structure(item(FetchItem::Rfc822Size)));
    EXPECT_TRUE(needs_structure(body({1})));
    EXPECT_FALSE(needs_structure(item(FetchItem::Flags)));
    EXPECT_FALSE(needs_structure(item(FetchItem::Uid)));
    EXPECT_FALSE(needs_structure(item(FetchItem::InternalDate)));
    EXPECT_FALSE(needs_structure(item(FetchItem::ModSeq)));
    EXPECT_EQ(text(item(FetchItem::Flags), kSimple), "");
    EXPECT_EQ(text(item(FetchItem::Uid), kSimple), "");
}

// The attributes sit in a FETCH response like any other: separators come from the writer.
TEST(FetchAtt, WritesIntoAFetchResponse) {
    std::string out;
    wire::ResponseWriter w(out);
    const mime::MessageStructure s = mime::parse_message(kSimple);
    w.begin_untagged().number(1).atom("FETCH").begin_list().atom("UID").number(7);
    EXPECT_EQ(write_att(w, item(FetchItem::Rfc822Size), s, {}), AttStatus::Ok);
    EXPECT_EQ(
        write_att(w, body({}, SectionText::HeaderFields, {"SUBJECT"}), s, kSimple), AttStatus::Ok
    );
    EXPECT_EQ(write_att(w, item(FetchItem::Body), s, {}), AttStatus::Ok);
    w.end_list().end();
    EXPECT_EQ(
        out,
        "* 1 FETCH (UID 7 RFC822.SIZE " + std::to_string(kSimple.size()) +
            " BODY[HEADER.FIELDS (SUBJECT)] {30}\r\nSubject: afternoon meeting\r\n\r\n"
            R"x( BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 55 1)))x"
            "\r\n"
    );
}

TEST(FetchResolve, PartNumbering) {
    const mime::MessageStructure s = mime::parse_message(kComplex);
    const auto at = [&s](std::vector<std::uint32_t> n) { return detail::resolve_part(s, n); };
    ASSERT_TRUE(at({}));
    EXPECT_EQ(*at({}), 0U);
    ASSERT_TRUE(at({3, 1, 2}));
    EXPECT_EQ(s.parts[*at({3, 1, 2})].content_type.subtype, "html");
    EXPECT_FALSE(at({0}));
    EXPECT_FALSE(at({3, 1, 3}));
    EXPECT_FALSE(at({3, 1, 2, 2}));
    EXPECT_EQ(at({3, 1, 2, 1}), at({3, 1, 2}));
}

}  // namespace
}  // namespace sov::imap::fetch
