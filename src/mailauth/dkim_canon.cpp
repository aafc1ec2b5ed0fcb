#include "mailauth/dkim_canon.hpp"

#include <algorithm>

namespace sov::mailauth {

namespace {

bool is_wsp(char c) noexcept {
    return c == ' ' || c == '\t';
}

char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// RFC 5322 §3.6.8: ftext = %d33-57 / %d59-126.
bool is_ftext(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u >= 33 && u <= 126 && u != ':';
}

}  // namespace

std::string_view to_string(Canon canon) noexcept {
    return canon == Canon::Simple ? "simple" : "relaxed";
}

std::optional<Canon> canon_from_string(std::string_view name) noexcept {
    auto equals = [&](std::string_view want) {
        return std::equal(name.begin(), name.end(), want.begin(), want.end(), [](char a, char b) {
            return ascii_lower(a) == b;
        });
    };
    if (equals("simple")) {
        return Canon::Simple;
    }
    if (equals("relaxed")) {
        return Canon::Relaxed;
    }
    return std::nullopt;
}

SplitMessage split_message(std::string_view message, const HeaderLimits& limits) {
    SplitMessage out;
    std::size_t pos = 0;
    std::size_t field_start = std::string_view::npos;
    auto close_field = [&](std::size_t end) {
        if (field_start == std::string_view::npos) {
            return true;
        }
        const auto raw = message.substr(field_start, end - field_start);
        field_start = std::string_view::npos;
        const auto colon = raw.find(':');
        if (colon == std::string_view::npos) {
            return false;
        }
        auto name = raw.substr(0, colon);
        // RFC 5322 §4.5.8 (obs-optional): WSP may sit between the name and the colon.
        while (!name.empty() && is_wsp(name.back())) {
            name.remove_suffix(1);
        }
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_ftext)) {
            return false;
        }
        if (out.fields.size() >= limits.max_fields) {
            out.status = SplitMessage::Status::TooManyFields;
            return false;
        }
        out.fields.push_back({name, raw});
        return true;
    };
    auto fail = [&](SplitMessage::Status status) {
        if (out.status == SplitMessage::Status::Ok) {
            out.status = status;
        }
        out.fields.clear();
        return out;
    };
    while (pos < message.size()) {
        const auto crlf = message.find("\r\n", pos);
        const std::size_t line_end = crlf == std::string_view::npos ? message.size() : crlf;
        const std::size_t next = crlf == std::string_view::npos ? message.size() : crlf + 2;
        if (line_end == pos) {
            // RFC 5322 §2.1: the empty line separates header and body.
            if (!close_field(pos >= 2 ? pos - 2 : pos)) {
                return fail(SplitMessage::Status::BadField);
            }
            out.body_offset = next;
            return out;
        }
        if (is_wsp(message[pos])) {
            // RFC 5322 §2.2.3: a continuation line of the field before it.
            if (field_start == std::string_view::npos) {
                return fail(SplitMessage::Status::BadField);
            }
        } else {
            if (!close_field(pos - (pos >= 2 ? 2 : 0))) {
                return fail(SplitMessage::Status::BadField);
            }
            field_start = pos;
        }
        pos = next;
    }
    // No empty line: the whole message is header and the body is empty.
    const std::size_t end = message.ends_with("\r\n") ? message.size() - 2 : message.size();
    if (!close_field(end)) {
        return fail(SplitMessage::Status::BadField);
    }
    out.body_offset = message.size();
    return out;
}

std::string canonicalize_header(Canon canon, std::string_view raw_field) {
    if (canon == Canon::Simple) {
        // RFC 6376 §3.4.1: no change at all.
        return std::string(raw_field);
    }
    // RFC 6376 §3.4.2.
    std::string out;
    out.reserve(raw_field.size());
    const auto colon = raw_field.find(':');
    auto name = raw_field.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) {
        name.remove_suffix(1);  // "Delete any WSP characters remaining before ... the colon"
    }
    for (char c : name) {
        out += ascii_lower(c);  // "Convert all header field names ... to lowercase"
    }
    if (colon == std::string_view::npos) {
        return out;
    }
    out += ':';
    bool pending_wsp = false;
    bool any_value = false;
    const auto value = raw_field.substr(colon + 1);
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
            ++i;  // "Unfold all header field continuation lines": delete the CRLF
            continue;
        }
        if (is_wsp(c)) {
            pending_wsp = true;  // "Convert all sequences of one or more WSP ... to a single SP"
            continue;
        }
        // WSP after the colon and at the end of the value is deleted: only WSP between two
        // non-WSP characters of the value survives.
        if (pending_wsp && any_value) {
            out += ' ';
        }
        pending_wsp = false;
        any_value = true;
        out += c;
    }
    return out;
}

std::string canonical_header_data(
    Canon canon, const std::vector<HeaderField>& fields, const std::vector<std::string>& names
) {
    std::string out;
    std::vector<bool> used(fields.size(), false);
    auto same_name = [](std::string_view a, std::string_view b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
            return ascii_lower(x) == ascii_lower(y);
        });
    };
    for (const auto& name : names) {
        for (std::size_t i = fields.size(); i-- > 0;) {
            if (!used[i] && same_name(fields[i].name, name)) {
                used[i] = true;
                out += canonicalize_header(canon, fields[i].raw);
                out += "\r\n";
                break;
            }
        }
    }
    return out;
}

void BodyCanonicalizer::content_byte(char c, std::string& out) {
    if (at_line_start_) {
        // The held-back empty lines were not trailing after all.
        for (; pending_empty_lines_ > 0; --pending_empty_lines_) {
            out += "\r\n";
        }
        at_line_start_ = false;
    }
    if (pending_wsp_) {
        out += ' ';  // RFC 6376 §3.4.4: a WSP run inside a line becomes one SP
        pending_wsp_ = false;
    }
    out += c;
    emitted_any_ = true;
}

void BodyCanonicalizer::line_end(std::string& out) {
    pending_wsp_ = false;  // §3.4.4: "Ignore all whitespace at the end of lines"
    if (at_line_start_) {
        // §3.4.3 / §3.4.4: empty lines at the end of the body are ignored; we only know they are
        // at the end when the body ends, so count them.
        ++pending_empty_lines_;
        return;
    }
    out += "\r\n";
    at_line_start_ = true;
}

void BodyCanonicalizer::update(std::string_view chunk, std::string& out) {
    std::size_t i = 0;
    if (pending_cr_ && !chunk.empty()) {
        pending_cr_ = false;
        if (chunk.front() == '\n') {
            line_end(out);
            i = 1;
        } else {
            content_byte('\r', out);
        }
    }
    for (; i < chunk.size(); ++i) {
        const char c = chunk[i];
        if (c == '\r') {
            if (i + 1 == chunk.size()) {
                pending_cr_ = true;
                return;
            }
            if (chunk[i + 1] == '\n') {
                line_end(out);
                ++i;
                continue;
            }
            content_byte(c, out);
            continue;
        }
        if (canon_ == Canon::Relaxed && is_wsp(c)) {
            pending_wsp_ = true;
            continue;
        }
        // A run of ordinary bytes: the first goes through content_byte() (held-back empty lines,
        // a pending SP), the rest is copied as it is.
        const std::string_view specials =
            canon_ == Canon::Relaxed ? std::string_view("\r \t") : std::string_view("\r");
        const auto end = std::min(chunk.find_first_of(specials, i + 1), chunk.size());
        content_byte(c, out);
        out.append(chunk.substr(i + 1, end - i - 1));
        i = end - 1;
    }
}

void BodyCanonicalizer::finish(std::string& out) {
    if (pending_cr_) {
        pending_cr_ = false;
        content_byte('\r', out);
    }
    pending_wsp_ = false;
    if (!at_line_start_) {
        // §3.4.3 / §3.4.4: a body that does not end with CRLF gets one.
        out += "\r\n";
        at_line_start_ = true;
    }
    pending_empty_lines_ = 0;
    if (canon_ == Canon::Simple && !emitted_any_) {
        // §3.4.3: "If there is no body or no CRLF at the end of the body, a CRLF is added."
        // (Relaxed keeps an empty body empty: §3.4.4 and erratum 1384.)
        out += "\r\n";
    }
}

BodyHasher::BodyHasher(Canon canon, std::optional<std::uint64_t> length_limit)
    : canon_(canon), limit_(length_limit), ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
        ctx_.reset();  // finish() then returns zeros; only reachable when OpenSSL is out of memory
    }
}

void BodyHasher::consume(std::string_view canonical) {
    produced_ += canonical.size();
    if (limit_) {
        const std::uint64_t room = *limit_ > hashed_ ? *limit_ - hashed_ : 0;
        canonical = canonical.substr(
            0, static_cast<std::size_t>(std::min<std::uint64_t>(room, canonical.size()))
        );
    }
    if (ctx_ && !canonical.empty()) {
        EVP_DigestUpdate(ctx_.get(), canonical.data(), canonical.size());
    }
    hashed_ += canonical.size();
}

void BodyHasher::update(std::string_view chunk) {
    scratch_.clear();
    canon_.update(chunk, scratch_);
    consume(scratch_);
}

std::array<std::uint8_t, 32> BodyHasher::finish() {
    scratch_.clear();
    canon_.finish(scratch_);
    consume(scratch_);
    std::array<std::uint8_t, 32> digest{};
    unsigned int size = 0;
    if (ctx_) {
        EVP_DigestFinal_ex(ctx_.get(), digest.data(), &size);
        ctx_.reset();
    }
    return digest;
}

std::string canonicalize_body(Canon canon, std::string_view body) {
    std::string out;
    BodyCanonicalizer canonicalizer(canon);
    canonicalizer.update(body, out);
    canonicalizer.finish(out);
    return out;
}

std::array<std::uint8_t, 32> body_hash(Canon canon, std::string_view body) {
    BodyHasher hasher(canon);
    hasher.update(body);
    return hasher.finish();
}

}  // namespace sov::mailauth
