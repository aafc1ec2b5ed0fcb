#pragma once
// sequence-set (RFC 9051 §9): "1", "2:4", "*", "5:*", comma-separated; "$" is the saved search
// result of SEARCHRES (RFC 5182 §2).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sov::imap::wire {

/// "*" in a sequence set: the largest number in use (RFC 9051 §9 seq-number). Zero is never a
/// valid message number or UID, so it can stand for "*".
inline constexpr std::uint32_t kStar = 0;

/// seq-range as sent: `first` may be greater than `last` ("4:2" means "2:4", §9); either may be
/// kStar. A single number has first == last.
struct SeqRange {
    std::uint32_t first = 0;
    std::uint32_t last = 0;
    bool operator==(const SeqRange&) const = default;
};

struct SequenceSet {
    std::vector<SeqRange> ranges;
    bool saved = false;  ///< "$": the saved result (RFC 5182); ranges is empty then
    bool operator==(const SequenceSet&) const = default;

    /// Whether `n` is in the set when "*" stands for `largest` (0 for an empty mailbox).
    [[nodiscard]] bool contains(std::uint32_t n, std::uint32_t largest) const noexcept;
};

/// Parses a whole string as a sequence set (no surrounding text). nullopt on a syntax error,
/// a zero, or a number over 2^32-1.
[[nodiscard]] std::optional<SequenceSet> parse_sequence_set(std::string_view text);

/// Parses the longest sequence set at the start of `text`; `used` gets its length. Stops before
/// the first byte that cannot continue it. nullopt if none starts there or it is malformed
/// (e.g. "1:" or "0").
[[nodiscard]] std::optional<SequenceSet> parse_sequence_set_prefix(
    std::string_view text, std::size_t& used
);

/// The set of the given numbers in their order, each run of consecutive increasing numbers
/// merged ("1:3,5"; "5,3,2,1" stays as it is, as an ESORT result must, RFC 5267 §3.2).
[[nodiscard]] SequenceSet sequence_set_of(const std::vector<std::uint32_t>& numbers);

/// Canonical text ("1:3,5,7:*", "$").
[[nodiscard]] std::string to_string(const SequenceSet& set);

}  // namespace sov::imap::wire
