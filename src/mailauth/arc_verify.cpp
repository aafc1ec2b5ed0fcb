#include "mailauth/arc_verify.hpp"

#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "mailauth/base64.hpp"
#include "mailauth/dkim_key_record.hpp"
#include "mailauth/dkim_signature.hpp"
#include "mailauth/dkim_tags.hpp"

namespace sov::mailauth {

namespace {

// The header data an ARC-Seal of instance `k` covers (§5.1.1): the sets 1..k in increasing
// instance order, each AAR, AMS, AS, relaxed-canonicalised (§4.1.3), the AS of instance k last,
// with its b= value removed and without its CRLF (RFC 6376 §3.7).
std::string seal_data(const std::vector<ArcSetFields>& sets, std::size_t k) {
    std::string data;
    for (std::size_t j = 0; j < k; ++j) {
        data += canonicalize_header(Canon::Relaxed, sets[j].aar.raw);
        data += "\r\n";
        data += canonicalize_header(Canon::Relaxed, sets[j].ams.raw);
        data += "\r\n";
        if (j + 1 < k) {
            data += canonicalize_header(Canon::Relaxed, sets[j].seal.raw);
            data += "\r\n";
        }
    }
    data += canonicalize_header(Canon::Relaxed, remove_b_value(sets[k - 1].seal.raw));
    return data;
}

class Verifier {
public:
    Verifier(DnsSource& dns, std::string_view message, const SplitMessage& split)
        : dns_(dns), body_(message.substr(split.body_offset)), fields_(split.fields) {}

    // Checks one signature (AMS or AS) over `data` with the key at <selector>._domainkey.<domain>.
    // Returns an empty string when it verifies, else the reason.
    boost::asio::awaitable<std::string> check_signature(
        std::string_view what,
        KeyAlgorithm algorithm,
        std::string_view domain,
        std::string_view selector,
        std::string_view b,
        const std::string& data
    ) {
        const auto signature = base64_decode(strip_fws(b));
        if (!signature || signature->empty()) {
            co_return fmt::format("{} b= is not base64", what);
        }
        const KeyLookup* key = co_await key_for(std::string(selector), std::string(domain));
        if (key->status != KeyStatus::Ok || !key->record) {
            if (key->status == KeyStatus::TempFail) {
                temporary_ = true;
            }
            co_return fmt::format("{} {}", what, to_string(key->status));
        }
        if (key->record->algorithm != algorithm) {
            co_return fmt::format("{} key algorithm differs from a=", what);
        }
        if (!key->record->key.verify_digest(sha256(data), *signature)) {
            co_return fmt::format("{} signature does not verify", what);
        }
        co_return std::string{};
    }

    // §5.2 step 4/5: an AMS validates as a DKIM signature (RFC 6376 §6.1.3) would.
    boost::asio::awaitable<std::string> check_ams(
        int instance, const HeaderField& field, const ArcVerifyOptions& options
    ) {
        const std::string what = fmt::format("ams.{}", instance);
        const auto ams = parse_arc_message_signature(field.raw);
        if (ams.status != ArcFieldStatus::Ok) {
            co_return fmt::format("{} {} {}", what, to_string(ams.status), ams.detail);
        }
        if (options.now && ams.expiration &&
            static_cast<std::int64_t>(*ams.expiration) < *options.now) {
            co_return fmt::format("{} expired", what);
        }
        const auto bh = base64_decode(strip_fws(ams.body_hash));
        if (!bh) {
            co_return fmt::format("{} bh= is not base64", what);
        }
        const auto& [digest, length] = body_hash(ams.body_canon, ams.body_length);
        if (ams.body_length && length < *ams.body_length) {
            co_return fmt::format("{} l= exceeds the body", what);
        }
        if (bh->size() != digest.size() || !std::equal(digest.begin(), digest.end(), bh->begin())) {
            co_return fmt::format("{} body hash mismatch", what);
        }
        const std::vector<std::string> names(ams.signed_headers.begin(), ams.signed_headers.end());
        std::string data = canonical_header_data(ams.header_canon, fields_, names);
        data += canonicalize_header(ams.header_canon, remove_b_value(field.raw));
        co_return co_await check_signature(
            what, ams.algorithm, ams.domain, ams.selector, ams.signature, data
        );
    }

    [[nodiscard]] bool temporary() const noexcept { return temporary_; }

private:
    struct BodyDigest {
        Sha256Digest digest;
        std::uint64_t canonical_length;
    };

    // Each (canonicalisation, l=) pair is hashed once per message.
    const BodyDigest& body_hash(Canon canon, std::optional<std::uint64_t> limit) {
        const auto key = std::make_pair(canon, limit);
        auto it = bodies_.find(key);
        if (it == bodies_.end()) {
            BodyHasher hasher(canon, limit);
            hasher.update(body_);
            BodyDigest d{hasher.finish(), 0};
            d.canonical_length = hasher.canonical_length();
            it = bodies_.emplace(key, d).first;
        }
        return it->second;
    }

    // One lookup per key per message (chains often reuse one key for every AMS and AS).
    boost::asio::awaitable<const KeyLookup*> key_for(std::string selector, std::string domain) {
        std::string name = selector + "._domainkey." + domain;
        for (char& c : name) {
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c - 'A' + 'a');
            }
        }
        auto it = keys_.find(name);
        if (it == keys_.end()) {
            auto lookup = co_await fetch_key(dns_, std::move(selector), std::move(domain));
            it = keys_.emplace(std::move(name), std::move(lookup)).first;
        }
        co_return &it->second;
    }

    DnsSource& dns_;
    std::string_view body_;
    const std::vector<HeaderField>& fields_;
    std::map<std::pair<Canon, std::optional<std::uint64_t>>, BodyDigest> bodies_;
    std::map<std::string, KeyLookup> keys_;
    bool temporary_ = false;
};

ArcOutcome failed(ArcOutcome outcome, std::string reason) {
    outcome.cv = ArcResult::Fail;
    outcome.oldest_pass = 0;
    outcome.reason = std::move(reason);
    return outcome;
}

}  // namespace

boost::asio::awaitable<ArcOutcome> verify_arc(
    DnsSource& dns, std::string_view message, ArcVerifyOptions options
) {
    ArcOutcome outcome;
    const auto split = split_message(message, options.header_limits);
    if (split.status != SplitMessage::Status::Ok) {
        // Without a usable header we cannot tell whether a chain is there: only claim "fail"
        // when an ARC field is visible at all.
        const bool has_arc = std::any_of(split.fields.begin(), split.fields.end(), [](auto& f) {
            return arc_field_kind(f.name).has_value();
        });
        if (has_arc) {
            co_return failed(std::move(outcome), "malformed header");
        }
        co_return outcome;
    }

    // §5.2 step 1: collect the ARC sets.
    const auto chain = collect_arc_chain(split.fields);
    if (chain.status == ArcChain::Status::None) {
        co_return outcome;
    }
    outcome.instance = chain.max_instance;
    if (chain.latest_seal) {
        const auto latest = parse_arc_seal(chain.latest_seal->raw);
        if (latest.status == ArcFieldStatus::Ok) {
            outcome.domain = std::string(latest.domain);
            outcome.selector = std::string(latest.selector);
            // §5.2 step 2: the newest set already says the chain failed.
            if (latest.cv == ArcCv::Fail) {
                co_return failed(std::move(outcome), fmt::format("as.{} cv=fail", latest.instance));
            }
        }
    }
    // §5.2 step 1 (more than 50 sets) and step 3 A/B (structure).
    if (chain.status != ArcChain::Status::Ok) {
        co_return failed(std::move(outcome), std::string(to_string(chain.status)));
    }
    const auto n = chain.sets.size();
    // Every field of every set must parse (the form of each set), and §5.2 step 3.C: cv=none
    // at instance 1, cv=pass above it.
    for (std::size_t k = 1; k <= n; ++k) {
        const auto aar = parse_arc_authentication_results(chain.sets[k - 1].aar.raw);
        if (aar.status != ArcFieldStatus::Ok) {
            co_return failed(
                std::move(outcome), fmt::format("aar.{} {}", k, to_string(aar.status))
            );
        }
        const auto seal = parse_arc_seal(chain.sets[k - 1].seal.raw);
        if (seal.status != ArcFieldStatus::Ok) {
            co_return failed(
                std::move(outcome),
                fmt::format("as.{} {} {}", k, to_string(seal.status), seal.detail)
            );
        }
        const ArcCv expected = k == 1 ? ArcCv::None : ArcCv::Pass;
        if (seal.cv != expected) {
            co_return failed(
                std::move(outcome),
                fmt::format("as.{} cv={} (expected {})", k, to_string(seal.cv), to_string(expected))
            );
        }
    }

    Verifier verifier(dns, message, split);
    // §5.2 step 4: the newest AMS must validate.
    if (auto why = co_await verifier.check_ams(static_cast<int>(n), chain.sets[n - 1].ams, options);
        !why.empty()) {
        outcome.temporary = verifier.temporary();
        co_return failed(std::move(outcome), std::move(why));
    }
    // §5.2 step 5 (optional): the oldest AMS that still validates; a failure here does not
    // affect the chain.
    int oldest_pass = 0;
    if (options.compute_oldest_pass) {
        for (std::size_t m = n - 1; m >= 1; --m) {
            const auto why =
                co_await verifier.check_ams(static_cast<int>(m), chain.sets[m - 1].ams, options);
            if (!why.empty()) {
                oldest_pass = static_cast<int>(m + 1);
                break;
            }
        }
    }
    // §5.2 step 6: every AS, newest first.
    for (std::size_t k = n; k >= 1; --k) {
        const auto seal = parse_arc_seal(chain.sets[k - 1].seal.raw);
        const std::string data = seal_data(chain.sets, k);
        auto why = co_await verifier.check_signature(
            fmt::format("as.{}", k),
            seal.algorithm,
            seal.domain,
            seal.selector,
            seal.signature,
            data
        );
        if (!why.empty()) {
            outcome.temporary = verifier.temporary();
            co_return failed(std::move(outcome), std::move(why));
        }
    }
    // §5.2 step 7.
    outcome.cv = ArcResult::Pass;
    outcome.oldest_pass = oldest_pass;
    co_return outcome;
}

boost::asio::awaitable<std::optional<StaticDns>> prefetch_arc_keys(
    DnsSource& dns, std::string_view message, const ArcVerifyOptions& options
) {
    const auto split = split_message(message, options.header_limits);
    if (split.status != SplitMessage::Status::Ok) {
        co_return std::nullopt;
    }
    const auto chain = collect_arc_chain(split.fields);
    std::set<std::string> names;  // <selector>._domainkey.<domain>, as fetch_key asks
    auto add = [&names](std::string_view selector, std::string_view domain) {
        if (!selector.empty() && !domain.empty() && names.size() < kMaxArcKeyPrefetch) {
            names.insert(std::string(selector) + "._domainkey." + std::string(domain));
        }
    };
    for (const auto& set : chain.sets) {
        const auto ams = parse_arc_message_signature(set.ams.raw);
        if (ams.status == ArcFieldStatus::Ok) {
            add(ams.selector, ams.domain);
        }
        const auto seal = parse_arc_seal(set.seal.raw);
        if (seal.status == ArcFieldStatus::Ok) {
            add(seal.selector, seal.domain);
        }
    }
    if (names.empty()) {
        co_return std::nullopt;
    }
    StaticDns table;
    for (const auto& name : names) {
        auto answer = co_await dns.txt(name);
        if (!answer) {
            table.fail(name, dns::RrType::TXT);
            continue;
        }
        for (auto& record : answer->records) {
            table.add_txt(name, std::move(record));
        }
        if (answer->records.empty() && !answer->nxdomain) {
            table.add_name(name);  // no TXT there: "no key", as from the resolver
        }
    }
    co_return table;
}

}  // namespace sov::mailauth
