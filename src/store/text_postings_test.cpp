// The full-text index's data without SQLite: keys, blocks, lists, merges.
#include "store/detail/text_postings.hpp"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sov::store::detail {
namespace {

using Ids = std::vector<TextId>;
using Blocks = std::map<TrigramKey, std::string>;

constexpr TrigramKey key_of(const char (&s)[4]) {
    return static_cast<TrigramKey>(static_cast<unsigned char>(s[0])) << 16U |
           static_cast<TrigramKey>(static_cast<unsigned char>(s[1])) << 8U |
           static_cast<unsigned char>(s[2]);
}

BlockWriter into(Blocks& blocks) {
    return BlockWriter([&blocks](TrigramKey first, std::string_view b) -> Status {
        blocks.emplace(first, std::string(b));
        return {};
    });
}

Ids list_of(const Blocks& blocks, TrigramKey key) {
    auto it = blocks.upper_bound(key);
    if (it == blocks.begin()) {
        return {};
    }
    auto block = Block::parse((--it)->second);
    EXPECT_TRUE(block);
    Ids ids;
    if (block && block->find(key) < block->size()) {
        EXPECT_TRUE(decode_list(block->list(block->find(key)), ids));
    }
    return ids;
}

TEST(TextPostings, NeedleKeysAreItsDistinctThreeByteSubstrings) {
    EXPECT_TRUE(needle_keys("ab").empty());
    EXPECT_EQ(needle_keys("abc"), std::vector<TrigramKey>{key_of("abc")});
    EXPECT_EQ(needle_keys("aaaa"), std::vector<TrigramKey>{key_of("aaa")});
    EXPECT_EQ(
        needle_keys("abcab"), (std::vector<TrigramKey>{key_of("abc"), key_of("bca"), key_of("cab")})
    );
    EXPECT_EQ(needle_keys("\xff\xfe\xfd"), std::vector<TrigramKey>{0xfffefdU});
}

TEST(TextPostings, TheCollectorListsEachKeyOncePerMessage) {
    TrigramCollector c;
    c.add("abcabc");
    c.add("xabc");  // no key spans the two texts ("cxa", "bcx" are not keys)
    auto keys = c.take();
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(
        keys, (std::vector<TrigramKey>{key_of("abc"), key_of("bca"), key_of("cab"), key_of("xab")})
    );
    c.add("abc");  // the next message starts afresh
    EXPECT_EQ(c.take(), std::vector<TrigramKey>{key_of("abc")});
    EXPECT_TRUE(c.take().empty());
}

TEST(TextPostings, SegmentsAreBlocksOfSortedLists) {
    SegmentBuilder seg;
    TrigramCollector c;
    // Enough texts that the lists overflow one block: every key of a long text in each.
    std::string text;
    for (int i = 0; i < 3000; ++i) {
        text += std::to_string(i * 7919) + " ";
    }
    for (TextId id = 1; id <= 100; ++id) {
        c.add(id % 2 == 0 ? text : std::string("odd ") + std::to_string(id));
        seg.add(id * 3, c.take());
    }
    EXPECT_EQ(seg.min_id(), 3);
    EXPECT_EQ(seg.max_id(), 300);
    Blocks blocks;
    auto out = into(blocks);
    ASSERT_TRUE(seg.write(out));
    EXPECT_GT(blocks.size(), 1U);
    Ids odd;
    Ids even;
    for (TextId id = 1; id <= 100; ++id) {
        (id % 2 == 0 ? even : odd).push_back(id * 3);
    }
    EXPECT_EQ(list_of(blocks, key_of("odd")), odd);
    EXPECT_EQ(list_of(blocks, key_of("791")), even);
    EXPECT_EQ(list_of(blocks, key_of("zzz")), Ids{});
}

TEST(TextPostings, DamagedBlocksAndListsAreRefused) {
    Blocks blocks;
    auto out = into(blocks);
    out.begin_key(key_of("abc"));
    out.add(5);
    out.add(300);
    ASSERT_TRUE(out.end_key());
    ASSERT_TRUE(out.finish());
    ASSERT_EQ(blocks.size(), 1U);
    const std::string good = blocks.begin()->second;
    ASSERT_TRUE(Block::parse(good));
    EXPECT_FALSE(Block::parse(""));
    EXPECT_FALSE(Block::parse(good.substr(0, good.size() - 4)));  // lists cut short
    std::string bad_count = good;
    bad_count[0] = 9;
    EXPECT_FALSE(Block::parse(bad_count));
    std::string bad_key = good;
    bad_key[7] = 1;  // a key beyond 24 bits
    EXPECT_FALSE(Block::parse(bad_key));

    Ids ids;
    EXPECT_TRUE(decode_list("\x05\xa7\x02", ids));
    EXPECT_EQ(ids, (Ids{5, 300}));
    EXPECT_FALSE(decode_list(std::string_view("\x05\x00", 2), ids));     // not increasing
    EXPECT_FALSE(decode_list("\x85", ids));                              // cut short
    EXPECT_FALSE(decode_list("\xff\xff\xff\xff\xff\xff\xff\x01", ids));  // beyond 2^40
}

TEST(TextPostings, MergesConcatenateAndDrop) {
    Blocks a;
    Blocks b;
    for (auto [blocks, first] : {std::pair{&a, TextId{1}}, std::pair{&b, TextId{10}}}) {
        SegmentBuilder seg;
        TrigramCollector c;
        for (TextId id = first; id < first + 3; ++id) {
            c.add("shared " + std::to_string(id) + "xyz");
            seg.add(id, c.take());
        }
        auto out = into(*blocks);
        ASSERT_TRUE(seg.write(out));
    }
    auto source = [](const Blocks& blocks) {
        auto it = blocks.begin();
        return BlockSource([it, &blocks]() mutable -> Result<std::optional<std::string>> {
            if (it == blocks.end()) {
                return std::optional<std::string>();
            }
            return std::optional<std::string>((it++)->second);
        });
    };
    Blocks merged;
    auto out = into(merged);
    std::vector<BlockSource> inputs{source(a), source(b)};
    ASSERT_TRUE(merge_segments(inputs, Ids{2, 11}, out));
    EXPECT_EQ(list_of(merged, key_of("sha")), (Ids{1, 3, 10, 12}));
    EXPECT_EQ(list_of(merged, key_of(" 2x")), Ids{});  // every id of the key dropped
    EXPECT_EQ(list_of(merged, key_of("12x")), Ids{12});

    // Inputs out of order are damage, not a silent mix.
    Blocks wrong;
    auto out2 = into(wrong);
    std::vector<BlockSource> swapped{source(b), source(a)};
    EXPECT_EQ(merge_segments(swapped, {}, out2).error(), Errc::Corrupt);
}

TEST(TextPostings, IntersectionOfLists) {
    EXPECT_EQ(intersect_lists({}), Ids{});
    EXPECT_EQ(intersect_lists({{1, 2, 3, 7}, {2, 7, 9}, {0, 2, 3, 7}}), (Ids{2, 7}));
    EXPECT_EQ(intersect_lists({{1, 2}, {}}), Ids{});
}

}  // namespace
}  // namespace sov::store::detail
