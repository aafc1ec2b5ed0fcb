// RFC 5256 §2.1 base subject extraction, steps (1)-(7), on the ABNF of §5:
//   subj-refwd   = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
//   subj-blob    = "[" *BLOBCHAR "]" *WSP
//   subj-leader  = (*subj-blob subj-refwd) / WSP
//   subj-trailer = "(fwd)" / WSP
//   subj-fwd-hdr = "[fwd:"   subj-fwd-trl = "]"
#include <string>
#include <string_view>

#include "imap/search/search.hpp"
#include "mime/text.hpp"

namespace sov::imap::search {
namespace {

bool is_wsp(char c) noexcept {
    return c == ' ' || c == '\t';
}

// subj-blob at s[i]: "[" *BLOBCHAR "]" *WSP. Returns the index after it, or npos.
std::size_t match_blob(std::string_view s, std::size_t i) noexcept {
    if (i >= s.size() || s[i] != '[') {
        return std::string_view::npos;
    }
    ++i;
    while (i < s.size() && s[i] != '[' && s[i] != ']') {
        ++i;
    }
    if (i >= s.size() || s[i] != ']') {
        return std::string_view::npos;
    }
    ++i;
    while (i < s.size() && is_wsp(s[i])) {
        ++i;
    }
    return i;
}

// subj-refwd at s[i] (s is already lower-case). Returns the index after ':', or npos.
std::size_t match_refwd(std::string_view s, std::size_t i) noexcept {
    if (s.substr(i, 2) == "re") {
        i += 2;
    } else if (s.substr(i, 3) == "fwd") {
        i += 3;
    } else if (s.substr(i, 2) == "fw") {
        i += 2;
    } else {
        return std::string_view::npos;
    }
    while (i < s.size() && is_wsp(s[i])) {
        ++i;
    }
    if (const std::size_t b = match_blob(s, i); b != std::string_view::npos) {
        i = b;
    }
    if (i < s.size() && s[i] == ':') {
        return i + 1;
    }
    return std::string_view::npos;
}

// Step (3): one subj-leader at the start. Returns its length, 0 if none.
std::size_t match_leader(std::string_view s, bool& refwd) noexcept {
    if (!s.empty() && is_wsp(s[0])) {
        return 1;
    }
    std::size_t i = 0;
    for (;;) {  // *subj-blob subj-refwd
        if (const std::size_t r = match_refwd(s, i); r != std::string_view::npos) {
            refwd = true;
            return r;
        }
        const std::size_t b = match_blob(s, i);
        if (b == std::string_view::npos) {
            return 0;
        }
        i = b;
    }
}

// Step (1): RFC 2047 decoding, tabs and continuations to spaces, runs of spaces to one.
// Folded to lower case first, so "Re", "FWD" and "[Fwd:" need no special cases.
std::string normalise(std::string_view raw) {
    const std::string folded = mime::fold_case(mime::decode_header_value(raw));
    std::string out;
    out.reserve(folded.size());
    for (const char c : folded) {
        const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        if (space) {
            if (out.empty() || out.back() != ' ') {
                out.push_back(' ');
            }
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace

BaseSubject extract_base_subject(std::string_view raw_subject) {
    BaseSubject result;
    std::string s = normalise(raw_subject);
    for (;;) {
        // (2) trailers: "(fwd)" and WSP, repeatedly.
        for (;;) {
            if (!s.empty() && is_wsp(s.back())) {
                s.pop_back();
            } else if (s.size() >= 5 && std::string_view(s).substr(s.size() - 5) == "(fwd)") {
                s.resize(s.size() - 5);
                result.reply_or_forward = true;
            } else {
                break;
            }
        }
        // (3)-(5): leaders and leading blobs until neither matches.
        for (bool changed = true; changed;) {
            changed = false;
            bool refwd = false;
            for (std::size_t n = match_leader(s, refwd); n > 0; n = match_leader(s, refwd)) {
                s.erase(0, n);
                changed = true;
            }
            result.reply_or_forward = result.reply_or_forward || refwd;
            // (4) a leading blob goes if a non-empty subj-base remains after it.
            const std::size_t b = match_blob(s, 0);
            if (b != std::string_view::npos && b < s.size()) {
                s.erase(0, b);
                changed = true;
            }
        }
        // (6) "[fwd:" subject "]": unwrap and start again from (2).
        if (s.size() >= 6 && s.compare(0, 5, "[fwd:") == 0 && s.back() == ']') {
            s = s.substr(5, s.size() - 6);
            result.reply_or_forward = true;
            continue;
        }
        break;
    }
    result.text = std::move(s);  // (7)
    return result;
}

std::string base_subject(std::string_view raw_subject) {
    return extract_base_subject(raw_subject).text;
}

}  // namespace sov::imap::search
