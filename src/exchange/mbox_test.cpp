#include "exchange/mbox.hpp"

#include <chrono>

#include <gtest/gtest.h>

#include "store/store.hpp"

namespace sov::exchange::mbox {
namespace {

using namespace store::flag;  // NOLINT(google-build-using-namespace): flag constants only

core::WallTime at(std::int64_t unix_seconds) {
    return core::WallTime{std::chrono::seconds{unix_seconds}};
}

struct Message {
    core::WallTime date;
    Meta meta;
    std::string bytes;
    bool operator==(const Message& o) const {
        return date == o.date && meta.flags == o.meta.flags && meta.keywords == o.meta.keywords &&
               bytes == o.bytes;
    }
};

class Recorder final : public Sink {
public:
    void on_message(core::WallTime date, const Meta& meta) override {
        ASSERT_FALSE(open_);
        open_ = true;
        messages.push_back({date, meta, {}});
    }
    void on_data(std::string_view bytes) override {
        ASSERT_TRUE(open_);
        messages.back().bytes.append(bytes);
    }
    void on_end() override {
        ASSERT_TRUE(open_);
        open_ = false;
    }
    std::vector<Message> messages;

private:
    bool open_ = false;
};

std::vector<Message> parse(std::string_view text, std::size_t split = std::string::npos) {
    Recorder r;
    Parser p(r);
    if (split == std::string::npos) {
        p.feed(text);
    } else {
        p.feed(text.substr(0, split));
        p.feed(text.substr(split));
    }
    p.finish();
    return r.messages;
}

TEST(MboxFromLine, Dates) {
    // 2021-07-14 00:44:25 UTC = 1626223465.
    EXPECT_EQ(parse_from_line("From MAILER-DAEMON Wed Jul 14 00:44:25 2021"), at(1626223465));
    EXPECT_EQ(parse_from_line("From a@b.c  Wed Jul 14 02:44:25 2021 +0200"), at(1626223465));
    EXPECT_EQ(parse_from_line("From a@b.c Wed Jul 14 02:44:25 +0200 2021"), at(1626223465));
    EXPECT_EQ(
        parse_from_line("From a@b.c Wed Jul  4 00:44 2021"), at(1626223465 - 10 * 86400 - 25)
    );
    EXPECT_EQ(parse_from_line("From \"a b\"@c Wed Jul 14 00:44:25 2021\r"), at(1626223465));
    EXPECT_FALSE(parse_from_line("From here to eternity"));
    EXPECT_FALSE(parse_from_line("From a Wed Feb 30 00:00:00 2021"));
    EXPECT_FALSE(parse_from_line("Subject: x"));
    EXPECT_EQ(format_from_line(at(1626223465)), "From MAILER-DAEMON Wed Jul 14 00:44:25 2021\n");
    EXPECT_EQ(format_from_line(at(0)), "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
    for (std::int64_t t : {0LL, 951782400LL, 1626223465LL, 4102444799LL}) {
        auto line = format_from_line(at(t));
        line.pop_back();
        EXPECT_EQ(parse_from_line(line), at(t)) << line;
    }
}

TEST(MboxFromLine, DatesOutsideWallTime) {
    // Found by exchange_mbox_fuzz: year 3998 overflowed the nanosecond count of WallTime (UB).
    // Such a date is clamped, so the line still starts a message.
    const auto late = parse_from_line("From x Tue Dec 31 23:59:59 3998");
    ASSERT_TRUE(late);
    const auto latest = std::chrono::floor<std::chrono::seconds>(core::WallTime::max());
    EXPECT_EQ(*late, latest);
    EXPECT_EQ(parse_from_line("From x Fri Jan  1 00:00:00 9999 -9959"), latest);
    auto line = format_from_line(*late);
    line.pop_back();
    EXPECT_EQ(parse_from_line(line), latest);
    const auto messages = parse("From x Tue Dec 31 23:59:59 3998\nS: x\n\nbody\n");
    ASSERT_EQ(messages.size(), 1U);
    EXPECT_EQ(messages[0].date, latest);
}

TEST(MboxFromLine, SignedNumbersAreNotDates) {
    EXPECT_FALSE(parse_from_line("From a Thu Jan  1 -1:-5:-3 2000"));
    EXPECT_FALSE(parse_from_line("From a Thu Jan -1 00:00:00 2000"));
    // A zone with a sign inside its digits is not a zone: ignored as a zone name (UTC).
    EXPECT_EQ(parse_from_line("From a Thu Jan  1 00:00:00 1970 +-100"), at(0));
}

const std::string kDovecotMbox =
    "From MAILER-DAEMON Wed Jul 14 00:44:25 2021\n"
    "Date: Wed, 14 Jul 2021 00:44:25 +0000\n"
    "From: Mail System Internal Data <MAILER-DAEMON@vm>\n"
    "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
    "X-IMAP: 1626223465 0000000002\n"
    "Status: RO\n"
    "\n"
    "This text is part of the internal format of your mail folder.\n"
    "\n"
    "From someone@example.org Wed Jul 14 00:44:26 2021\n"
    "From: someone@example.org\n"
    "Subject: one\n"
    "Status: RO\n"
    "X-Status: AF\n"
    "X-Keywords: $Label1 custom\n"
    "X-UID: 1\n"
    "\n"
    "body\n"
    ">From the start\n"
    ">>From quoted\n"
    "\n"
    "From b@example.org Thu Jul 15 00:00:00 2021\n"
    "Subject: two\n"
    "X-Status: TD\n"
    "\n"
    "line\n"
    "\n"
    "\n";

TEST(MboxParser, DovecotFileWithPseudoMessageAndMetadata) {
    const auto messages = parse(kDovecotMbox);
    ASSERT_EQ(messages.size(), 2U);
    EXPECT_EQ(messages[0].date, at(1626223466));
    EXPECT_EQ(messages[0].meta.flags, kSeen | kAnswered | kFlagged);
    EXPECT_EQ(messages[0].meta.keywords, (std::vector<std::string>{"$Label1", "custom"}));
    EXPECT_EQ(
        messages[0].bytes,
        "From: someone@example.org\nSubject: one\n\nbody\nFrom the start\n>From quoted\n"
    );
    EXPECT_EQ(messages[1].meta.flags, kDraft | kDeleted);
    EXPECT_EQ(messages[1].bytes, "Subject: two\n\nline\n\n");  // one empty line was the separator
}

TEST(MboxParser, AnySplitGivesTheSameMessages) {
    const auto whole = parse(kDovecotMbox);
    for (std::size_t split = 0; split <= kDovecotMbox.size(); ++split) {
        EXPECT_EQ(parse(kDovecotMbox, split), whole) << "split at " << split;
    }
}

TEST(MboxParser, DovecotContentLengthMessagesAreNotUnquoted) {
    // Written by Dovecot 2.3.19 (doveadm save + flags add), trailing spaces included.
    const std::string file =
        "From alice@vm  Sat Nov 28 22:27:53 2026\n"
        "X: y\n"
        "X-IMAPbase: 1795904872 0000000002 kw1\n"
        "X-UID: 1\n"
        "Status: R\n"
        "X-Keywords: kw1                                                   \n"
        "Content-Length: 71\n"
        "X-Status: A\n"
        "\n"
        "From me\n"
        ">From you\n"
        "\n"
        "From x@y Sat Nov 28 22:27:53 2026\n"
        "is still the body\n"
        "\n"
        "From alice@vm  Sat Nov 28 22:27:54 2026\n"
        "X: y2\n"
        "X-UID: 2\n"
        "Status: \n"
        "X-Keywords:                                                             \n"
        "Content-Length: 2\n"
        "X-Status: T\n"
        "\n"
        "z\n"
        "\n";
    const auto messages = parse(file);
    ASSERT_EQ(messages.size(), 2U);
    EXPECT_EQ(
        messages[0].bytes,
        "X: y\n\nFrom me\n>From you\n\nFrom x@y Sat Nov 28 22:27:53 2026\nis still the body\n"
    );
    EXPECT_EQ(messages[0].meta.flags, kSeen | kAnswered);
    EXPECT_EQ(messages[0].meta.keywords, (std::vector<std::string>{"kw1"}));
    EXPECT_EQ(messages[1].bytes, "X: y2\n\nz\n");
    EXPECT_EQ(messages[1].meta.flags, kDraft);
    EXPECT_TRUE(messages[1].meta.keywords.empty());
}

TEST(MboxParser, NotAnMbox) {
    Recorder r;
    Parser p(r);
    p.feed("Subject: hello\n\nFrom x Wed Jul 14 00:44:25 2021\n");
    p.finish();
    EXPECT_FALSE(p.is_mbox());
    EXPECT_TRUE(r.messages.empty());
}

TEST(MboxParser, FromInsideBodyWithoutBlankLineIsText) {
    const auto messages =
        parse("From a Wed Jul 14 00:44:25 2021\nS: x\n\ntext\nFrom a Wed Jul 14 00:44:25 2021\n");
    ASSERT_EQ(messages.size(), 1U);
    EXPECT_EQ(messages[0].bytes, "S: x\n\ntext\nFrom a Wed Jul 14 00:44:25 2021\n");
}

TEST(MboxParser, OverlongLinesAreKept) {
    const std::string big(Parser::kMaxLine * 3 + 17, 'x');
    const std::string text = "From a Wed Jul 14 00:44:25 2021\nS: x\n\n" + big + "\nFrom " + big +
                             "\n\nFrom b Wed Jul 14 00:44:26 2021\nS: y\n\nz\n";
    const auto messages = parse(text);
    ASSERT_EQ(messages.size(), 2U);
    EXPECT_EQ(messages[0].bytes, "S: x\n\n" + big + "\nFrom " + big + "\n");
    EXPECT_EQ(messages[1].bytes, "S: y\n\nz\n");
}

TEST(MboxParser, OverflowingHeaderSectionIsUnquotedAsMboxrd) {
    // The message before had Content-Length; its state must not carry over into a message whose
    // header section is too big to read metadata from.
    Recorder r;
    Parser p(r, Parser::Limits{.max_line = Parser::kMaxLine, .max_header = 20});
    p.feed(
        "From a Wed Jul 14 00:44:25 2021\nContent-Length: 2\n\nx\n\n"
        "From b Wed Jul 14 00:44:26 2021\nSubject: a long subject\n\n>From y\n"
    );
    p.finish();
    ASSERT_EQ(r.messages.size(), 2U);
    EXPECT_EQ(r.messages[0].bytes, "\nx\n");
    EXPECT_EQ(r.messages[1].bytes, "Subject: a long subject\n\nFrom y\n");
}

TEST(MboxWriter, RoundTripKeepsBytesFlagsAndDates) {
    const std::vector<Message> originals = {
        {at(1626223465),
         {kSeen | kFlagged, {"$Label1", "work"}},
         "From: a@example.org\nSubject: hi\n\nFrom the start\n>From quoted\n>>>From deep\n\nend\n"},
        {at(1626223466), {kAnswered | kDraft | kDeleted, {}}, "Subject: three flags\n\nx\n"},
        {at(1626223467), {0, {}}, "Subject: empty body\n\n"},
        {at(1626223468), {kSeen, {}}, "Subject: blank lines at end\n\nparagraph\n\n\n"},
    };
    std::string file;
    for (const auto& m : originals) {
        file += format_message(m.bytes, m.date, m.meta);
    }
    EXPECT_NE(file.find("\n>From the start\n>>From quoted\n>>>>From deep\n"), std::string::npos);
    EXPECT_NE(
        file.find("Status: RO\nX-Status: F\nX-Keywords: $Label1 work\n\n>From the start\n"),
        std::string::npos
    );
    const auto parsed = parse(file);
    ASSERT_EQ(parsed.size(), originals.size());
    for (std::size_t i = 0; i < originals.size(); ++i) {
        EXPECT_EQ(parsed[i], originals[i]) << i << ": " << parsed[i].bytes;
    }
    for (std::size_t split = 0; split <= file.size(); ++split) {
        ASSERT_EQ(parse(file, split), parsed) << "split at " << split;
    }
}

// A message without a final line end whose header section ends in a lone CR: the line end the
// writer adds makes that line an empty one (CR LF), so the header section ends there, and the
// metadata must come before it, not after it in the body (exchange_mbox_fuzz, session 1).
TEST(MboxWriter, MetadataStaysInAHeaderSectionThatEndsInALoneCr) {
    const Meta meta{kSeen, {"one", "two"}};
    for (const std::string_view message : {"Subject: x\r\n\r", "Subject: x\n\r", "\r"}) {
        const auto parsed = parse(format_message(message, at(0), meta));
        ASSERT_EQ(parsed.size(), 1U) << message;
        EXPECT_EQ(parsed[0].bytes, std::string(message) + "\n");
        EXPECT_EQ(parsed[0].meta.flags, kSeen);
        EXPECT_EQ(parsed[0].meta.keywords, meta.keywords);
    }
    // A last header line with more than a CR gets its line end and stays a header line.
    const auto parsed = parse(format_message("Subject: x\r", at(0), meta));
    ASSERT_EQ(parsed.size(), 1U);
    EXPECT_EQ(parsed[0].bytes, "Subject: x\r\n\n");
    EXPECT_EQ(parsed[0].meta.keywords, meta.keywords);
}

TEST(MboxWriter, DovecotUidHeaders) {
    const auto out = format_message(
        "Subject: x\n\nbody\n",
        at(0),
        Meta{kSeen, {"a", "b"}, 7},
        imapbase_header(1234, 8, {"a", "b"})
    );
    EXPECT_EQ(
        out,
        "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nSubject: x\n"
        "X-IMAPbase: 1234 0000000008 a b\nX-UID: 7\nStatus: RO\nX-Keywords: a b\n\nbody\n\n"
    );
    const auto parsed = parse(out);
    ASSERT_EQ(parsed.size(), 1U);
    EXPECT_EQ(parsed[0].bytes, "Subject: x\n\nbody\n");
    EXPECT_EQ(parsed[0].meta.keywords, (std::vector<std::string>{"a", "b"}));
}

TEST(MboxWriter, MetadataHeadersOfTheMessageAreReplaced) {
    const auto out = format_message(
        "Subject: x\nStatus: RO\nX-Keywords: evil\n\nbody\n", at(0), Meta{kFlagged, {}}
    );
    EXPECT_EQ(
        out,
        "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nSubject: x\nStatus: O\nX-Status: "
        "F\n\nbody\n\n"
    );
}

}  // namespace
}  // namespace sov::exchange::mbox
