#include "mime/date.hpp"

#include <array>

namespace sov::mime {
namespace {

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// A tokenizer over CFWS-separated words; returns false on an unbalanced comment.
class Lexer {
public:
    explicit Lexer(std::string_view s) noexcept : s_(s) {}

    bool skip_cfws() noexcept {
        while (i_ < s_.size()) {
            if (is_space(s_[i_]) || s_[i_] == ',') {
                ++i_;
            } else if (s_[i_] == '(') {
                int depth = 0;
                for (;;) {
                    if (i_ >= s_.size()) {
                        return false;
                    }
                    const char c = s_[i_++];
                    if (c == '\\') {
                        ++i_;
                    } else if (c == '(') {
                        ++depth;
                    } else if (c == ')' && --depth == 0) {
                        break;
                    }
                }
            } else {
                break;
            }
        }
        return true;
    }

    // Reads a run of digits; returns -1 if there is none.
    int number(int& digits) noexcept {
        digits = 0;
        int v = 0;
        while (i_ < s_.size() && is_digit(s_[i_]) && digits < 9) {
            v = v * 10 + (s_[i_] - '0');
            ++i_;
            ++digits;
        }
        return digits == 0 ? -1 : v;
    }

    std::string_view word() noexcept {
        const std::size_t b = i_;
        while (i_ < s_.size() && is_alpha(s_[i_])) {
            ++i_;
        }
        return s_.substr(b, i_ - b);
    }

    bool eat(char c) noexcept {
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }

    [[nodiscard]] char peek() const noexcept { return i_ < s_.size() ? s_[i_] : '\0'; }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

int month_from_name(std::string_view w) noexcept {
    static constexpr std::array<std::string_view, 12> kMonths = {
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"
    };
    if (w.size() < 3) {
        return 0;
    }
    for (std::size_t m = 0; m < kMonths.size(); ++m) {
        if (lower(w[0]) == kMonths[m][0] && lower(w[1]) == kMonths[m][1] &&
            lower(w[2]) == kMonths[m][2]) {
            return static_cast<int>(m) + 1;
        }
    }
    return 0;
}

// RFC 5322 §4.3 obs-zone: the US zones; everything else alphabetic (UT, GMT, military, unknown)
// is +0000.
int zone_from_name(std::string_view w) noexcept {
    struct Zone {
        std::string_view name;
        int hours;
    };
    static constexpr std::array<Zone, 8> kZones = {
        {{"est", -5},
         {"edt", -4},
         {"cst", -6},
         {"cdt", -5},
         {"mst", -7},
         {"mdt", -6},
         {"pst", -8},
         {"pdt", -7}}
    };
    if (w.size() >= 3) {
        for (const auto& z : kZones) {
            if (lower(w[0]) == z.name[0] && lower(w[1]) == z.name[1] && lower(w[2]) == z.name[2]) {
                return z.hours * 60;
            }
        }
    }
    return 0;
}

// Howard Hinnant's days_from_civil.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::int64_t DateTime::unix_time() const noexcept {
    const std::int64_t days =
        days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    return days * 86400 + hour * 3600 + minute * 60 + second - zone_minutes * 60;
}

std::optional<DateTime> parse_date(std::string_view s) noexcept {
    // Received: fields carry the date after the last ';' (RFC 5322 §3.6.7).
    if (const auto semi = s.rfind(';'); semi != std::string_view::npos) {
        s = s.substr(semi + 1);
    }
    Lexer lx(s);
    DateTime dt;
    int digits = 0;
    if (!lx.skip_cfws()) {
        return std::nullopt;
    }
    // [day-of-week ","]
    if (is_alpha(lx.peek())) {
        (void)lx.word();
        if (!lx.skip_cfws()) {
            return std::nullopt;
        }
    }
    dt.day = lx.number(digits);
    if (dt.day < 1 || dt.day > 31 || digits > 2 || !lx.skip_cfws()) {
        return std::nullopt;
    }
    if (is_alpha(lx.peek())) {
        dt.month = month_from_name(lx.word());
    } else {
        dt.month = lx.number(digits);  // seen in the wild: "20 11 79"
    }
    if (dt.month < 1 || dt.month > 12 || !lx.skip_cfws()) {
        return std::nullopt;
    }
    dt.year = lx.number(digits);
    if (dt.year < 0 || digits < 2 || digits > 4 || !lx.skip_cfws()) {
        return std::nullopt;
    }
    // RFC 5322 §4.3: 2-digit years < 50 are 20xx, otherwise 19xx; 3-digit years add 1900.
    if (digits == 2) {
        dt.year += dt.year < 50 ? 2000 : 1900;
    } else if (digits == 3) {
        dt.year += 1900;
    }
    dt.hour = lx.number(digits);
    if (dt.hour < 0 || dt.hour > 23 || !lx.skip_cfws() || !lx.eat(':') || !lx.skip_cfws()) {
        return std::nullopt;
    }
    dt.minute = lx.number(digits);
    if (dt.minute < 0 || dt.minute > 59 || !lx.skip_cfws()) {
        return std::nullopt;
    }
    if (lx.eat(':')) {
        if (!lx.skip_cfws()) {
            return std::nullopt;
        }
        dt.second = lx.number(digits);
        if (dt.second < 0 || dt.second > 60 || !lx.skip_cfws()) {
            return std::nullopt;
        }
    }
    const char sign = lx.peek();
    if (sign == '+' || sign == '-') {
        (void)lx.eat(sign);
        const int z = lx.number(digits);
        if (z < 0 || digits != 4 || z % 100 > 59) {
            return std::nullopt;
        }
        dt.zone_minutes = (z / 100) * 60 + z % 100;
        if (sign == '-') {
            dt.zone_minutes = -dt.zone_minutes;
        }
    } else if (is_alpha(sign)) {
        dt.zone_minutes = zone_from_name(lx.word());
    }
    return dt;
}

}  // namespace sov::mime
