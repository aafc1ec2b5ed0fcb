#pragma once
// IMAP SEARCH evaluation (RFC 9051 §6.4.4 and the keys of RFC 4731, 5032, 5182, 7162, 8474,
// 8514), SORT and THREAD (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO).
//
// The evaluator is pure: the engine supplies each message's cheap facts (flags, dates, size) and
// a MessageContent that loads the cached MIME structure or the raw bytes on demand. Keys are
// evaluated cheapest first, so a message that fails a flag or date test never loads content,
// and SUBJECT/FROM/TO/CC/BCC/SENT* read only the cached envelope, never the bytes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imap/wire/ast.hpp"
#include "mime/structure.hpp"

namespace sov::imap::search {

/// One message as the evaluator sees it. Cheap fields are given; content is loaded lazily
/// through MessageContent.
struct MessageFacts {
    std::uint32_t seq = 0;
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    std::uint32_t flags = 0;                             ///< store::flag::k* bits
    const std::vector<std::string>* keywords = nullptr;  ///< may be null (no keywords)
    bool recent = false;
    std::int64_t internal_date = 0;  ///< unix seconds
    int internal_zone_minutes = 0;   ///< zone of the internal date, east of UTC
    std::int64_t save_date = 0;      ///< unix seconds, 0 = none (RFC 8514)
    std::uint64_t size = 0;          ///< RFC822.SIZE
    std::string_view email_id;       ///< RFC 8474
    std::string_view thread_id;
};

/// Implemented by the engine: loads once, caches.
class MessageContent {
public:
    virtual ~MessageContent() = default;
    /// The cached structure, nullptr if unavailable (the evaluator then parses bytes()).
    virtual const mime::MessageStructure* structure() = 0;
    /// The whole message.
    virtual std::string_view bytes() = 0;
};

struct Context {
    std::uint32_t max_seq = 0;  ///< for "*" in a sequence set
    std::uint32_t max_uid = 0;  ///< for "*" in a UID set
    std::int64_t now = 0;       ///< unix seconds, for OLDER/YOUNGER (RFC 5032)
    /// SEARCHRES "$" (RFC 5182): the saved UIDs, ascending; null = none saved (empty set).
    const std::vector<std::uint32_t>* saved = nullptr;
    /// SAVEDATESUPPORTED (RFC 8514 §4.2) matches every message of a mailbox that keeps save
    /// dates, and none otherwise.
    bool save_date_supported = true;
};

/// What evaluating a key may load, from cheapest to dearest.
enum class ContentNeed {
    None,       ///< facts only
    Structure,  ///< the cached structure (envelope: SUBJECT, FROM, ..., SENT*)
    Bytes,      ///< the raw bytes too (HEADER, BODY, TEXT)
};

/// A search key prepared for evaluation over many messages: needles are case-folded once and
/// the children of AND/OR are ordered by cost. Self-contained (copies what it needs from the
/// key). Use this for a whole mailbox; matches() below is the one-shot form.
class Matcher {
public:
    explicit Matcher(const wire::SearchKey& key);
    ~Matcher();
    Matcher(Matcher&&) noexcept;
    Matcher& operator=(Matcher&&) noexcept;
    Matcher(const Matcher&) = delete;
    Matcher& operator=(const Matcher&) = delete;

    [[nodiscard]] bool matches(const MessageFacts& m, MessageContent& content, const Context& ctx)
        const;
    [[nodiscard]] ContentNeed content_need() const noexcept;

    struct Node;

private:
    std::vector<Node> nodes_;  // nodes_[0] is the root
};

/// Evaluates `key` (SearchOp::And at top). Text criteria (BODY, TEXT, SUBJECT, FROM, TO, CC,
/// BCC, HEADER) match case-insensitively (mime::fold_case) as substrings of decoded content
/// (RFC 9051 §6.4.4: transfer encodings and charsets decoded, RFC 2047 words decoded); address
/// fields are matched against their decoded display form `Name <mailbox@host>, ...`, so FROM
/// "Jöhn" and FROM "john@ex" both match. HEADER with an empty string matches messages that
/// have the field. SENT* use the Date header's own calendar day (internal date's if absent or
/// unparsable). BODY searches searchable_text().body, TEXT its headers and body.
[[nodiscard]] bool matches(
    const wire::SearchKey& key, const MessageFacts& m, MessageContent& content, const Context& ctx
);

/// Whether evaluating `key` may need content (structure or bytes) at all.
[[nodiscard]] bool needs_content(const wire::SearchKey& key) noexcept;
[[nodiscard]] ContentNeed content_need(const wire::SearchKey& key) noexcept;

/// Text terms every match must contain (BODY and TEXT keys reachable from the top through AND
/// only; empty strings omitted; SUBJECT, FROM, TO, CC and BCC as TEXT terms, one per blank-free
/// piece of 3 bytes or more): the engine asks the full-text index for candidate UIDs of each,
/// intersects, then verifies with matches(). Pairs (is_text: TEXT rather than BODY, needle
/// folded with mime::fold_case, as the index's text is).
[[nodiscard]] std::vector<std::pair<bool, std::string>> required_text_terms(
    const wire::SearchKey& key
);

/// The sequence-set form of ascending, duplicate-free numbers, as ESEARCH ALL sends it (RFC 4731
/// §3.1, RFC 9051 §6.4.4 example "ALL 2,10:11"); "" for none.
[[nodiscard]] std::string compress_set(const std::vector<std::uint32_t>& ascending);

// ---- SORT (RFC 5256 §3, RFC 5957) ----------------------------------------------------------

struct SortInput {
    std::uint32_t seq = 0;
    std::uint32_t uid = 0;
    std::int64_t internal_date = 0;
    std::uint64_t size = 0;
    const mime::Envelope* envelope = nullptr;  ///< null: every header is absent
};

/// Returns indices into `msgs` in sorted order. Ties are broken by sequence number (RFC 5256
/// §3: the implicit last criterion, never reversed). Strings collate as fold_case() octets;
/// absent fields are the empty string and sort first.
[[nodiscard]] std::vector<std::size_t> sort(
    const std::vector<wire::SortKey>& criteria, const std::vector<SortInput>& msgs
);

/// Sent date (RFC 5256 §2.2): the Date header in UTC, or `internal_date` when the header is
/// absent or cannot be parsed.
[[nodiscard]] std::int64_t sent_date(const mime::Envelope* envelope, std::int64_t internal_date);

// ---- THREAD (RFC 5256 §3-4) ----------------------------------------------------------------

struct ThreadInput {
    std::uint32_t id = 0;        ///< sequence number or UID, as the response needs
    std::int64_t sent_date = 0;  ///< sent_date() of the message
    std::string_view message_id;
    std::string_view in_reply_to;
    std::string_view references;  ///< raw References value (mime::header_value)
    std::string_view subject;     ///< raw Subject (encoded-words allowed)
};

struct ThreadNode {
    std::uint32_t id = 0;  ///< seq or uid as given in the input; 0 = dummy (missing parent)
    std::vector<ThreadNode> children;
    bool operator==(const ThreadNode&) const = default;
};

/// THREAD algorithm "REFERENCES" or "ORDEREDSUBJECT" (upper-case); an unknown algorithm yields
/// no threads. `msgs` must be in mailbox (sequence) order: equal sent dates keep that order.
[[nodiscard]] std::vector<ThreadNode> thread(
    std::string_view algorithm, const std::vector<ThreadInput>& msgs
);

/// Writes threads in RFC 5256 §4 thread-list syntax, e.g. "(2)(3 6 (4 23)(44 7 96))"; "" for
/// none. The engine sends "* THREAD" followed by " " and this when it is not empty.
[[nodiscard]] std::string format_threads(const std::vector<ThreadNode>& threads);

// ---- base subject (RFC 5256 §2.1) -----------------------------------------------------------

struct BaseSubject {
    std::string text;  ///< case-folded base subject
    /// The extraction removed a subj-refwd, a "(fwd)" trailer or "[fwd:" ... "]" (RFC 5256 §4,
    /// REFERENCES step 5).
    bool reply_or_forward = false;
};

[[nodiscard]] BaseSubject extract_base_subject(std::string_view raw_subject);
/// Base subject after RFC 2047 decoding, case-folded (mime::fold_case).
[[nodiscard]] std::string base_subject(std::string_view raw_subject);

}  // namespace sov::imap::search
