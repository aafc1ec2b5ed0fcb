#include "imap/search/detail/text_match.hpp"

#include <cstring>

#include "mime/encoded_word.hpp"
#include "mime/header.hpp"
#include "mime/text.hpp"

namespace sov::imap::search::detail {

bool contains_folded(std::string_view haystack_folded, std::string_view needle_folded) noexcept {
    if (needle_folded.empty()) {
        return true;  // RFC 9051 §6.4.4: "the empty string is a substring"
    }
    if (needle_folded.size() > haystack_folded.size()) {
        return false;
    }
    // glibc memmem is a two-way search: linear, fast on long bodies.
    return ::memmem(
               haystack_folded.data(),
               haystack_folded.size(),
               needle_folded.data(),
               needle_folded.size()
           ) != nullptr;
}

void fold_header_value(std::string_view raw, std::string& out) {
    out.clear();
    // One pass (find_first_of would call memchr per byte): anything to decode or unfold?
    bool plain = true;
    for (std::size_t i = 0; i < raw.size() && plain; ++i) {
        const char c = raw[i];
        plain = c != '\r' && c != '\n' && !(c == '=' && i + 1 < raw.size() && raw[i + 1] == '?');
    }
    if (plain) {
        mime::append_folded(out, raw);  // nothing to decode: skip the decoder's copies
        return;
    }
    // decode_header_value() without its final copy; the buffer is reused across messages.
    thread_local std::string decoded;
    decoded.clear();
    mime::decode_encoded_words(mime::trim(raw), decoded, mime::EncodedWordMode::Text);
    mime::append_folded(out, mime::trim(decoded));
}

void address_text(const std::vector<mime::Address>& list, std::string_view raw, std::string& out) {
    if (list.empty()) {
        fold_header_value(raw, out);  // unparsable ("undisclosed-recipients"): raw text
        return;
    }
    thread_local std::string display;  // reused across messages
    display.clear();
    mime::append_address_display(display, list);
    out.clear();
    mime::append_folded(out, display);
}

bool address_contains(
    const std::vector<mime::Address>& list,
    std::string_view raw,
    std::string_view needle_folded,
    std::string& scratch
) {
    if (list.empty() && raw.empty()) {
        return needle_folded.empty();
    }
    address_text(list, raw, scratch);
    return contains_folded(scratch, needle_folded);
}

std::int64_t day_number(int year, int month, int day) noexcept {
    // Howard Hinnant's days_from_civil.
    const std::int64_t y = static_cast<std::int64_t>(year) - (month <= 2 ? 1 : 0);
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t mp = (month + 9) % 12;
    const std::int64_t doy = (153 * mp + 2) / 5 + day - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

std::int64_t local_day(std::int64_t unix_seconds, int zone_minutes) noexcept {
    const std::int64_t t = unix_seconds + static_cast<std::int64_t>(zone_minutes) * 60;
    return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

namespace {

// Skips a comment "(...)" (nested, with quoted-pairs) starting at v[i] == '('.
std::size_t skip_comment(std::string_view v, std::size_t i) noexcept {
    int depth = 0;
    while (i < v.size()) {
        const char c = v[i];
        if (c == '\\') {
            i += 2;
            continue;
        }
        if (c == '(') {
            ++depth;
        } else if (c == ')' && --depth == 0) {
            return i + 1;
        }
        ++i;
    }
    return v.size();
}

std::size_t skip_quoted(std::string_view v, std::size_t i) noexcept {
    for (++i; i < v.size(); ++i) {
        if (v[i] == '\\') {
            ++i;
        } else if (v[i] == '"') {
            return i + 1;
        }
    }
    return v.size();
}

// Reads "<...>" at v[i] == '<'; `out` gets the normalised id. Returns the index after it.
std::size_t read_msg_id(std::string_view v, std::size_t i, std::string& out) {
    out.clear();
    ++i;
    while (i < v.size() && v[i] != '>') {
        const char c = v[i];
        if (c == '"') {
            for (++i; i < v.size() && v[i] != '"'; ++i) {
                if (v[i] == '\\' && i + 1 < v.size()) {
                    ++i;
                }
                out.push_back(v[i]);
            }
            ++i;
            continue;
        }
        if (c == '(') {
            i = skip_comment(v, i);
            continue;
        }
        if (c == '<') {
            out.clear();  // "<a <b@c>": restart at the inner bracket
            ++i;
            continue;
        }
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            out.push_back(c);
        }
        ++i;
    }
    if (i >= v.size()) {
        out.clear();  // unterminated
        return v.size();
    }
    return i + 1;
}

bool valid_msg_id(std::string_view id) noexcept {
    const std::size_t at = id.rfind('@');
    return at != std::string_view::npos && at > 0 && at + 1 < id.size();
}

}  // namespace

std::vector<std::string> message_ids(std::string_view value) {
    std::vector<std::string> ids;
    std::string id;
    std::size_t i = 0;
    while (i < value.size()) {
        const char c = value[i];
        if (c == '(') {
            i = skip_comment(value, i);
        } else if (c == '"') {
            i = skip_quoted(value, i);
        } else if (c == '<') {
            i = read_msg_id(value, i, id);
            if (valid_msg_id(id)) {
                ids.push_back(id);
            }
        } else {
            ++i;
        }
    }
    return ids;
}

}  // namespace sov::imap::search::detail
