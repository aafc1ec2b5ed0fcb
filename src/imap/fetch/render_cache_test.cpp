#include "imap/fetch/render_cache.hpp"

#include <string>

#include <gtest/gtest.h>

#include "imap/fetch/fetch.hpp"
#include "imap/wire/response.hpp"

namespace sov::imap::fetch {
namespace {

std::string direct(const mime::MessageStructure& s, wire::FetchItem item, bool utf8) {
    std::string out;
    wire::ResponseWriter w(out, wire::WriterOptions{.utf8 = utf8, .max_quoted = 1024});
    (void
    )write_att(w, wire::FetchAtt{.item = item, .peek = false, .section = {}, .partial = {}}, s, {});
    return out;
}

TEST(RenderCache, HoldsWhatTheRenderersWrite) {
    constexpr std::string_view kMsg =
        "From: Fred <fred@example.com>\r\nSubject: hi\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n--b--\r\n";
    const auto s = mime::parse_message(kMsg);
    const std::string entry = encode_render_cache(s);
    const auto items = decode_render_cache(entry);
    ASSERT_TRUE(items);
    EXPECT_FALSE(items->utf8_differs);
    EXPECT_EQ(items->envelope, direct(s, wire::FetchItem::Envelope, false));
    EXPECT_EQ(items->body, direct(s, wire::FetchItem::Body, false));
    EXPECT_EQ(items->body_structure, direct(s, wire::FetchItem::BodyStructure, false));
    EXPECT_EQ(items->body_structure.substr(0, 15), "BODYSTRUCTURE (");
}

TEST(RenderCache, MarksEntriesUtf8SessionsMustRenderThemselves) {
    const auto s = mime::parse_message("Subject: Gr\xC3\xBC\xC3\x9F\x65\r\n\r\nx\r\n");
    const std::string entry = encode_render_cache(s);  // the items are views into it
    const auto items = decode_render_cache(entry);
    ASSERT_TRUE(items);
    EXPECT_TRUE(items->utf8_differs);
    EXPECT_EQ(items->envelope, direct(s, wire::FetchItem::Envelope, false));
}

TEST(RenderCache, RejectsOtherVersionsAndDamage) {
    const std::string entry = encode_render_cache(mime::parse_message("Subject: x\r\n\r\ny\r\n"));
    EXPECT_FALSE(decode_render_cache(""));
    std::string other = entry;
    other[0] = static_cast<char>(kRenderCacheVersion + 1);
    EXPECT_FALSE(decode_render_cache(other));
    for (std::size_t n = 0; n < entry.size(); ++n) {
        EXPECT_FALSE(decode_render_cache(entry.substr(0, n))) << n;
    }
    EXPECT_FALSE(decode_render_cache(entry + "x"));
}

}  // namespace
}  // namespace sov::imap::fetch
