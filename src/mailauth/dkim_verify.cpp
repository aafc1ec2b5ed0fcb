#include "mailauth/dkim_verify.hpp"

#include <algorithm>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/ascii.hpp"
#include "core/clock.hpp"
#include "mailauth/base64.hpp"
#include "mailauth/dkim_canon.hpp"
#include "mailauth/dkim_signature.hpp"
#include "mailauth/dkim_tags.hpp"

namespace sov::mailauth {

namespace {

bool is_sha1(SignatureAlgorithm algorithm) noexcept {
    return algorithm == SignatureAlgorithm::RsaSha1;
}

// One DKIM-Signature field and what is known about it before any key is fetched.
struct Candidate {
    const HeaderField* field = nullptr;
    SignatureParse parse;
    DkimVerdict verdict;
    bool needs_key = false;
};

struct Prepared {
    SplitMessage split;
    std::vector<Candidate> candidates;
};

// Best-effort d= and s= of a signature that does not parse, so the verdict still names the
// domain (RFC 8601 header.d) when the tag-list itself is readable.
void describe_unparsed(std::string_view value, DkimVerdict& verdict) {
    const auto tags = TagList::parse(value);
    if (!tags.ok()) {
        return;
    }
    auto printable = [](std::string_view s) {
        std::string out;
        for (const char c : s.substr(0, 255)) {
            if (c > 0x20 && c < 0x7F) {
                out += core::ascii_lower(c);
            }
        }
        return out;
    };
    verdict.domain = printable(tags.find("d").value_or(""));
    verdict.selector = printable(tags.find("s").value_or(""));
}

Prepared prepare(std::string_view message, const DkimVerifyOptions& options) {
    Prepared out;
    out.split = split_message(message);
    if (out.split.status != SplitMessage::Status::Ok) {
        return out;
    }
    const std::int64_t now = core::unix_seconds(
        options.now == std::chrono::system_clock::time_point{} ? core::now() : options.now
    );
    for (const auto& field : out.split.fields) {
        if (!core::ascii_iequals(field.name, "DKIM-Signature")) {
            continue;
        }
        Candidate c;
        c.field = &field;
        const auto value = field.raw.substr(field.raw.find(':') + 1);
        c.parse = parse_dkim_signature(value);
        auto& v = c.verdict;
        const auto& sig = c.parse.signature;
        if (c.parse.status != SignatureStatus::Ok) {
            // §6.1.1: PERMFAIL, with the reason the parser gives.
            describe_unparsed(value, v);
            v.result = DkimResult::PermError;
            v.reason = c.parse.reason;
        } else {
            v.domain = sig.domain;
            v.selector = sig.selector;
            v.identity = sig.identity;
            v.algorithm = std::string(to_string(sig.algorithm));
            v.b_prefix = sig.b_base64.substr(0, options.b_prefix_length);
            v.body_length = sig.body_length;
        }
        if (out.candidates.size() >= options.max_signatures) {
            v.result = DkimResult::Policy;
            v.reason = "too many signatures";
        } else if (c.parse.status != SignatureStatus::Ok) {
            // verdict already set
        } else if (is_sha1(sig.algorithm) && !options.allow_sha1) {
            // RFC 8301 §3.1: "Verifiers MUST NOT consider signatures using RSA SHA-1 to be
            // valid"; recognised, so it is a policy refusal rather than an unknown algorithm.
            v.result = DkimResult::Policy;
            v.reason = "rsa-sha1 not accepted (RFC 8301)";
        } else if (sig.expiration && *sig.expiration < now) {
            // §6.1.1: PERMFAIL (signature expired).
            v.result = DkimResult::PermError;
            v.reason = "signature expired";
        } else {
            c.needs_key = true;
        }
        out.candidates.push_back(std::move(c));
    }
    return out;
}

// The body hash of one (hash, canonicalisation, l=) combination, computed once per message.
struct BodyDigest {
    bool sha1 = false;
    Canon canon = Canon::Simple;
    std::optional<std::uint64_t> length;
    std::vector<std::uint8_t> digest;
    std::uint64_t canonical_length = 0;
};

const BodyDigest& body_digest(
    std::vector<BodyDigest>& cache,
    std::string_view body,
    bool sha1,
    Canon canon,
    std::optional<std::uint64_t> length
) {
    for (const auto& entry : cache) {
        if (entry.sha1 == sha1 && entry.canon == canon && entry.length == length) {
            return entry;
        }
    }
    BodyDigest entry{sha1, canon, length, {}, 0};
    if (!sha1) {
        BodyHasher hasher(canon, length);
        hasher.update(body);
        const auto digest = hasher.finish();
        entry.digest.assign(digest.begin(), digest.end());
        entry.canonical_length = hasher.canonical_length();
    } else {
        // Legacy mode only (DkimVerifyOptions::allow_sha1): whole-buffer canonicalisation.
        const std::string canonical = canonicalize_body(canon, body);
        entry.canonical_length = canonical.size();
        const std::string_view hashed =
            std::string_view(canonical).substr(0, length.value_or(canonical.size()));
        entry.digest.resize(EVP_MAX_MD_SIZE);
        unsigned int size = 0;
        EVP_Digest(hashed.data(), hashed.size(), entry.digest.data(), &size, EVP_sha1(), nullptr);
        entry.digest.resize(size);
    }
    cache.push_back(std::move(entry));
    return cache.back();
}

// Legacy mode only: RSASSA-PKCS1-v1_5 with SHA-1 or SHA-256 over a key PublicKey refuses
// (under 1024 bits) or an algorithm it does not offer (SHA-1).
bool legacy_rsa_verify(
    std::string_view key_data,
    unsigned min_bits,
    bool sha1,
    std::string_view data,
    std::span<const std::uint8_t> sig
) {
    const auto der = base64_decode(key_data);
    if (!der) {
        return false;
    }
    const unsigned char* in = der->data();
    EVP_PKEY* key = d2i_PUBKEY(nullptr, &in, static_cast<long>(der->size()));
    if (key == nullptr) {
        in = der->data();
        key = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &in, static_cast<long>(der->size()));
    }
    bool ok = false;
    if (key != nullptr && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
        EVP_PKEY_get_bits(key) >= static_cast<int>(min_bits)) {
        const EVP_MD* md = sha1 ? EVP_sha1() : EVP_sha256();
        std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
        unsigned int size = 0;
        EVP_Digest(data.data(), data.size(), digest.data(), &size, md, nullptr);
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
        ok = ctx != nullptr && EVP_PKEY_verify_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
             EVP_PKEY_verify(ctx, sig.data(), sig.size(), digest.data(), size) == 1;
        EVP_PKEY_CTX_free(ctx);
    }
    EVP_PKEY_free(key);
    ERR_clear_error();
    return ok;
}

// §6.1.2 (key) and §6.1.3 (hashes, signature) for one signature whose key is at hand.
void check_signature(
    Candidate& c,
    const KeyLookup& key,
    std::string_view body,
    const std::vector<HeaderField>& fields,
    std::vector<BodyDigest>& cache,
    const DkimVerifyOptions& options
) {
    auto& v = c.verdict;
    const auto& sig = c.parse.signature;
    const bool sha1 = is_sha1(sig.algorithm);
    const bool legacy_weak =
        key.status == KeyStatus::Inapplicable && key.weak_key && options.min_rsa_bits < kMinRsaBits;
    if (key.status != KeyStatus::Ok && !legacy_weak) {
        switch (key.status) {
            case KeyStatus::TempFail:
                v.result = DkimResult::TempError;  // §6.1.2 TEMPFAIL (key unavailable)
                break;
            case KeyStatus::Inapplicable:
                // RFC 8301 §3.2: short RSA keys are refused by policy, not broken.
                v.result = key.weak_key ? DkimResult::Policy : DkimResult::PermError;
                break;
            default:
                v.result = DkimResult::PermError;  // no key, revoked, key syntax error
                break;
        }
        v.reason = key.detail.empty() ? std::string(to_string(key.status)) : key.detail;
        return;
    }
    v.testing = key.testing;
    // §6.1.2 step 6 (and RFC 8463 §3): the k= of the key must fit the a= of the signature.
    const KeyAlgorithm key_algorithm = key.record ? key.record->algorithm : KeyAlgorithm::Rsa;
    if (key_algorithm != key_algorithm_of(sig.algorithm)) {
        v.result = DkimResult::PermError;
        v.reason = "inappropriate key algorithm";
        return;
    }
    // §3.6.1 t=s: "the "i=" domain MUST NOT be a subdomain of "d="".
    if (key.strict_identity && sig.identity_domain != sig.domain) {
        v.result = DkimResult::PermError;
        v.reason = "i= subdomain not allowed by key t=s";
        return;
    }

    // §6.1.3 steps 1-3: the body hash first; a mismatch fails the signature whatever b= says.
    const auto& bd = body_digest(cache, body, sha1, sig.body_canon, sig.body_length);
    if (sig.body_length && *sig.body_length > bd.canonical_length) {
        // §3.5 l=: "This value MUST NOT be larger than the actual number of octets".
        v.result = DkimResult::PermError;
        v.reason = "l= exceeds body length";
        return;
    }
    if (bd.digest != sig.bh) {
        v.result = DkimResult::Fail;
        v.reason = "body hash did not verify";
        return;
    }

    // §3.7: the h= fields, then this signature field with an empty b= value and no final CRLF.
    std::string data = canonical_header_data(sig.header_canon, fields, sig.headers);
    data += canonicalize_header(sig.header_canon, remove_b_value(c.field->raw));
    bool verified = false;
    if (sha1 || legacy_weak) {
        verified = legacy_rsa_verify(key.key_data, options.min_rsa_bits, sha1, data, sig.b);
    } else {
        verified = key.record->key.verify_digest(sha256(data), sig.b);
    }
    if (!verified) {
        v.result = DkimResult::Fail;
        v.reason = "signature did not verify";
        return;
    }
    // §6.1.3: content after l= is not validated; "can choose to treat the signature as if it
    // were invalid (e.g., by returning PERMFAIL (unsigned content))".
    if (sig.body_length && *sig.body_length < bd.canonical_length && !options.accept_body_length) {
        v.result = DkimResult::Policy;
        v.reason = "unsigned content after l=";
        return;
    }
    v.result = DkimResult::Pass;
    v.reason.clear();
}

// A header that does not split still gets a verdict when it appears to carry a signature.
bool mentions_signature(std::string_view message) {
    const auto end = message.find("\r\n\r\n");
    const auto header = message.substr(0, end);
    constexpr std::string_view kName = "dkim-signature";
    for (std::size_t pos = 0; pos + kName.size() <= header.size(); ++pos) {
        if ((pos == 0 || header[pos - 1] == '\n') &&
            core::ascii_iequals(header.substr(pos, kName.size()), kName)) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::string_view to_string(DkimResult result) noexcept {
    switch (result) {
        case DkimResult::None:
            return "none";
        case DkimResult::Pass:
            return "pass";
        case DkimResult::Fail:
            return "fail";
        case DkimResult::Policy:
            return "policy";
        case DkimResult::Neutral:
            return "neutral";
        case DkimResult::TempError:
            return "temperror";
        case DkimResult::PermError:
            return "permerror";
    }
    return "?";
}

std::vector<DkimKeyRequest> dkim_key_requests(
    std::string_view message, const DkimVerifyOptions& options
) {
    std::vector<DkimKeyRequest> out;
    for (const auto& c : prepare(message, options).candidates) {
        if (!c.needs_key) {
            continue;
        }
        DkimKeyRequest request{c.parse.signature.selector, c.parse.signature.domain};
        if (std::find(out.begin(), out.end(), request) == out.end()) {
            out.push_back(std::move(request));
        }
    }
    return out;
}

boost::asio::awaitable<std::vector<KeyLookup>> fetch_dkim_keys(
    DnsSource& dns, std::vector<DkimKeyRequest> requests
) {
    std::vector<KeyLookup> out;
    out.reserve(requests.size());
    for (const auto& request : requests) {
        out.push_back(co_await fetch_key(dns, request.selector, request.domain));
    }
    co_return out;
}

std::vector<DkimVerdict> verify_dkim_with_keys(
    std::string_view message,
    const std::vector<DkimKeyRequest>& requests,
    const std::vector<KeyLookup>& keys,
    const DkimVerifyOptions& options
) {
    auto prepared = prepare(message, options);
    std::vector<DkimVerdict> out;
    if (prepared.split.status != SplitMessage::Status::Ok) {
        if (mentions_signature(message)) {
            DkimVerdict verdict;
            verdict.result = DkimResult::PermError;
            verdict.reason = "malformed message header";
            out.push_back(std::move(verdict));
        }
        return out;
    }
    const auto body = message.substr(prepared.split.body_offset);
    std::vector<BodyDigest> cache;
    for (auto& c : prepared.candidates) {
        if (c.needs_key) {
            const DkimKeyRequest request{c.parse.signature.selector, c.parse.signature.domain};
            const auto it = std::find(requests.begin(), requests.end(), request);
            const auto index = static_cast<std::size_t>(it - requests.begin());
            if (it == requests.end() || index >= keys.size()) {
                c.verdict.result = DkimResult::TempError;
                c.verdict.reason = "key not fetched";
            } else {
                check_signature(c, keys[index], body, prepared.split.fields, cache, options);
            }
        }
        out.push_back(std::move(c.verdict));
    }
    return out;
}

boost::asio::awaitable<std::vector<DkimVerdict>> verify_dkim(
    DnsSource& dns, std::string_view message, DkimVerifyOptions options
) {
    if (options.now == std::chrono::system_clock::time_point{}) {
        options.now = core::now();  // one clock reading for both steps
    }
    auto requests = dkim_key_requests(message, options);
    const auto keys = co_await fetch_dkim_keys(dns, requests);
    co_return verify_dkim_with_keys(message, requests, keys, options);
}

}  // namespace sov::mailauth
