#include "mailauth/dkim_tags.hpp"

namespace sov::mailauth {

namespace {

bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// §3.2: VALCHAR = %x21-3A / %x3C-7E (printable ASCII but ';').
bool is_valchar(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x21 && u <= 0x7E && u != ';';
}

bool is_fws_char(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Skips FWS (RFC 5322 §3.2.2 as used by RFC 6376 §2.8): WSP, and CRLF only when WSP follows, so
// a line break must be a fold. Returns false for a CRLF that is not a fold, or a bare CR/LF.
bool skip_fws(std::string_view in, std::size_t& pos) noexcept {
    while (pos < in.size()) {
        const char c = in[pos];
        if (c == ' ' || c == '\t') {
            ++pos;
        } else if (c == '\r') {
            if (pos + 2 < in.size() && in[pos + 1] == '\n' &&
                (in[pos + 2] == ' ' || in[pos + 2] == '\t')) {
                pos += 3;
            } else {
                return false;
            }
        } else if (c == '\n') {
            return false;
        } else {
            break;
        }
    }
    return true;
}

}  // namespace

TagList TagList::parse(std::string_view input, const TagLimits& limits) noexcept {
    TagList out;
    if (input.size() > limits.max_octets) {
        out.status_ = Status::TooLong;
        return out;
    }
    auto fail = [&out](Status status) {
        out.count_ = 0;
        out.status_ = status;
        return out;
    };
    std::size_t pos = 0;
    // tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
    while (true) {
        if (!skip_fws(input, pos)) {
            return fail(Status::Syntax);
        }
        if (pos == input.size()) {
            // An empty tag-spec is only allowed as the optional final ";" or an empty list.
            break;
        }
        // tag-name = ALPHA *ALNUMPUNC
        const std::size_t name_start = pos;
        if (!is_alpha(input[pos])) {
            return fail(Status::Syntax);
        }
        while (pos < input.size() &&
               (is_alpha(input[pos]) || is_digit(input[pos]) || input[pos] == '_')) {
            ++pos;
        }
        const auto name = input.substr(name_start, pos - name_start);
        if (!skip_fws(input, pos) || pos == input.size() || input[pos] != '=') {
            return fail(Status::Syntax);
        }
        ++pos;
        if (!skip_fws(input, pos)) {
            return fail(Status::Syntax);
        }
        // tag-value = [ tval *( 1*(WSP / FWS) tval ) ]; tval = 1*VALCHAR
        const std::size_t value_start = pos;
        std::size_t value_end = pos;
        while (pos < input.size() && input[pos] != ';') {
            if (is_valchar(input[pos])) {
                ++pos;
                value_end = pos;
            } else if (is_fws_char(input[pos])) {
                if (!skip_fws(input, pos)) {
                    return fail(Status::Syntax);
                }
            } else {
                return fail(Status::Syntax);
            }
        }
        for (std::size_t i = 0; i < out.count_; ++i) {
            if (out.tags_[i].name == name) {
                return fail(Status::DuplicateTag);
            }
        }
        if (out.count_ == kMaxTags) {
            return fail(Status::TooManyTags);
        }
        out.tags_[out.count_++] = {name, input.substr(value_start, value_end - value_start)};
        if (pos == input.size()) {
            break;
        }
        ++pos;  // the ';'
    }
    out.status_ = Status::Ok;
    return out;
}

std::optional<std::string_view> TagList::find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
        if (tags_[i].name == name) {
            return tags_[i].value;
        }
    }
    return std::nullopt;
}

std::string_view to_string(TagList::Status status) noexcept {
    switch (status) {
        case TagList::Status::Ok:
            return "ok";
        case TagList::Status::Syntax:
            return "syntax error";
        case TagList::Status::DuplicateTag:
            return "duplicate tag";
        case TagList::Status::TooManyTags:
            return "too many tags";
        case TagList::Status::TooLong:
            return "tag list too long";
    }
    return "?";
}

std::string strip_fws(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (!is_fws_char(c)) {
            out += c;
        }
    }
    return out;
}

}  // namespace sov::mailauth
