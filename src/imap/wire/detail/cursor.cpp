#include "imap/wire/detail/cursor.hpp"

#include <algorithm>
#include <array>

#include "imap/wire/chars.hpp"
#include "mime/mutf7.hpp"

namespace sov::imap::wire::detail {
namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// date-month (RFC 9051 §9), case-insensitive like every IMAP keyword.
constexpr std::array<std::string_view, 12> kMonths = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

int month_index(std::string_view m) noexcept {
    for (std::size_t i = 0; i < kMonths.size(); ++i) {
        if (iequals(m, kMonths[i])) {
            return static_cast<int>(i) + 1;
        }
    }
    return 0;
}

// System flags are case-insensitive (RFC 9051 §2.3.2); give the engine one spelling.
constexpr std::array<std::string_view, 6> kSystemFlags = {
    "\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent"
};

}  // namespace

bool Cursor::fail(std::string_view text, std::string_view code) {
    if (!failed_) {
        failed_ = true;
        error_ = text;
        code_ = code;
    }
    return false;
}

bool Cursor::eat(char c) noexcept {
    if (!at_end() && text_[pos_] == c) {
        ++pos_;
        return true;
    }
    return false;
}

bool Cursor::expect(char c) {
    if (eat(c)) {
        return true;
    }
    if (c == ' ') {
        return fail(at_end() ? "Missing argument" : "Expected a space");
    }
    std::string msg = "Expected '";
    msg += c;
    msg += '\'';
    return fail(msg);
}

bool Cursor::keyword(std::string_view word) noexcept {
    if (text_.size() - std::min(pos_, text_.size()) < word.size() ||
        !iequals(text_.substr(pos_, word.size()), word)) {
        return false;
    }
    const std::size_t after = pos_ + word.size();
    if (after < text_.size() && is_atom_char(text_[after]) && is_atom_char(word.back())) {
        return false;  // "ALLx" is not "ALL"
    }
    pos_ = after;
    return true;
}

std::string_view Cursor::atom() noexcept {
    const std::size_t start = pos_;
    while (!at_end() && is_atom_char(text_[pos_])) {
        ++pos_;
    }
    return text_.substr(start, pos_ - start);
}

std::string_view Cursor::astring_atom() noexcept {
    const std::size_t start = pos_;
    while (!at_end() && is_astring_char(text_[pos_])) {
        ++pos_;
    }
    return text_.substr(start, pos_ - start);
}

bool Cursor::atom_upper(std::string& out, std::string_view what) {
    const auto a = atom();
    if (a.empty()) {
        if (!at_end() && static_cast<unsigned char>(peek()) >= 0x80) {
            return fail("8-bit byte in an atom");
        }
        return fail(std::string("Expected ") + std::string(what));
    }
    out.assign(a);
    std::transform(out.begin(), out.end(), out.begin(), ascii_upper);
    return true;
}

bool Cursor::number64(std::uint64_t& out) {
    if (at_end() || !is_digit(peek())) {
        return fail("Expected a number");
    }
    std::uint64_t v = 0;
    while (!at_end() && is_digit(peek())) {
        const auto d = static_cast<std::uint64_t>(text_[pos_] - '0');
        // number64 = 1*DIGIT, "Unsigned 63-bit integer" (RFC 9051 §9).
        if (v > (0x7FFFFFFFFFFFFFFFULL - d) / 10) {
            return fail("Number too large");
        }
        v = v * 10 + d;
        ++pos_;
    }
    out = v;
    return true;
}

bool Cursor::nz_number64(std::uint64_t& out) {
    const bool leading_zero = peek() == '0';
    if (!number64(out)) {
        return false;
    }
    if (leading_zero || out == 0) {
        return fail("Expected a non-zero number");
    }
    return true;
}

bool Cursor::number(std::uint32_t& out) {
    std::uint64_t v = 0;
    if (!number64(v)) {
        return false;
    }
    if (v > 0xFFFFFFFFULL) {  // number = 1*DIGIT, "Unsigned 32-bit integer"
        return fail("Number too large");
    }
    out = static_cast<std::uint32_t>(v);
    return true;
}

bool Cursor::nz_number(std::uint32_t& out) {
    const bool leading_zero = peek() == '0';
    if (!number(out)) {
        return false;
    }
    if (leading_zero || out == 0) {
        return fail("Expected a non-zero number");
    }
    return true;
}

bool Cursor::quoted(std::string& out) {
    // quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = <any TEXT-CHAR except quoted-specials>
    // / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4 (RFC 9051 §9).
    ++pos_;
    out.clear();
    while (!at_end()) {
        const char c = text_[pos_];
        if (c == '"') {
            ++pos_;
            return true;
        }
        if (c == '\\') {
            if (pos_ + 1 >= text_.size() || !is_quoted_special(text_[pos_ + 1])) {
                return fail("Bad escape in a quoted string");
            }
            out += text_[pos_ + 1];
            pos_ += 2;
            continue;
        }
        if (static_cast<unsigned char>(c) >= 0x80) {
            const std::size_t n = utf8_sequence_length(text_, pos_);
            if (n == 0) {
                return fail("Invalid UTF-8 in a quoted string");
            }
            out.append(text_.substr(pos_, n));
            pos_ += n;
            continue;
        }
        if (!is_quoted_text_char(c)) {
            return fail("Invalid character in a quoted string");
        }
        out += c;
        ++pos_;
    }
    return fail("Unterminated quoted string");
}

bool Cursor::literal_marker(std::uint64_t& size, bool& sync, bool& binary) {
    binary = eat('~');
    if (!eat('{')) {
        return fail("Expected a literal");
    }
    if (!number64(size)) {
        return false;
    }
    sync = !eat('+');
    if (!eat('}')) {
        return fail("Bad literal");
    }
    if (!eat('\r') || !eat('\n')) {
        return fail("Literal must end the line");
    }
    return true;
}

const LiteralInfo* Cursor::find_literal(std::size_t offset) const noexcept {
    const auto it = std::lower_bound(
        literals_.begin(),
        literals_.end(),
        offset,
        [](const LiteralInfo& l, std::size_t off) { return l.offset < off; }
    );
    if (it == literals_.end() || it->offset != offset) {
        return nullptr;
    }
    return &*it;
}

bool Cursor::string(std::string& out) {
    if (peek() == '"') {
        return quoted(out);
    }
    if (peek() != '{') {
        return fail("Expected a string");
    }
    std::uint64_t size = 0;
    bool sync = false;
    bool binary = false;
    if (!literal_marker(size, sync, binary)) {
        return false;
    }
    const LiteralInfo* info = find_literal(pos_);
    if (info == nullptr || info->streamed || info->size != size || text_.size() - pos_ < size) {
        return fail("Literal not allowed here");
    }
    const auto data = text_.substr(pos_, static_cast<std::size_t>(size));
    // CHAR8 = %x01-ff: NUL only in literal8 (RFC 9051 §4.3, RFC 3516).
    if (data.find('\0') != std::string_view::npos) {
        return fail("NUL in a literal");
    }
    out.assign(data);
    pos_ += static_cast<std::size_t>(size);
    return true;
}

bool Cursor::streamed_literal(StreamedLiteral& out, bool binary_ok) {
    std::uint64_t size = 0;
    bool sync = false;
    bool binary = false;
    if (!literal_marker(size, sync, binary)) {
        return false;
    }
    if (binary && !binary_ok) {
        return fail("literal8 not allowed here");
    }
    const LiteralInfo* info = find_literal(pos_);
    if (info == nullptr || info->size != size) {
        return fail("Bad literal");
    }
    if (!info->streamed) {
        // Collected by the framer (should not happen for message literals): skip its data.
        pos_ += static_cast<std::size_t>(size);
    }
    out.size = size;
    out.binary = binary;
    return true;
}

bool Cursor::at_pending_literal() const noexcept {
    std::size_t p = pos_;
    if (p < text_.size() && text_[p] == '~') {
        ++p;
    }
    if (p >= text_.size() || text_[p] != '{') {
        return false;
    }
    ++p;
    const std::size_t digits = p;
    while (p < text_.size() && is_digit(text_[p])) {
        ++p;
    }
    if (p == digits) {
        return false;
    }
    if (p < text_.size() && text_[p] == '+') {
        ++p;
    }
    return p + 1 == text_.size() && text_[p] == '}';
}

bool Cursor::astring(std::string& out) {
    if (peek() == '"' || peek() == '{') {
        return string(out);
    }
    const auto a = astring_atom();
    if (a.empty()) {
        if (!at_end() && static_cast<unsigned char>(peek()) >= 0x80) {
            return fail("8-bit byte in an atom");
        }
        return fail(at_end() ? "Missing argument" : "Expected a string");
    }
    out.assign(a);
    return true;
}

bool Cursor::nstring(std::optional<std::string>& out) {
    if (keyword("NIL")) {
        out.reset();
        return true;
    }
    std::string s;
    if (!string(s)) {
        return false;
    }
    out = std::move(s);
    return true;
}

namespace {
bool decode_mailbox(Cursor& c, std::string& name) {
    if (iequals(name, "INBOX")) {
        name = "INBOX";  // RFC 9051 §5.1: INBOX is case-insensitive
        return true;
    }
    if (c.options().utf8) {
        if (!is_valid_utf8(name)) {
            return c.fail("Mailbox name is not valid UTF-8");
        }
        return true;
    }
    auto decoded = mime::mutf7_decode(name);
    if (!decoded) {
        // RFC 3501 §5.1.3 asks servers to refuse such names at CREATE only: elsewhere the name
        // simply names no mailbox (SELECT answers NO, LIST lists nothing). It is kept as sent
        // and the command is flagged, so CREATE and RENAME can refuse it.
        c.note_bad_mailbox_encoding();
        return true;
    }
    name = std::move(*decoded);
    return true;
}
}  // namespace

bool Cursor::mailbox(std::string& out) {
    if (!astring(out)) {
        return false;
    }
    return decode_mailbox(*this, out);
}

bool Cursor::list_mailbox(std::string& out) {
    if (peek() == '"' || peek() == '{') {
        if (!string(out)) {
            return false;
        }
    } else {
        const std::size_t start = pos_;
        while (!at_end() && is_list_char(text_[pos_])) {
            ++pos_;
        }
        if (pos_ == start) {
            return fail("Expected a mailbox pattern");
        }
        out.assign(text_.substr(start, pos_ - start));
    }
    // Wildcards are ASCII, so decoding the pattern as a whole is safe.
    if (out.find_first_of("%*") != std::string::npos && iequals(out, "INBOX")) {
        return true;
    }
    return decode_mailbox(*this, out);
}

bool Cursor::flag(std::string& out, bool allow_recent) {
    const bool system = eat('\\');
    const auto a = atom();
    if (a.empty()) {
        if (!at_end() && static_cast<unsigned char>(peek()) >= 0x80) {
            return fail("8-bit byte in a flag");
        }
        return fail("Expected a flag");
    }
    out.clear();
    if (system) {
        out = "\\";
    }
    out.append(a);
    if (system) {
        for (const auto f : kSystemFlags) {
            if (iequals(out, f)) {
                if (f == "\\Recent" && !allow_recent) {
                    return fail("\\Recent can't be set");  // RFC 3501 §2.3.2
                }
                out.assign(f);
            }
        }
    }
    return count_arg();
}

bool Cursor::flag_list(std::vector<std::string>& out) {
    if (!open_paren()) {
        return false;
    }
    out.clear();
    if (eat(')')) {
        --depth_;
        return true;
    }
    for (;;) {
        std::string f;
        if (!flag(f)) {
            return false;
        }
        out.push_back(std::move(f));
        if (eat(' ')) {
            continue;
        }
        return close_paren();
    }
}

bool Cursor::sequence_set(SequenceSet& out) {
    std::size_t used = 0;
    auto set = parse_sequence_set_prefix(text_.substr(pos_), used);
    if (!set) {
        return fail("Invalid sequence set");
    }
    if (!set->saved && set->ranges.size() > limits_.max_args - std::min(args_, limits_.max_args)) {
        return fail("Too many arguments");
    }
    args_ += set->ranges.size();
    pos_ += used;
    out = std::move(*set);
    return true;
}

bool Cursor::date(Date& out) {
    // date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-" date-month "-"
    // date-year; date-day = 1*2DIGIT (RFC 9051 §9).
    const bool q = eat('"');
    const std::size_t start = pos_;
    while (!at_end() && is_digit(peek()) && pos_ - start < 2) {
        ++pos_;
    }
    if (pos_ == start) {
        return fail("Expected a date");
    }
    int day = 0;
    for (std::size_t i = start; i < pos_; ++i) {
        day = day * 10 + (text_[i] - '0');
    }
    if (!eat('-') || text_.size() - pos_ < 8) {
        return fail("Invalid date");
    }
    const int month = month_index(text_.substr(pos_, 3));
    pos_ += 3;
    if (month == 0 || !eat('-')) {
        return fail("Invalid date");
    }
    int year = 0;
    for (int i = 0; i < 4; ++i) {
        if (at_end() || !is_digit(peek())) {
            return fail("Invalid date");
        }
        year = year * 10 + (text_[pos_++] - '0');
    }
    if (q && !eat('"')) {
        return fail("Invalid date");
    }
    if (day < 1 || day > 31) {
        return fail("Invalid date");
    }
    out = Date{year, month, day};
    return true;
}

bool Cursor::date_time(DateTime& out) {
    // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
    // date-day-fixed = (SP DIGIT) / 2DIGIT; time = 2DIGIT ":" 2DIGIT ":" 2DIGIT;
    // zone = ("+" / "-") 4DIGIT  (RFC 9051 §9)
    constexpr std::string_view kShape = "dd-Mmm-yyyy hh:mm:ss +zzzz";
    if (!eat('"') || text_.size() - pos_ < kShape.size() + 1) {
        return fail("Invalid date-time");
    }
    const auto s = text_.substr(pos_, kShape.size());
    auto digits = [&s](std::size_t at, std::size_t n, int& v) {
        v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (!is_digit(s[i])) {
                return false;
            }
            v = v * 10 + (s[i] - '0');
        }
        return true;
    };
    int day = 0;
    if (s[0] == ' ') {
        if (!digits(1, 1, day)) {
            return fail("Invalid date-time");
        }
    } else if (!digits(0, 2, day)) {
        return fail("Invalid date-time");
    }
    const int month = month_index(s.substr(3, 3));
    int year = 0;
    int hh = 0;
    int mm = 0;
    int ss = 0;
    int zone = 0;
    if (s[2] != '-' || month == 0 || s[6] != '-' || !digits(7, 4, year) || s[11] != ' ' ||
        !digits(12, 2, hh) || s[14] != ':' || !digits(15, 2, mm) || s[17] != ':' ||
        !digits(18, 2, ss) || s[20] != ' ' || (s[21] != '+' && s[21] != '-') ||
        !digits(22, 4, zone) || text_[pos_ + kShape.size()] != '"') {
        return fail("Invalid date-time");
    }
    if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zone % 100 > 59) {
        return fail("Invalid date-time");
    }
    const int zone_minutes = (zone / 100) * 60 + zone % 100;
    out = DateTime{Date{year, month, day}, hh, mm, ss, s[21] == '-' ? -zone_minutes : zone_minutes};
    pos_ += kShape.size() + 1;
    return true;
}

bool Cursor::open_paren() {
    if (!eat('(')) {
        return fail("Expected '('");
    }
    if (++depth_ > limits_.max_depth) {
        return fail("Too deeply nested");
    }
    return true;
}

bool Cursor::close_paren() {
    if (!eat(')')) {
        return fail(at_end() ? "Missing ')'" : "Expected ')'");
    }
    --depth_;
    return true;
}

bool Cursor::count_arg() {
    if (++args_ > limits_.max_args) {
        return fail("Too many arguments");
    }
    return true;
}

}  // namespace sov::imap::wire::detail
