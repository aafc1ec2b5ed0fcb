// SORT (RFC 5256 §3) and the DISPLAYFROM / DISPLAYTO criteria (RFC 5957 §3).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>

#include "imap/search/search.hpp"
#include "mime/date.hpp"
#include "mime/text.hpp"

namespace sov::imap::search {
namespace {

using wire::SortCriterion;

bool is_string_criterion(SortCriterion c) noexcept {
    switch (c) {
        case SortCriterion::Arrival:
        case SortCriterion::Date:
        case SortCriterion::Size:
            return false;
        default:
            return true;
    }
}

const std::vector<mime::Address>* address_list(
    SortCriterion c, const mime::Envelope& env
) noexcept {
    switch (c) {
        case SortCriterion::Cc:
            return &env.cc_addr;
        case SortCriterion::From:
        case SortCriterion::DisplayFrom:
            return &env.from_addr;
        case SortCriterion::To:
        case SortCriterion::DisplayTo:
            return &env.to_addr;
        default:
            return nullptr;
    }
}

// RFC 5256 §3 sorts with i;ascii-casemap, which compares ASCII letters as upper case
// (RFC 4790 §9.2): "[x]" and "_x" sort after "Z", not before "a". Non-ASCII text was already
// folded (mime::fold_case) and keeps its octet order.
std::string ascii_casemap(std::string key) {
    for (char& ch : key) {
        if (ch >= 'a' && ch <= 'z') {
            ch = static_cast<char>(ch - 'a' + 'A');
        }
    }
    return key;
}

/// The first entry of an address list as IMAP's ENVELOPE shows it: a group's start entry
/// carries the group name in the mailbox slot (RFC 9051 §7.5.2), which is what RFC 5256 §3
/// sorts by ("the addr-mailbox of the first ... address").
std::string first_addr_mailbox(const std::vector<mime::Address>& list) {
    if (list.empty()) {
        return {};
    }
    const mime::Address& a = list.front();
    if (a.kind == mime::Address::Kind::GroupStart) {
        return a.raw_name.empty() ? a.name : a.raw_name;
    }
    return a.mailbox;
}

/// RFC 5957 §3's sort value of a list's first IMAP address structure: its display name
/// (decoded), else addr-mailbox@addr-host, else addr-mailbox alone, else the empty string. A
/// group's first structure has no name or host but the group's name as its addr-mailbox
/// (RFC 9051 §7.5.2), so "To: team: a@x, b@y;" sorts as "team".
std::string display_value(const std::vector<mime::Address>& list) {
    if (list.empty()) {
        return {};
    }
    const mime::Address& a = list.front();
    if (a.kind != mime::Address::Kind::Mailbox) {
        return first_addr_mailbox(list);
    }
    if (!a.name.empty()) {
        return a.name;
    }
    std::string spec = a.mailbox;
    if (!a.host.empty()) {
        spec += '@';
        spec += a.host;
    }
    return spec;
}

std::string folded_key(SortCriterion c, const mime::Envelope* env) {
    if (env == nullptr) {
        return {};  // absent header: the empty string, which sorts first (RFC 5256 §3)
    }
    if (c == SortCriterion::Subject) {
        return base_subject(env->subject);
    }
    const std::vector<mime::Address>* list = address_list(c, *env);
    if (list == nullptr) {
        return {};
    }
    if (c == SortCriterion::DisplayFrom || c == SortCriterion::DisplayTo) {
        return mime::fold_case(display_value(*list));
    }
    return mime::fold_case(first_addr_mailbox(*list));
}

// The collation key of a string criterion.
std::string string_key(SortCriterion c, const mime::Envelope* env) {
    return ascii_casemap(folded_key(c, env));
}

std::int64_t number_key(SortCriterion c, const SortInput& m) {
    switch (c) {
        case SortCriterion::Arrival:
            return m.internal_date;
        case SortCriterion::Date:
            return sent_date(m.envelope, m.internal_date);
        default:
            return static_cast<std::int64_t>(
                std::min<std::uint64_t>(m.size, std::numeric_limits<std::int64_t>::max())
            );
    }
}

}  // namespace

std::int64_t sent_date(const mime::Envelope* envelope, std::int64_t internal_date) {
    if (envelope == nullptr || envelope->date.empty()) {
        return internal_date;  // RFC 5256 §2.2: "the INTERNALDATE ... is used as the sent date"
    }
    const auto dt = mime::parse_date(envelope->date);
    return dt ? dt->unix_time() : internal_date;
}

std::vector<std::size_t> sort(
    const std::vector<wire::SortKey>& criteria, const std::vector<SortInput>& msgs
) {
    // Keys are computed once per message and criterion, not per comparison.
    const std::size_t n = msgs.size();
    std::vector<std::vector<std::string>> strings(criteria.size());
    std::vector<std::vector<std::int64_t>> numbers(criteria.size());
    for (std::size_t k = 0; k < criteria.size(); ++k) {
        const SortCriterion c = criteria[k].criterion;
        if (is_string_criterion(c)) {
            strings[k].reserve(n);
            for (const SortInput& m : msgs) {
                strings[k].push_back(string_key(c, m.envelope));
            }
        } else {
            numbers[k].reserve(n);
            for (const SortInput& m : msgs) {
                numbers[k].push_back(number_key(c, m));
            }
        }
    }
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        for (std::size_t k = 0; k < criteria.size(); ++k) {
            int cmp = 0;
            if (!strings[k].empty()) {
                cmp = strings[k][a].compare(strings[k][b]);
            } else if (numbers[k][a] != numbers[k][b]) {
                cmp = numbers[k][a] < numbers[k][b] ? -1 : 1;
            }
            if (cmp != 0) {
                return criteria[k].reverse ? cmp > 0 : cmp < 0;  // REVERSE: this key only
            }
        }
        // RFC 5256 §3: the implicit final criterion is the sequence number, never reversed.
        if (msgs[a].seq != msgs[b].seq) {
            return msgs[a].seq < msgs[b].seq;
        }
        return a < b;
    });
    return order;
}

}  // namespace sov::imap::search
