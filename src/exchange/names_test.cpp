#include "exchange/names.hpp"

#include <string_view>

#include <gtest/gtest.h>

#include "mime/mutf7.hpp"

namespace sov::exchange {
namespace {

TEST(Mutf7, DecodesRfc3501Examples) {
    // RFC 3501 §5.1.3: "~peter/mail/&U,BTFw-/&ZeVnLIqe-" is "~peter/mail/台北/日本語".
    EXPECT_EQ(
        mime::mutf7_decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-", mime::Mutf7Decode::Lenient),
        "~peter/mail/台北/日本語"
    );
    EXPECT_EQ(mime::mutf7_decode("&Jjo-!", mime::Mutf7Decode::Lenient), "☺!");
    EXPECT_EQ(mime::mutf7_decode("Hi Mom -&Jjo--!", mime::Mutf7Decode::Lenient), "Hi Mom -☺-!");
    EXPECT_EQ(mime::mutf7_decode("&-", mime::Mutf7Decode::Lenient), "&");
    EXPECT_EQ(
        mime::mutf7_decode("F&APYA9g-l", mime::Mutf7Decode::Lenient), "Fööl"
    );  // as Dovecot wrote it in the test Maildir
    EXPECT_EQ(
        mime::mutf7_decode("&2D3eAA-", mime::Mutf7Decode::Lenient), "\xF0\x9F\x98\x80"
    );  // U+1F600 as a surrogate pair
}

TEST(Mutf7, RejectsMalformed) {
    EXPECT_FALSE(mime::mutf7_decode("&U,BTFw", mime::Mutf7Decode::Lenient));  // unterminated
    EXPECT_FALSE(mime::mutf7_decode("&U,B*Fw-", mime::Mutf7Decode::Lenient)
    );                                                                      // not modified base64
    EXPECT_FALSE(mime::mutf7_decode("&2D0-", mime::Mutf7Decode::Lenient));  // lone high surrogate
    EXPECT_FALSE(mime::mutf7_decode("&3gA-", mime::Mutf7Decode::Lenient));  // lone low surrogate
    EXPECT_FALSE(mime::mutf7_decode("caf\xC3\xA9", mime::Mutf7Decode::Lenient)
    );  // 8-bit bytes are not modified UTF-7
    EXPECT_FALSE(mime::mutf7_decode("a\tb", mime::Mutf7Decode::Lenient));
    EXPECT_FALSE(mime::mutf7_decode("&AAA-", mime::Mutf7Decode::Lenient));  // U+0000
}

TEST(Mutf7, NulIsRejectedBothWays) {
    // Found by exchange_mutf7_fuzz: encode shifted U+0000 to "&AAA-", which decode rejects, so an
    // encoded name did not decode back. No mailbox name can hold NUL: both directions refuse it.
    using namespace std::string_view_literals;
    EXPECT_FALSE(mime::mutf7_encode("a\0b"sv));
    EXPECT_FALSE(mime::mutf7_encode("\0"sv, "."));
    EXPECT_FALSE(mime::mutf7_decode("&AAA-", mime::Mutf7Decode::Lenient));
    EXPECT_FALSE(encode_level("a\0b"sv));
}

TEST(Mutf7, EncodesAndRoundTrips) {
    EXPECT_EQ(mime::mutf7_encode("台北"), "&U,BTFw-");
    EXPECT_EQ(mime::mutf7_encode("Fööl"), "F&APYA9g-l");
    EXPECT_EQ(mime::mutf7_encode("a&b"), "a&-b");
    EXPECT_EQ(mime::mutf7_encode("a.b", "."), "a&AC4-b");
    EXPECT_FALSE(mime::mutf7_encode("\xC3"));          // truncated UTF-8
    EXPECT_FALSE(mime::mutf7_encode("\xED\xA0\x80"));  // encoded surrogate
    for (std::string s : {"", "plain", "日本語 mixed ☺ & more", "\xF0\x9F\x98\x80x", "&&--&"}) {
        const auto encoded = mime::mutf7_encode(s);
        ASSERT_TRUE(encoded) << s;
        EXPECT_EQ(mime::mutf7_decode(*encoded, mime::Mutf7Decode::Lenient), s) << *encoded;
        const auto with_dots = mime::mutf7_encode(s + ".x.", ".");
        ASSERT_TRUE(with_dots);
        EXPECT_EQ(with_dots->find('.'), std::string::npos);
        EXPECT_EQ(mime::mutf7_decode(*with_dots, mime::Mutf7Decode::Lenient), s + ".x.");
    }
}

TEST(Names, MaildirPlusPlusFolders) {
    EXPECT_EQ(maildirpp_folder_name(".Sub.F&APYA9g-l"), "Sub/Fööl");
    EXPECT_EQ(maildirpp_folder_name(".Sent"), "Sent");
    EXPECT_FALSE(maildirpp_folder_name("."));
    EXPECT_FALSE(maildirpp_folder_name(".."));
    EXPECT_FALSE(maildirpp_folder_name(".a..b"));  // empty level
    EXPECT_FALSE(maildirpp_folder_name("Sent"));
    EXPECT_EQ(maildirpp_dir_name("Sub/Fööl"), ".Sub.F&APYA9g-l");
    EXPECT_EQ(maildirpp_dir_name("v1.2/x"), ".v1&AC4-2.x");
    EXPECT_EQ(maildirpp_folder_name(*maildirpp_dir_name("v1.2/x")), "v1.2/x");
    EXPECT_FALSE(maildirpp_dir_name("a//b"));
    EXPECT_FALSE(maildirpp_dir_name("a/\x01"));
}

TEST(Names, LevelsAreSafePathParts) {
    EXPECT_FALSE(decode_level(".."));
    EXPECT_FALSE(decode_level("."));
    EXPECT_FALSE(decode_level(""));
    EXPECT_FALSE(decode_level("a&AC8-b"));                  // a '/' smuggled in modified UTF-7
    EXPECT_EQ(decode_level("caf\xC3\xA9"), "caf\xC3\xA9");  // UTF-8 names written by other tools
    EXPECT_EQ(encode_level(".."), std::nullopt);
    EXPECT_EQ(encode_level(".hidden"), "&AC4-hidden");
    EXPECT_EQ(encode_level("..x"), "&AC4ALg-x");
}

TEST(Names, SpecialUseMapping) {
    EXPECT_EQ(map_special_use_name("Sent Items"), "Sent");
    EXPECT_EQ(map_special_use_name("sent"), "Sent");
    EXPECT_EQ(map_special_use_name("Spam"), "Junk");
    EXPECT_EQ(map_special_use_name("Deleted Messages"), "Trash");
    EXPECT_EQ(map_special_use_name("Archives/2020"), "Archive/2020");
    EXPECT_EQ(map_special_use_name("Drafts"), "Drafts");
    EXPECT_EQ(map_special_use_name("Projects/Sent"), "Projects/Sent");
    EXPECT_EQ(map_special_use_name("Sentinel"), "Sentinel");
}

TEST(Names, Subscriptions) {
    // As Dovecot 2.3 wrote it in the integration test's Maildir.
    EXPECT_EQ(
        parse_subscriptions("V\t2\n\nSub\tF&APYA9g-l\nINBOX\n"),
        (std::vector<std::string>{"Sub/Fööl", "INBOX"})
    );
    EXPECT_EQ(
        parse_subscriptions("INBOX.Sent\nWork/Q&AOk-\n\n"),
        (std::vector<std::string>{"INBOX/Sent", "Work/Qé"})
    );
    const std::vector<std::string> names{"Sub/Fööl", "a&b", "INBOX"};
    EXPECT_EQ(format_subscriptions(names), "V\t2\n\nSub\tF&APYA9g-l\na&-b\nINBOX\n");
    EXPECT_EQ(parse_subscriptions(format_subscriptions(names)), names);
}

}  // namespace
}  // namespace sov::exchange
