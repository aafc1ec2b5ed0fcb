// Fuzzes the full-text index's data (store/detail/text_postings.hpp). Properties checked:
// - the input read as a stored block: parse() accepts it or not, without crashing; a parsed
//   block's keys are found by find(), and its lists decode (or are refused) safely;
// - the input as a needle (up to its first '\n') and texts (the rest, split at '\n'): texts
//   indexed as two segments, then merged with some ids dropped. In both indexes, the
//   intersection of the needle's lists holds every text that contains the needle (the index
//   never misses a match), and the merged one holds no dropped id.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "store/detail/text_postings.hpp"

namespace {

using namespace sov::store::detail;

using sov::fuzz::check;

// A segment kept in memory: first key → block bytes, as text_blocks keeps it.
using Segment = std::map<TrigramKey, std::string>;

BlockWriter writer_into(Segment& seg) {
    return BlockWriter([&seg](TrigramKey first, std::string_view block) -> sov::Status {
        check(seg.emplace(first, std::string(block)).second);
        return {};
    });
}

// What search_text() does for one segment.
std::vector<TextId> candidates(const Segment& seg, const std::vector<TrigramKey>& keys) {
    std::vector<std::vector<TextId>> lists;
    for (TrigramKey key : keys) {
        auto it = seg.upper_bound(key);
        if (it == seg.begin()) {
            return {};
        }
        --it;
        auto block = Block::parse(it->second);
        check(block.has_value());
        const std::size_t at = block->find(key);
        if (at == block->size()) {
            return {};
        }
        check(decode_list(block->list(at), lists.emplace_back()));
    }
    return intersect_lists(std::move(lists));
}

BlockSource source_of(const Segment& seg) {
    auto it = seg.begin();
    return [it, &seg]() mutable -> sov::Result<std::optional<std::string>> {
        if (it == seg.end()) {
            return std::optional<std::string>();
        }
        return std::optional<std::string>((it++)->second);
    };
}

void check_block(std::string_view bytes) {
    auto block = Block::parse(bytes);
    if (!block) {
        return;
    }
    std::vector<TextId> ids;
    for (std::size_t i = 0; i < block->size(); ++i) {
        check(block->find(block->key(i)) == i);
        ids.clear();
        if (decode_list(block->list(i), ids)) {
            check(std::is_sorted(ids.begin(), ids.end()));
            check(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_block(input);

    const std::size_t nl = input.find('\n');
    const std::string_view needle = input.substr(0, std::min(nl, input.size()));
    std::vector<std::string_view> texts;
    for (std::size_t at = nl == std::string_view::npos ? input.size() : nl + 1;
         at < input.size();) {
        const std::size_t end = std::min(input.find('\n', at), input.size());
        texts.push_back(input.substr(at, end - at));
        at = end + 1;
    }
    const auto keys = needle_keys(needle);
    if (keys.empty() || texts.empty()) {
        return 0;
    }
    // Ids 1..n; the first half in one segment, the rest in the other.
    TrigramCollector collector;
    SegmentBuilder first;
    SegmentBuilder second;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        collector.add(texts[i]);
        (i < texts.size() / 2 ? first : second).add(static_cast<TextId>(i + 1), collector.take());
    }
    Segment a;
    Segment b;
    auto wa = writer_into(a);
    auto wb = writer_into(b);
    check(first.write(wa).has_value() && second.write(wb).has_value());
    std::vector<TextId> found = candidates(a, keys);
    const auto more = candidates(b, keys);
    found.insert(found.end(), more.begin(), more.end());

    // Every odd id dropped in the merge.
    std::vector<TextId> dropped;
    for (std::size_t id = 1; id <= texts.size(); id += 2) {
        dropped.push_back(static_cast<TextId>(id));
    }
    Segment merged;
    auto wm = writer_into(merged);
    std::vector<BlockSource> inputs{source_of(a), source_of(b)};
    check(merge_segments(inputs, dropped, wm).has_value());
    const auto after = candidates(merged, keys);

    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto id = static_cast<TextId>(i + 1);
        const bool has = texts[i].find(needle) != std::string_view::npos;
        const bool listed = std::binary_search(found.begin(), found.end(), id);
        const bool kept = std::binary_search(after.begin(), after.end(), id);
        check(!has || listed);
        check(kept == (listed && id % 2 == 0));
    }
    return 0;
}
