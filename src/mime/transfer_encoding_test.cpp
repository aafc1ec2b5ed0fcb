#include "mime/transfer_encoding.hpp"

#include <gtest/gtest.h>

namespace sov::mime {
namespace {

std::string qp(std::string_view in) {
    std::string out;
    decode_quoted_printable(in, out);
    return out;
}

TEST(TransferEncoding, Classifies) {
    EXPECT_EQ(classify_transfer_encoding(""), TransferEncoding::Identity);
    EXPECT_EQ(classify_transfer_encoding("8bit"), TransferEncoding::Identity);
    EXPECT_EQ(classify_transfer_encoding("base64"), TransferEncoding::Base64);
    EXPECT_EQ(classify_transfer_encoding("quoted-printable"), TransferEncoding::QuotedPrintable);
    EXPECT_EQ(classify_transfer_encoding("x-uuencode"), TransferEncoding::Unknown);
}

TEST(TransferEncoding, QuotedPrintableEscapesAndSoftBreaks) {
    EXPECT_EQ(qp("caf=C3=A9 ok\r\n"), "caf\xC3\xA9 ok\r\n");
    EXPECT_EQ(qp("long=\r\nline\r\n"), "longline\r\n");
    EXPECT_EQ(qp("soft= \t\r\nbreak"), "softbreak");  // whitespace after "=" is padding
    EXPECT_EQ(qp("trail   \r\nx"), "trail\r\nx");     // rule 3: trailing blanks dropped
    EXPECT_EQ(qp("lf=\nonly\n"), "lfonly\r\n");
    EXPECT_EQ(qp("bad=ZZ and =4"), "bad=ZZ and =4");  // malformed kept literally
    EXPECT_EQ(qp("lower=c3=a9"), "lower\xC3\xA9");
}

TEST(TransferEncoding, DecodesBase64Leniently) {
    std::string out;
    decode_transfer_encoding(TransferEncoding::Base64, "aGVs\r\nbG8=\r\n", out);
    EXPECT_EQ(out, "hello");
    out.clear();
    decode_transfer_encoding(TransferEncoding::Unknown, "as is", out);
    EXPECT_EQ(out, "as is");
}

}  // namespace
}  // namespace sov::mime
