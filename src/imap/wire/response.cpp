#include "imap/wire/response.hpp"

#include <array>

#include "imap/wire/chars.hpp"
#include "mime/mutf7.hpp"

namespace sov::imap::wire {

std::string_view condition_name(Condition c) noexcept {
    switch (c) {
        case Condition::Ok:
            return "OK";
        case Condition::No:
            return "NO";
        case Condition::Bad:
            return "BAD";
        case Condition::Preauth:
            return "PREAUTH";
        case Condition::Bye:
            return "BYE";
    }
    return "BAD";
}

void ResponseWriter::text(std::string_view t, Condition c) {
    // text = 1*TEXT-CHAR (RFC 3501 §9; RFC 9051 makes it optional, rev1 clients need it).
    if (t.empty()) {
        t = c == Condition::Ok ? "Completed" : "Failed";
    }
    // A resp-text starting with "[" would be read as a response code.
    if (t.front() == '[') {
        out_ += ' ';
    }
    for (const char ch : t) {
        out_ += (ch == '\r' || ch == '\n' || ch == '\0') ? ' ' : ch;
    }
    out_ += "\r\n";
}

void ResponseWriter::tagged(
    std::string_view tag, Condition condition, std::string_view code, std::string_view message
) {
    out_ += tag;
    out_ += ' ';
    out_ += condition_name(condition);
    out_ += ' ';
    if (!code.empty()) {
        out_ += '[';
        out_ += code;
        out_ += "] ";
    }
    text(message, condition);
    need_space_ = false;
}

void ResponseWriter::untagged(Condition condition, std::string_view code, std::string_view t) {
    tagged("*", condition, code, t);
}

void ResponseWriter::continuation(std::string_view t) {
    out_ += "+ ";
    for (const char ch : t) {
        out_ += (ch == '\r' || ch == '\n' || ch == '\0') ? ' ' : ch;
    }
    out_ += "\r\n";
    need_space_ = false;
}

void ResponseWriter::parse_error(const ParseError& error, bool fatal) {
    if (fatal) {
        untagged(Condition::Bye, error.code, error.text);
        return;
    }
    const Condition c = error.kind == ParseError::Kind::No ? Condition::No : Condition::Bad;
    if (error.tag.empty()) {
        untagged(Condition::Bad, error.code, error.text);  // tag unknown (RFC 9051 §7.1.3)
    } else {
        tagged(error.tag, c, error.code, error.text);
    }
}

void ResponseWriter::separate() {
    if (need_space_) {
        out_ += ' ';
    }
    need_space_ = true;
}

ResponseWriter& ResponseWriter::begin_untagged() {
    out_ += "* ";
    need_space_ = false;
    return *this;
}

ResponseWriter& ResponseWriter::begin_continuation() {
    out_ += "+ ";
    need_space_ = false;
    return *this;
}

ResponseWriter& ResponseWriter::atom(std::string_view token) {
    separate();
    out_ += token;
    return *this;
}

ResponseWriter& ResponseWriter::number(std::uint64_t n) {
    separate();
    out_ += std::to_string(n);
    return *this;
}

ResponseWriter::StringForm ResponseWriter::string_form(std::string_view s) const noexcept {
    if (s.size() > options_.max_quoted) {
        return StringForm::Literal;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto u = static_cast<unsigned char>(s[i]);
        if (u >= 0x80) {
            // QUOTED-CHAR =/ UTF8-2 / UTF8-3 / UTF8-4 only for UTF-8 sessions (RFC 9051 §9,
            // RFC 6855 §3); rev1 clients get 8-bit data in literals.
            const std::size_t n = options_.utf8 ? utf8_sequence_length(s, i) : 0;
            if (n == 0) {
                return StringForm::Literal;
            }
            i += n - 1;
            continue;
        }
        if (!is_quoted_text_char(s[i])) {
            return StringForm::Literal;  // CR, LF, NUL
        }
    }
    return StringForm::Quoted;
}

ResponseWriter& ResponseWriter::string(std::string_view s) {
    if (string_form(s) == StringForm::Literal) {
        return literal(s);
    }
    separate();
    out_ += '"';
    for (const char ch : s) {
        if (is_quoted_special(ch)) {
            out_ += '\\';
        }
        out_ += ch;
    }
    out_ += '"';
    return *this;
}

ResponseWriter& ResponseWriter::astring(std::string_view s) {
    bool atom_ok = !s.empty() && !iequals(s, "NIL");
    for (const char ch : s) {
        atom_ok = atom_ok && is_astring_char(ch);
    }
    return atom_ok ? atom(s) : string(s);
}

ResponseWriter& ResponseWriter::nstring(std::optional<std::string_view> s) {
    return s ? string(*s) : nil();
}

ResponseWriter& ResponseWriter::nil() {
    return atom("NIL");
}

// Room for "{n}\r\n" and what usually follows a literal (")\r\n", the tagged reply).
constexpr std::size_t kLiteralOverhead = 128;

ResponseWriter& ResponseWriter::literal(std::string_view s) {
    reserve(s.size() + kLiteralOverhead);
    separate();
    out_ += '{';
    out_ += std::to_string(s.size());
    out_ += "}\r\n";
    out_ += s;
    return *this;
}

ResponseWriter& ResponseWriter::literal8(std::string_view s) {
    reserve(s.size() + kLiteralOverhead);
    separate();
    out_ += "~{";
    out_ += std::to_string(s.size());
    out_ += "}\r\n";
    out_ += s;
    return *this;
}

ResponseWriter& ResponseWriter::mailbox(std::string_view utf8_name) {
    if (options_.utf8) {
        return astring(utf8_name);
    }
    const auto encoded = mime::mutf7_encode(utf8_name);
    // Names come from our store and are valid UTF-8; anything else is sent as it is, in a
    // literal, rather than dropped.
    return encoded ? astring(*encoded) : string(utf8_name);
}

ResponseWriter& ResponseWriter::sequence_set(const SequenceSet& set) {
    return atom(to_string(set));
}

ResponseWriter& ResponseWriter::date_time(const DateTime& dt) {
    static constexpr std::array<std::string_view, 12> kMonths = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    auto two = [this](int v) {
        out_ += static_cast<char>('0' + (v / 10) % 10);
        out_ += static_cast<char>('0' + v % 10);
    };
    separate();
    out_ += '"';
    if (dt.date.day < 10) {
        out_ += ' ';  // date-day-fixed = (SP DIGIT) / 2DIGIT
        out_ += static_cast<char>('0' + dt.date.day);
    } else {
        two(dt.date.day);
    }
    out_ += '-';
    const int m = dt.date.month >= 1 && dt.date.month <= 12 ? dt.date.month : 1;
    out_ += kMonths[static_cast<std::size_t>(m - 1)];
    out_ += '-';
    two(dt.date.year / 100);
    two(dt.date.year % 100);
    out_ += ' ';
    two(dt.hour);
    out_ += ':';
    two(dt.minute);
    out_ += ':';
    two(dt.second);
    out_ += ' ';
    const int z = dt.zone_minutes < 0 ? -dt.zone_minutes : dt.zone_minutes;
    out_ += dt.zone_minutes < 0 ? '-' : '+';
    two(z / 60);
    two(z % 60);
    out_ += '"';
    return *this;
}

ResponseWriter& ResponseWriter::flag_list(std::span<const std::string> flags) {
    begin_list();
    for (const auto& f : flags) {
        atom(f);
    }
    return end_list();
}

ResponseWriter& ResponseWriter::begin_list() {
    separate();
    out_ += '(';
    need_space_ = false;
    return *this;
}

ResponseWriter& ResponseWriter::end_list() {
    out_ += ')';
    need_space_ = true;
    return *this;
}

void ResponseWriter::reserve(std::size_t more) {
    if (out_.capacity() - out_.size() < more) {
        out_.reserve(out_.size() + more);
    }
}

ResponseWriter& ResponseWriter::raw(std::string_view bytes) {
    out_ += bytes;
    return *this;
}

ResponseWriter& ResponseWriter::rendered(std::string_view tokens) {
    separate();
    out_ += tokens;
    return *this;
}

void ResponseWriter::end() {
    out_ += "\r\n";
    need_space_ = false;
}

}  // namespace sov::imap::wire
