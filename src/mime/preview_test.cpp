#include "mime/preview.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sov::mime {
namespace {

std::string preview_of(const std::string& msg, std::size_t max = kPreviewChars) {
    return preview_text(msg, parse_message(msg), max);
}

std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (const char c : s) {
        n += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
    }
    return n;
}

TEST(Preview, PlainTextWithWhiteSpaceCollapsed) {
    EXPECT_EQ(
        preview_of("Subject: hi\r\n\r\n  Hello  Ann,\r\n\r\n\tthe meeting\r\nis at 10.\r\n"),
        "Hello Ann, the meeting is at 10."
    );
    EXPECT_EQ(preview_of("Subject: no body\r\n\r\n"), "");
    EXPECT_EQ(preview_of("Subject: bare LF\n\nline one\nline two\n"), "line one line two");
}

TEST(Preview, DecodesTransferEncodingAndCharset) {
    EXPECT_EQ(
        preview_of("Content-Type: text/plain; charset=iso-8859-1\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                   "Gr=FC=DFe aus K=F6ln, sch=\r\nne Tage.\r\n"),
        "Grüße aus Köln, schne Tage."
    );
    EXPECT_EQ(
        preview_of("Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: base64\r\n\r\n"
                   "0J/RgNC40LLQtdGCLCDQvNC40YAh\r\n"),
        "Привет, мир!"
    );
}

TEST(Preview, LeavesOutQuotedLinesAndTheSignature) {
    EXPECT_EQ(
        preview_of("Subject: Re: plans\r\n\r\n"
                   "On Monday Bob wrote:\r\n"
                   "> Shall we meet?\r\n"
                   "  >> Earlier text\r\n"
                   "Yes, at noon.\r\n"
                   "-- \r\n"
                   "Ann, Example Corp\r\n"),
        "On Monday Bob wrote: Yes, at noon."
    );
    // "--" without the space is an ordinary line.
    EXPECT_EQ(preview_of("Subject: x\r\n\r\nfirst\r\n--\r\nsecond\r\n"), "first -- second");
}

TEST(Preview, PrefersPlainTextAndSkipsAttachments) {
    const std::string alternative =
        "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
        "--m\r\n"
        "Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
        "--a\r\n"
        "Content-Type: text/html\r\n\r\n"
        "<p>the <b>HTML</b> version</p>\r\n"
        "--a\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "the plain version\r\n"
        "--a--\r\n"
        "--m\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Disposition: attachment; filename=notes.txt\r\n\r\n"
        "attached notes\r\n"
        "--m--\r\n";
    EXPECT_EQ(preview_of(alternative), "the plain version");

    const std::string attachment_only =
        "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
        "--m\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Disposition: attachment; filename=notes.txt\r\n\r\n"
        "attached notes\r\n"
        "--m\r\n"
        "Content-Type: image/png\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "iVBORw0KGgo=\r\n"
        "--m--\r\n";
    EXPECT_EQ(preview_of(attachment_only), "");  // RFC 8970 §3.2: empty, not NIL
}

TEST(Preview, HtmlLosesItsMarkupAndHiddenPadding) {
    const std::string html =
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        "<html><head><style>p { color: red; }</style><title>t</title></head>"
        "<body><p>Sale&nbsp;starts&#8203;&zwnj; <i>today</i> &amp; ends</p>"
        "<div>Monday</div><script>var x = 1;</script></body></html>\r\n";
    EXPECT_EQ(preview_of(html), "Sale starts today & ends Monday");

    // An empty plain alternative does not hide the HTML one.
    const std::string empty_plain =
        "Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
        "--a\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "\r\n"
        "--a\r\n"
        "Content-Type: text/html\r\n\r\n"
        "<p>only here</p>\r\n"
        "--a--\r\n";
    EXPECT_EQ(preview_of(empty_plain), "only here");
}

TEST(Preview, CutsAtTheLimitOnAWordBoundary) {
    std::string body;
    for (int i = 0; i < 100; ++i) {
        body += "word" + std::to_string(i) + " ";
    }
    const auto p = preview_of("Subject: long\r\n\r\n" + body + "\r\n");
    EXPECT_LE(code_points(p), kPreviewChars);
    EXPECT_GT(code_points(p), kPreviewChars - 10);
    EXPECT_EQ(p.back() != ' ', true);
    EXPECT_EQ(body.rfind(p, 0), 0U) << "a prefix of the text, ending with a whole word";
    EXPECT_EQ(body[p.size()], ' ');

    // Characters, not bytes: 300 two-byte letters give 200 of them, valid UTF-8.
    std::string umlauts;
    for (int i = 0; i < 300; ++i) {
        umlauts += "ä";
    }
    const auto u = preview_of("Content-Type: text/plain; charset=utf-8\r\n\r\n" + umlauts + "\r\n");
    EXPECT_EQ(u, umlauts.substr(0, 2 * kPreviewChars));

    // One long "word" is cut at the limit.
    EXPECT_EQ(preview_of("Subject: x\r\n\r\n" + std::string(500, 'x') + "\r\n", 10), "xxxxxxxxxx");
}

TEST(Preview, InvalidBytesBecomeValidUtf8) {
    // No charset and bytes that are not UTF-8: read as Latin-1 (text.hpp), so still UTF-8.
    EXPECT_EQ(preview_of("Subject: x\r\n\r\ncaf\xE9 ok\r\n"), "caf\xC3\xA9 ok");
    // A charset we convert from, with a NUL and other controls in it.
    std::string controls = "Content-Type: text/plain; charset=utf-8\r\n\r\na";
    controls += '\0';
    controls += "b\x01";
    controls += "c\x7F";
    controls += "d\r\n";
    EXPECT_EQ(preview_of(controls), "a b cd");
}

TEST(Preview, ReadsOnlyTheStartOfAHugePart) {
    // 200 KB of quoted lines, then text: past the 64 KB read, so nothing is found.
    std::string body;
    while (body.size() < 200 * 1024) {
        body += "> quoted line of the earlier message\r\n";
    }
    body += "the answer at the end\r\n";
    EXPECT_EQ(preview_of("Subject: x\r\n\r\n" + body), "");
    // Base64 cut on a line end still decodes.
    std::string b64;
    for (int i = 0; i < 3000; ++i) {
        b64 += "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQg\r\n";
    }
    const auto p = preview_of("Content-Transfer-Encoding: base64\r\n\r\n" + b64);
    EXPECT_EQ(p.rfind("hello world hello world", 0), 0U) << p;
}

}  // namespace
}  // namespace sov::mime
