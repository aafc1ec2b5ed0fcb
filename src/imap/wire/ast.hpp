#pragma once
// The typed form of an IMAP command (RFC 9051 §6 and §9, RFC 3501, and the extensions of issue
// 3). Produced by CommandParser (parser.hpp); printed back in canonical wire syntax by
// format_command() (command_writer.hpp).
//
// Everything here owns its bytes: the engine may keep a Command after the parser moved on.
// Atoms that the RFCs define as case-insensitive keywords are stored upper-cased; strings,
// flags and mailbox names keep their case except "INBOX", which is normalised (RFC 9051 §5.1).
// Mailbox names are UTF-8: modified UTF-7 is decoded before they get here (RFC 3501 §5.1.3)
// unless the session is in UTF-8 mode (IMAP4rev2, RFC 6855), where they arrive as UTF-8.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "imap/wire/sequence_set.hpp"

namespace sov::imap::wire {

/// date = day "-" date-month "-" 4DIGIT (RFC 9051 §9); used by SEARCH.
struct Date {
    int year = 0;
    int month = 0;  ///< 1..12
    int day = 0;    ///< 1..31
    bool operator==(const Date&) const = default;
};

/// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE.
struct DateTime {
    Date date;
    int hour = 0;
    int minute = 0;
    int second = 0;
    int zone_minutes = 0;  ///< offset east of UTC, e.g. +0200 → 120
    bool operator==(const DateTime&) const = default;
};

/// A message literal that was streamed to the driver instead of being collected (APPEND and
/// CATENATE TEXT): only its announced size and form remain in the AST.
struct StreamedLiteral {
    std::uint64_t size = 0;
    bool binary = false;  ///< literal8 "~{n}" (RFC 3516 §4.3)
    bool operator==(const StreamedLiteral&) const = default;
};

enum class CommandName {
    // any state (RFC 9051 §6.1)
    Capability,
    Noop,
    Logout,
    Id,  // RFC 2971
    // not authenticated (§6.2)
    Starttls,
    Authenticate,
    Login,
    // authenticated (§6.3)
    Enable,  // RFC 5161
    Select,
    Examine,
    Create,
    Delete,
    Rename,
    Subscribe,
    Unsubscribe,
    List,
    Lsub,  // RFC 3501 only
    Namespace,
    Status,
    Append,
    Idle,  // RFC 2177
    GetQuota,
    GetQuotaRoot,
    SetQuota,  // RFC 9208
    Compress,  // RFC 4978
    // selected (§6.4)
    Check,  // RFC 3501 only
    Close,
    Unselect,  // RFC 3691
    Expunge,   // with uid: UID EXPUNGE (RFC 4315)
    Search,
    Fetch,
    Store,
    Copy,
    Move,          // RFC 6851
    Sort,          // RFC 5256
    Thread,        // RFC 5256
    CancelUpdate,  // RFC 5267 §4.3.5
};

/// AUTHENTICATE mechanism [SP initial-response] (RFC 9051 §6.2.2, SASL-IR RFC 4959).
struct AuthenticateArgs {
    std::string mechanism;                        ///< upper-cased
    std::optional<std::string> initial_response;  ///< base64 text as sent, or "=" for empty
    bool operator==(const AuthenticateArgs&) const = default;
};

struct LoginArgs {
    std::string user;
    std::string password;
    bool operator==(const LoginArgs&) const = default;
};

/// ENABLE capabilities (RFC 5161), COMPRESS mechanism (RFC 4978: one atom).
struct AtomListArgs {
    std::vector<std::string> atoms;  ///< upper-cased
    bool operator==(const AtomListArgs&) const = default;
};

/// CANCELUPDATE tags (RFC 5267 §4.3.5), as sent (quoted strings).
struct TagListArgs {
    std::vector<std::string> tags;
    bool operator==(const TagListArgs&) const = default;
};

/// QRESYNC select parameter (RFC 7162 §3.2.5).
struct QresyncParams {
    std::uint32_t uid_validity = 0;
    std::uint64_t mod_seq = 0;
    std::optional<SequenceSet> known_uids;
    /// (known-sequence-set known-uid-set)
    std::optional<std::pair<SequenceSet, SequenceSet>> seq_match;
    bool operator==(const QresyncParams&) const = default;
};

/// SELECT / EXAMINE mailbox [(CONDSTORE) / (QRESYNC (...))] (RFC 9051 §6.3.2, RFC 7162).
struct SelectArgs {
    std::string mailbox;
    bool condstore = false;
    std::optional<QresyncParams> qresync;
    bool operator==(const SelectArgs&) const = default;
};

/// CREATE mailbox [(USE (\Drafts ...))] (RFC 6154 §3).
struct CreateArgs {
    std::string mailbox;
    std::vector<std::string> special_use;
    bool operator==(const CreateArgs&) const = default;
};

/// DELETE, SUBSCRIBE, UNSUBSCRIBE, GETQUOTAROOT: one mailbox.
struct MailboxArgs {
    std::string mailbox;
    bool operator==(const MailboxArgs&) const = default;
};

struct RenameArgs {
    std::string from;
    std::string to;
    bool operator==(const RenameArgs&) const = default;
};

enum class StatusItem {
    Messages,
    Recent,  // RFC 3501 only
    UidNext,
    UidValidity,
    Unseen,
    Deleted,        // RFC 9051
    Size,           // RFC 8438 STATUS=SIZE
    HighestModSeq,  // RFC 7162
    AppendLimit,    // RFC 7889
    MailboxId,      // RFC 8474
};

/// LIST selection options (RFC 5258 §3.1) and return options (§3.2, RFC 5819 STATUS,
/// RFC 6154 SPECIAL-USE).
struct ListArgs {
    std::vector<std::string> select_options;  ///< upper-cased: SUBSCRIBED REMOTE RECURSIVEMATCH ...
    std::string reference;
    std::vector<std::string> patterns;        ///< 1 unless "(" patterns ")" (RFC 5258)
    bool multiple_patterns = false;           ///< patterns were given as a parenthesised list
    std::vector<std::string> return_options;  ///< upper-cased, without STATUS
    std::optional<std::vector<StatusItem>> return_status;  ///< RETURN (STATUS (...))
    bool operator==(const ListArgs&) const = default;
};

struct StatusArgs {
    std::string mailbox;
    std::vector<StatusItem> items;
    bool operator==(const StatusArgs&) const = default;
};

/// CATENATE part (RFC 4469 §5): URL astring or TEXT literal (streamed).
struct CatenatePart {
    bool is_url = false;
    std::string url;
    StreamedLiteral text;
    bool operator==(const CatenatePart&) const = default;
};

/// One message of APPEND (MULTIAPPEND RFC 3502 allows several).
struct AppendMessage {
    std::vector<std::string> flags;
    std::optional<DateTime> internal_date;
    StreamedLiteral literal;                            ///< the message, unless catenate
    std::optional<std::vector<CatenatePart>> catenate;  ///< RFC 4469
    bool utf8 = false;  ///< sent as `UTF8 (literal8)`: UTF-8 header fields (RFC 6855 §4)
    bool operator==(const AppendMessage&) const = default;
};

struct AppendArgs {
    std::string mailbox;
    std::vector<AppendMessage> messages;
    bool operator==(const AppendArgs&) const = default;
};

/// A sequence set argument: UID EXPUNGE (RFC 4315).
struct SequenceArgs {
    SequenceSet set;
    bool operator==(const SequenceArgs&) const = default;
};

enum class SearchOp {
    // no argument
    All,
    Answered,
    Deleted,
    Draft,
    Flagged,
    New,
    Old,
    Recent,
    Seen,
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unseen,
    SaveDateSupported,  // RFC 8514
    // astring argument in `text`
    Bcc,
    Body,
    Cc,
    From,
    Subject,
    Text,
    To,
    Keyword,    // flag-keyword in `text`
    Unkeyword,  // flag-keyword in `text`
    EmailId,    // RFC 8474 objectid in `text`
    ThreadId,
    Header,  // field name in `field`, value in `text`
    // date argument
    Before,
    On,
    Since,
    SentBefore,
    SentOn,
    SentSince,
    SaveDateBefore,  // RFC 8514
    SaveDateOn,
    SaveDateSince,
    // number argument
    Larger,
    Smaller,
    Older,    // RFC 5032 WITHIN
    Younger,  // RFC 5032 WITHIN
    ModSeq,   // RFC 7162: [entry name in `field`, entry type in `text`] mod-sequence in `number`
    // sequence set argument
    Uid,
    Sequence,
    // composite
    Not,  // children[0]
    Or,   // children[0], children[1]
    And,  // children: parenthesised list, or the top-level list of keys
};

struct SearchKey {
    SearchOp op = SearchOp::All;
    std::string text;
    std::string field;
    std::uint64_t number = 0;
    Date date;
    SequenceSet set;
    std::vector<SearchKey> children;
    bool operator==(const SearchKey&) const = default;
};

/// PARTIAL low:high (RFC 5267 §4.4, RFC 9394 §3): positions in the result, 1-based, low <=
/// high; with `from_end` ("-low:-high") they count back from the last result (-1).
struct PartialRange {
    std::uint32_t low = 1;
    std::uint32_t high = 1;
    bool from_end = false;
    bool operator==(const PartialRange&) const = default;

    /// The [begin, end) indices this range names in a list of `n` results (empty when the
    /// range lies past either end; RFC 9394 §3.1: what exists of it otherwise).
    [[nodiscard]] std::pair<std::size_t, std::size_t> window(std::size_t n) const {
        std::size_t begin = 0;
        std::size_t end = 0;
        if (from_end) {  // -1 is the last result
            begin = n > high ? n - high : 0;
            end = n >= low ? n - low + 1 : 0;
        } else {
            begin = low - 1;
            end = std::min<std::size_t>(high, n);
        }
        return begin < end ? std::pair{begin, end} : std::pair{n, n};
    }
};

/// "low:high" or "-low:-high", as on the wire.
[[nodiscard]] inline std::string to_string(const PartialRange& r) {
    const char* minus = r.from_end ? "-" : "";
    return minus + std::to_string(r.low) + ":" + minus + std::to_string(r.high);
}

/// ESEARCH return options (RFC 4731 §3.1, SEARCHRES SAVE RFC 5182). `present` means a RETURN
/// clause was given (even "RETURN ()", which means ALL).
struct SearchReturn {
    bool present = false;
    bool min = false;
    bool max = false;
    bool all = false;
    bool count = false;
    bool save = false;
    bool context = false;  ///< RFC 5267 §4.2: a hint only
    bool update = false;   ///< RFC 5267 §4.3: ADDTO / REMOVEFROM as the result changes
    std::optional<PartialRange> partial;
    bool operator==(const SearchReturn&) const = default;
};

struct SearchArgs {
    SearchReturn ret;
    std::string charset;  ///< upper-cased; "" if not given
    SearchKey key;        ///< And of the top-level keys
    bool operator==(const SearchArgs&) const = default;
};

enum class SortCriterion {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    DisplayFrom,  // RFC 5957
    DisplayTo,
};

struct SortKey {
    SortCriterion criterion = SortCriterion::Arrival;
    bool reverse = false;
    bool operator==(const SortKey&) const = default;
};

struct SortArgs {
    SearchReturn ret;  ///< ESORT (RFC 5267)
    std::vector<SortKey> criteria;
    std::string charset;
    SearchKey key;
    bool operator==(const SortArgs&) const = default;
};

struct ThreadArgs {
    std::string algorithm;  ///< upper-cased: REFERENCES, ORDEREDSUBJECT
    std::string charset;
    SearchKey key;
    bool operator==(const ThreadArgs&) const = default;
};

enum class FetchItem {
    Envelope,
    Flags,
    InternalDate,
    Rfc822,
    Rfc822Header,
    Rfc822Size,
    Rfc822Text,
    Body,  ///< BODY without section: non-extensible BODYSTRUCTURE
    BodyStructure,
    Uid,
    BodySection,    ///< BODY[section]<partial>, BODY.PEEK[...]
    BinarySection,  ///< BINARY[part]<partial>, BINARY.PEEK (RFC 3516)
    BinarySize,     ///< BINARY.SIZE[part]
    ModSeq,         ///< RFC 7162
    EmailId,        ///< RFC 8474
    ThreadId,
    SaveDate,  ///< RFC 8514
    Preview,   ///< RFC 8970
};

enum class SectionText {
    None,
    Header,
    HeaderFields,
    HeaderFieldsNot,
    Text,
    Mime,
};

/// section-spec (RFC 9051 §9): part numbers then an optional text specifier.
struct Section {
    std::vector<std::uint32_t> part;
    SectionText text = SectionText::None;
    std::vector<std::string> fields;  ///< HEADER.FIELDS[.NOT] names, upper-cased
    bool operator==(const Section&) const = default;
};

/// "<" offset "." length ">"
struct Partial {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    bool operator==(const Partial&) const = default;
};

struct FetchAtt {
    FetchItem item = FetchItem::Flags;
    bool peek = false;
    Section section;
    std::optional<Partial> partial;
    /// PREVIEW (LAZY) (RFC 8970 §4.1): the preview only if it comes without undue delay.
    bool lazy = false;
    bool operator==(const FetchAtt&) const = default;
};

enum class FetchMacro {
    None,
    All,
    Fast,
    Full,
};

struct FetchArgs {
    SequenceSet set;
    FetchMacro macro = FetchMacro::None;  ///< atts holds the expansion when not None
    std::vector<FetchAtt> atts;
    bool single_att = false;  ///< one att given without parentheses (writer fidelity only)
    std::optional<std::uint64_t> changed_since;  ///< RFC 7162 CHANGEDSINCE
    bool vanished = false;                       ///< RFC 7162 VANISHED (UID FETCH only)
    std::optional<PartialRange> partial;         ///< RFC 9394 §3.3: a window of the set
    bool operator==(const FetchArgs&) const = default;
};

enum class StoreMode {
    Replace,
    Add,
    Remove,
};

struct StoreArgs {
    SequenceSet set;
    std::optional<std::uint64_t> unchanged_since;  ///< RFC 7162
    StoreMode mode = StoreMode::Replace;
    bool silent = false;
    std::vector<std::string> flags;
    bool operator==(const StoreArgs&) const = default;
};

/// COPY / MOVE
struct CopyArgs {
    SequenceSet set;
    std::string mailbox;
    bool operator==(const CopyArgs&) const = default;
};

/// ID ( *(string SP nstring) ) / NIL (RFC 2971 §3.1)
struct IdArgs {
    std::vector<std::pair<std::string, std::optional<std::string>>> params;
    bool nil = false;
    bool operator==(const IdArgs&) const = default;
};

/// GETQUOTA root
struct QuotaRootArgs {
    std::string root;
    bool operator==(const QuotaRootArgs&) const = default;
};

/// SETQUOTA root (resource limit ...) (RFC 9208 §4.3)
struct SetQuotaArgs {
    std::string root;
    std::vector<std::pair<std::string, std::uint64_t>> limits;  ///< resource upper-cased
    bool operator==(const SetQuotaArgs&) const = default;
};

using CommandArgs = std::variant<
    std::monostate,
    AuthenticateArgs,
    LoginArgs,
    AtomListArgs,
    SelectArgs,
    CreateArgs,
    MailboxArgs,
    RenameArgs,
    ListArgs,
    StatusArgs,
    AppendArgs,
    SequenceArgs,
    SearchArgs,
    FetchArgs,
    StoreArgs,
    CopyArgs,
    SortArgs,
    ThreadArgs,
    IdArgs,
    QuotaRootArgs,
    SetQuotaArgs,
    TagListArgs>;

struct Command {
    std::string tag;
    CommandName name = CommandName::Noop;
    bool uid = false;  ///< "UID" prefix (COPY MOVE FETCH SEARCH STORE EXPUNGE SORT THREAD)
    CommandArgs args;
    /// A mailbox name argument was not valid modified UTF-7 (RFC 3501 §5.1.3) and is kept as
    /// sent; CREATE and RENAME refuse such names, other commands find no such mailbox.
    bool bad_mailbox_encoding = false;
    bool operator==(const Command&) const = default;
};

/// The command keyword as written on the wire ("UID " not included).
[[nodiscard]] std::string_view command_keyword(CommandName name) noexcept;

}  // namespace sov::imap::wire
