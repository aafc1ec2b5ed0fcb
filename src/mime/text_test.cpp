#include "mime/text.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sov::mime {
namespace {

SearchableText text_of(const std::string& msg, std::size_t max = 4U << 20U) {
    return searchable_text(msg, parse_message(msg), max);
}

TEST(FoldCase, AsciiLatinGreekCyrillic) {
    EXPECT_EQ(fold_case("Hello WORLD 123"), "hello world 123");
    EXPECT_EQ(fold_case("ÄÖÜ äöü ß ÉÈ Ÿ"), "äöü äöü ß éè ÿ");
    EXPECT_EQ(fold_case("ŁÓDŹ Čeština ĞİŞ"), "łódź čeština ğiş");
    EXPECT_EQ(fold_case("ΣΟΦΊΑ σοφίας"), "σοφία σοφίασ");  // final sigma folds to sigma
    EXPECT_EQ(fold_case("ПРИВЕТ Ёж Її"), "привет ёж її");
    EXPECT_EQ(fold_case("ＡＢＣ ẞ Ạ"), "ａｂｃ ß ạ");
    EXPECT_EQ(fold_case("日本語"), "日本語");
}

TEST(FoldCase, InvalidUtf8KeptAsIs) {
    const std::string bad =
        "A\xC3(\xFF"
        "B\xE2\x82";
    EXPECT_EQ(
        fold_case(bad),
        "a\xC3(\xFF"
        "b\xE2\x82"
    );
    EXPECT_EQ(fold_case(""), "");
}

TEST(DecodeHeaderValue, UnfoldsAndDecodes) {
    EXPECT_EQ(decode_header_value(" =?ISO-8859-1?Q?J=F6rg?=\r\n M\xC3\xBCller "), "Jörg Müller");
    EXPECT_EQ(decode_header_value("=?utf-8?B?w6TDpA==?=\r\n =?utf-8?Q?=C3=84?="), "ääÄ");
    EXPECT_EQ(decode_header_value("plain\n\tfolded"), "plain folded");
}

TEST(HeaderFields, SplitsFoldedFieldsAndStopsAtBody) {
    const std::string block =
        "Subject: a\r\n b\r\nX-Empty:\r\nbad line\r\nTo : x@y\r\n\r\nBody: no\r\n";
    const auto f = header_fields(block);
    ASSERT_EQ(f.size(), 3U);
    EXPECT_EQ(f[0].name, "Subject");
    EXPECT_EQ(f[0].value, " a\r\n b");
    EXPECT_EQ(f[1].name, "X-Empty");
    EXPECT_EQ(f[1].value, "");
    EXPECT_EQ(f[2].name, "To");
    EXPECT_EQ(f[2].value, " x@y");
}

TEST(HeaderValue, FirstOccurrenceUnfolded) {
    const std::string msg =
        "References: <a@x>\r\n <b@x>\r\nreferences: <c@x>\r\nSubject: s\r\n\r\nReferences: no\r\n";
    const auto s = parse_message(msg);
    EXPECT_EQ(header_value(msg, s.parts[0], "REFERENCES"), "<a@x> <b@x>");
    EXPECT_EQ(header_value(msg, s.parts[0], "In-Reply-To"), "");
}

TEST(SearchableText, HeadersDecodedOneLineEach) {
    const std::string msg =
        "From: =?utf-8?Q?J=C3=B6hn?= <john@example.com>\r\n"
        "Subject: =?iso-8859-1?q?Gr=FC=DFe?=\r\n  aus Berlin\r\n"
        "X-Tag: one\r\n\r\nhello\r\n";
    const auto t = text_of(msg);
    EXPECT_EQ(t.headers, "From: Jöhn <john@example.com>\nSubject: Grüße aus Berlin\nX-Tag: one\n");
    EXPECT_EQ(t.body, "hello\r\n");
}

TEST(SearchableText, Base64Utf8AndQuotedPrintableLatin1) {
    const std::string msg =
        "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
        "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "w4RwZmVsIHVuZCBCaXJuZW4=\r\n"  // "Äpfel und Birnen"
        "--XX\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Stra=DFe und K=E4se, sehr lang=\r\ne Zeile\r\n"
        "--XX\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "aW1hZ2VieXRlcw==\r\n"  // "imagebytes": not text, skipped
        "--XX--\r\n";
    const auto t = text_of(msg);
    EXPECT_NE(t.body.find("Äpfel und Birnen"), std::string::npos) << t.body;
    EXPECT_NE(t.body.find("Straße und Käse, sehr lange Zeile"), std::string::npos) << t.body;
    EXPECT_EQ(t.body.find("imagebytes"), std::string::npos);
    EXPECT_EQ(t.body.find("=DF"), std::string::npos);
}

TEST(SearchableText, HtmlStrippedAndNestedMessageIncluded) {
    const std::string msg =
        "Content-Type: multipart/mixed; boundary=b1\r\n\r\n"
        "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<html><head><style>p{color:red}</style><script>var x=1;</script></head>"
        "<body><p>Caf&eacute;? &amp; caf&#233; &#x263A;<br>next&nbsp;line</p><!-- hidden --></body>"
        "</html>\r\n"
        "--b1\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: inner@example.org\r\nSubject: =?utf-8?q?Inneres_=C3=9C?=\r\n\r\n"
        "inner body text\r\n"
        "--b1--\r\n";
    const auto t = text_of(msg);
    EXPECT_EQ(t.body.find("color:red"), std::string::npos) << t.body;
    EXPECT_EQ(t.body.find("var x"), std::string::npos);
    EXPECT_EQ(t.body.find("hidden"), std::string::npos);
    EXPECT_EQ(t.body.find("<p>"), std::string::npos);
    EXPECT_NE(t.body.find("& café ☺\nnext line"), std::string::npos) << t.body;
    EXPECT_NE(t.body.find("Caf&eacute;"), std::string::npos);  // unknown entity kept
    EXPECT_NE(t.body.find("Subject: Inneres Ü\n"), std::string::npos) << t.body;
    EXPECT_NE(t.body.find("From: inner@example.org\n"), std::string::npos);
    EXPECT_NE(t.body.find("inner body text"), std::string::npos);
    EXPECT_EQ(t.headers, "Content-Type: multipart/mixed; boundary=b1\n");
}

TEST(SearchableText, UnknownCharsetAndEightBitWithoutCharset) {
    const std::string msg =
        "Content-Type: text/plain; charset=x-unknown-cs\r\n\r\nabc \xE4 def\r\n";
    EXPECT_EQ(text_of(msg).body, "abc ä def\r\n");  // not UTF-8: read as Latin-1
    const std::string utf8 =
        "Subject: x\r\n\r\nGr\xC3\xBC\xC3\x9F"
        "e\r\n";
    EXPECT_EQ(text_of(utf8).body, "Grüße\r\n");  // default us-ascii, really UTF-8
}

TEST(SearchableText, BoundedOnCharacterBoundary) {
    std::string msg = "Subject: hi\r\n\r\n";
    for (int i = 0; i < 1000; ++i) {
        msg += "ääää\r\n";
    }
    const auto t = text_of(msg, 100);
    EXPECT_EQ(t.headers, "Subject: hi\n");
    EXPECT_LE(t.headers.size() + t.body.size(), 100U);
    EXPECT_GE(t.headers.size() + t.body.size(), 98U);
    EXPECT_EQ(fold_case(t.body), t.body);  // still valid UTF-8: nothing changed by folding
    EXPECT_EQ(t.body.substr(0, 8), "ääää");
    const auto tiny = text_of(msg, 4);
    EXPECT_EQ(tiny.headers, "Subj");
    EXPECT_EQ(tiny.body, "");
}

TEST(SearchableText, LargeBase64PartDecodedOnlyUpToTheBudget) {
    std::string msg = "Content-Transfer-Encoding: base64\r\n\r\n";
    for (int i = 0; i < 20000; ++i) {
        msg += "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29y\r\n";
    }
    const auto t = text_of(msg, 1000);
    EXPECT_LE(t.headers.size() + t.body.size(), 1000U);
    EXPECT_EQ(t.body.substr(0, 11), "hello world");
    EXPECT_GT(t.body.size(), 900U);
}

TEST(AppendHtmlText, LoneBracketsAndBadEntities) {
    std::string out;
    append_html_text("a < b && c &#0; &#xZZ; <b>bold</b>", out);
    EXPECT_EQ(out, "a < b && c &#0; &#xZZ; bold");
}

TEST(AppendHtmlText, TypographicAndInvisibleEntities) {
    std::string out;
    append_html_text(
        "don&rsquo;t &ndash; wait&hellip; in&shy;visible&zwnj;&ZWJ; &euro;5 &unknown;", out
    );
    EXPECT_EQ(out, "don’t – wait… invisible €5 &unknown;");
}

}  // namespace
}  // namespace sov::mime
