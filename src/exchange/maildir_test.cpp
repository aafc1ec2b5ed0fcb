#include "exchange/maildir.hpp"

#include <gtest/gtest.h>

#include "exchange/line_ends.hpp"
#include "store/store.hpp"

namespace sov::exchange::maildir {
namespace {

using namespace store::flag;  // NOLINT(google-build-using-namespace): flag constants only

TEST(MaildirName, ParsesDovecotNames) {
    const auto n = parse_file_name("1795904307.M768163P22302.vm,S=28,W=32:2,FSab");
    EXPECT_EQ(n.base, "1795904307.M768163P22302.vm,S=28,W=32");
    EXPECT_EQ(n.flags, kFlagged | kSeen);
    EXPECT_EQ(n.keyword_letters, "ab");

    const auto all = parse_file_name("x:2,TSRFDzaz");
    EXPECT_EQ(all.flags, kDraft | kFlagged | kAnswered | kSeen | kDeleted);
    EXPECT_EQ(all.keyword_letters, "az");

    const auto fresh = parse_file_name("1.2.host");  // new/ without info
    EXPECT_EQ(fresh.base, "1.2.host");
    EXPECT_EQ(fresh.flags, 0U);

    const auto v1 = parse_file_name("1.2.host:1,experimental");  // not version 2: no flags
    EXPECT_EQ(v1.flags, 0U);
}

TEST(MaildirName, InfoSuffixRoundTrip) {
    EXPECT_EQ(info_suffix(kSeen | kFlagged, "ba"), ":2,FSab");
    EXPECT_EQ(info_suffix(0, ""), ":2,");
    EXPECT_EQ(info_suffix(kAll, ""), ":2,DFRST");
    for (std::uint32_t flags = 0; flags <= kAll; ++flags) {
        const auto parsed = parse_file_name("base" + info_suffix(flags, "cq"));
        EXPECT_EQ(parsed.flags, flags);
        EXPECT_EQ(parsed.keyword_letters, "cq");
        EXPECT_EQ(parsed.base, "base");
    }
}

TEST(DovecotKeywords, ParseAndFormat) {
    const auto table = parse_keywords_file("0 $Label1\n1 custom\n25 last\n26 ignored\nbad\n");
    EXPECT_EQ(table[0], "$Label1");
    EXPECT_EQ(table[1], "custom");
    EXPECT_EQ(table[25], "last");
    EXPECT_TRUE(table[2].empty());
    EXPECT_EQ(format_keywords_file({"$Label1", "custom"}), "0 $Label1\n1 custom\n");
}

TEST(DovecotUidlist, Version3) {
    const auto list = parse_uidlist(
        "3 V1795904307 N4 G64ffc92d33530b6b1e57000083ecc375\n"
        "1 :1795904307.M768163P22302.vm,S=28,W=32\n"
        "3 W34 S28 :1795904315.M537312P22554.vm,S=7,W=9\n"
    );
    ASSERT_TRUE(list);
    EXPECT_EQ(list->uid_validity, 1795904307U);
    EXPECT_EQ(list->next_uid, 4U);
    ASSERT_EQ(list->entries.size(), 2U);
    EXPECT_EQ(list->entries[1].first, 3U);
    EXPECT_EQ(list->entries[1].second, "1795904315.M537312P22554.vm,S=7,W=9");
    const auto again = parse_uidlist(format_uidlist(*list));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->entries, list->entries);
    EXPECT_EQ(again->uid_validity, list->uid_validity);
}

TEST(DovecotUidlist, UidWithNothingAfterIt) {
    // Found by exchange_maildir_fuzz: "<uid> " at the very end read one byte past the text.
    const std::string text = "3 V1 N3\n1 :a\n2 ";
    const auto list = parse_uidlist(std::string_view(text));
    ASSERT_TRUE(list);
    ASSERT_EQ(list->entries.size(), 1U);
    EXPECT_EQ(list->entries[0].second, "a");
    const auto crlf = parse_uidlist("3 V1 N3\r\n2 \r\n1 :a\r\n");
    ASSERT_TRUE(crlf);
    ASSERT_EQ(crlf->entries.size(), 1U);
    EXPECT_EQ(crlf->entries[0].first, 1U);
}

TEST(DovecotUidlist, Version1AndGarbage) {
    const auto v1 = parse_uidlist("1 1234 3\n1 a.b.c\n2 d.e.f\n");
    ASSERT_TRUE(v1);
    EXPECT_EQ(v1->uid_validity, 1234U);
    ASSERT_EQ(v1->entries.size(), 2U);
    EXPECT_EQ(v1->entries[1].second, "d.e.f");
    EXPECT_FALSE(parse_uidlist(""));
    EXPECT_FALSE(parse_uidlist("7 V1 N2\n"));
    EXPECT_FALSE(parse_uidlist("1 x y\n"));
}

TEST(LineEnds, CrlfInAnyChunking) {
    const std::string lf = "a\nb\r\nc\rd\n\n";
    const std::string crlf = "a\r\nb\r\nc\rd\r\n\r\n";
    for (std::size_t split = 0; split <= lf.size(); ++split) {
        CrlfWriter w;
        std::string out;
        w.convert(std::string_view(lf).substr(0, split), out);
        w.convert(std::string_view(lf).substr(split), out);
        EXPECT_EQ(out, crlf) << "split at " << split;
    }
    EXPECT_EQ(to_lf(crlf), "a\nb\nc\rd\n\n");
    EXPECT_EQ(count_lf("a\nb\n"), 2U);
}

}  // namespace
}  // namespace sov::exchange::maildir
