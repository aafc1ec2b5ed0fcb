#include "exchange/mbox.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>

#include <fmt/format.h>

#include "store/store.hpp"

namespace sov::exchange::mbox {
namespace {

// RFC 3501 §9: atom = 1*ATOM-CHAR; ATOM-CHAR is any CHAR except atom-specials
// ("(" / ")" / "{" / SP / CTL / list-wildcards "%" "*" / quoted-specials '"' "\\" / "]").
bool is_keyword_atom(std::string_view word) {
    if (word.empty() || word.front() == '\\') {
        return false;
    }
    return std::all_of(word.begin(), word.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f &&
               std::string_view{"(){%*\"\\]"}.find(c) == std::string_view::npos;
    });
}

namespace chr = std::chrono;

constexpr std::array<std::string_view, 12> kMonths = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};
constexpr std::array<std::string_view, 7> kWeekdays = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};

bool iequal(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// Digits only: from_chars would also take a '-' ("-1:-5:-3" is no time of day).
bool parse_int(std::string_view s, int& out) noexcept {
    if (s.empty() || s.front() == '-') {
        return false;
    }
    const auto* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, out);
    return ec == std::errc{} && ptr == end && !s.empty();
}

std::vector<std::string_view> tokens(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
            ++i;
        }
        const auto start = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t') {
            ++i;
        }
        if (i > start) {
            out.push_back(s.substr(start, i - start));
        }
    }
    return out;
}

// "+0200" / "-0530" → seconds east of UTC.
bool parse_zone(std::string_view z, int& seconds) noexcept {
    int hhmm = 0;
    if (z.size() != 5 || (z[0] != '+' && z[0] != '-') || !parse_int(z.substr(1), hhmm)) {
        return false;
    }
    seconds = ((hhmm / 100) * 3600 + (hhmm % 100) * 60) * (z[0] == '-' ? -1 : 1);
    return true;
}

bool parse_time(std::string_view t, int& h, int& m, int& s) noexcept {
    s = 0;
    const auto c1 = t.find(':');
    if (c1 == std::string_view::npos) {
        return false;
    }
    const auto c2 = t.find(':', c1 + 1);
    if (!parse_int(t.substr(0, c1), h)) {
        return false;
    }
    if (c2 == std::string_view::npos) {
        return parse_int(t.substr(c1 + 1), m);
    }
    return parse_int(t.substr(c1 + 1, c2 - c1 - 1), m) && parse_int(t.substr(c2 + 1), s);
}

bool is_blank(std::string_view line) noexcept {
    return line == "\n" || line == "\r\n";
}

// mboxrd: the writer adds one '>' to a line that is /^>*From /, the reader removes one from a
// line that is /^>+From /.
bool needs_quoting(std::string_view line) noexcept {
    const auto n = line.find_first_not_of('>');
    return n != std::string_view::npos && line.substr(n).substr(0, 5) == "From ";
}

bool is_from_quoted(std::string_view line) noexcept {
    return !line.empty() && line.front() == '>' && needs_quoting(line);
}

std::string_view header_name(std::string_view field) noexcept {
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) {
        return {};
    }
    auto name = field.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
        name.remove_suffix(1);
    }
    return name;
}

std::string_view header_value(std::string_view field) noexcept {
    const auto colon = field.find(':');
    return colon == std::string_view::npos ? std::string_view{} : field.substr(colon + 1);
}

// Splits a header section into fields (a field = its first line + continuation lines).
template <class F>
void for_each_field(std::string_view headers, F&& f) {
    std::size_t start = 0;
    while (start < headers.size()) {
        std::size_t end = start;
        do {
            const auto nl = headers.find('\n', end);
            end = nl == std::string_view::npos ? headers.size() : nl + 1;
        } while (end < headers.size() && (headers[end] == ' ' || headers[end] == '\t'));
        f(headers.substr(start, end - start));
        start = end;
    }
}

void apply_metadata(Meta& meta, std::string_view name, std::string_view value) {
    if (iequal(name, "Status")) {
        for (char c : value) {
            if (c == 'R') {
                meta.flags |= store::flag::kSeen;
            }
        }
    } else if (iequal(name, "X-Status")) {
        for (char c : value) {
            switch (c) {
                case 'A':
                    meta.flags |= store::flag::kAnswered;
                    break;
                case 'F':
                    meta.flags |= store::flag::kFlagged;
                    break;
                case 'T':
                    meta.flags |= store::flag::kDraft;
                    break;
                case 'D':
                    meta.flags |= store::flag::kDeleted;
                    break;
                default:
                    break;
            }
        }
    } else if (iequal(name, "X-Keywords")) {
        // Dovecot separates with spaces, some tools with commas; folding adds CR/LF/TAB.
        std::string word;
        for (char c : std::string(value) + " ") {
            if (c == ' ' || c == ',' || c == '\t' || c == '\r' || c == '\n') {
                // Only what IMAP can carry is a keyword (RFC 3501 §9 flag-keyword = atom);
                // anything else would not survive the store or a round trip, so it is dropped.
                if (is_keyword_atom(word) &&
                    std::find(meta.keywords.begin(), meta.keywords.end(), word) ==
                        meta.keywords.end()) {
                    meta.keywords.push_back(word);
                }
                word.clear();
            } else {
                word += c;
            }
        }
    }
}

}  // namespace

std::optional<core::WallTime> parse_from_line(std::string_view line) noexcept {
    try {
        if (line.substr(0, 5) != "From ") {
            return std::nullopt;
        }
        auto rest = line.substr(5);
        while (!rest.empty() && rest.back() == '\r') {
            rest.remove_suffix(1);
        }
        auto t = tokens(rest);
        // The sender is one token (or a quoted string with spaces); the date follows. Find the
        // month, which comes after the weekday.
        std::size_t m = 0;
        int month = -1;
        for (std::size_t i = 1; i < t.size() && month < 0; ++i) {
            for (std::size_t k = 0; k < kMonths.size(); ++k) {
                if (iequal(t[i], kMonths[k]) &&
                    std::any_of(kWeekdays.begin(), kWeekdays.end(), [&](std::string_view w) {
                        return iequal(t[i - 1], w);
                    })) {
                    month = static_cast<int>(k) + 1;
                    m = i;
                }
            }
        }
        if (month < 0 || m + 3 >= t.size()) {
            return std::nullopt;
        }
        int day = 0;
        int h = 0;
        int min = 0;
        int s = 0;
        if (!parse_int(t[m + 1], day) || !parse_time(t[m + 2], h, min, s)) {
            return std::nullopt;
        }
        int year = -1;
        int zone = 0;
        for (std::size_t i = m + 3; i < t.size(); ++i) {
            int v = 0;
            if (year < 0 && t[i].size() == 4 && parse_int(t[i], v)) {
                year = v;
            } else if (!parse_zone(t[i], zone)) {
                // Zone names ("EST", "MET DST") carry no offset we can trust: taken as UTC.
            }
        }
        if (year < 1970 || day < 1 || day > 31 || h > 23 || min > 59 || s > 60) {
            return std::nullopt;
        }
        const chr::year_month_day ymd{
            chr::year{year},
            chr::month{static_cast<unsigned>(month)},
            chr::day{static_cast<unsigned>(day)}
        };
        if (!ymd.ok()) {
            return std::nullopt;
        }
        auto seconds = chr::sys_days{ymd}.time_since_epoch() + chr::hours{h} + chr::minutes{min} +
                       chr::seconds{s} - chr::seconds{zone};
        // WallTime counts nanoseconds and ends in 2262; a later date (found by exchange_mbox_fuzz
        // as a signed overflow) is clamped rather than refused, so the line still separates
        // messages.
        constexpr auto kLatest = chr::floor<chr::seconds>(core::WallTime::duration::max());
        seconds = std::min<decltype(seconds)>(seconds, kLatest);
        return core::WallTime{chr::duration_cast<core::WallTime::duration>(seconds)};
    } catch (const std::bad_alloc&) {
        return std::nullopt;
    }
}

std::string format_from_line(core::WallTime date) {
    const auto secs = chr::floor<chr::seconds>(date);
    const auto days = chr::floor<chr::days>(secs);
    const chr::year_month_day ymd{days};
    const chr::hh_mm_ss hms{secs - days};
    const chr::weekday wd{days};
    // asctime(3) layout, day padded to two columns with a space, in UTC.
    return fmt::format(
        "From MAILER-DAEMON {} {} {:2} {:02}:{:02}:{:02} {}\n",
        kWeekdays[wd.c_encoding()],
        kMonths[static_cast<unsigned>(ymd.month()) - 1],
        static_cast<unsigned>(ymd.day()),
        hms.hours().count(),
        hms.minutes().count(),
        hms.seconds().count(),
        static_cast<int>(ymd.year())
    );
}

bool is_metadata_header(std::string_view name) noexcept {
    for (std::string_view hidden :
         {"Status", "X-Status", "X-Keywords", "X-UID", "X-IMAPbase", "X-IMAP", "Content-Length"}) {
        if (iequal(name, hidden)) {
            return true;
        }
    }
    return false;
}

void Parser::feed(std::string_view bytes) {
    while (!bytes.empty()) {
        if (state_ == State::NotMbox) {
            return;
        }
        const auto nl = bytes.find('\n');
        const auto room = limits_.max_line - line_.size();
        if (nl != std::string_view::npos && nl < room) {
            line_.append(bytes.substr(0, nl + 1));
            bytes.remove_prefix(nl + 1);
            line(line_, line_at_start_);
            line_.clear();
            line_at_start_ = true;
            continue;
        }
        const auto take = std::min(room, bytes.size());
        line_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (line_.size() == limits_.max_line) {
            // A piece of an overlong line: passed on, but it can never start a message.
            line(line_, line_at_start_);
            line_.clear();
            line_at_start_ = false;
        }
    }
}

void Parser::finish() {
    if (!line_.empty()) {
        line(line_, line_at_start_);
        line_.clear();
    }
    line_at_start_ = true;
    end_message();
    if (state_ != State::NotMbox) {
        state_ = State::Start;
    }
}

void Parser::line(std::string_view text, bool at_start) {
    const bool complete = !text.empty() && text.back() == '\n';
    // Inside the Content-Length of a message, a "From " line is text (Dovecot relies on it).
    const bool counted_body = state_ == State::Body && counted_ && body_seen_ < content_length_;
    if (at_start && text.substr(0, 5) == "From " && (state_ == State::Start || prev_blank_) &&
        !counted_body) {
        auto without_end = text;
        while (!without_end.empty() && (without_end.back() == '\n' || without_end.back() == '\r')) {
            without_end.remove_suffix(1);
        }
        if (auto date = parse_from_line(without_end)) {
            end_message();  // the held empty line was the separator: dropped
            date_ = *date;
            state_ = State::Headers;
            headers_.clear();
            prev_blank_ = false;
            return;
        }
    }
    const bool blank = at_start && is_blank(text);
    switch (state_) {
        case State::Start:
            state_ = State::NotMbox;
            return;
        case State::NotMbox:
            return;
        case State::Pseudo:
            break;
        case State::Headers:
            if (at_start && is_from_quoted(text)) {
                text.remove_prefix(1);
            }
            headers_.append(text);
            if (blank) {
                end_headers();
            } else if (headers_.size() > limits_.max_header) {
                // Too big to look for metadata in: pass it on as it is, as an mboxrd message (not
                // the Content-Length state of the message before).
                counted_ = false;
                content_length_ = 0;
                body_seen_ = 0;
                sink_.on_message(date_, Meta{});
                sink_.on_data(headers_);
                headers_.clear();
                state_ = State::Body;
            }
            break;
        case State::Body:
            body_seen_ += text.size();
            if (!held_.empty()) {
                sink_.on_data(held_);
                held_.clear();
            }
            if (blank) {
                held_.assign(text);
            } else if (at_start && !counted_ && is_from_quoted(text)) {
                sink_.on_data(text.substr(1));
            } else {
                sink_.on_data(text);
            }
            break;
    }
    if (complete) {
        prev_blank_ = blank;
    } else {
        prev_blank_ = false;
    }
}

void Parser::end_headers() {
    Meta meta;
    bool pseudo = false;
    counted_ = false;
    content_length_ = 0;
    body_seen_ = 0;
    std::string kept;
    for_each_field(headers_, [&](std::string_view field) {
        const auto name = header_name(field);
        if (!name.empty() && is_metadata_header(name)) {
            if (iequal(name, "X-IMAP")) {
                pseudo = true;
            }
            if (iequal(name, "Content-Length")) {
                auto value = header_value(field);
                while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
                    value.remove_prefix(1);
                }
                while (!value.empty() && (value.back() == '\n' || value.back() == '\r' ||
                                          value.back() == ' ' || value.back() == '\t')) {
                    value.remove_suffix(1);
                }
                const auto* end = value.data() + value.size();
                auto [ptr, ec] = std::from_chars(value.data(), end, content_length_);
                counted_ = ec == std::errc{} && ptr == end && !value.empty();
            }
            apply_metadata(meta, name, header_value(field));
            return;
        }
        kept.append(field);
    });
    headers_.clear();
    if (pseudo) {
        ++pseudo_;
        state_ = State::Pseudo;
        return;
    }
    sink_.on_message(date_, meta);
    sink_.on_data(kept);
    state_ = State::Body;
}

void Parser::end_message() {
    if (state_ == State::Headers) {
        // No empty line ended the header section (a message with no body).
        end_headers();
    }
    if (state_ == State::Body) {
        held_.clear();
        sink_.on_end();
    }
    held_.clear();
    if (state_ != State::NotMbox) {
        state_ = State::Start;
    }
}

std::string imapbase_header(
    std::uint32_t uid_validity, std::uint32_t uid_next, const std::vector<std::string>& keywords
) {
    // Dovecot pads uidnext to ten digits so it can be updated in place.
    std::string out = fmt::format("X-IMAPbase: {} {:010}", uid_validity, uid_next);
    for (const auto& k : keywords) {
        out += ' ';
        out += k;
    }
    return out + "\n";
}

std::string format_message(
    std::string_view message, core::WallTime date, const Meta& meta, std::string_view first_headers
) {
    std::string out = format_from_line(date);
    out.reserve(message.size() + message.size() / 64 + 128);

    std::string status = "O";
    if ((meta.flags & store::flag::kSeen) != 0) {
        status = "RO";
    }
    std::string xstatus;
    if ((meta.flags & store::flag::kAnswered) != 0) {
        xstatus += 'A';
    }
    if ((meta.flags & store::flag::kFlagged) != 0) {
        xstatus += 'F';
    }
    if ((meta.flags & store::flag::kDraft) != 0) {
        xstatus += 'T';
    }
    if ((meta.flags & store::flag::kDeleted) != 0) {
        xstatus += 'D';
    }
    std::string metadata(first_headers);
    if (meta.uid != 0) {
        metadata += fmt::format("X-UID: {}\n", meta.uid);
    }
    metadata += "Status: " + status + "\n";
    if (!xstatus.empty()) {
        metadata += "X-Status: " + xstatus + "\n";
    }
    if (!meta.keywords.empty()) {
        metadata += "X-Keywords:";
        for (const auto& k : meta.keywords) {
            metadata += ' ';
            metadata += k;
        }
        metadata += '\n';
    }

    // A message without a final line end gets one first: the header section is then split
    // where the reader will split it. (Added later, a line end after a last header line of a
    // lone CR made an empty line there, ending the header section before the metadata, which
    // was then read as body: exchange_mbox_fuzz, session 1.)
    std::string completed;
    if (!message.empty() && message.back() != '\n') {
        completed.reserve(message.size() + 1);
        completed.append(message).push_back('\n');
        message = completed;
    }
    // The header section ends at the first empty line (RFC 5322 §2.1).
    std::size_t header_end = 0;
    bool has_body = false;
    while (header_end < message.size()) {
        const auto nl = message.find('\n', header_end);
        const auto line =
            message.substr(header_end, nl == std::string_view::npos ? nl : nl + 1 - header_end);
        if (is_blank(line)) {
            has_body = true;
            break;
        }
        header_end += line.size();
    }
    const auto quote = [&](std::string_view text) {
        while (!text.empty()) {
            const auto nl = text.find('\n');
            const auto line = text.substr(0, nl == std::string_view::npos ? nl : nl + 1);
            if (needs_quoting(line)) {
                out += '>';
            }
            out.append(line);
            text.remove_prefix(line.size());
        }
    };
    // Drop metadata headers the message already had (Dovecot's mbox save does the same): a sender
    // could otherwise set flags on the copy.
    std::string headers;
    for_each_field(message.substr(0, header_end), [&](std::string_view field) {
        const auto name = header_name(field);
        if (name.empty() || !is_metadata_header(name)) {
            headers.append(field);
        }
    });
    quote(headers);
    out += metadata;
    if (has_body) {
        quote(message.substr(header_end));
    }
    out += '\n';
    return out;
}

}  // namespace sov::exchange::mbox
