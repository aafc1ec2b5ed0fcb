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

constexpr RenderCacheWanted kBoth{.envelope_body = true, .body_structure = true};

TEST(RenderCache, HoldsWhatTheRenderersWrite) {
    constexpr std::string_view kMsg =
        "From: Fred <fred@example.com>\r\nSubject: hi\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n--b--\r\n";
    const auto s = mime::parse_message(kMsg);
    const auto entry = encode_render_cache(s);
    const auto items = decode_render_cache(entry.cache, entry.structure_cache, kBoth);
    ASSERT_TRUE(items);
    EXPECT_FALSE(items->utf8_differs);
    EXPECT_EQ(items->envelope, direct(s, wire::FetchItem::Envelope, false));
    EXPECT_EQ(items->body, direct(s, wire::FetchItem::Body, false));
    EXPECT_EQ(items->body_structure, direct(s, wire::FetchItem::BodyStructure, false));
    EXPECT_EQ(items->body_structure.substr(0, 15), "BODYSTRUCTURE (");
    // Each part alone: the other's items stay empty, and it need not be there.
    const auto first = decode_render_cache(entry.cache, "", {.envelope_body = true});
    ASSERT_TRUE(first);
    EXPECT_EQ(first->envelope, items->envelope);
    EXPECT_EQ(first->body, items->body);
    EXPECT_TRUE(first->body_structure.empty());
    const auto second = decode_render_cache("", entry.structure_cache, {.body_structure = true});
    ASSERT_TRUE(second);
    EXPECT_EQ(second->body_structure, items->body_structure);
    EXPECT_TRUE(second->envelope.empty());
    EXPECT_LT(entry.structure_cache.size(), items->body_structure.size() + 4);
    // A part wanted but missing: no items.
    EXPECT_FALSE(decode_render_cache(entry.cache, "", kBoth));
    EXPECT_FALSE(decode_render_cache("", entry.structure_cache, kBoth));
}

TEST(RenderCache, MarksEntriesUtf8SessionsMustRenderThemselves) {
    const auto s = mime::parse_message("Subject: Gr\xC3\xBC\xC3\x9F\x65\r\n\r\nx\r\n");
    const auto entry = encode_render_cache(s);  // the items are views into it
    const auto items = decode_render_cache(entry.cache, entry.structure_cache, kBoth);
    ASSERT_TRUE(items);
    EXPECT_TRUE(items->utf8_differs);
    // Either part alone says so too.
    EXPECT_TRUE(
        decode_render_cache("", entry.structure_cache, {.body_structure = true})->utf8_differs
    );
    EXPECT_EQ(items->envelope, direct(s, wire::FetchItem::Envelope, false));
}

TEST(RenderCache, MessageGlobalEntriesDoNotFitImap4rev2Sessions) {
    // MESSAGE/GLOBAL is body-type-basic in IMAP4rev1 and body-type-msg in IMAP4rev2 (RFC 3501
    // §9, RFC 9051 §9): the entry holds the IMAP4rev1 text, so IMAP4rev2 sessions render.
    const auto s =
        mime::parse_message("Content-Type: message/global\r\n\r\nSubject: s\r\n\r\nbody\r\n");
    const auto entry = encode_render_cache(s);
    const auto items = decode_render_cache(entry.cache, entry.structure_cache, kBoth);
    ASSERT_TRUE(items);
    EXPECT_FALSE(items->utf8_differs);
    EXPECT_TRUE(items->imap4rev2_differs);
    EXPECT_TRUE(
        decode_render_cache("", entry.structure_cache, {.body_structure = true})->imap4rev2_differs
    );
    EXPECT_EQ(items->body_structure, direct(s, wire::FetchItem::BodyStructure, false));
    EXPECT_TRUE(items->fits(wire::WriterOptions{.utf8 = true}));
    EXPECT_FALSE(items->fits(wire::WriterOptions{.utf8 = true, .imap4rev2 = true}));

    const auto plain = encode_render_cache(mime::parse_message("Subject: x\r\n\r\ny\r\n"));
    const auto plain_items = decode_render_cache(plain.cache, plain.structure_cache, kBoth);
    ASSERT_TRUE(plain_items);
    EXPECT_FALSE(plain_items->imap4rev2_differs);
    EXPECT_TRUE(plain_items->fits(wire::WriterOptions{.utf8 = true, .imap4rev2 = true}));
}

TEST(RenderCache, RejectsOtherVersionsAndDamage) {
    const auto entry = encode_render_cache(mime::parse_message("Subject: x\r\n\r\ny\r\n"));
    EXPECT_FALSE(decode_render_cache("", "", kBoth));
    EXPECT_TRUE(decode_render_cache("", "", {}));  // nothing wanted, nothing to check
    for (const bool second : {false, true}) {
        const std::string& part = second ? entry.structure_cache : entry.cache;
        const auto decode = [&](std::string_view p) {
            return second ? decode_render_cache(entry.cache, p, kBoth)
                          : decode_render_cache(p, entry.structure_cache, kBoth);
        };
        EXPECT_TRUE(decode(part));
        std::string other = part;
        other[0] = static_cast<char>(kRenderCacheVersion + 1);
        EXPECT_FALSE(decode(other));
        for (std::size_t n = 0; n < part.size(); ++n) {
            EXPECT_FALSE(decode(part.substr(0, n))) << n;
        }
        EXPECT_FALSE(decode(part + "x"));
    }
}

}  // namespace
}  // namespace sov::imap::fetch
