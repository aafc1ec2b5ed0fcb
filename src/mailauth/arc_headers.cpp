#include "mailauth/arc_headers.hpp"

#include <algorithm>
#include <array>

#include "core/ascii.hpp"

namespace sov::mailauth {

namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

bool is_wsp(char c) noexcept {
    return c == ' ' || c == '\t';
}

// FWS (RFC 5322 §3.2.2): WSP, and CRLF only as a fold (followed by WSP).
void skip_fws(std::string_view in, std::size_t& pos) noexcept {
    while (pos < in.size()) {
        if (is_wsp(in[pos])) {
            ++pos;
        } else if (in[pos] == '\r' && pos + 2 < in.size() && in[pos + 1] == '\n' &&
                   is_wsp(in[pos + 2])) {
            pos += 3;
        } else {
            break;
        }
    }
}

// CFWS: FWS and comments (RFC 5322 §3.2.2), nested, with quoted-pairs. An unclosed comment
// leaves `pos` at its '(' so the caller's next check fails.
void skip_cfws(std::string_view in, std::size_t& pos) noexcept {
    while (true) {
        skip_fws(in, pos);
        if (pos >= in.size() || in[pos] != '(') {
            return;
        }
        std::size_t p = pos + 1;
        int depth = 1;
        while (p < in.size() && depth > 0) {
            if (in[p] == '\\' && p + 1 < in.size()) {
                p += 2;
                continue;
            }
            if (in[p] == '(') {
                ++depth;
            } else if (in[p] == ')') {
                --depth;
            }
            ++p;
        }
        if (depth != 0) {
            return;
        }
        pos = p;
    }
}

std::string_view trim_fws(std::string_view s) noexcept {
    auto fws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && fws(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && fws(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

// The value of a raw field whose name must be `name`; nullopt when it is another field.
std::optional<std::string_view> field_value(std::string_view raw, std::string_view name) noexcept {
    const auto colon = raw.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    auto field_name = raw.substr(0, colon);
    while (!field_name.empty() && is_wsp(field_name.back())) {
        field_name.remove_suffix(1);
    }
    if (!core::ascii_iequals(field_name, name)) {
        return std::nullopt;
    }
    return raw.substr(colon + 1);
}

// §4.2.1: i-avp = 1*2DIGIT, 1..50.
std::optional<int> parse_instance_value(std::string_view v) noexcept {
    if (v.empty() || v.size() > 2 || !std::all_of(v.begin(), v.end(), is_digit)) {
        return std::nullopt;
    }
    int n = 0;
    for (char c : v) {
        n = n * 10 + (c - '0');
    }
    if (n < 1 || n > kMaxArcInstance) {
        return std::nullopt;
    }
    return n;
}

// A decimal tag value (t=, x=, l=): 1*DIGIT, at most 18 digits so it fits 64 bits.
std::optional<std::uint64_t> parse_number(std::string_view v) noexcept {
    if (v.empty() || v.size() > 18 || !std::all_of(v.begin(), v.end(), is_digit)) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    for (char c : v) {
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

ArcFieldStatus from_tag_status(TagList::Status s) noexcept {
    switch (s) {
        case TagList::Status::Ok:
            return ArcFieldStatus::Ok;
        case TagList::Status::DuplicateTag:
            return ArcFieldStatus::DuplicateTag;
        case TagList::Status::TooLong:
            return ArcFieldStatus::TooLong;
        case TagList::Status::Syntax:
        case TagList::Status::TooManyTags:
            break;
    }
    return ArcFieldStatus::Syntax;
}

// The "i=N;" prefix of an AAR value (§4.1.1: arc-info = instance [CFWS] ";" authres-payload).
// Returns the instance and sets `pos` after the ';'.
std::optional<int> parse_aar_prefix(std::string_view value, std::size_t& pos) noexcept {
    pos = 0;
    skip_cfws(value, pos);
    if (pos >= value.size() || value[pos] != 'i') {
        return std::nullopt;
    }
    ++pos;
    skip_cfws(value, pos);
    if (pos >= value.size() || value[pos] != '=') {
        return std::nullopt;
    }
    ++pos;
    skip_cfws(value, pos);
    const std::size_t start = pos;
    while (pos < value.size() && is_digit(value[pos])) {
        ++pos;
    }
    const auto instance = parse_instance_value(value.substr(start, pos - start));
    skip_cfws(value, pos);
    if (!instance || pos >= value.size() || value[pos] != ';') {
        return std::nullopt;
    }
    ++pos;
    return instance;
}

// Common part of the AMS and AS parse: the tag-list, i=, a=, b=, d=, s=, t=.
template <class Out>
bool parse_common(const TagList& tags, Out& out) noexcept {
    auto fail = [&out](ArcFieldStatus status, std::string_view tag) {
        out.status = status;
        out.detail = tag;
        return false;
    };
    if (!tags.ok()) {
        return fail(from_tag_status(tags.status()), {});
    }
    const auto i = tags.find("i");
    if (!i) {
        return fail(ArcFieldStatus::BadInstance, "i");
    }
    const auto instance = parse_instance_value(*i);
    if (!instance) {
        return fail(ArcFieldStatus::BadInstance, "i");
    }
    out.instance = *instance;

    const auto a = tags.find("a");
    if (!a) {
        return fail(ArcFieldStatus::MissingTag, "a");
    }
    // RFC 8301 §3.1: rsa-sha1 MUST NOT be used for verification either.
    const auto algorithm = key_algorithm_from_signing(*a);
    if (!algorithm) {
        return fail(ArcFieldStatus::UnknownAlgorithm, "a");
    }
    out.algorithm = *algorithm;

    const auto b = tags.find("b");
    if (!b) {
        return fail(ArcFieldStatus::MissingTag, "b");
    }
    if (b->empty()) {
        return fail(ArcFieldStatus::BadValue, "b");
    }
    out.signature = *b;

    const auto d = tags.find("d");
    if (!d) {
        return fail(ArcFieldStatus::MissingTag, "d");
    }
    if (!is_arc_domain(*d)) {
        return fail(ArcFieldStatus::BadValue, "d");
    }
    out.domain = *d;

    const auto s = tags.find("s");
    if (!s) {
        return fail(ArcFieldStatus::MissingTag, "s");
    }
    if (!is_arc_domain(*s)) {
        return fail(ArcFieldStatus::BadValue, "s");
    }
    out.selector = *s;

    if (const auto t = tags.find("t")) {
        out.timestamp = parse_number(*t);
        if (!out.timestamp) {
            return fail(ArcFieldStatus::BadValue, "t");
        }
    }
    return true;
}

// The steps ARC-Message-Signature and ARC-Seal share: size limit, field name, tag list, and the
// tags both carry (parse_common). nullopt with out.status set when one of them fails.
template <class Out>
std::optional<TagList> signature_tags(
    std::string_view raw_field, std::string_view name, Out& out
) noexcept {
    if (raw_field.size() > kMaxArcFieldOctets) {
        out.status = ArcFieldStatus::TooLong;
        return std::nullopt;
    }
    const auto value = field_value(raw_field, name);
    if (!value) {
        out.status = ArcFieldStatus::NotArcField;
        return std::nullopt;
    }
    auto tags = TagList::parse(*value, {.max_octets = kMaxArcFieldOctets});
    if (!parse_common(tags, out)) {
        return std::nullopt;
    }
    return tags;
}

}  // namespace

std::optional<ArcFieldKind> arc_field_kind(std::string_view name) noexcept {
    if (core::ascii_iequals(name, kArcSealName)) {
        return ArcFieldKind::Seal;
    }
    if (core::ascii_iequals(name, kArcMessageSignatureName)) {
        return ArcFieldKind::MessageSignature;
    }
    if (core::ascii_iequals(name, kArcAuthenticationResultsName)) {
        return ArcFieldKind::AuthenticationResults;
    }
    return std::nullopt;
}

std::string_view to_string(ArcCv cv) noexcept {
    switch (cv) {
        case ArcCv::None:
            return "none";
        case ArcCv::Pass:
            return "pass";
        case ArcCv::Fail:
            return "fail";
    }
    return "fail";
}

std::string_view to_string(ArcFieldStatus status) noexcept {
    switch (status) {
        case ArcFieldStatus::Ok:
            return "ok";
        case ArcFieldStatus::TooLong:
            return "field too long";
        case ArcFieldStatus::NotArcField:
            return "not the expected ARC field";
        case ArcFieldStatus::Syntax:
            return "syntax error";
        case ArcFieldStatus::DuplicateTag:
            return "duplicate tag";
        case ArcFieldStatus::BadInstance:
            return "missing or invalid i=";
        case ArcFieldStatus::MissingTag:
            return "missing required tag";
        case ArcFieldStatus::BadValue:
            return "invalid tag value";
        case ArcFieldStatus::UnknownAlgorithm:
            return "unsupported algorithm";
        case ArcFieldStatus::ForbiddenTag:
            return "forbidden tag";
    }
    return "?";
}

ArcAuthenticationResults parse_arc_authentication_results(std::string_view raw_field) noexcept {
    ArcAuthenticationResults out;
    if (raw_field.size() > kMaxArcFieldOctets) {
        out.status = ArcFieldStatus::TooLong;
        return out;
    }
    const auto value = field_value(raw_field, kArcAuthenticationResultsName);
    if (!value) {
        out.status = ArcFieldStatus::NotArcField;
        return out;
    }
    std::size_t pos = 0;
    const auto instance = parse_aar_prefix(*value, pos);
    if (!instance) {
        out.status = ArcFieldStatus::BadInstance;
        return out;
    }
    out.instance = *instance;
    // authres-payload = [CFWS] authserv-id [ CFWS authres-version ] ( no-result / 1*resinfo )
    // (RFC 8601 §2.2); we need only the authserv-id (a value: token or quoted-string).
    skip_cfws(*value, pos);
    out.payload = trim_fws(value->substr(pos));
    std::size_t end = pos;
    if (end < value->size() && (*value)[end] == '"') {
        ++end;
        while (end < value->size() && (*value)[end] != '"') {
            end += (*value)[end] == '\\' ? 2 : 1;
        }
        if (end >= value->size()) {
            out.status = ArcFieldStatus::Syntax;
            return out;
        }
        out.authserv_id = value->substr(pos + 1, end - pos - 1);
    } else {
        while (end < value->size() && (*value)[end] != ';' && (*value)[end] != '(' &&
               !is_wsp((*value)[end]) && (*value)[end] != '\r') {
            ++end;
        }
        out.authserv_id = value->substr(pos, end - pos);
    }
    if (out.authserv_id.empty()) {
        out.status = ArcFieldStatus::Syntax;
        return out;
    }
    out.status = ArcFieldStatus::Ok;
    return out;
}

ArcMessageSignature parse_arc_message_signature(std::string_view raw_field) noexcept {
    ArcMessageSignature out;
    const auto tags = signature_tags(raw_field, kArcMessageSignatureName, out);
    if (!tags) {
        return out;
    }
    auto fail = [&out](ArcFieldStatus status, std::string_view tag) {
        out.status = status;
        out.detail = tag;
        return out;
    };
    const auto bh = tags->find("bh");
    if (!bh) {
        return fail(ArcFieldStatus::MissingTag, "bh");
    }
    if (bh->empty()) {
        return fail(ArcFieldStatus::BadValue, "bh");
    }
    out.body_hash = *bh;

    // c= header[/body], default simple/simple; "relaxed" alone means relaxed/simple (§3.5).
    if (const auto c = tags->find("c")) {
        const auto slash = c->find('/');
        const auto header = canon_from_string(c->substr(0, slash));
        if (!header) {
            return fail(ArcFieldStatus::BadValue, "c");
        }
        out.header_canon = *header;
        if (slash != std::string_view::npos) {
            const auto body = canon_from_string(c->substr(slash + 1));
            if (!body) {
                return fail(ArcFieldStatus::BadValue, "c");
            }
            out.body_canon = *body;
        }
    }

    const auto h = tags->find("h");
    if (!h) {
        return fail(ArcFieldStatus::MissingTag, "h");
    }
    std::string_view rest = *h;
    while (true) {
        const auto colon = rest.find(':');
        const auto name = trim_fws(rest.substr(0, colon));
        // An empty entry ("from::to") names no field: nothing to hash for it.
        if (!name.empty()) {
            // §4.1.2: ARC-Seal fields MUST NOT be covered by the AMS. (The other ARC fields
            // are tolerated: chains sealed under the drafts sign their own AAR.)
            if (core::ascii_iequals(name, kArcSealName)) {
                return fail(ArcFieldStatus::ForbiddenTag, "h");
            }
            if (out.signed_headers.size() >= 1000) {
                return fail(ArcFieldStatus::BadValue, "h");
            }
            out.signed_headers.push_back(name);
        }
        if (colon == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(colon + 1);
    }

    if (const auto x = tags->find("x")) {
        out.expiration = parse_number(*x);
        if (!out.expiration) {
            return fail(ArcFieldStatus::BadValue, "x");
        }
    }
    if (const auto l = tags->find("l")) {
        out.body_length = parse_number(*l);
        if (!out.body_length) {
            return fail(ArcFieldStatus::BadValue, "l");
        }
    }
    out.status = ArcFieldStatus::Ok;
    return out;
}

ArcSeal parse_arc_seal(std::string_view raw_field) noexcept {
    ArcSeal out;
    const auto tags = signature_tags(raw_field, kArcSealName, out);
    if (!tags) {
        return out;
    }
    // §4.1.3: "the DKIM h tag is NOT allowed and, if found, MUST result in a cv status of fail".
    if (tags->find("h")) {
        out.status = ArcFieldStatus::ForbiddenTag;
        out.detail = "h";
        return out;
    }
    const auto cv = tags->find("cv");
    if (!cv) {
        out.status = ArcFieldStatus::MissingTag;
        out.detail = "cv";
        return out;
    }
    if (core::ascii_iequals(*cv, "none")) {
        out.cv = ArcCv::None;
    } else if (core::ascii_iequals(*cv, "pass")) {
        out.cv = ArcCv::Pass;
    } else if (core::ascii_iequals(*cv, "fail")) {
        out.cv = ArcCv::Fail;
    } else {
        out.status = ArcFieldStatus::BadValue;
        out.detail = "cv";
        return out;
    }
    out.status = ArcFieldStatus::Ok;
    return out;
}

std::optional<int> arc_instance(ArcFieldKind kind, std::string_view raw_field) noexcept {
    if (raw_field.size() > kMaxArcFieldOctets) {
        return std::nullopt;
    }
    const auto colon = raw_field.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    const auto value = raw_field.substr(colon + 1);
    if (kind == ArcFieldKind::AuthenticationResults) {
        std::size_t pos = 0;
        return parse_aar_prefix(value, pos);
    }
    const auto tags = TagList::parse(value, {.max_octets = kMaxArcFieldOctets});
    if (!tags.ok()) {
        return std::nullopt;
    }
    const auto i = tags.find("i");
    return i ? parse_instance_value(*i) : std::nullopt;
}

std::string_view to_string(ArcChain::Status status) noexcept {
    switch (status) {
        case ArcChain::Status::None:
            return "no ARC sets";
        case ArcChain::Status::Ok:
            return "ok";
        case ArcChain::Status::TooManyFields:
            return "too many ARC header fields";
        case ArcChain::Status::BadInstance:
            return "ARC field with missing or invalid i=";
        case ArcChain::Status::TooManySets:
            return "more than 50 ARC sets";
        case ArcChain::Status::DuplicateField:
            return "duplicate ARC field for one instance";
        case ArcChain::Status::MissingField:
            return "ARC set without one of its three fields";
        case ArcChain::Status::Gap:
            return "ARC instances not contiguous from 1";
    }
    return "?";
}

ArcChain collect_arc_chain(const std::vector<HeaderField>& fields) noexcept {
    ArcChain chain;
    // Per instance and kind: how many fields, and the last one seen.
    struct Slot {
        int count = 0;
        HeaderField field;
    };
    std::array<std::array<Slot, 3>, kMaxArcInstance + 1> slots{};
    std::size_t arc_fields = 0;
    bool bad_instance = false;
    bool too_many_sets = false;
    for (const auto& f : fields) {
        const auto kind = arc_field_kind(f.name);
        if (!kind) {
            continue;
        }
        if (++arc_fields > 3 * static_cast<std::size_t>(kMaxArcInstance)) {
            chain.status = ArcChain::Status::TooManyFields;
            return chain;
        }
        const auto colon = f.raw.find(':');
        const auto value =
            colon == std::string_view::npos ? std::string_view{} : f.raw.substr(colon + 1);
        auto instance = arc_instance(*kind, f.raw);
        if (!instance) {
            // Tell an out-of-range but numeric i= (§5.2 step 1: more than 50 sets) from junk.
            const auto tags = TagList::parse(value, {.max_octets = kMaxArcFieldOctets});
            const auto i = tags.ok() ? tags.find("i") : std::nullopt;
            if (i && parse_number(*i) && *parse_number(*i) > kMaxArcInstance) {
                too_many_sets = true;
            } else {
                bad_instance = true;
            }
            continue;
        }
        chain.max_instance = std::max(chain.max_instance, *instance);
        auto& slot = slots[static_cast<std::size_t>(*instance)][static_cast<std::size_t>(*kind)];
        ++slot.count;
        slot.field = f;
    }
    if (arc_fields == 0) {
        chain.status = ArcChain::Status::None;
        return chain;
    }
    const auto n = static_cast<std::size_t>(chain.max_instance);
    const auto& top_seal = slots[n][static_cast<std::size_t>(ArcFieldKind::Seal)];
    if (n > 0 && top_seal.count == 1) {
        chain.latest_seal = top_seal.field;
    }
    if (too_many_sets) {
        chain.status = ArcChain::Status::TooManySets;
        return chain;
    }
    if (bad_instance) {
        chain.status = ArcChain::Status::BadInstance;
        return chain;
    }
    // §5.2 step 3: exactly one of each field per instance, instances 1..N without gaps.
    for (std::size_t i = 1; i <= n; ++i) {
        int present = 0;
        for (const auto& slot : slots[i]) {
            if (slot.count > 1) {
                chain.status = ArcChain::Status::DuplicateField;
                return chain;
            }
            present += slot.count;
        }
        if (present == 0) {
            chain.status = ArcChain::Status::Gap;
            return chain;
        }
        if (present != 3) {
            chain.status = ArcChain::Status::MissingField;
            return chain;
        }
    }
    chain.sets.reserve(n);
    for (std::size_t i = 1; i <= n; ++i) {
        chain.sets.push_back(
            {slots[i][static_cast<std::size_t>(ArcFieldKind::AuthenticationResults)].field,
             slots[i][static_cast<std::size_t>(ArcFieldKind::MessageSignature)].field,
             slots[i][static_cast<std::size_t>(ArcFieldKind::Seal)].field}
        );
    }
    chain.status = ArcChain::Status::Ok;
    return chain;
}

bool is_arc_domain(std::string_view name) noexcept {
    if (name.empty() || name.size() > 253) {
        return false;
    }
    std::size_t label = 0;
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '.') {
            if (label == 0) {
                return false;
            }
            label = 0;
            continue;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
                        c == '-' || c == '_' || u >= 0x80;
        if (!ok || ++label > 63) {
            return false;
        }
    }
    return label != 0;
}

}  // namespace sov::mailauth
