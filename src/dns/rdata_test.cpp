#include "dns/rdata.hpp"

#include <gtest/gtest.h>

#include "dns/errors.hpp"

namespace sov::dns {
namespace {

using namespace std::string_literals;

// "\x02mx\x07example\x04test\x00"
std::string wire_name(std::initializer_list<std::string_view> labels) {
    std::string out;
    for (const auto l : labels) {
        out += static_cast<char>(l.size());
        out += l;
    }
    out += '\0';
    return out;
}

TEST(Rdata, MxRecord) {
    const std::string rdata = "\x00\x0a"s + wire_name({"mx", "example", "test"});
    auto mx = parse_mx(rdata);
    ASSERT_TRUE(mx);
    EXPECT_EQ(mx->preference, 10);
    EXPECT_EQ(mx->exchange, "mx.example.test");
    EXPECT_EQ(to_presentation(RrType::MX, rdata), "10 mx.example.test.");
}

TEST(Rdata, NullMxIsTheRoot) {
    // RFC 7505 §3: "0 ."
    const std::string rdata = "\x00\x00\x00"s;
    auto mx = parse_mx(rdata);
    ASSERT_TRUE(mx);
    EXPECT_EQ(mx->exchange, ".");
    EXPECT_EQ(to_presentation(RrType::MX, rdata), "0 .");
}

TEST(Rdata, MxRejectsTruncationTrailingBytesAndPointers) {
    EXPECT_EQ(parse_mx("\x00\x0a"s).error(), Errc::Malformed);
    EXPECT_EQ(parse_mx("\x00\x0a\x03mx"s).error(), Errc::Malformed);    // label runs off the end
    EXPECT_EQ(parse_mx("\x00\x0a\x00X"s).error(), Errc::Malformed);     // bytes after the name
    EXPECT_EQ(parse_mx("\x00\x0a\xc0\x0c"s).error(), Errc::Malformed);  // compression pointer
}

TEST(Rdata, NameLengthLimit) {
    // RFC 1035 §2.3.4: 255 octets on the wire at most.
    std::string name;
    for (int i = 0; i < 4; ++i) {
        name += '\x3f' + std::string(63, 'a');  // 4 x 64 = 256 > 255
    }
    name += '\0';
    EXPECT_EQ(parse_name_rdata(name).error(), Errc::Malformed);
}

TEST(Rdata, LabelBytesAreEscaped) {
    const std::string rdata = "\x03"s + "a.b" + "\x02" + "\x01z" + '\0';
    auto name = parse_name_rdata(rdata);
    ASSERT_TRUE(name);
    EXPECT_EQ(*name, "a\\.b.\\001z");
}

TEST(Rdata, TxtJoinsCharacterStrings) {
    auto txt = parse_txt(
        "\x05v=spf\x06"
        "1 -all"s
    );
    ASSERT_TRUE(txt);
    EXPECT_EQ(*txt, "v=spf1 -all");
    EXPECT_EQ(
        to_presentation(
            RrType::TXT,
            "\x05v=spf\x06"
            "1 -all"s
        ),
        "\"v=spf\" \"1 -all\""
    );
    EXPECT_EQ(parse_txt("\x05v=s"s).error(), Errc::Malformed);
    EXPECT_EQ(parse_txt("").error(), Errc::Malformed);
    auto empty_string = parse_txt("\x00"s);
    ASSERT_TRUE(empty_string);
    EXPECT_EQ(*empty_string, "");
}

TEST(Rdata, TlsaRecord) {
    const std::string rdata = "\x03\x01\x01\xde\xad\xbe\xef"s;
    auto t = parse_tlsa(rdata);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->usage, 3);
    EXPECT_EQ(t->selector, 1);
    EXPECT_EQ(t->matching_type, 1);
    EXPECT_EQ(to_hex(t->data), "deadbeef");
    EXPECT_EQ(to_presentation(RrType::TLSA, rdata), "3 1 1 deadbeef");
    EXPECT_EQ(parse_tlsa("\x03\x01\x01"s).error(), Errc::Malformed);
}

TEST(Rdata, SrvAndCaa) {
    const std::string srv = "\x00\x00\x00\x01\x03\xe1"s + wire_name({"imap", "example", "test"});
    auto s = parse_srv(srv);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->port, 993);
    EXPECT_EQ(s->weight, 1);
    EXPECT_EQ(to_presentation(RrType::SRV, srv), "0 1 993 imap.example.test.");

    const std::string caa = "\x00\x05issueletsencrypt.org"s;
    auto c = parse_caa(caa);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->tag, "issue");
    EXPECT_EQ(c->value, "letsencrypt.org");
    EXPECT_EQ(to_presentation(RrType::CAA, caa), "0 issue \"letsencrypt.org\"");
    EXPECT_EQ(parse_caa("\x00\x09issue"s).error(), Errc::Malformed);
}

TEST(Rdata, AddressesNeedExactLengths) {
    auto a = parse_a("\x7f\x00\x00\x01"s);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->to_string(), "127.0.0.1");
    EXPECT_FALSE(parse_a("\x7f\x00\x00"s));
    EXPECT_FALSE(parse_aaaa("\x7f\x00\x00\x01"s));
    EXPECT_EQ(to_presentation(RrType::A, "\x01\x02"s), "\\# 2 0102");
}

TEST(Rdata, TypeNames) {
    EXPECT_EQ(rr_type_from_string("tlsa"), RrType::TLSA);
    EXPECT_EQ(rr_type_from_string("MX"), RrType::MX);
    EXPECT_FALSE(rr_type_from_string("MXX"));
    EXPECT_EQ(to_string(RrType::CAA), "CAA");
}

}  // namespace
}  // namespace sov::dns
