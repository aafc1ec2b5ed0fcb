#pragma once
// text.db's postings (fts.cpp says what the full-text index is): writing a batch's segment,
// merging segments, and reading a needle's candidates. The SQL side of text_postings.hpp.
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "store/detail/sqlite.hpp"
#include "store/detail/text_postings.hpp"

namespace sov::store::detail {

// Merges: four segments of a level make one of the next. A merge whose inputs exceed kMaxMerge
// bytes is not done; those segments, and any older ones, become kFrozen.
inline constexpr std::int64_t kFanout = 4;
inline constexpr std::int64_t kFrozen = 1000;
inline constexpr std::int64_t kMaxMerge = 256 * 1024 * 1024;

// Runs `body` in a transaction of `db` (text.db, or index.db's for the bookkeeping).
template <class F>
Status in_text_transaction(Db& db, F&& body) {
    if (auto st = db.begin(); !st) {
        return st;
    }
    if (auto st = body(); !st) {
        db.rollback();
        return st;
    }
    if (auto st = db.commit(); !st) {
        db.rollback();
        return st;
    }
    return {};
}

// Ends a read transaction on every path.
class ReadTransaction {
public:
    explicit ReadTransaction(Db& db) : db_(db) { ok_ = db_.exec("BEGIN").has_value(); }
    ~ReadTransaction() {
        if (ok_) {
            (void)db_.exec("COMMIT");
        }
    }
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;
    [[nodiscard]] bool ok() const { return ok_; }

private:
    Db& db_;
    bool ok_ = false;
};

/// Writes `segment` as a new segment of level 0, in the caller's transaction.
Status write_segment(Db& text, SegmentBuilder& segment);

/// Merges while a level has kFanout segments, one transaction per merge.
Status merge_text_segments(Db& text);

/// The ids of the texts whose lists hold every key (sorted): per segment, the intersection of
/// the keys' lists. In the caller's read transaction.
Result<std::vector<TextId>> candidate_texts(Db& reader, const std::vector<TrigramKey>& keys);

/// Reads the single-column integer rows of `sql` (bound to `args`) into `out`.
Status select_ids(
    Db& db,
    const char* sql,
    std::initializer_list<std::int64_t> args,
    std::vector<std::int64_t>& out
);

}  // namespace sov::store::detail
