#include "mime/serialize.hpp"

#include <gtest/gtest.h>

#include "mime/errors.hpp"

namespace sov::mime {
namespace {

const std::string kMsg =
    "From: Group: a@b, \"C\" <c@d>;\r\nTo: x@y\r\nContent-Type: multipart/mixed; boundary=q\r\n"
    "\r\n--q\r\nContent-Type: text/plain; name*=utf-8'en'%C3%A9\r\nContent-Language: en, de\r\n"
    "Content-Disposition: attachment; filename=a.txt\r\nContent-ID: <id>\r\n\r\nbody\r\n--q\r\n"
    "Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n--q--\r\n";

TEST(Serialize, RoundTrip) {
    const auto s = parse_message(kMsg);
    ASSERT_EQ(s.parts.size(), 4U);
    const std::string bytes = serialize(s);
    EXPECT_EQ(static_cast<unsigned char>(bytes[0]), kStructureFormatVersion);
    const auto back = deserialize(bytes);
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, s);
    EXPECT_EQ(back->parts[1].languages, (std::vector<std::string>{"en", "de"}));
    EXPECT_EQ(back->parts[1].disposition.type, "attachment");
    EXPECT_EQ(back->envelopes[0].from_addr.size(), 4U);  // start, 2 mailboxes, end
}

TEST(Serialize, RejectsCorruptInput) {
    const std::string bytes = serialize(parse_message(kMsg));
    EXPECT_EQ(deserialize("").error(), make_error_code(Errc::Truncated));
    std::string wrong = bytes;
    wrong[0] = 9;
    EXPECT_EQ(deserialize(wrong).error(), make_error_code(Errc::BadVersion));
    for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
        EXPECT_FALSE(deserialize(std::string_view(bytes).substr(0, cut)).has_value()) << cut;
    }
    EXPECT_FALSE(deserialize(bytes + "x").has_value());
    // Flip every byte: must never crash; whatever decodes must be a valid tree.
    for (std::size_t i = 1; i < bytes.size(); ++i) {
        std::string mutated = bytes;
        mutated[i] = static_cast<char>(mutated[i] ^ 0x5A);
        const auto r = deserialize(mutated);
        if (r.has_value()) {
            for (std::uint32_t k = 0; k < r->parts.size(); ++k) {
                (void)r->children(k);
            }
        }
    }
}

}  // namespace
}  // namespace sov::mime
