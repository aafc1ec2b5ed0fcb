#include "mailauth/arc_seal.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/ascii.hpp"
#include "core/clock.hpp"
#include "mailauth/auth_results.hpp"
#include "mailauth/base64.hpp"
#include "mailauth/errors.hpp"

namespace sov::mailauth {

namespace {

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

// Fields an AMS must not cover (§4.1.2): the ARC fields and Authentication-Results.
bool unsignable(std::string_view name) noexcept {
    return arc_field_kind(name).has_value() || core::ascii_iequals(name, "authentication-results");
}

// A CR or LF is only acceptable as part of a fold (CRLF followed by WSP): anything else would
// end the field early and let the payload inject header fields.
bool folds_only(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n') {
            return false;
        }
        if (s[i] == '\r') {
            if (i + 2 >= s.size() || s[i + 1] != '\n' || (s[i + 2] != ' ' && s[i + 2] != '\t')) {
                return false;
            }
            i += 2;
        }
    }
    return true;
}

// One tag of a field being built: its text split into tokens a fold may separate (h= at each
// ':'), or the b= slot.
struct TagText {
    std::vector<std::string> tokens;  // the first one starts with "name="
    bool signature = false;           // the b= slot
};

// Lays out an AMS or AS (RFC 5322 §2.2.3 folding at FWS of the tag-list grammar). The text
// outside the b= value does not depend on the signature: the b= token is placed by its own
// length, the signature only ever continues its line or folds inside itself, and the tag after
// it always starts a new line. So the field built with an empty signature is exactly the field
// with its b= value deleted, which is what both signer and verifier hash (RFC 6376 §3.7),
// whatever the header canonicalisation.
std::string build_field(
    std::string_view name,
    const std::vector<TagText>& tags,
    std::string_view signature,
    std::size_t column,
    bool fold_signature
) {
    std::string out(name);
    out += ':';
    std::size_t line = out.size();
    bool force_fold = false;
    auto place = [&](std::string_view token, std::string_view separator) {
        if (force_fold || (line + separator.size() + token.size() > column && line > 1)) {
            out += "\r\n ";
            line = 1;
        } else {
            out += separator;
            line += separator.size();
        }
        force_fold = false;
        out += token;
        line += token.size();
    };
    for (std::size_t i = 0; i < tags.size(); ++i) {
        const bool last = i + 1 == tags.size();
        if (tags[i].signature) {
            place("b=", " ");
            std::string_view rest = signature;
            while (!rest.empty()) {
                if (line >= column && fold_signature) {
                    out += "\r\n ";
                    line = 1;
                }
                const auto piece = fold_signature ? rest.substr(0, column - line) : rest;
                out += piece;
                line += piece.size();
                rest.remove_prefix(piece.size());
            }
            if (!last) {
                out += ';';
                ++line;
                force_fold = true;
            }
            continue;
        }
        const auto& tokens = tags[i].tokens;
        for (std::size_t t = 0; t < tokens.size(); ++t) {
            const bool end = t + 1 == tokens.size();
            place(end && !last ? tokens[t] + ";" : tokens[t], t == 0 ? " " : "");
        }
    }
    return out;
}

TagText tag(std::string_view name, std::string_view value) {
    return {{fmt::format("{}={}", name, value)}, false};
}

// Splits a value at top-level ';' (outside quoted-strings and comments).
std::vector<std::string_view> split_results(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    int depth = 0;
    bool quoted = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if ((quoted || depth > 0) && c == '\\') {
            ++i;
        } else if (quoted) {
            quoted = c != '"';
        } else if (c == '"') {
            quoted = true;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')' && depth > 0) {
            --depth;
        } else if (c == ';' && depth == 0) {
            out.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    out.push_back(s.substr(start));
    return out;
}

}  // namespace

std::vector<std::string> arc_signed_header_names(const std::vector<HeaderField>& fields) {
    auto names = signed_header_names(fields, false);
    // §4.1.2: "the signature of the AMS header field SHOULD include any DKIM-Signature header
    // fields already present in the message".
    for (const auto& f : fields) {
        if (core::ascii_iequals(f.name, "dkim-signature")) {
            names.emplace_back("dkim-signature");
        }
    }
    return names;
}

Result<std::string> arc_seal(std::string_view message, const ArcSealRequest& request) {
    const auto split = split_message(message);
    if (split.status != SplitMessage::Status::Ok) {
        return make_error_code(Errc::BadMessage);
    }
    const auto payload = trim_fws(request.authentication_results);
    if (payload.empty() || !folds_only(payload)) {
        return make_error_code(Errc::BadMessage);
    }

    // §5.1 steps 2 and 3: stop on a chain already marked failed; the instance is one more than
    // the highest found.
    const auto chain = collect_arc_chain(split.fields);
    if (chain.latest_seal) {
        const auto latest = parse_arc_seal(chain.latest_seal->raw);
        if (latest.status == ArcFieldStatus::Ok && latest.cv == ArcCv::Fail) {
            return std::string{};
        }
    }
    if (chain.status == ArcChain::Status::TooManyFields ||
        chain.status == ArcChain::Status::TooManySets) {
        return std::string{};
    }
    const bool has_chain = chain.status != ArcChain::Status::None;
    if ((request.chain == ArcCv::Pass && chain.status != ArcChain::Status::Ok) ||
        (request.chain == ArcCv::None && has_chain)) {
        return make_error_code(Errc::BadMessage);
    }
    const int instance = has_chain ? chain.max_instance + 1 : 1;
    if (instance > kMaxArcInstance) {
        return std::string{};
    }
    const std::int64_t t = request.timestamp ? *request.timestamp : core::unix_seconds(core::now());
    const bool rfc_order = request.tag_order == ArcTagOrder::Rfc;
    const auto algorithm = signing_algorithm(request.key.key.algorithm());
    const std::string domain = core::ascii_lowercase(request.domain);

    // §5.1 step 4.A: the AAR.
    const std::string aar =
        fmt::format("{}: i={}; {}", kArcAuthenticationResultsName, instance, payload);

    // §5.1 step 4.B: the AMS, a DKIM signature with i= (§4.1.2).
    std::vector<std::string> names;
    if (request.signed_headers.empty()) {
        names = arc_signed_header_names(split.fields);
    } else {
        for (const auto& name : request.signed_headers) {
            if (!unsignable(name)) {
                names.push_back(core::ascii_lowercase(name));
            }
        }
    }
    BodyHasher body(request.body_canon);
    body.update(message.substr(split.body_offset));
    const auto bh = base64_encode(body.finish());

    TagText h_tag;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const bool last = i + 1 == names.size();
        h_tag.tokens.push_back((i == 0 ? "h=" : "") + names[i] + (last ? "" : ":"));
    }
    if (h_tag.tokens.empty()) {
        h_tag.tokens.emplace_back("h=");
    }
    const TagText b_slot{{}, true};
    std::vector<TagText> ams_tags;
    const auto canon =
        fmt::format("{}/{}", to_string(request.header_canon), to_string(request.body_canon));
    if (rfc_order) {
        ams_tags = {
            tag("i", std::to_string(instance)),
            tag("a", algorithm),
            tag("c", canon),
            tag("d", domain),
            tag("s", request.key.selector),
            tag("t", std::to_string(t)),
            h_tag,
            tag("bh", bh),
            b_slot,
        };
    } else {
        ams_tags = {
            tag("a", algorithm),
            b_slot,
            tag("bh", bh),
            tag("c", canon),
            tag("d", domain),
            h_tag,
            tag("i", std::to_string(instance)),
            tag("s", request.key.selector),
            tag("t", std::to_string(t)),
        };
    }
    const std::string ams_unsigned = build_field(
        kArcMessageSignatureName, ams_tags, {}, request.fold_column, request.fold_signatures
    );
    std::string ams_data = canonical_header_data(request.header_canon, split.fields, names);
    ams_data += canonicalize_header(request.header_canon, ams_unsigned);
    auto ams_signature = request.key.key.sign_digest(sha256(ams_data));
    if (!ams_signature) {
        return ams_signature.error();
    }
    const std::string ams = build_field(
        kArcMessageSignatureName,
        ams_tags,
        base64_encode(*ams_signature),
        request.fold_column,
        request.fold_signatures
    );

    // §5.1 step 4.C: the AS over the sets in instance order (§5.1.1), or over the new set alone
    // when the chain failed (§5.1.2).
    std::vector<TagText> as_tags;
    const auto cv = std::string(to_string(request.chain));
    if (rfc_order) {
        as_tags = {
            tag("i", std::to_string(instance)),
            tag("a", algorithm),
            tag("cv", cv),
            tag("d", domain),
            tag("s", request.key.selector),
            tag("t", std::to_string(t)),
            b_slot,
        };
    } else {
        as_tags = {
            tag("a", algorithm),
            b_slot,
            tag("cv", cv),
            tag("d", domain),
            tag("i", std::to_string(instance)),
            tag("s", request.key.selector),
            tag("t", std::to_string(t)),
        };
    }
    const std::string as_unsigned =
        build_field(kArcSealName, as_tags, {}, request.fold_column, request.fold_signatures);
    std::string as_data;
    if (request.chain == ArcCv::Pass) {
        for (const auto& set : chain.sets) {
            for (const auto* f : {&set.aar, &set.ams, &set.seal}) {
                as_data += canonicalize_header(Canon::Relaxed, f->raw);
                as_data += "\r\n";
            }
        }
    }
    as_data += canonicalize_header(Canon::Relaxed, aar);
    as_data += "\r\n";
    as_data += canonicalize_header(Canon::Relaxed, ams);
    as_data += "\r\n";
    as_data += canonicalize_header(Canon::Relaxed, as_unsigned);
    auto as_signature = request.key.key.sign_digest(sha256(as_data));
    if (!as_signature) {
        return as_signature.error();
    }
    const std::string as = build_field(
        kArcSealName,
        as_tags,
        base64_encode(*as_signature),
        request.fold_column,
        request.fold_signatures
    );

    return as + "\r\n" + ams + "\r\n" + aar + "\r\n";
}

const SigningKey* arc_signing_key(const Signer& signer) noexcept {
    const auto& keys = signer.keys();
    for (const auto& k : keys) {
        if (k.key.algorithm() == KeyAlgorithm::Rsa) {
            return &k;
        }
    }
    return keys.empty() ? nullptr : &keys.front();
}

std::string merge_authentication_results(std::string_view message, std::string_view authserv_id) {
    const auto split = split_message(message);
    std::vector<std::string_view> results;
    for (const auto& f : split.fields) {
        if (!core::ascii_iequals(f.name, "authentication-results")) {
            continue;
        }
        const auto value = f.raw.substr(f.raw.find(':') + 1);
        const auto id = authserv_id_of(value);
        if (!id || !core::ascii_iequals(*id, authserv_id)) {
            continue;
        }
        // The first part is the authserv-id (and version); every further part is one result.
        const auto parts = split_results(value);
        for (std::size_t i = 1; i < parts.size(); ++i) {
            const auto result = trim_fws(parts[i]);
            if (!result.empty() && !core::ascii_iequals(result, "none")) {
                results.push_back(result);
            }
        }
    }
    if (results.empty()) {
        return {};
    }
    std::string out(authserv_id);
    for (std::size_t i = 0; i < results.size(); ++i) {
        out += i == 0 ? "; " : ";\r\n ";
        out += results[i];
    }
    return out;
}

}  // namespace sov::mailauth
