#include "mailauth/dkim_key_record.hpp"

#include "mailauth/dkim_tags.hpp"
#include "mailauth/errors.hpp"

namespace sov::mailauth {

namespace {

// A colon-separated list (h=, s=, t= of §3.6.1) contains `item`; FWS around items is allowed.
bool list_contains(std::string_view list, std::string_view item) noexcept {
    while (true) {
        const auto colon = list.find(':');
        auto piece = list.substr(0, colon);
        while (!piece.empty() && (piece.front() == ' ' || piece.front() == '\t' ||
                                  piece.front() == '\r' || piece.front() == '\n')) {
            piece.remove_prefix(1);
        }
        while (!piece.empty() && (piece.back() == ' ' || piece.back() == '\t' ||
                                  piece.back() == '\r' || piece.back() == '\n')) {
            piece.remove_suffix(1);
        }
        if (piece == item) {
            return true;
        }
        if (colon == std::string_view::npos) {
            return false;
        }
        list.remove_prefix(colon + 1);
    }
}

KeyLookup failure(KeyStatus status, std::string detail) {
    KeyLookup out;
    out.status = status;
    out.detail = std::move(detail);
    return out;
}

bool is_ldh_underscore(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

// A DNS name of labels of 1..63 letters, digits, '-' and '_' (selectors and some d= values use
// '_'), at most 253 octets, without a final dot. Anything else would build a query name other
// than the one the signer meant, or none at all.
bool is_dns_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 253) {
        return false;
    }
    std::size_t label = 0;
    for (const char c : name) {
        if (c == '.') {
            if (label == 0) {
                return false;
            }
            label = 0;
        } else if (!is_ldh_underscore(c) || ++label > 63) {
            return false;
        }
    }
    return label != 0;
}

}  // namespace

std::string_view to_string(KeyStatus status) noexcept {
    switch (status) {
        case KeyStatus::Ok:
            return "ok";
        case KeyStatus::NoKey:
            return "no key for signature";
        case KeyStatus::TempFail:
            return "key unavailable";
        case KeyStatus::Syntax:
            return "key syntax error";
        case KeyStatus::Revoked:
            return "key revoked";
        case KeyStatus::Inapplicable:
            return "inappropriate key";
    }
    return "?";
}

KeyLookup parse_key_record(std::string_view txt) {
    const auto tags = TagList::parse(txt);
    if (!tags.ok()) {
        return failure(KeyStatus::Syntax, "key record: " + std::string(to_string(tags.status())));
    }
    // §3.6.1 v=: "If specified, this tag MUST be set to "DKIM1" ... [and] MUST be the first tag".
    if (const auto v = tags.find("v"); v && (*v != "DKIM1" || tags[0].name != "v")) {
        return failure(KeyStatus::Syntax, "key record: bad v= tag");
    }
    // §3.6.1 p=: required; an empty value means the key has been revoked.
    const auto p = tags.find("p");
    if (!p) {
        return failure(KeyStatus::Syntax, "key record: no p= tag");
    }
    if (p->empty()) {
        return failure(KeyStatus::Revoked, "key revoked");
    }
    // §3.6.1 k=: default "rsa"; RFC 8463 §4 adds "ed25519". §6.1.2 step 6: an unknown key type
    // is a PERMFAIL (inappropriate key algorithm).
    const auto k = tags.find("k").value_or("rsa");
    const auto algorithm = key_algorithm_from_string(k);
    if (!algorithm) {
        return failure(
            KeyStatus::Inapplicable, "unknown key type k=" + std::string(k.substr(0, 32))
        );
    }
    // §3.6.1 h=: the hash algorithms the key may be used with; we verify only SHA-256 (RFC 8301
    // §3.1 forbids SHA-1), so a key restricted to others cannot verify anything we accept.
    if (const auto h = tags.find("h"); h && !list_contains(*h, "sha256")) {
        return failure(KeyStatus::Inapplicable, "key h= excludes sha256");
    }
    // §3.6.1 s=: "*" (default) or a list including "email".
    if (const auto s = tags.find("s");
        s && !list_contains(*s, "*") && !list_contains(*s, "email")) {
        return failure(KeyStatus::Inapplicable, "key s= excludes email");
    }
    // §3.6.1 t=: flags; unrecognised flags MUST be ignored.
    bool testing = false;
    bool strict_identity = false;
    if (const auto t = tags.find("t")) {
        testing = list_contains(*t, "y");
        strict_identity = list_contains(*t, "s");
    }
    auto key = PublicKey::from_base64(*algorithm, *p);
    if (!key) {
        if (key.error() == Errc::UnsupportedKey) {
            // RFC 8301 §3.2: RSA keys under 1024 bits MUST NOT be considered valid.
            auto weak = failure(KeyStatus::Inapplicable, "RSA key under 1024 bits (RFC 8301)");
            weak.weak_key = true;
            weak.key_data = strip_fws(*p);
            weak.testing = testing;
            weak.strict_identity = strict_identity;
            return weak;
        }
        return failure(KeyStatus::Syntax, "key record: bad p= value");
    }
    KeyLookup out;
    out.status = KeyStatus::Ok;
    out.record.emplace(KeyRecord{*algorithm, std::move(*key), testing, strict_identity});
    out.key_data = strip_fws(*p);
    out.testing = testing;
    out.strict_identity = strict_identity;
    return out;
}

boost::asio::awaitable<KeyLookup> fetch_key(
    DnsSource& dns, std::string selector, std::string domain
) {
    if (!is_dns_name(selector) || !is_dns_name(domain)) {
        co_return failure(KeyStatus::Syntax, "bad selector or domain");
    }
    // §3.6.2.1: the query name is <selector>._domainkey.<domain>.
    auto answer = co_await dns.txt(selector + "._domainkey." + domain);
    if (!answer) {
        // §6.1.2 step 2: a failed query is a TEMPFAIL (key unavailable).
        co_return failure(KeyStatus::TempFail, "key unavailable");
    }
    if (answer->nxdomain || answer->records.empty()) {
        co_return failure(KeyStatus::NoKey, "no key for signature");
    }
    // §3.6.2.2: with several TXT records the verifier may pick any; the first usable one wins,
    // else a revocation, else the first record's error.
    std::optional<KeyLookup> first_error;
    std::optional<KeyLookup> revoked;
    for (const auto& txt : answer->records) {
        auto lookup = parse_key_record(txt);
        if (lookup.status == KeyStatus::Ok) {
            co_return lookup;
        }
        if (lookup.status == KeyStatus::Revoked && !revoked) {
            revoked = std::move(lookup);
        } else if (!first_error) {
            first_error = std::move(lookup);
        }
    }
    co_return revoked ? std::move(*revoked) : std::move(*first_error);
}

}  // namespace sov::mailauth
