#include "imap/wire/sequence_set.hpp"

#include <algorithm>

namespace sov::imap::wire {
namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// seq-number = nz-number / "*" (RFC 9051 §9); nz-number is 32-bit (§4.2 "number").
bool parse_seq_number(std::string_view text, std::size_t& pos, std::uint32_t& out) noexcept {
    if (pos < text.size() && text[pos] == '*') {
        ++pos;
        out = kStar;
        return true;
    }
    if (pos >= text.size() || !is_digit(text[pos]) || text[pos] == '0') {
        return false;  // nz-number = digit-nz *DIGIT
    }
    std::uint64_t v = 0;
    while (pos < text.size() && is_digit(text[pos])) {
        v = v * 10 + static_cast<std::uint64_t>(text[pos] - '0');
        if (v > 0xFFFFFFFFULL) {
            return false;
        }
        ++pos;
    }
    out = static_cast<std::uint32_t>(v);
    return true;
}

}  // namespace

bool SequenceSet::contains(std::uint32_t n, std::uint32_t largest) const noexcept {
    for (const auto& r : ranges) {
        const std::uint32_t a = r.first == kStar ? largest : r.first;
        const std::uint32_t b = r.last == kStar ? largest : r.last;
        if (n >= std::min(a, b) && n <= std::max(a, b)) {
            return true;
        }
    }
    return false;
}

std::optional<SequenceSet> parse_sequence_set_prefix(std::string_view text, std::size_t& used) {
    SequenceSet set;
    std::size_t pos = 0;
    // RFC 5182 §2: "$" stands alone as a sequence set.
    if (!text.empty() && text[0] == '$') {
        set.saved = true;
        used = 1;
        return set;
    }
    for (;;) {
        SeqRange r;
        if (!parse_seq_number(text, pos, r.first)) {
            return std::nullopt;
        }
        r.last = r.first;
        if (pos < text.size() && text[pos] == ':') {
            ++pos;
            if (!parse_seq_number(text, pos, r.last)) {
                return std::nullopt;
            }
        }
        set.ranges.push_back(r);
        if (pos < text.size() && text[pos] == ',') {
            ++pos;
            continue;
        }
        break;
    }
    used = pos;
    return set;
}

std::optional<SequenceSet> parse_sequence_set(std::string_view text) {
    std::size_t used = 0;
    auto set = parse_sequence_set_prefix(text, used);
    if (!set || used != text.size()) {
        return std::nullopt;
    }
    return set;
}

std::string to_string(const SequenceSet& set) {
    if (set.saved) {
        return "$";
    }
    std::string out;
    auto num = [&out](std::uint32_t n) {
        if (n == kStar) {
            out += '*';
        } else {
            out += std::to_string(n);
        }
    };
    for (std::size_t i = 0; i < set.ranges.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        num(set.ranges[i].first);
        if (set.ranges[i].last != set.ranges[i].first) {
            out += ':';
            num(set.ranges[i].last);
        }
    }
    return out;
}

SequenceSet sequence_set_of(const std::vector<std::uint32_t>& numbers) {
    SequenceSet set;
    for (const auto n : numbers) {
        if (!set.ranges.empty() && set.ranges.back().last + 1 == n) {
            set.ranges.back().last = n;
        } else {
            set.ranges.push_back({n, n});
        }
    }
    return set;
}

}  // namespace sov::imap::wire
