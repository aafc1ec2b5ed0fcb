#include "mime/structure.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "mime/header.hpp"

namespace sov::mime {
namespace {

constexpr std::size_t kNpos = std::string_view::npos;
// Recursion is bounded by max_depth; a caller-supplied huge value is capped so the C++ stack
// cannot overflow.
constexpr std::uint32_t kHardMaxDepth = 256;

// Where scanning for a boundary stopped.
struct Stop {
    std::size_t line = kNpos;  // offset of the "--boundary" line, kNpos = end of input
    std::size_t level = 0;     // index in the boundary stack
    bool close = false;        // "--boundary--"
};

// The header fields the structure needs, as raw value views (after the colon).
struct Fields {
    std::optional<std::string_view> content_type;
    std::optional<std::string_view> transfer_encoding;
    std::optional<std::string_view> content_id;
    std::optional<std::string_view> description;
    std::optional<std::string_view> disposition;
    std::optional<std::string_view> language;
    std::optional<std::string_view> location;
    std::optional<std::string_view> md5;
    std::optional<std::string_view> date;
    std::optional<std::string_view> subject;
    std::optional<std::string_view> from;
    std::optional<std::string_view> sender;
    std::optional<std::string_view> reply_to;
    std::optional<std::string_view> to;
    std::optional<std::string_view> cc;
    std::optional<std::string_view> bcc;
    std::optional<std::string_view> in_reply_to;
    std::optional<std::string_view> message_id;
};

void assign_first(std::optional<std::string_view>& slot, std::string_view v) {
    if (!slot) {
        slot = v;  // the first occurrence wins, as in Dovecot
    }
}

void record_field(Fields& f, std::string_view name, std::string_view value) {
    if (name.size() < 2) {
        return;
    }
    // Dispatch on the length first: cheap, and most fields are not interesting.
    switch (name.size()) {
        case 2:
            if (iequals(name, "to")) {
                assign_first(f.to, value);
            } else if (iequals(name, "cc")) {
                assign_first(f.cc, value);
            }
            break;
        case 3:
            if (iequals(name, "bcc")) {
                assign_first(f.bcc, value);
            }
            break;
        case 4:
            if (iequals(name, "date")) {
                assign_first(f.date, value);
            } else if (iequals(name, "from")) {
                assign_first(f.from, value);
            }
            break;
        case 6:
            if (iequals(name, "sender")) {
                assign_first(f.sender, value);
            }
            break;
        case 7:
            if (iequals(name, "subject")) {
                assign_first(f.subject, value);
            }
            break;
        case 8:
            if (iequals(name, "reply-to")) {
                assign_first(f.reply_to, value);
            }
            break;
        case 10:
            if (iequals(name, "message-id")) {
                assign_first(f.message_id, value);
            } else if (iequals(name, "content-id")) {
                assign_first(f.content_id, value);
            }
            break;
        case 11:
            if (iequals(name, "in-reply-to")) {
                assign_first(f.in_reply_to, value);
            } else if (iequals(name, "content-md5")) {
                assign_first(f.md5, value);
            }
            break;
        case 12:
            if (iequals(name, "content-type")) {
                assign_first(f.content_type, value);
            }
            break;
        case 16:
            if (iequals(name, "content-language")) {
                assign_first(f.language, value);
            } else if (iequals(name, "content-location")) {
                assign_first(f.location, value);
            }
            break;
        case 19:
            // Same length: "content-d" + 'e'scription / 'i'sposition.
            if (iequals(name, "content-description")) {
                assign_first(f.description, value);
            } else if (iequals(name, "content-disposition")) {
                assign_first(f.disposition, value);
            }
            break;
        case 25:
            if (iequals(name, "content-transfer-encoding")) {
                assign_first(f.transfer_encoding, value);
            }
            break;
        default:
            break;
    }
}

std::string first_token_lower(std::string_view v) {
    v = trim(v);
    std::size_t end = 0;
    while (end < v.size() && v[end] != ';' && v[end] != '(' && !is_wsp(v[end]) && v[end] != '\r' &&
           v[end] != '\n') {
        ++end;
    }
    return to_lower(v.substr(0, end));
}

void split_languages(std::string_view v, std::vector<std::string>& out) {
    // RFC 3282: Language-List = Language-Tag [CFWS] *("," [CFWS] Language-Tag [CFWS])
    std::size_t i = 0;
    while (i < v.size()) {
        while (i < v.size() &&
               (v[i] == ',' || v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n')) {
            ++i;
        }
        if (i < v.size() && v[i] == '(') {
            const std::size_t close = v.find(')', i);
            i = close == std::string_view::npos ? v.size() : close + 1;
            continue;
        }
        const std::size_t b = i;
        while (i < v.size() && v[i] != ',' && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' &&
               v[i] != '\n' && v[i] != '(') {
            ++i;
        }
        if (i > b) {
            out.emplace_back(v.substr(b, i - b));
        }
    }
}

class Parser {
public:
    Parser(std::string_view bytes, const ParseLimits& limits, MessageStructure& out)
        : b_(bytes),
          limits_(limits),
          max_depth_(std::min(limits.max_depth, kHardMaxDepth)),
          out_(out) {}

    void run() {
        boundaries_.reserve(max_depth_ + 2);
        last_child_.reserve(2 * max_depth_ + 4);
        out_.size = b_.size();
        (void)parse_entity(0, kNoIndex, 0, false, true);
        count_lines();
        for (const auto& part : out_.parts) {
            out_.problems |= part.problems;
        }
    }

private:
    // The boundary at the line starting at `line` among the first `levels` stack entries, longest
    // match first so an inner boundary that is a prefix of an outer one (or vice versa) is not
    // confused with it. RFC 2046 §5.1.1: the delimiter line starts with "--" boundary; anything
    // after it (transport padding, or junk as Dovecot tolerates) is ignored.
    [[nodiscard]] bool boundary_at(std::size_t line, std::size_t levels, Stop& stop) const {
        if (levels == 0 || line + 2 > b_.size() || b_[line] != '-' || b_[line + 1] != '-') {
            return false;
        }
        const std::string_view rest = b_.substr(line + 2);
        std::size_t best_len = 0;
        bool found = false;
        for (std::size_t k = 0; k < levels; ++k) {
            const std::string& bd = boundaries_[k];
            if (bd.size() >= best_len && rest.size() >= bd.size() &&
                std::memcmp(rest.data(), bd.data(), bd.size()) == 0) {
                // On equal length the innermost (highest k) wins.
                best_len = bd.size();
                stop.level = k;
                found = true;
            }
        }
        if (!found) {
            return false;
        }
        stop.line = line;
        stop.close =
            rest.size() >= best_len + 2 && rest[best_len] == '-' && rest[best_len + 1] == '-';
        return true;
    }

    // Whether the delimiter line `at` found at `line` (the start of part `idx`'s body) is
    // rather the first delimiter of the part's own multipart body, which needs no CRLF before
    // it (RFC 2046 §5.1.1: multipart-body := [preamble CRLF] dash-boundary ...). The inner
    // boundary wins as in boundary_at(): longest first, innermost on equal length.
    [[nodiscard]] bool opens_own_multipart(
        std::uint32_t idx, std::uint32_t depth, std::size_t line, const Stop& at
    ) const {
        const ContentType& ct = out_.parts[idx].content_type;
        const std::string* bd = ct.type == "multipart" ? ct.param("boundary") : nullptr;
        if (bd == nullptr || bd->empty() || depth >= max_depth_) {  // see parse_entity()
            return false;
        }
        const std::string_view rest = b_.substr(line + 2);
        return bd->size() >= boundaries_[at.level].size() && rest.size() >= bd->size() &&
               std::memcmp(rest.data(), bd->data(), bd->size()) == 0;
    }

    [[nodiscard]] std::size_t next_line(std::size_t pos) const {
        const void* nl = std::memchr(b_.data() + pos, '\n', b_.size() - pos);
        return nl == nullptr
                   ? b_.size()
                   : static_cast<std::size_t>(static_cast<const char*>(nl) - b_.data()) + 1;
    }

    // Scans from line start `pos` for the next boundary line among `levels` stack entries.
    [[nodiscard]] Stop find_boundary(std::size_t pos, std::size_t levels) const {
        Stop stop;
        if (levels == 0) {
            return stop;  // no enclosing multipart: the entity runs to the end
        }
        if (boundary_at(pos, levels, stop)) {
            return stop;
        }
        // Only lines starting with "--" can be delimiters; memchr from line to line.
        const char* data = b_.data();
        const std::size_t n = b_.size();
        while (pos < n) {
            const void* nl = std::memchr(data + pos, '\n', n - pos);
            if (nl == nullptr) {
                break;
            }
            pos = static_cast<std::size_t>(static_cast<const char*>(nl) - data) + 1;
            if (pos + 1 < n && data[pos] == '-' && data[pos + 1] == '-' &&
                boundary_at(pos, levels, stop)) {
                return stop;
            }
        }
        return Stop{};
    }

    // The part ends before the line break that precedes a delimiter (RFC 2046 §5.1.1: "the CRLF
    // preceding the boundary delimiter line is conceptually attached to the boundary").
    [[nodiscard]] std::size_t end_before(std::size_t line, std::size_t floor) const {
        std::size_t e = line;
        if (e > floor && b_[e - 1] == '\n') {
            --e;
            if (e > floor && b_[e - 1] == '\r') {
                --e;
            }
        }
        return e;
    }

    [[nodiscard]] std::size_t stop_end(const Stop& s, std::size_t floor) const {
        return s.line == kNpos ? b_.size() : end_before(s.line, floor);
    }

    std::uint32_t add_part(std::uint32_t parent, std::uint32_t& prev_sibling, std::size_t pos) {
        const auto idx = static_cast<std::uint32_t>(out_.parts.size());
        Part& p = out_.parts.emplace_back();
        p.header_offset = pos;
        p.parent = parent;
        if (parent != kNoIndex) {
            Part& par = out_.parts[parent];
            if (prev_sibling == kNoIndex) {
                par.first_child = idx;
            } else {
                out_.parts[prev_sibling].next_sibling = idx;
            }
            ++par.child_count;
            prev_sibling = idx;
        }
        return idx;
    }

    // Reads the header block at `pos`. Returns false if a boundary line ended it (`stop` set).
    // `blank` is set to the start of the empty line that ended it, if one did.
    bool read_header(
        std::size_t pos,
        std::uint32_t idx,
        Fields& f,
        std::size_t& body,
        std::size_t& blank,
        Stop& stop
    ) {
        const std::size_t levels = boundaries_.size();
        std::size_t field_line = kNpos;  // start of the field being accumulated
        std::size_t field_end = 0;       // end of its last line, without the line break
        std::uint32_t problems = kProblemNone;
        const auto commit = [&] {
            if (field_line == kNpos) {
                return;
            }
            const std::string_view line = b_.substr(field_line, field_end - field_line);
            const std::size_t colon = line.find(':');
            if (colon == std::string_view::npos) {
                problems |= kProblemBadHeaderLine;
            } else {
                // RFC 5322 §3.6.8 field-name; obsolete WSP before the colon (§4.5) is allowed.
                std::string_view name = line.substr(0, colon);
                while (!name.empty() && is_wsp(name.back())) {
                    name.remove_suffix(1);
                }
                record_field(f, name, line.substr(colon + 1));
            }
            field_line = kNpos;
        };
        std::size_t p = pos;
        bool ended = false;
        bool by_boundary = false;
        while (p < b_.size()) {
            if (levels > 0 && b_[p] == '-' && boundary_at(p, levels, stop)) {
                by_boundary = true;
                break;
            }
            const std::size_t next = next_line(p);
            std::size_t content_end = next;
            if (content_end > p && b_[content_end - 1] == '\n') {
                --content_end;
            }
            if (content_end > p && b_[content_end - 1] == '\r') {
                --content_end;
            }
            if (content_end == p) {
                body = next;  // RFC 5322 §2.1: the empty line ends the header section
                blank = p;
                ended = true;
                break;
            }
            if (p - pos >= limits_.max_header_bytes) {
                problems |= kProblemHeaderTooLong;
                commit();
            } else if (is_wsp(b_[p]) && field_line != kNpos) {
                field_end = content_end;  // folded continuation (RFC 5322 §2.2.3)
            } else {
                commit();
                field_line = p;
                field_end = content_end;
            }
            p = next;
        }
        commit();
        const std::size_t header_end = ended ? body : (by_boundary ? p : b_.size());
        if (std::memchr(b_.data() + pos, '\0', header_end - pos) != nullptr) {
            problems |= kProblemNul;
        }
        if (!ended) {
            body = header_end;
            if (header_end > pos) {
                problems |= kProblemNoHeaderEnd;
            }
        }
        out_.parts[idx].problems |= problems;
        return !by_boundary;
    }

    void apply_fields(std::uint32_t idx, const Fields& f, bool digest_child) {
        Part& p = out_.parts[idx];
        if (f.content_type) {
            if (parse_content_type(*f.content_type, p.content_type) &&
                !p.content_type.subtype.empty()) {
                p.content_type_given = true;
            } else {
                p.problems |= kProblemBadContentType;  // RFC 2045 §5.2: use the default
            }
        }
        if (!p.content_type_given) {
            p.content_type.params.clear();
            if (digest_child) {
                // RFC 2046 §5.1.5: in a digest the default is message/rfc822.
                p.content_type.type = "message";
                p.content_type.subtype = "rfc822";
            } else {
                // RFC 2045 §5.2: "Content-type: text/plain; charset=us-ascii" by default.
                p.content_type.type = "text";
                p.content_type.subtype = "plain";
                p.content_type.params.push_back(Parameter{"charset", "us-ascii", {}});
            }
        }
        if (f.transfer_encoding) {
            p.transfer_encoding = first_token_lower(*f.transfer_encoding);
        }
        if (f.content_id) {
            p.content_id = unfold(*f.content_id);
        }
        if (f.description) {
            p.description = unfold(*f.description);
        }
        if (f.md5) {
            p.md5 = unfold(*f.md5);
        }
        if (f.location) {
            p.location = unfold(*f.location);
        }
        if (f.disposition) {
            // RFC 2183: disposition-type *(";" disposition-parm)
            if (parse_content_type(*f.disposition, p.disposition)) {
                p.disposition.subtype.clear();
            }
        }
        if (f.language) {
            split_languages(*f.language, p.languages);
        }
    }

    void make_envelope(std::uint32_t idx, const Fields& f) {
        out_.parts[idx].envelope = static_cast<std::uint32_t>(out_.envelopes.size());
        Envelope& e = out_.envelopes.emplace_back();
        const auto raw = [](const std::optional<std::string_view>& v) {
            return v ? unfold(*v) : std::string{};
        };
        const auto addr = [](const std::optional<std::string_view>& v) {
            return v ? parse_address_list(*v) : std::vector<Address>{};
        };
        e.date = raw(f.date);
        e.subject = raw(f.subject);
        e.from = raw(f.from);
        e.sender = raw(f.sender);
        e.reply_to = raw(f.reply_to);
        e.to = raw(f.to);
        e.cc = raw(f.cc);
        e.bcc = raw(f.bcc);
        e.in_reply_to = raw(f.in_reply_to);
        e.message_id = raw(f.message_id);
        e.from_addr = addr(f.from);
        e.sender_addr = addr(f.sender);
        e.reply_to_addr = addr(f.reply_to);
        e.to_addr = addr(f.to);
        e.cc_addr = addr(f.cc);
        e.bcc_addr = addr(f.bcc);
    }

    // Parses one entity (header + body) starting at `pos`; returns where it stopped.
    Stop parse_entity(
        std::size_t pos,
        std::uint32_t parent,
        std::uint32_t depth,
        bool digest_child,
        bool message_root
    ) {
        std::uint32_t dummy = kNoIndex;
        std::uint32_t& prev = parent == kNoIndex ? dummy : last_child_slot(parent);
        const std::uint32_t idx = add_part(parent, prev, pos);
        Fields f;
        std::size_t body = pos;
        std::size_t blank = kNpos;
        Stop stop;
        const bool header_ok = read_header(pos, idx, f, body, blank, stop);
        apply_fields(idx, f, digest_child);
        if (message_root) {
            make_envelope(idx, f);
        }
        if (header_ok && blank != kNpos && !boundaries_.empty()) {
            // An "empty line" directly followed by a delimiter is the CRLF that belongs to the
            // delimiter (RFC 2046 §5.1.1): the part ends after its header fields, with no blank
            // line and no body, and its MIME header is the fields alone (RFC 9051 §6.4.5: "a
            // message which has no body and no blank line").
            Stop at;
            if (boundary_at(body, boundaries_.size(), at) &&
                !opens_own_multipart(idx, depth, body, at)) {
                body = blank;
            }
        }
        out_.parts[idx].body_offset = body;
        if (!header_ok) {
            // A delimiter inside the header block: the part has no body.
            const std::size_t e = end_before(stop.line, pos);
            out_.parts[idx].body_offset = e;
            out_.parts[idx].end_offset = e;
            return stop;
        }
        const ContentType& ct = out_.parts[idx].content_type;
        const bool nested_allowed = depth < max_depth_;
        if (ct.type == "multipart") {
            const std::string* bd = ct.param("boundary");
            if (bd == nullptr || bd->empty()) {
                out_.parts[idx].problems |= kProblemNoBoundary;
            } else if (!nested_allowed) {
                out_.parts[idx].problems |= kProblemDepthLimit;
            } else {
                return parse_multipart(idx, *bd, body, depth);
            }
        } else if (ct.type == "message" && (ct.subtype == "rfc822" || ct.subtype == "global")) {
            const std::string& cte = out_.parts[idx].transfer_encoding;
            if (cte == "base64" || cte == "quoted-printable") {
                // RFC 2046 §5.2.1 forbids encoding message/rfc822. The body is still parsed,
                // undecoded, as the nested message (as Dovecot does: base64 text becomes a
                // header without fields and an empty body), so that BODYSTRUCTURE and the
                // sections 2.HEADER, 2.1, 2.1.MIME describe the same bytes (RFC 9051 §6.4.5).
                out_.parts[idx].problems |= kProblemEncodedMessage;
            }
            if (!nested_allowed) {
                out_.parts[idx].problems |= kProblemDepthLimit;
            } else if (out_.parts.size() >= limits_.max_parts) {
                out_.parts[idx].problems |= kProblemPartLimit;
            } else {
                last_child_.push_back(kNoIndex);
                stop = parse_entity(body, idx, depth + 1, false, true);
                last_child_.pop_back();
                out_.parts[idx].end_offset = std::max<std::uint64_t>(
                    body, out_.parts[out_.parts[idx].first_child].end_offset
                );
                return stop;
            }
        }
        stop = find_boundary(body, boundaries_.size());
        out_.parts[idx].end_offset = stop_end(stop, body);
        return stop;
    }

    Stop parse_multipart(
        std::uint32_t idx, const std::string& boundary, std::size_t body, std::uint32_t depth
    ) {
        const std::size_t level = boundaries_.size();
        const bool digest = out_.parts[idx].content_type.subtype == "digest";
        boundaries_.push_back(boundary);  // copy: part strings may move when parts_ grows
        last_child_.push_back(kNoIndex);
        Stop s = find_boundary(body, level + 1);  // the preamble is skipped
        Stop result;
        bool closed = false;
        for (;;) {
            if (s.line == kNpos || s.level < level) {
                result = s;  // end of input or an outer boundary: no close delimiter
                break;
            }
            if (s.close) {
                // RFC 2046 §5.1.1: after the close delimiter comes the epilogue, which runs to
                // the next outer boundary.
                closed = true;
                const std::size_t after = next_line(s.line);
                boundaries_.pop_back();
                result = find_boundary(after, level);
                boundaries_.push_back(boundary);
                break;
            }
            const std::size_t child = next_line(s.line);
            if (child >= b_.size()) {
                result = Stop{};  // a delimiter as the last line: truncated, no further part
                break;
            }
            if (out_.parts.size() >= limits_.max_parts) {
                out_.parts[idx].problems |= kProblemPartLimit;
                s = find_boundary(child, level + 1);
                continue;
            }
            s = parse_entity(child, idx, depth + 1, digest, false);
        }
        last_child_.pop_back();
        boundaries_.pop_back();
        Part& p = out_.parts[idx];
        if (!closed) {
            p.problems |= kProblemNoCloseDelimiter;
        }
        if (p.first_child == kNoIndex) {
            p.problems |= kProblemNoParts;
        }
        p.end_offset = stop_end(result, body);
        return result;
    }

    std::uint32_t& last_child_slot(std::uint32_t /*parent*/) { return last_child_.back(); }

    // One pass over the message: cumulative LF / bare-LF counts at every part's body start and
    // end, so nested parts do not rescan their bytes once per level.
    void count_lines() {
        std::vector<std::uint64_t> marks;
        marks.reserve(out_.parts.size() * 2);
        for (const auto& p : out_.parts) {
            marks.push_back(p.header_offset);
            marks.push_back(p.body_offset);
            marks.push_back(p.end_offset);
        }
        std::sort(marks.begin(), marks.end());
        marks.erase(std::unique(marks.begin(), marks.end()), marks.end());
        std::vector<std::uint64_t> lf_at(marks.size());
        std::vector<std::uint64_t> bare_at(marks.size());
        const char* data = b_.data();
        std::uint64_t lf = 0;
        std::uint64_t bare = 0;
        std::size_t pos = 0;
        for (std::size_t m = 0; m < marks.size(); ++m) {
            const auto limit = static_cast<std::size_t>(marks[m]);
            while (pos < limit) {
                const void* nl = std::memchr(data + pos, '\n', limit - pos);
                if (nl == nullptr) {
                    pos = limit;
                    break;
                }
                const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - data);
                ++lf;
                if (at == 0 || data[at - 1] != '\r') {
                    ++bare;
                }
                pos = at + 1;
            }
            lf_at[m] = lf;
            bare_at[m] = bare;
        }
        const auto index_of = [&](std::uint64_t off) {
            return static_cast<std::size_t>(
                std::lower_bound(marks.begin(), marks.end(), off) - marks.begin()
            );
        };
        for (auto& p : out_.parts) {
            const std::size_t h = index_of(p.header_offset);
            const std::size_t b = index_of(p.body_offset);
            const std::size_t e = index_of(p.end_offset);
            p.header_bare_lf = bare_at[b] - bare_at[h];
            p.body_lines = lf_at[e] - lf_at[b];
            p.body_bare_lf = bare_at[e] - bare_at[b];
            if (p.end_offset > p.body_offset && data[p.end_offset - 1] != '\n') {
                ++p.body_lines;  // a last line without line break still counts
            }
        }
    }

    std::string_view b_;
    const ParseLimits& limits_;
    std::uint32_t max_depth_;
    MessageStructure& out_;
    std::vector<std::string> boundaries_;
    std::vector<std::uint32_t> last_child_;  // per open container: its last child so far
};

}  // namespace

std::vector<std::uint32_t> MessageStructure::children(std::uint32_t index) const {
    std::vector<std::uint32_t> out;
    if (index >= parts.size()) {
        return out;
    }
    for (std::uint32_t c = parts[index].first_child; c != kNoIndex && c < parts.size();
         c = parts[c].next_sibling) {
        out.push_back(c);
        if (out.size() > parts.size()) {
            break;  // defensive: a corrupt (deserialised) cycle
        }
    }
    return out;
}

MessageStructure parse_message(std::string_view bytes, const ParseLimits& limits) noexcept {
    MessageStructure out;
    out.parts.reserve(8);
    Parser parser(bytes, limits, out);
    parser.run();
    return out;
}

}  // namespace sov::mime
