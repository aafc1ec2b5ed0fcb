#include "store/detail/text_postings.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <utility>

#include "core/varint.hpp"

namespace sov::store::detail {

namespace {

constexpr std::size_t kKeyBits = 24;
constexpr std::size_t kKeySpace = std::size_t{1} << kKeyBits;
constexpr unsigned kIdBits = 40;

void put_u32(std::string& out, std::uint32_t v) {
    const std::array<char, 4> b{
        static_cast<char>(v & 0xffU),
        static_cast<char>((v >> 8U) & 0xffU),
        static_cast<char>((v >> 16U) & 0xffU),
        static_cast<char>((v >> 24U) & 0xffU),
    };
    out.append(b.data(), b.size());
}

std::uint32_t get_u32(std::string_view bytes, std::size_t at) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8U |
           static_cast<std::uint32_t>(p[2]) << 16U | static_cast<std::uint32_t>(p[3]) << 24U;
}

// Radix sort by key (the top 24 bits) in two passes of 12 bits, stable: ids added in
// increasing order stay so per key.
void sort_by_key(std::vector<std::uint64_t>& v) {
    constexpr unsigned kDigit = 12;
    constexpr std::size_t kBuckets = std::size_t{1} << kDigit;
    std::unique_ptr<std::uint64_t[]> tmp(new std::uint64_t[v.size()]);  // no zeroing
    std::vector<std::size_t> count(kBuckets + 1);
    for (unsigned shift = kIdBits; shift < kIdBits + kKeyBits; shift += kDigit) {
        std::fill(count.begin(), count.end(), 0);
        for (std::uint64_t x : v) {
            ++count[((x >> shift) & (kBuckets - 1)) + 1];
        }
        for (std::size_t i = 1; i < count.size(); ++i) {
            count[i] += count[i - 1];
        }
        for (std::uint64_t x : v) {
            tmp[count[(x >> shift) & (kBuckets - 1)]++] = x;
        }
        std::copy(tmp.get(), tmp.get() + v.size(), v.begin());
    }
}

// A list's first and last ids and the size of its first varint, checking it as decode_list does.
struct ListSpan {
    TextId first = 0;
    TextId last = 0;
    std::size_t first_bytes = 0;
};

// Calls on_id(id, bytes read so far) for each id of an encoded list; false if the list is
// damaged (bad varint, ids not increasing, out of range).
template <class OnId>
bool for_each_id(std::string_view list, OnId&& on_id) {
    std::uint64_t id = 0;
    std::size_t i = 0;
    while (i < list.size()) {
        std::uint64_t delta = 0;
        // At most 6 bytes (42 bits): longer than any id can be is damage too.
        if (!core::get_varint(list, i, delta, 6)) {
            return false;
        }
        id += delta;
        if (delta == 0 || id > static_cast<std::uint64_t>(kMaxTextId)) {
            return false;
        }
        on_id(static_cast<TextId>(id), i);
    }
    return true;
}

bool scan_list(std::string_view list, ListSpan& span) {
    const bool ok = for_each_id(list, [&span](TextId id, std::size_t read) {
        if (span.first == 0) {
            span.first = id;
            span.first_bytes = read;
        }
        span.last = id;
    });
    return ok && span.first != 0;
}

}  // namespace

std::vector<TrigramKey> needle_keys(std::string_view folded_needle) {
    std::vector<TrigramKey> keys;
    for (std::size_t i = 0; i + 3 <= folded_needle.size(); ++i) {
        const auto* p = reinterpret_cast<const unsigned char*>(folded_needle.data() + i);
        keys.push_back(
            static_cast<TrigramKey>(p[0]) << 16U | static_cast<TrigramKey>(p[1]) << 8U | p[2]
        );
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
}

TrigramCollector::TrigramCollector() : seen_(kKeySpace / 64) {}

void TrigramCollector::add(std::string_view text) {
    if (text.size() < 3) {
        return;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    TrigramKey key = static_cast<TrigramKey>(p[0]) << 8U | p[1];
    for (std::size_t i = 2; i < text.size(); ++i) {
        key = ((key << 8U) | p[i]) & (kKeySpace - 1);
        std::uint64_t& word = seen_[key >> 6U];
        const std::uint64_t bit = std::uint64_t{1} << (key & 63U);
        if ((word & bit) == 0) {
            word |= bit;
            keys_.push_back(key);
        }
    }
}

std::vector<TrigramKey> TrigramCollector::take() {
    for (TrigramKey key : keys_) {
        seen_[key >> 6U] = 0;  // every bit of the word that is set belongs to a key in keys_
    }
    return std::exchange(keys_, {});
}

void BlockWriter::begin_key(TrigramKey key) {
    keys_.push_back(key);
    key_start_ = lists_.size();
    last_id_ = 0;
}

void BlockWriter::add(TextId id) {
    core::put_varint(lists_, static_cast<std::uint64_t>(id - last_id_));
    last_id_ = id;
}

void BlockWriter::add_encoded(TextId first, std::string_view rest, TextId last) {
    core::put_varint(lists_, static_cast<std::uint64_t>(first - last_id_));
    lists_ += rest;
    last_id_ = last;
}

Status BlockWriter::end_key() {
    if (lists_.size() == key_start_) {
        keys_.pop_back();  // every id of it was dropped
        return {};
    }
    ends_.push_back(static_cast<std::uint32_t>(lists_.size()));
    if (lists_.size() >= kBlockBytes || keys_.size() >= kBlockKeys) {
        return flush();
    }
    return {};
}

Status BlockWriter::finish() {
    return keys_.empty() ? Status() : flush();
}

Status BlockWriter::flush() {
    std::string block;
    block.reserve(4 + keys_.size() * 8 + lists_.size());
    put_u32(block, static_cast<std::uint32_t>(keys_.size()));
    for (TrigramKey k : keys_) {
        put_u32(block, k);
    }
    for (std::uint32_t e : ends_) {
        put_u32(block, e);
    }
    block += lists_;
    emitted_ += block.size();
    const TrigramKey first = keys_.front();
    keys_.clear();
    ends_.clear();
    lists_.clear();
    key_start_ = 0;
    return sink_(first, block);
}

void SegmentBuilder::add(TextId id, const std::vector<TrigramKey>& keys) {
    if (min_id_ == 0) {
        min_id_ = id;
    }
    max_id_ = id;
    for (TrigramKey k : keys) {
        postings_.push_back(
            static_cast<std::uint64_t>(k) << kIdBits | static_cast<std::uint64_t>(id)
        );
    }
}

Status SegmentBuilder::write(BlockWriter& out) {
    sort_by_key(postings_);
    constexpr std::uint64_t kIdMask = (std::uint64_t{1} << kIdBits) - 1;
    std::size_t i = 0;
    while (i < postings_.size()) {
        const std::uint64_t key = postings_[i] >> kIdBits;
        out.begin_key(static_cast<TrigramKey>(key));
        for (; i < postings_.size() && (postings_[i] >> kIdBits) == key; ++i) {
            out.add(static_cast<TextId>(postings_[i] & kIdMask));
        }
        if (auto st = out.end_key(); !st) {
            return st;
        }
    }
    postings_.clear();
    return out.finish();
}

std::optional<Block> Block::parse(std::string_view bytes) {
    if (bytes.size() < 4) {
        return std::nullopt;
    }
    const std::uint32_t n = get_u32(bytes, 0);
    if (n == 0 || n > (bytes.size() - 4) / 8) {
        return std::nullopt;
    }
    Block b;
    b.bytes_ = bytes;
    b.n_ = n;
    const std::size_t lists = bytes.size() - 4 - std::size_t{n} * 8;
    std::uint32_t prev_end = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const TrigramKey k = b.key(i);
        const std::uint32_t end = get_u32(bytes, 4 + std::size_t{n} * 4 + i * 4);
        if (k >= kKeySpace || (i > 0 && k <= b.key(i - 1)) || end <= prev_end || end > lists) {
            return std::nullopt;
        }
        prev_end = end;
    }
    return b;
}

TrigramKey Block::key(std::size_t i) const {
    return get_u32(bytes_, 4 + i * 4);
}

std::string_view Block::list(std::size_t i) const {
    const std::size_t ends = 4 + n_ * 4;
    const std::size_t lists = ends + n_ * 4;
    const std::uint32_t begin = i == 0 ? 0 : get_u32(bytes_, ends + (i - 1) * 4);
    const std::uint32_t end = get_u32(bytes_, ends + i * 4);
    return bytes_.substr(lists + begin, end - begin);
}

std::size_t Block::find(TrigramKey key) const {
    std::size_t lo = 0;
    std::size_t hi = n_;
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (this->key(mid) < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n_ && this->key(lo) == key ? lo : n_;
}

bool decode_list(std::string_view list, std::vector<TextId>& out) {
    return for_each_id(list, [&out](TextId id, std::size_t) { out.push_back(id); });
}

namespace {

// One input of a merge: its current block and the position in it.
struct Cursor {
    BlockSource* source = nullptr;
    std::string bytes;
    std::optional<Block> block;
    std::size_t at = 0;

    // Moves to the next key, loading blocks as needed; false at the end or on an error.
    Status load_next_block() {
        auto next = (*source)();
        if (!next) {
            return next.error();
        }
        if (!*next) {
            block.reset();
            return {};
        }
        bytes = std::move(**next);
        block = Block::parse(bytes);
        at = 0;
        return block ? Status() : Status(Errc::Corrupt);
    }
    [[nodiscard]] bool done() const { return !block; }
    [[nodiscard]] TrigramKey key() const { return block->key(at); }
    Status advance() {
        if (++at < block->size()) {
            return {};
        }
        const TrigramKey last = block->key(at - 1);
        if (auto st = load_next_block(); !st) {
            return st;
        }
        if (block && block->key(0) <= last) {
            return Errc::Corrupt;  // blocks out of order
        }
        return {};
    }
};

}  // namespace

Status merge_segments(
    std::vector<BlockSource>& inputs, const std::vector<TextId>& dropped, BlockWriter& out
) {
    std::vector<Cursor> cursors(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        cursors[i].source = &inputs[i];
        if (auto st = cursors[i].load_next_block(); !st) {
            return st;
        }
    }
    std::vector<TextId> ids;
    for (;;) {
        std::optional<TrigramKey> key;
        for (const auto& c : cursors) {
            if (!c.done() && (!key || c.key() < *key)) {
                key = c.key();
            }
        }
        if (!key) {
            return out.finish();
        }
        out.begin_key(*key);
        TextId last = 0;
        for (auto& c : cursors) {
            if (c.done() || c.key() != *key) {
                continue;
            }
            const std::string_view list = c.block->list(c.at);
            ListSpan span;
            if (!scan_list(list, span) || span.first <= last) {
                return Errc::Corrupt;  // damaged, or the inputs' ranges overlap or are disordered
            }
            last = span.last;
            auto drop = std::lower_bound(dropped.begin(), dropped.end(), span.first);
            if (drop == dropped.end() || *drop > span.last) {
                // Nothing to leave out: the list's bytes but its first id's, which becomes a
                // difference to the previous input's last.
                out.add_encoded(span.first, list.substr(span.first_bytes), span.last);
            } else {
                ids.clear();
                (void)decode_list(list, ids);  // scan_list checked it
                for (TextId id : ids) {
                    if (!std::binary_search(dropped.begin(), dropped.end(), id)) {
                        out.add(id);
                    }
                }
            }
            if (auto st = c.advance(); !st) {
                return st;
            }
        }
        if (auto st = out.end_key(); !st) {
            return st;
        }
    }
}

std::vector<TextId> intersect_lists(std::vector<std::vector<TextId>> lists) {
    if (lists.empty()) {
        return {};
    }
    std::sort(lists.begin(), lists.end(), [](const auto& a, const auto& b) {
        return a.size() < b.size();
    });
    std::vector<TextId> acc = std::move(lists.front());
    std::vector<TextId> next;
    for (std::size_t i = 1; i < lists.size() && !acc.empty(); ++i) {
        next.clear();
        std::set_intersection(
            acc.begin(), acc.end(), lists[i].begin(), lists[i].end(), std::back_inserter(next)
        );
        acc.swap(next);
    }
    return acc;
}

}  // namespace sov::store::detail
