#include "mailauth/dkim_canon.hpp"

#include <algorithm>
#include <cstring>

#include "core/ascii.hpp"

namespace sov::mailauth {

namespace {

bool is_wsp(char c) noexcept {
    return c == ' ' || c == '\t';
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
            return core::ascii_lower(a) == b;
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
    std::string out;
    out.reserve(raw_field.size());
    append_canonical_header(canon, raw_field, out);
    return out;
}

void append_canonical_header(Canon canon, std::string_view raw_field, std::string& out) {
    if (canon == Canon::Simple) {
        // RFC 6376 §3.4.1: no change at all.
        out.append(raw_field);
        return;
    }
    // RFC 6376 §3.4.2.
    const auto colon = raw_field.find(':');
    auto name = raw_field.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) {
        name.remove_suffix(1);  // "Delete any WSP characters remaining before ... the colon"
    }
    const std::size_t name_start = out.size();
    out.append(name);
    for (std::size_t i = name_start; i < out.size(); ++i) {
        out[i] = core::ascii_lower(out[i]);  // "Convert all header field names ... to lowercase"
    }
    if (colon == std::string_view::npos) {
        return;
    }
    out += ':';
    bool pending_wsp = false;
    bool any_value = false;
    const auto value = raw_field.substr(colon + 1);
    std::size_t i = 0;
    while (i < value.size()) {
        const char c = value[i];
        if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
            i += 2;  // "Unfold all header field continuation lines": delete the CRLF
            continue;
        }
        if (is_wsp(c)) {
            pending_wsp = true;  // "Convert all sequences of one or more WSP ... to a single SP"
            ++i;
            continue;
        }
        // WSP after the colon and at the end of the value is deleted: only WSP between two
        // non-WSP characters of the value survives.
        if (pending_wsp && any_value) {
            out += ' ';
        }
        pending_wsp = false;
        any_value = true;
        // The run up to the next WSP or CR is copied as it is (a CR starts a run only when it is
        // not part of a CRLF: then it is data).
        std::size_t run_end = i + 1;
        while (run_end < value.size() && !is_wsp(value[run_end]) && value[run_end] != '\r') {
            ++run_end;
        }
        out.append(value.substr(i, run_end - i));
        i = run_end;
    }
}

std::string canonical_header_data(
    Canon canon, const std::vector<HeaderField>& fields, const std::vector<std::string>& names
) {
    const std::vector<std::string_view> views(names.begin(), names.end());
    std::string out;
    std::vector<std::uint8_t> used;
    append_canonical_header_data(canon, fields, views, out, used);
    return out;
}

void append_canonical_header_data(
    Canon canon,
    std::span<const HeaderField> fields,
    std::span<const std::string_view> names,
    std::string& out,
    std::vector<std::uint8_t>& used
) {
    used.assign(fields.size(), 0);
    auto same_name = [](std::string_view a, std::string_view b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
            return core::ascii_lower(x) == core::ascii_lower(y);
        });
    };
    for (const auto name : names) {
        for (std::size_t i = fields.size(); i-- > 0;) {
            if (used[i] == 0 && same_name(fields[i].name, name)) {
                used[i] = 1;
                append_canonical_header(canon, fields[i].raw, out);
                out += "\r\n";
                break;
            }
        }
    }
}

const EVP_MD* sha256_md() noexcept {
    static const EVP_MD* const md = [] {
        const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        return fetched != nullptr ? fetched : EVP_sha256();  // kept for the process's life
    }();
    return md;
}

namespace {

// Byte classes for the body scanner. Relaxed treats WSP specially (§3.4.4), both treat CR
// specially (the first half of a line end).
enum : std::uint8_t {
    kPlain = 0,
    kWsp = 1,
    kCr = 2,
};

constexpr std::array<std::uint8_t, 256> make_classes(bool relaxed) {
    std::array<std::uint8_t, 256> out{};
    out[static_cast<unsigned char>('\r')] = kCr;
    if (relaxed) {
        out[static_cast<unsigned char>(' ')] = kWsp;
        out[static_cast<unsigned char>('\t')] = kWsp;
    }
    return out;
}

constexpr auto kRelaxedClasses = make_classes(true);

std::uint8_t relaxed_class(char c) noexcept {
    return kRelaxedClasses[static_cast<unsigned char>(c)];
}

// The end of the run of bytes from `p` that relaxed canonicalisation copies unchanged: it stops
// at a CR, a tab, and a SP that is not a lone SP between two ordinary bytes (a lone SP is its
// own canonical form, and it is by far the most common WSP in text).
const char* relaxed_plain_run(const char* p, const char* end) noexcept {
    while (p < end) {
        const std::uint8_t c = relaxed_class(*p);
        if (c == kPlain) {
            ++p;
        } else if (*p == ' ' && p + 1 < end && relaxed_class(p[1]) == kPlain) {
            p += 2;
        } else {
            break;
        }
    }
    return p;
}

// Simple canonicalisation changes nothing inside a line: the run ends at the next CR.
const char* simple_plain_run(const char* p, const char* end) noexcept {
    const void* cr = std::memchr(p, '\r', static_cast<std::size_t>(end - p));
    return cr == nullptr ? end : static_cast<const char*>(cr);
}

struct StringSink {
    std::string& out;
    void append(const char* data, std::size_t size) { out.append(data, size); }
};

constexpr std::string_view kCrlf = "\r\n";
// Held-back empty lines are written in pieces of this many CRLFs.
constexpr std::string_view kCrlfs =
    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

}  // namespace

// Called before the first content byte of a line (and before a pending SP inside one).
template <typename Sink>
void BodyCanonicalizer::start_content(Sink& sink) {
    if (at_line_start_) {
        // The held-back empty lines were not trailing after all.
        while (pending_empty_lines_ > 0) {
            const auto n = std::min<std::uint64_t>(pending_empty_lines_, kCrlfs.size() / 2);
            sink.append(kCrlfs.data(), static_cast<std::size_t>(n) * 2);
            pending_empty_lines_ -= n;
        }
        at_line_start_ = false;
    }
    if (pending_wsp_) {
        sink.append(" ", 1);  // RFC 6376 §3.4.4: a WSP run inside a line becomes one SP
        pending_wsp_ = false;
    }
    emitted_any_ = true;
}

template <typename Sink>
void BodyCanonicalizer::line_end(Sink& sink) {
    pending_wsp_ = false;  // §3.4.4: "Ignore all whitespace at the end of lines"
    if (at_line_start_) {
        // §3.4.3 / §3.4.4: empty lines at the end of the body are ignored; we only know they are
        // at the end when the body ends, so count them.
        ++pending_empty_lines_;
        return;
    }
    sink.append(kCrlf.data(), kCrlf.size());
    at_line_start_ = true;
}

template <typename Sink>
void BodyCanonicalizer::run(std::string_view chunk, Sink& sink) {
    const char* p = chunk.data();
    const char* const end = p + chunk.size();
    if (p == end) {
        return;
    }
    if (pending_cr_) {
        pending_cr_ = false;
        if (*p == '\n') {
            line_end(sink);
            ++p;
        } else {
            start_content(sink);
            sink.append("\r", 1);  // a CR without LF is data
        }
    }
    const bool relaxed = canon_ == Canon::Relaxed;
    while (p < end) {
        const char c = *p;
        if (c == '\r') {
            if (p + 1 == end) {
                pending_cr_ = true;  // the next chunk tells whether this is a line end
                return;
            }
            if (p[1] == '\n') {
                line_end(sink);
                p += 2;
                continue;
            }
            // A CR without LF is data: it starts the run below.
        } else if (relaxed && (c == ' ' || c == '\t')) {
            // §3.4.4: "Reduce all sequences of WSP within a line to a single SP"; written only when
            // content follows, so WSP before the line end (here or in a later chunk) disappears.
            ++p;
            while (p < end && (*p == ' ' || *p == '\t')) {
                ++p;
            }
            pending_wsp_ = true;
            continue;
        }
        start_content(sink);
        const char* run_end =
            relaxed ? relaxed_plain_run(p + 1, end) : simple_plain_run(p + 1, end);
        sink.append(p, static_cast<std::size_t>(run_end - p));
        p = run_end;
    }
}

template <typename Sink>
void BodyCanonicalizer::end(Sink& sink) {
    if (pending_cr_) {
        pending_cr_ = false;
        start_content(sink);
        sink.append("\r", 1);
    }
    pending_wsp_ = false;
    if (!at_line_start_) {
        // §3.4.3 / §3.4.4: a body that does not end with CRLF gets one.
        sink.append(kCrlf.data(), kCrlf.size());
        at_line_start_ = true;
    }
    pending_empty_lines_ = 0;
    if (canon_ == Canon::Simple && !emitted_any_) {
        // §3.4.3: "If there is no body or no CRLF at the end of the body, a CRLF is added."
        // (Relaxed keeps an empty body empty: §3.4.4 and erratum 1384.)
        sink.append(kCrlf.data(), kCrlf.size());
    }
}

void BodyCanonicalizer::update(std::string_view chunk, std::string& out) {
    StringSink sink{out};
    run(chunk, sink);
}

void BodyCanonicalizer::finish(std::string& out) {
    StringSink sink{out};
    end(sink);
}

struct BodyHasher::Sink {
    BodyHasher& hasher;
    void append(const char* data, std::size_t size) { hasher.consume(data, size); }
};

BodyHasher::BodyHasher(Canon canon, std::optional<std::uint64_t> length_limit)
    : canon_(canon),
      limit_(length_limit),
      ctx_(EVP_MD_CTX_new()),
      buffer_(std::make_unique_for_overwrite<char[]>(kBufferSize)) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), sha256_md(), nullptr) != 1) {
        ctx_.reset();  // finish() then returns zeros; only reachable when OpenSSL is out of memory
    }
}

void BodyHasher::flush() noexcept {
    if (ctx_ && buffered_ > 0) {
        EVP_DigestUpdate(ctx_.get(), buffer_.get(), buffered_);
    }
    buffered_ = 0;
}

void BodyHasher::consume(const char* data, std::size_t size) {
    produced_ += size;
    if (limit_) {
        // §3.5 l=: only the first l= canonical octets are hashed.
        const std::uint64_t room = *limit_ > hashed_ ? *limit_ - hashed_ : 0;
        size = static_cast<std::size_t>(std::min<std::uint64_t>(room, size));
    }
    if (size == 0) {
        return;
    }
    hashed_ += size;
    if (buffered_ + size > kBufferSize) {
        flush();
        if (size >= kBufferSize) {
            // A long unchanged stretch (simple canonicalisation, long lines): straight through.
            if (ctx_) {
                EVP_DigestUpdate(ctx_.get(), data, size);
            }
            return;
        }
    }
    std::memcpy(buffer_.get() + buffered_, data, size);
    buffered_ += size;
}

void BodyHasher::update(std::string_view chunk) {
    Sink sink{*this};
    canon_.run(chunk, sink);
}

std::array<std::uint8_t, 32> BodyHasher::finish() {
    Sink sink{*this};
    canon_.end(sink);
    flush();
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
