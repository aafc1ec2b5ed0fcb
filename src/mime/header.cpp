#include "mime/header.hpp"

#include "mime/encoded_word.hpp"

namespace sov::mime {
namespace {

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

void append_lower(std::string& out, std::string_view s) {
    const std::size_t base = out.size();
    out.append(s);
    for (std::size_t i = base; i < out.size(); ++i) {
        out[i] = lower(out[i]);
    }
}

std::string to_lower(std::string_view s) {
    std::string out;
    append_lower(out, s);
    return out;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

std::string_view field_value_extent(std::string_view raw) noexcept {
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\n' && (i + 1 >= raw.size() || !is_wsp(raw[i + 1]))) {
            std::size_t end = i;
            if (end > 0 && raw[end - 1] == '\r') {
                --end;
            }
            return raw.substr(0, end);
        }
    }
    return raw;
}

std::string unfold(std::string_view raw) {
    raw = trim(raw);
    std::string out;
    out.reserve(raw.size());
    for (char c : raw) {
        // RFC 5322 §2.2.3: "unfolding is accomplished by simply removing any CRLF that is
        // immediately followed by WSP"; bare CR/LF (LF-only stores) are treated the same.
        if (c != '\r' && c != '\n') {
            out.push_back(c);
        }
    }
    return out;
}

std::string decode_unstructured(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    decode_encoded_words(trim(raw), out, EncodedWordMode::Text);
    return std::string(trim(out));
}

}  // namespace sov::mime
