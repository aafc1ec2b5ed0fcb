// FETCH, STORE, COPY and MOVE (RFC 9051 §6.4, UIDPLUS RFC 4315, MOVE RFC 6851, CONDSTORE
// and QRESYNC RFC 7162). Content answers come from the structure cached at delivery
// (imap/fetch); the message file is read only for items that need its bytes.
#include <algorithm>
#include <ctime>
#include <optional>
#include <string>
#include <system_error>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "imap/engine/flags.hpp"
#include "imap/engine/handlers.hpp"
#include "imap/engine/message_file.hpp"
#include "imap/fetch/fetch.hpp"
#include "imap/fetch/render_cache.hpp"
#include "mime/serialize.hpp"

namespace sov::imap {

using wire::Condition;
using wire::FetchItem;

namespace {

wire::DateTime to_date_time(core::WallTime t) {
    const std::time_t secs = core::unix_seconds(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return wire::DateTime{
        .date = {.year = tm.tm_year + 1900, .month = tm.tm_mon + 1, .day = tm.tm_mday},
        .hour = tm.tm_hour,
        .minute = tm.tm_min,
        .second = tm.tm_sec,
        .zone_minutes = 0,
    };
}

std::string set_text(const std::vector<std::uint32_t>& numbers) {
    // COPYUID sets keep the order of the pairs (RFC 4315 §3), so no sorting or merging here
    // beyond consecutive runs.
    std::string out;
    std::size_t i = 0;
    while (i < numbers.size()) {
        std::size_t j = i;
        while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1) {
            ++j;
        }
        if (!out.empty()) {
            out += ',';
        }
        out += std::to_string(numbers[i]);
        if (j > i) {
            out += ':' + std::to_string(numbers[j]);
        }
        i = j + 1;
    }
    return out;
}

/// Sequence numbers of UIDs asked in ascending order (FETCH rows and STORE results come in UID
/// order): each lookup continues from the last instead of a binary search of the whole list.
class SeqCursor {
public:
    explicit SeqCursor(const std::vector<std::uint32_t>& uids) : uids_(uids) {}
    /// 0 if the UID is not in the view.
    std::uint32_t seq_of(std::uint32_t uid) {
        if (uids_.empty()) {
            return 0;
        }
        if (pos_ >= uids_.size() || uids_[pos_] > uid) {
            pos_ = 0;  // not ascending after all: start over
        }
        if (uids_[pos_] != uid) {
            const auto it = std::lower_bound(uids_.begin() + pos_, uids_.end(), uid);
            pos_ = static_cast<std::size_t>(it - uids_.begin());
            if (it == uids_.end() || *it != uid) {
                return 0;
            }
        }
        return static_cast<std::uint32_t>(pos_++) + 1;
    }

private:
    const std::vector<std::uint32_t>& uids_;
    std::size_t pos_ = 0;
};

/// The bytes of a message file for FETCH: read into one buffer that is reused from message to
/// message, from a path assembled in another (no std::filesystem::path per message). Stored
/// files are never modified (store.hpp), so no lock is needed; an expunged one fails to load.
class FileBytes {
public:
    /// The row's file, or its first `limit` bytes; false if it is gone or unreadable.
    bool load(const store::MessageRow& m, std::uint64_t limit = UINT64_MAX) {
        size_ = 0;
        if (m.file.empty()) {
            return false;
        }
        MessageFileRef ref{.expected_size = m.size};
        if (m.dir_fd >= 0) {
            ref.dir_fd = m.dir_fd;
            path_.assign(m.file);
        } else {
            path_.assign(m.dir);
            path_ += '/';
            path_ += m.file;
        }
        ref.path = path_.c_str();
        const auto size = read_message_file(ref, limit, data_);
        size_ = size.value_or(0);
        // The buffer only grows while loads need it, up to kKeep in between.
        if (data_.size() > kKeep && size_ <= kKeep) {
            data_.resize(kKeep);
            data_.shrink_to_fit();
        }
        return size.has_value();
    }
    [[nodiscard]] std::string_view bytes() const { return {data_.data(), size_}; }

private:
    static constexpr std::size_t kKeep = 1U << 20;
    std::string path_;
    std::string data_;  // bytes [0, size_) are the file's
    std::size_t size_ = 0;
};

/// The message's structure: the cached one, else parsed from the file (loaded into `file`).
std::optional<mime::MessageStructure> load_structure(const store::MessageRow& m, FileBytes& file) {
    if (!m.structure.empty()) {
        if (auto parsed = mime::deserialize(m.structure)) {
            return std::move(*parsed);
        }
    }
    if (!file.load(m)) {
        return std::nullopt;
    }
    return mime::parse_message(file.bytes());
}

bool sets_seen(const wire::FetchAtt& att) {
    switch (att.item) {
        case FetchItem::BodySection:
        case FetchItem::BinarySection:
            return !att.peek;
        case FetchItem::Rfc822:
        case FetchItem::Rfc822Text:
            return true;
        default:
            return false;
    }
}

/// Whether rendering `a` reads the message file past the top-level header (HEADER,
/// HEADER.FIELDS and RFC822.HEADER read only up to the body: clients list mailboxes this way).
bool reads_whole_file(const wire::FetchAtt& a) {
    if (!fetch::needs_bytes(a) || a.item == FetchItem::Rfc822Header) {
        return false;
    }
    return a.item != FetchItem::BodySection || !a.section.part.empty() ||
           (a.section.text != wire::SectionText::Header &&
            a.section.text != wire::SectionText::HeaderFields &&
            a.section.text != wire::SectionText::HeaderFieldsNot);
}

/// One message's FETCH response. ENVELOPE, BODY and BODYSTRUCTURE come from `rendered` when it
/// is set; otherwise the content items are written from `structure` and the file's `bytes`.
/// `seen_now`: this FETCH set \Seen, so FLAGS goes with the answer even if not asked for
/// (RFC 9051 §6.4.5). False when the response had to stop at UNKNOWN-CTE (RFC 3516 §4.1).
bool write_message(
    wire::ResponseWriter& w,
    const MailboxView& view,
    std::uint32_t seq,
    const store::MessageRow& m,
    const std::vector<wire::FetchAtt>& atts,
    const fetch::RenderedItems* rendered,
    const mime::MessageStructure& structure,
    std::string_view bytes,
    bool seen_now
) {
    w.begin_untagged().number(seq).atom("FETCH").begin_list();
    bool wrote_flags = false;
    for (const auto& a : atts) {
        switch (a.item) {
            case FetchItem::Uid:
                w.atom("UID").number(m.uid);
                break;
            case FetchItem::Flags:
                w.atom("FLAGS");
                write_flags(w, m.flags, m.keywords, view.is_recent(m.uid));
                wrote_flags = true;
                break;
            case FetchItem::InternalDate:
                w.atom("INTERNALDATE").date_time(to_date_time(m.internal_date));
                break;
            case FetchItem::Rfc822Size:
                w.atom("RFC822.SIZE").number(m.size);
                break;
            case FetchItem::ModSeq:
                w.atom("MODSEQ").begin_list().number(m.modseq).end_list();
                break;
            case FetchItem::EmailId:
                w.atom("EMAILID").begin_list().atom(m.email_id).end_list();
                break;
            case FetchItem::ThreadId:
                w.atom("THREADID").nil();  // RFC 8474 §5.2: threads are not computed
                break;
            case FetchItem::SaveDate:
                w.atom("SAVEDATE").date_time(to_date_time(m.save_date));
                break;
            case FetchItem::Envelope:
            case FetchItem::Body:
            case FetchItem::BodyStructure:
                if (rendered != nullptr) {
                    w.rendered(
                        a.item == FetchItem::Envelope ? rendered->envelope
                        : a.item == FetchItem::Body   ? rendered->body
                                                      : rendered->body_structure
                    );
                    break;
                }
                [[fallthrough]];
            default: {
                const auto status = fetch::write_att(w, a, structure, bytes);
                if (status == fetch::AttStatus::UnknownCte) {
                    w.end_list().end();
                    return false;
                }
                break;
            }
        }
    }
    if (!wrote_flags && seen_now) {
        w.atom("FLAGS");  // RFC 9051 §6.4.5: the implicit \Seen change is reported
        write_flags(w, m.flags, m.keywords, view.is_recent(m.uid));
    }
    w.end_list().end();
    return true;
}

// Session::handle's `quick` (the I/O thread): at most this many messages, and this many bytes
// of message files read in full (header-only reads are small and not counted). The hop to a
// worker thread costs tens of microseconds; reading 256 KB from the page cache about as much.
constexpr std::size_t kQuickMessages = 16;
constexpr std::uint64_t kQuickBytes = 256 * 1024;

}  // namespace

bool Session::Handlers::fetch_is_quick(const Session& s, const Cmd& c) {
    const auto& args = std::get<wire::FetchArgs>(c.args);
    if (args.changed_since || args.vanished || args.set.saved) {
        return false;
    }
    const MailboxView& view = *s.view_;
    if (!view.read_only() && std::any_of(args.atts.begin(), args.atts.end(), sets_seen)) {
        return false;  // a store write
    }
    return view.names_at_most(args.set, c.uid, kQuickMessages);
}

void Session::Handlers::fetch(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::FetchArgs>(c.args);
    MailboxView& view = *s.view_;
    auto uids = set_uids(s, args.set, c.uid);
    if (args.partial) {
        // RFC 9394 §3.3: only that window of the messages the set names, in UID order (and
        // CHANGEDSINCE applies within it, §3.4).
        const auto [begin, end] = args.partial->window(uids.size());
        uids.erase(uids.begin() + static_cast<std::ptrdiff_t>(end), uids.end());
        uids.erase(uids.begin(), uids.begin() + static_cast<std::ptrdiff_t>(begin));
    }
    if (args.changed_since) {
        s.condstore_ = true;
    }
    std::vector<wire::FetchAtt> atts = args.atts;
    const auto wants = [&](FetchItem item) {
        return std::any_of(atts.begin(), atts.end(), [&](auto& a) { return a.item == item; });
    };
    if (c.uid && !wants(FetchItem::Uid)) {
        atts.insert(
            atts.begin(),
            wire::FetchAtt{.item = FetchItem::Uid, .peek = false, .section = {}, .partial = {}}
        );  // RFC 9051 §6.4.9
    }
    if ((args.changed_since || s.condstore_) && !wants(FetchItem::ModSeq) && args.changed_since) {
        atts.push_back(
            wire::FetchAtt{.item = FetchItem::ModSeq, .peek = false, .section = {}, .partial = {}}
        );  // RFC 7162 §3.1.4.1
    }
    if (wants(FetchItem::ModSeq)) {
        s.condstore_ = true;
    }
    // Every item that reads the file reads the top-level header only (HEADER, HEADER.FIELDS,
    // RFC822.HEADER): the file is read up to the body (clients list mailboxes this way).
    const bool header_only = std::none_of(atts.begin(), atts.end(), reads_whole_file);
    if (!header_only) {
        // RFC 8970 §4.1: PREVIEW (LAZY) is NIL unless the files are read in full anyway; then
        // the preview costs no more than decoding the start of a text part.
        for (auto& a : atts) {
            a.lazy = a.lazy && a.item != FetchItem::Preview;
        }
    }
    bool need_structure = false;
    bool need_bytes = false;
    bool set_seen = false;
    for (const auto& a : atts) {
        // RFC822.SIZE is the stored size: stored files have CRLF line ends (APPEND and SMTP
        // normalise them), so no structure is needed for it.
        need_structure =
            need_structure || (a.item != FetchItem::Rfc822Size && fetch::needs_structure(a));
        need_bytes = need_bytes || fetch::needs_bytes(a);
        set_seen = set_seen || sets_seen(a);
    }
    set_seen = set_seen && !view.read_only();

    if (args.vanished && args.changed_since) {
        // RFC 7162 §3.2.6: UID FETCH ... (CHANGEDSINCE m VANISHED)
        auto changes = s.services_.store->changes_since(
            s.account_,
            view.key(),
            *args.changed_since,
            store::ListOptions{.structure = false, .path = false}
        );
        if (changes) {
            std::vector<std::uint32_t> vanished;
            const std::uint32_t largest = view.uids().empty() ? 0 : view.uids().back();
            for (const auto uid : changes->expunged) {
                if (args.set.contains(uid, std::max(largest, uid))) {
                    vanished.push_back(uid);
                }
            }
            if (!vanished.empty()) {
                w.begin_untagged()
                    .atom("VANISHED")
                    .atom("(EARLIER)")
                    .sequence_set(wire::sequence_set_of(vanished));
                w.end();
            }
        }
    }

    // ENVELOPE, BODY and BODYSTRUCTURE come from the render cache when it has them; other
    // content items need the structure itself.
    bool cacheable = need_structure && !need_bytes;
    for (const auto& a : atts) {
        cacheable = cacheable && (a.item == FetchItem::Rfc822Size || !fetch::needs_structure(a) ||
                                  a.item == FetchItem::Envelope || a.item == FetchItem::Body ||
                                  a.item == FetchItem::BodyStructure);
    }
    const wire::WriterOptions session_options = writer_options(s);
    const bool flags_requested = wants(FetchItem::Flags);
    // Render cache entries made by this FETCH (first FETCH of these messages, or entries of an
    // older version), stored after the answer.
    std::vector<store::RenderCache> new_cache;
    // The parts of the render cache these items need (fetch/render_cache.hpp).
    const fetch::RenderCacheWanted cache_wanted{
        .envelope_body = cacheable && (wants(FetchItem::Envelope) || wants(FetchItem::Body)),
        .body_structure = cacheable && wants(FetchItem::BodyStructure),
    };
    bool unknown_cte = false;
    // Only items the narrow columns answer (with the render cache): no dates, sizes or files.
    const bool narrow = cacheable && std::all_of(atts.begin(), atts.end(), [](const auto& a) {
                            return a.item == FetchItem::Uid || a.item == FetchItem::Flags ||
                                   a.item == FetchItem::ModSeq || a.item == FetchItem::Envelope ||
                                   a.item == FetchItem::Body || a.item == FetchItem::BodyStructure;
                        });
    // Every entry of the current version fits a session writing with the default options, so
    // the structure of messages with one is not read (a stale entry's message is parsed from
    // its file instead: once, as its new entry is stored).
    const bool skip_cached_structure =
        cacheable && !session_options.utf8 && !session_options.imap4rev2;
    const mime::MessageStructure no_structure;
    SeqCursor seqs(view.uids());
    // Per thread: a FETCH of one message after another reuses the buffer.
    thread_local FileBytes file;
    // On the I/O thread (s.quick_): the bytes of files read in full so far.
    std::uint64_t quick_bytes = 0;

    // The answer for one message; false stops the command (UNKNOWN-CTE, answered by the caller;
    // or s.quick_refused_).
    const auto answer = [&](const store::MessageRow& m, bool seen_now) -> bool {
        const auto seq = seqs.seq_of(m.uid);
        if (seq == 0) {
            return true;
        }
        if (cacheable) {
            const auto items = fetch::decode_render_cache(m.cache, m.structure_cache, cache_wanted);
            if (items && items->fits(session_options)) {
                return write_message(w, view, seq, m, atts, &*items, no_structure, {}, seen_now);
            }
            if (s.quick_) {
                s.quick_refused_ = true;  // rendering is work, and the new entry a store write
                return false;
            }
            auto parsed = load_structure(m, file);
            if (!parsed && m.file.empty()) {
                // A narrow row has no file name; the store reads the file instead.
                if (auto bytes = s.services_.store->read_message(s.account_, view.key(), m.uid)) {
                    parsed = mime::parse_message(*bytes);
                }
            }
            if (!parsed) {
                return true;  // expunged under us: no data (RFC 9051 §6.4.5 allows that)
            }
            auto entry = fetch::encode_render_cache(*parsed);
            const auto fresh =
                fetch::decode_render_cache(entry.cache, entry.structure_cache, cache_wanted);
            const bool ok =
                fresh && fresh->fits(session_options)
                    ? write_message(w, view, seq, m, atts, &*fresh, no_structure, {}, seen_now)
                    : write_message(w, view, seq, m, atts, nullptr, *parsed, {}, seen_now);
            if (!items) {
                // None stored, or outdated: both parts, for later FETCHes of the other items.
                new_cache.push_back(
                    {m.uid, std::move(entry.cache), std::move(entry.structure_cache)}
                );
            }
            return ok;
        }
        mime::MessageStructure structure;
        bool have_structure = false;
        if (need_structure && !m.structure.empty()) {
            if (auto parsed = mime::deserialize(m.structure)) {
                structure = std::move(*parsed);
                have_structure = !structure.parts.empty();
            }
        }
        bool loaded = false;
        if (s.quick_ && (!have_structure || (need_bytes && !header_only))) {
            quick_bytes += m.size;
            if (quick_bytes > kQuickBytes) {
                s.quick_refused_ = true;  // too much to read on the I/O thread
                return false;
            }
        }
        if (need_bytes || (need_structure && !have_structure)) {
            // Header sections of the message need only the bytes up to its body.
            const std::uint64_t limit =
                have_structure && header_only ? structure.parts[0].body_offset : UINT64_MAX;
            if (!file.load(m, limit)) {
                return true;  // expunged under us: no data for it (RFC 9051 §6.4.5 allows that)
            }
            loaded = true;
        }
        if (need_structure && !have_structure) {
            structure = mime::parse_message(file.bytes());
        }
        return write_message(
            w,
            view,
            seq,
            m,
            atts,
            nullptr,
            structure,
            loaded ? file.bytes() : std::string_view(),
            seen_now
        );
    };

    if (!set_seen) {
        // The usual case: rows are answered as they are read, nothing is kept per message.
        const auto st = s.services_.store->for_each_message(
            s.account_,
            view.key(),
            uids,
            store::ListOptions{
                .structure = need_structure,
                .path = false,
                .cache = cache_wanted.envelope_body,
                .structure_cache = cache_wanted.body_structure,
                .structure_if_uncached = skip_cached_structure,
                .narrow = narrow,
                .flags = flags_requested || wants(FetchItem::ModSeq) || args.changed_since,
            },
            [&](const store::MessageRow& m) -> Status {
                if (args.changed_since && m.modseq <= *args.changed_since) {
                    return {};
                }
                if (!answer(m, false)) {
                    unknown_cte = true;
                    return make_error_code(std::errc::operation_canceled);
                }
                s.spill_if_large();
                return {};
            }
        );
        if (s.quick_refused_) {
            return;  // Session::handle drops the output
        }
        if (unknown_cte) {
            no(w, c, "UNKNOWN-CTE", "Unknown Content-Transfer-Encoding");
            return;
        }
        if (!st) {
            store_error(s, w, c, st.error());
            return;
        }
    } else {
        // BODY[] and the like set \Seen first (RFC 9051 §6.4.5), so the rows are listed, the
        // flags changed, then answered with the new flags.
        auto messages = s.services_.store->get_messages(
            s.account_,
            view.key(),
            uids,
            store::ListOptions{
                .structure = need_structure,
                .path = need_bytes || need_structure,
                .cache = cache_wanted.envelope_body,
                .structure_cache = cache_wanted.body_structure,
                .structure_if_uncached = skip_cached_structure,
            }
        );
        if (!messages) {
            store_error(s, w, c, messages.error());
            return;
        }
        if (args.changed_since) {
            std::erase_if(*messages, [&](const store::MessageInfo& m) {
                return m.modseq <= *args.changed_since;
            });
        }
        std::vector<std::uint32_t> seen_now;  // \Seen set by this FETCH: FLAGS goes with it
        std::vector<std::uint32_t> unseen;
        for (const auto& m : *messages) {
            if ((m.flags & store::flag::kSeen) == 0) {
                unseen.push_back(m.uid);
            }
        }
        if (!unseen.empty()) {
            auto states = s.services_.store->update_flags(
                s.account_,
                view.key(),
                unseen,
                store::FlagChange{
                    .mode = store::FlagChange::Mode::Add,
                    .flags = store::flag::kSeen,
                    .keywords = {}
                }
            );
            if (states) {
                view.note_reported(*states);
                std::size_t j = 0;  // both in UID order
                for (auto& m : *messages) {
                    while (j < states->size() && (*states)[j].uid < m.uid) {
                        ++j;
                    }
                    if (j < states->size() && (*states)[j].uid == m.uid && (*states)[j].changed) {
                        m.flags = (*states)[j].flags;
                        m.modseq = (*states)[j].modseq;
                        seen_now.push_back(m.uid);
                    }
                }
            }
        }
        std::string keywords;
        for (const auto& info : *messages) {
            keywords.clear();
            for (const auto& k : info.keywords) {
                if (!keywords.empty()) {
                    keywords += ' ';
                }
                keywords += k;
            }
            const std::string& path = info.path.native();
            const auto slash = path.rfind('/');
            store::MessageRow m{
                .uid = info.uid,
                .modseq = info.modseq,
                .flags = info.flags,
                .keywords = keywords,
                .internal_date = info.internal_date,
                .save_date = info.save_date,
                .size = info.size,
                .email_id = info.email_id,
                .structure = info.structure,
                .cache = info.cache,
                .structure_cache = info.structure_cache,
                .dir = slash == std::string::npos ? std::string_view()
                                                  : std::string_view(path).substr(0, slash),
                .file = slash == std::string::npos ? std::string_view(path)
                                                   : std::string_view(path).substr(slash + 1),
            };
            const bool now =
                !flags_requested && std::binary_search(seen_now.begin(), seen_now.end(), info.uid);
            if (!answer(m, now)) {
                no(w, c, "UNKNOWN-CTE", "Unknown Content-Transfer-Encoding");
                return;
            }
            s.spill_if_large();
        }
    }
    if (!new_cache.empty()) {
        // Derived data: a failure only means the next FETCH renders again.
        (void)s.services_.store->set_render_cache(s.account_, view.key(), new_cache);
    }
    if (std::any_of(atts.begin(), atts.end(), [](const auto& a) {
            return a.item == FetchItem::Preview && !a.lazy;
        })) {
        // RFC 8970 §8: previews cost CPU; the log says who asked for how many.
        log::info(
            "imap.fetch.preview",
            {{"ip", s.remote_ip_},
             {"account", s.account_},
             {"messages", std::to_string(uids.size())}}
        );
    }
    ok(w, c);
}

void Session::Handlers::store(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::StoreArgs>(c.args);
    MailboxView& view = *s.view_;
    if (view.read_only()) {
        no(w, c, "READ-ONLY", "Mailbox is read-only");
        return;
    }
    const auto parsed = parse_flags(args.flags);
    if (!parsed.ok) {
        bad(w, c, "Unknown system flag");
        return;
    }
    auto uids = set_uids(s, args.set, c.uid);
    std::vector<std::uint32_t> modified;  // RFC 7162 §3.1.3: failed UNCHANGEDSINCE test
    if (args.unchanged_since) {
        s.condstore_ = true;
        auto current = s.services_.store->get_messages(
            s.account_, view.key(), uids, store::ListOptions{.structure = false, .path = false}
        );
        if (!current) {
            store_error(s, w, c, current.error());
            return;
        }
        std::vector<std::uint32_t> keep;
        for (const auto& m : *current) {
            if (m.modseq > *args.unchanged_since) {
                modified.push_back(c.uid ? m.uid : view.seq_of(m.uid));
            } else {
                keep.push_back(m.uid);
            }
        }
        uids = std::move(keep);
    }
    store::FlagChange change{
        .mode = args.mode == wire::StoreMode::Add      ? store::FlagChange::Mode::Add
                : args.mode == wire::StoreMode::Remove ? store::FlagChange::Mode::Remove
                                                       : store::FlagChange::Mode::Replace,
        .flags = parsed.flags,
        .keywords = parsed.keywords,
    };
    std::vector<store::FlagState> states;
    if (!uids.empty()) {
        auto r = s.services_.store->update_flags(s.account_, view.key(), uids, change);
        if (!r) {
            store_error(s, w, c, r.error());
            return;
        }
        states = std::move(*r);
    }
    bool new_keyword = false;
    for (const auto& k : parsed.keywords) {
        new_keyword = view.add_keyword(k) || new_keyword;
    }
    if (new_keyword && args.mode != wire::StoreMode::Remove) {
        // RFC 9051 §7.3.5: the client learns about the new keyword through FLAGS.
        w.begin_untagged().atom("FLAGS");
        write_flag_list(w, view.keywords(), false);
        w.end();
        std::string perm;
        W pw(perm);
        write_flag_list(pw, view.keywords(), true);
        w.untagged(Condition::Ok, "PERMANENTFLAGS " + perm, "Flags permitted");
    }
    SeqCursor seqs(view.uids());
    for (const auto& st : states) {
        const auto seq = seqs.seq_of(st.uid);
        // .SILENT suppresses the echo, except that a CONDSTORE client must learn the new
        // MODSEQ of what it changed (RFC 7162 §3.2).
        if (seq == 0 || (args.silent && !(s.condstore_ && st.changed))) {
            continue;
        }
        w.begin_untagged().number(seq).atom("FETCH").begin_list();
        if (c.uid || s.qresync_) {
            w.atom("UID").number(st.uid);
        }
        if (!args.silent) {
            w.atom("FLAGS");
            write_flags(w, st.flags, st.keywords, view.is_recent(st.uid));
        }
        if (s.condstore_) {
            w.atom("MODSEQ").begin_list().number(st.modseq).end_list();
        }
        w.end_list().end();
    }
    view.note_reported(states);
    if (!modified.empty()) {
        std::sort(modified.begin(), modified.end());
        ok(w, c, "MODIFIED " + wire::to_string(wire::sequence_set_of(modified)));
        return;
    }
    ok(w, c);
}

void Session::Handlers::copy(Session& s, const Cmd& c, W& w, bool move) {
    const auto& args = std::get<wire::CopyArgs>(c.args);
    MailboxView& view = *s.view_;
    if (move && view.read_only()) {
        no(w, c, "READ-ONLY", "Mailbox is read-only");
        return;
    }
    const auto uids = set_uids(s, args.set, c.uid);
    if (uids.empty()) {
        // RFC 9051 §6.4.7: nothing to copy is not an error.
        ok(w, c);
        return;
    }
    auto result =
        move ? s.services_.store->move_messages(s.account_, view.key(), uids, args.mailbox)
             : s.services_.store->copy_messages(s.account_, view.key(), uids, args.mailbox);
    if (!result) {
        const auto& ec = result.error();
        if (ec == store::Errc::NoSuchMailbox) {
            no(w, c, "TRYCREATE", "No such mailbox");  // RFC 9051 §6.4.7
        } else if (ec == store::Errc::QuotaExceeded) {
            no(w, c, "OVERQUOTA", "Quota exceeded");
        } else if (ec == store::Errc::Invalid) {
            no(w, c, "CANNOT", "Unacceptable mailbox name");
        } else {
            store_error(s, w, c, ec);
        }
        return;
    }
    std::vector<std::uint32_t> from;
    std::vector<std::uint32_t> to;
    for (const auto& [src, dst] : result->uids) {
        from.push_back(src);
        to.push_back(dst);
    }
    const std::string copyuid = "COPYUID " + std::to_string(result->uid_validity) + " " +
                                set_text(from) + " " + set_text(to);
    if (!move) {
        ok(w, c, copyuid);
        return;
    }
    // RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
    w.untagged(Condition::Ok, copyuid, "Moved");
    std::sort(from.begin(), from.end());
    view.report_expunged(from, s.qresync_, w);
    ok(w, c);
}

std::vector<std::uint32_t> Session::Handlers::set_uids(
    Session& s, const wire::SequenceSet& set, bool by_uid
) {
    if (set.saved) {
        // SEARCHRES "$" (RFC 5182 §2.1): the saved UIDs that still exist.
        std::vector<std::uint32_t> out;
        if (s.saved_search_) {
            for (const auto uid : *s.saved_search_) {
                if (s.view_->seq_of(uid) != 0) {
                    out.push_back(uid);
                }
            }
        }
        return out;
    }
    return s.view_->resolve(set, by_uid);
}

}  // namespace sov::imap
