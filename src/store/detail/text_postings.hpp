#pragma once
// The full-text index's data, apart from SQLite (fts.cpp stores it): the trigram keys of a
// text, and the blocks of posting lists that make up a segment of the index.
//
// A key is three consecutive bytes of case-folded text (b0 << 16 | b1 << 8 | b2). Every key of
// a needle occurs in any text that contains the needle, so the intersection of the needle's
// posting lists is a superset of the matching messages: candidates, which the caller verifies.
// Bytes rather than code points: nothing to decode, invalid UTF-8 is harmless, and 24 bits are
// the key itself (no hash, no collisions).
//
// A segment is the postings of a range of text ids, cut into blocks of whole keys in key order:
//   u32 n | u32 keys[n] (increasing) | u32 ends[n] (end of each key's list in the lists area) |
//   lists: per key its ids, increasing, as LEB128 varints: the first id, then differences.
// All integers little-endian. A block's bytes come back from disk, so parse() checks them.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/errors.hpp"

namespace sov::store::detail {

using TrigramKey = std::uint32_t;  // < 2^24
using TextId = std::int64_t;       // > 0, < 2^40

inline constexpr TextId kMaxTextId = (TextId{1} << 40) - 1;

/// The distinct keys of a needle (at least 3 bytes, else empty), sorted.
[[nodiscard]] std::vector<TrigramKey> needle_keys(std::string_view folded_needle);

/// Collects the distinct keys of one message's texts. A 2 MiB bitmap (one bit per key) finds
/// repeats in constant time; take() clears only the bits it set.
class TrigramCollector {
public:
    TrigramCollector();
    /// Adds the keys of `text`; no key spans two calls.
    void add(std::string_view text);
    /// The distinct keys added since the last take(), in no particular order.
    [[nodiscard]] std::vector<TrigramKey> take();

private:
    std::vector<std::uint64_t> seen_;
    std::vector<TrigramKey> keys_;
};

/// Receives the blocks of a segment in key order: the block's first key and its bytes.
using BlockSink = std::function<Status(TrigramKey first_key, std::string_view block)>;

/// Writes postings as blocks: keys in increasing order, each key's ids increasing. A block
/// closes once its lists reach kBlockBytes (a key's list is never split, so a very common key
/// makes a bigger block).
class BlockWriter {
public:
    static constexpr std::size_t kBlockBytes = 32 * 1024;
    static constexpr std::size_t kBlockKeys = 4096;

    explicit BlockWriter(BlockSink sink) : sink_(std::move(sink)) {}
    /// Starts the list of `key` (greater than the previous key).
    void begin_key(TrigramKey key);
    /// Appends an id to the current key's list (greater than its previous id).
    void add(TextId id);
    /// Appends an encoded run of ids: `first`, then `rest` (the varint differences that follow
    /// it in an encoded list), ending at `last`. What a merge copies without decoding.
    void add_encoded(TextId first, std::string_view rest, TextId last);
    /// Ends the current key (an empty list is dropped); may emit a block.
    Status end_key();
    /// Emits the last block.
    Status finish();
    /// Bytes emitted so far.
    [[nodiscard]] std::uint64_t bytes() const { return emitted_; }

private:
    Status flush();

    BlockSink sink_;
    std::vector<TrigramKey> keys_;
    std::vector<std::uint32_t> ends_;
    std::string lists_;
    std::size_t key_start_ = 0;
    TextId last_id_ = 0;
    std::uint64_t emitted_ = 0;
};

/// One message after another (increasing ids): their keys, then the segment's blocks.
class SegmentBuilder {
public:
    void add(TextId id, const std::vector<TrigramKey>& keys);
    [[nodiscard]] bool empty() const { return postings_.empty() && min_id_ == 0; }
    [[nodiscard]] TextId min_id() const { return min_id_; }
    [[nodiscard]] TextId max_id() const { return max_id_; }
    /// Sorts the postings by key and writes them.
    Status write(BlockWriter& out);

private:
    std::vector<std::uint64_t> postings_;  // key << 40 | id
    TextId min_id_ = 0;
    TextId max_id_ = 0;
};

/// A parsed block: views into bytes the caller keeps alive.
class Block {
public:
    /// nullopt if the bytes are not a well-formed block.
    [[nodiscard]] static std::optional<Block> parse(std::string_view bytes);
    [[nodiscard]] std::size_t size() const { return n_; }
    [[nodiscard]] TrigramKey key(std::size_t i) const;
    [[nodiscard]] std::string_view list(std::size_t i) const;
    /// The index of `key`, or size() if the block does not have it.
    [[nodiscard]] std::size_t find(TrigramKey key) const;

private:
    std::string_view bytes_;
    std::size_t n_ = 0;
};

/// Appends the ids of an encoded list to `out`; false if the list is damaged (bad varint, ids
/// not increasing, out of range).
[[nodiscard]] bool decode_list(std::string_view list, std::vector<TextId>& out);

/// The blocks of one segment, in key order: the next block's bytes, nullopt at the end.
using BlockSource = std::function<Result<std::optional<std::string>>()>;

/// Merges segments into `out`. `inputs` hold disjoint id ranges in increasing order (older
/// segments first); ids in `dropped` (sorted) are left out. Corrupt if an input is damaged.
Status merge_segments(
    std::vector<BlockSource>& inputs, const std::vector<TextId>& dropped, BlockWriter& out
);

/// The ids common to sorted lists (no list: empty).
[[nodiscard]] std::vector<TextId> intersect_lists(std::vector<std::vector<TextId>> lists);

}  // namespace sov::store::detail
