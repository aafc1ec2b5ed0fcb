#include "store/detail/text_segments.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/log.hpp"

namespace sov::store::detail {

namespace {

// A statement of its own, for the merge's cursors: Db::prepare caches one statement per SQL
// text, and a merge reads several segments at once.
class OwnStmt {
public:
    OwnStmt(Db& db, const char* sql) : db_(db) {
        if (sqlite3_prepare_v2(db.raw(), sql, -1, &stmt_, nullptr) != SQLITE_OK) {
            stmt_ = nullptr;
        }
    }
    ~OwnStmt() { sqlite3_finalize(stmt_); }
    OwnStmt(const OwnStmt&) = delete;
    OwnStmt& operator=(const OwnStmt&) = delete;
    explicit operator bool() const { return stmt_ != nullptr; }
    sqlite3_stmt* raw() const { return stmt_; }
    Db& db() const { return db_; }

private:
    Db& db_;
    sqlite3_stmt* stmt_ = nullptr;
};

// The blocks of segment `id` in key order, as a merge input.
BlockSource segment_blocks(OwnStmt& s, std::int64_t id) {
    sqlite3_bind_int64(s.raw(), 1, id);
    return [&s]() -> Result<std::optional<std::string>> {
        const int rc = sqlite3_step(s.raw());
        if (rc == SQLITE_DONE) {
            return std::optional<std::string>();
        }
        if (rc != SQLITE_ROW) {
            log::error("store.sqlite", {{"error", sqlite3_errmsg(s.db().raw())}});
            return Errc::Io;
        }
        const auto* data = static_cast<const char*>(sqlite3_column_blob(s.raw(), 0));
        const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s.raw(), 0));
        return std::optional<std::string>(std::string(data == nullptr ? "" : data, n));
    };
}

// A new, empty segment; its id.
Result<std::int64_t> new_segment(Db& text, std::int64_t level, TextId min, TextId max) {
    auto s = text.prepare(
        "INSERT INTO text_segments(level, min_id, max_id, bytes) VALUES (?1, ?2, ?3, 0)"
    );
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    if (auto st = scope->bind(1, level).bind(2, min).bind(3, max).run(); !st) {
        return st.error();
    }
    return sqlite3_last_insert_rowid(text.raw());
}

// Writes blocks into segment `id`.
BlockWriter block_writer(Db& text, std::int64_t id) {
    return BlockWriter([&text, id](TrigramKey first, std::string_view block) {
        auto s =
            text.prepare("INSERT INTO text_blocks(segment, first_key, data) VALUES (?1, ?2, ?3)");
        if (!s) {
            return Status(s.error());
        }
        StmtScope scope(**s);
        return scope->bind(1, id)
            .bind(2, static_cast<std::int64_t>(first))
            .bind_blob(3, block)
            .run();
    });
}

Status set_segment_bytes(Db& text, std::int64_t id, std::uint64_t bytes) {
    auto s = text.prepare("UPDATE text_segments SET bytes = ?2 WHERE id = ?1");
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    return scope->bind(1, id).bind(2, static_cast<std::int64_t>(bytes)).run();
}

// Merges the segments of `level` (text_transaction's body): inputs in id order, deleted texts
// left out and forgotten.
Status merge_level(Db& text, std::int64_t level) {
    std::vector<std::int64_t> inputs;
    std::vector<std::int64_t> range;
    if (auto st = select_ids(
            text, "SELECT id FROM text_segments WHERE level = ?1 ORDER BY min_id", {level}, inputs
        );
        !st) {
        return st;
    }
    if (auto st = select_ids(
            text,
            "SELECT min(min_id) FROM text_segments WHERE level = ?1 UNION ALL SELECT max(max_id) "
            "FROM text_segments WHERE level = ?1",
            {level},
            range
        );
        !st) {
        return st;
    }
    if (inputs.size() < 2 || range.size() != 2) {
        return {};
    }
    std::vector<TextId> dropped;
    if (auto st = select_ids(
            text,
            "SELECT id FROM text_deleted WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
            {range[0], range[1]},
            dropped
        );
        !st) {
        return st;
    }
    auto merged = new_segment(text, level + 1, range[0], range[1]);
    if (!merged) {
        return merged.error();
    }
    auto out = block_writer(text, *merged);
    {
        std::vector<std::unique_ptr<OwnStmt>> cursors;
        std::vector<BlockSource> sources;
        for (std::int64_t id : inputs) {
            cursors.push_back(std::make_unique<OwnStmt>(
                text, "SELECT data FROM text_blocks WHERE segment = ?1 ORDER BY first_key"
            ));
            if (!*cursors.back()) {
                return Errc::Io;
            }
            sources.push_back(segment_blocks(*cursors.back(), id));
        }
        if (auto st = merge_segments(sources, dropped, out); !st) {
            return st;
        }
    }
    for (std::int64_t id : inputs) {
        for (const char* sql :
             {"DELETE FROM text_blocks WHERE segment = ?1",
              "DELETE FROM text_segments WHERE id = ?1"}) {
            auto s = text.prepare(sql);
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            if (auto st = scope->bind(1, id).run(); !st) {
                return st;
            }
        }
    }
    auto s = text.prepare("DELETE FROM text_deleted WHERE id BETWEEN ?1 AND ?2");
    if (!s) {
        return s.error();
    }
    {
        StmtScope scope(**s);
        if (auto st = scope->bind(1, range[0]).bind(2, range[1]).run(); !st) {
            return st;
        }
    }
    return set_segment_bytes(text, *merged, out.bytes());
}

}  // namespace

Status write_segment(Db& text, SegmentBuilder& segment) {
    auto id = new_segment(text, 0, segment.min_id(), segment.max_id());
    if (!id) {
        return id.error();
    }
    auto out = block_writer(text, *id);
    if (auto st = segment.write(out); !st) {
        return st;
    }
    return set_segment_bytes(text, *id, out.bytes());
}

Status select_ids(
    Db& db,
    const char* sql,
    std::initializer_list<std::int64_t> args,
    std::vector<std::int64_t>& out
) {
    auto s = db.prepare(sql);
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    int i = 1;
    for (std::int64_t a : args) {
        scope->bind(i++, a);
    }
    while (scope->step()) {
        out.push_back(scope->int64(0));
    }
    return scope->error();
}

Status merge_text_segments(Db& text) {
    for (;;) {
        std::vector<std::int64_t> level;
        std::vector<std::int64_t> bytes;
        const char* pick =
            "SELECT level FROM text_segments WHERE level < ?1 GROUP BY level HAVING count(*) >= ?2 "
            "ORDER BY level LIMIT 1";
        if (auto st = select_ids(text, pick, {kFrozen, kFanout}, level); !st) {
            return st;
        }
        if (level.empty()) {
            return {};
        }
        if (auto st = select_ids(
                text, "SELECT sum(bytes) FROM text_segments WHERE level = ?1", {level[0]}, bytes
            );
            !st) {
            return st;
        }
        if (!bytes.empty() && bytes[0] > kMaxMerge) {
            // Too big to merge: frozen, and so are the older segments (levels never increase
            // from older to newer).
            auto s = text.prepare("UPDATE text_segments SET level = ?2 WHERE level >= ?1");
            if (!s) {
                return s.error();
            }
            StmtScope scope(**s);
            if (auto st = scope->bind(1, level[0]).bind(2, kFrozen).run(); !st) {
                return st;
            }
            continue;
        }
        if (auto st = in_text_transaction(text, [&] { return merge_level(text, level[0]); }); !st) {
            return st;
        }
    }
}

Result<std::vector<TextId>> candidate_texts(Db& reader, const std::vector<TrigramKey>& keys) {
    std::vector<std::int64_t> segments;
    if (auto st = select_ids(reader, "SELECT id FROM text_segments ORDER BY min_id", {}, segments);
        !st) {
        return st.error();
    }
    auto find = reader.prepare(
        "SELECT data FROM text_blocks WHERE segment = ?1 AND first_key <= ?2 "
        "ORDER BY first_key DESC LIMIT 1"
    );
    if (!find) {
        return find.error();
    }
    std::vector<TextId> out;
    std::vector<std::vector<TextId>> lists;
    for (std::int64_t segment : segments) {
        lists.clear();
        for (TrigramKey key : keys) {
            StmtScope scope(**find);
            scope->bind(1, segment).bind(2, static_cast<std::int64_t>(key));
            if (!scope->step()) {
                if (auto st = scope->error(); !st) {
                    return st.error();
                }
                break;  // no block: the key sorts before the segment's first
            }
            const auto* data = static_cast<const char*>(sqlite3_column_blob(scope->raw(), 0));
            const auto n = static_cast<std::size_t>(sqlite3_column_bytes(scope->raw(), 0));
            auto block = Block::parse(std::string_view(data == nullptr ? "" : data, n));
            if (!block) {
                return Errc::Corrupt;
            }
            const std::size_t at = block->find(key);
            if (at == block->size()) {
                break;  // not in this segment: none of its texts has the needle
            }
            auto& ids = lists.emplace_back();
            if (!decode_list(block->list(at), ids)) {
                return Errc::Corrupt;
            }
        }
        if (lists.size() == keys.size()) {
            auto hits = intersect_lists(std::move(lists));
            out.insert(out.end(), hits.begin(), hits.end());
        }
    }
    return out;
}

}  // namespace sov::store::detail
