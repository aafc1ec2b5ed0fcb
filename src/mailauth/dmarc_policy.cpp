#include "mailauth/dmarc_policy.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "dns/errors.hpp"
#include "mailauth/dkim_canon.hpp"
#include "mime/address.hpp"
#include "mime/header.hpp"

namespace sov::mailauth {

namespace asio = boost::asio;

namespace {

// RFC 1035 §2.3.4 sizes. A name we would not query is not a DMARC author domain.
constexpr std::size_t kMaxNameOctets = 253;
constexpr std::size_t kMaxLabelOctets = 63;
// §4.10 step 4: "If x >= 8, remove the left-most labels ... until 7 labels remain."
constexpr std::size_t kShortcutLabels = 7;
constexpr std::size_t kMaxWalkQueries = 8;

std::vector<std::string_view> split_labels(std::string_view domain) {
    std::vector<std::string_view> labels;
    while (true) {
        const auto dot = domain.find('.');
        labels.push_back(domain.substr(0, dot));
        if (dot == std::string_view::npos) {
            break;
        }
        domain.remove_prefix(dot + 1);
    }
    return labels;
}

// The last `n` labels of `domain`.
std::string last_labels(std::string_view domain, std::size_t n) {
    const auto labels = split_labels(domain);
    std::string out;
    for (std::size_t i = labels.size() - std::min(n, labels.size()); i < labels.size(); ++i) {
        if (!out.empty()) {
            out += '.';
        }
        out += labels[i];
    }
    return out;
}

std::size_t label_count(std::string_view domain) {
    return static_cast<std::size_t>(std::count(domain.begin(), domain.end(), '.')) + 1;
}

enum class NameCheck : std::uint8_t {
    Ok,
    NonAscii,
    Invalid,
};

// Lowercases (RFC 4343: comparisons are case-insensitive, §4.4), drops one final dot, and checks
// the label and name lengths. Characters other than LDH are allowed ('_' occurs in real names);
// spaces, controls and empty labels are not.
NameCheck normalize_name(std::string_view in, std::string& out) {
    if (!in.empty() && in.back() == '.') {
        in.remove_suffix(1);
    }
    out = mime::to_lower(in);
    if (out.empty() || out.size() > kMaxNameOctets) {
        return NameCheck::Invalid;
    }
    bool non_ascii = false;
    for (const char c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) {
            non_ascii = true;
        } else if (u <= 0x20 || u == 0x7f || c == '@' || c == '[' || c == ']' || c == ';') {
            return NameCheck::Invalid;
        }
    }
    for (const auto label : split_labels(out)) {
        if (label.empty() || label.size() > kMaxLabelOctets) {
            return NameCheck::Invalid;
        }
    }
    return non_ascii ? NameCheck::NonAscii : NameCheck::Ok;
}

bool is_same_or_subdomain(std::string_view domain, std::string_view parent) {
    if (domain.size() == parent.size()) {
        return domain == parent;
    }
    return domain.size() > parent.size() && domain.ends_with(parent) &&
           domain[domain.size() - parent.size() - 1] == '.';
}

DmarcPolicy lowered(DmarcPolicy policy) {
    // §4.7 "t": "if the policy is quarantine and t=y, none ...; reject and t=y, quarantine".
    switch (policy) {
        case DmarcPolicy::Reject:
            return DmarcPolicy::Quarantine;
        case DmarcPolicy::Quarantine:
        case DmarcPolicy::None:
            return DmarcPolicy::None;
    }
    return DmarcPolicy::None;
}

// The DMARC records at one name, as the Tree Walk sees them.
struct NameAnswer {
    bool error = false;
    std::size_t dmarc_records = 0;  // records starting with v=DMARC1 (valid or not)
    std::optional<DmarcRecord> record;
};

// One evaluation's DNS state: TXT answers are cached by name, so Tree Walks for the author
// domain and for identifiers under it share their queries (as in RFC 9989 B.4.1, where the
// MAIL FROM domain's Organizational Domain is "already found").
class Walker {
public:
    explicit Walker(DnsSource& dns) : dns_(dns) {}

    asio::awaitable<DmarcTreeWalk> walk(std::string start) {
        DmarcTreeWalk out;
        out.start = start;
        const std::size_t before = queries_;
        for (auto& target : dmarc_walk_targets(start)) {
            const NameAnswer answer = co_await lookup(target);
            if (answer.error) {
                out.temperror = true;
                out.failed_name = "_dmarc." + target;
                break;
            }
            // §4.10 steps 2 and 6: non-DMARC records are discarded; several DMARC records at
            // one name are all discarded; a single one with psd=y or psd=n ends the walk.
            if (answer.dmarc_records != 1 || !answer.record) {
                continue;
            }
            const DmarcPsd psd = answer.record->psd;
            out.found.push_back(DmarcWalkEntry{std::move(target), *answer.record});
            if (psd != DmarcPsd::Unknown) {
                break;
            }
        }
        out.queries = queries_ - before;
        co_return out;
    }

    [[nodiscard]] std::size_t queries() const noexcept { return queries_; }

private:
    asio::awaitable<NameAnswer> lookup(std::string target) {
        if (const auto it = cache_.find(target); it != cache_.end()) {
            co_return it->second;
        }
        ++queries_;
        NameAnswer answer;
        // §4.5: each TXT record's strings are concatenated (DnsSource already does this).
        const auto txt = co_await dns_.txt("_dmarc." + target);
        if (!txt) {
            answer.error = true;  // DnsSource: an error is a temporary failure
        } else {
            for (const auto& text : txt->records) {
                auto parsed = parse_dmarc_record(text);
                if (parsed.status == DmarcRecordParse::Status::NotDmarc) {
                    continue;
                }
                ++answer.dmarc_records;
                if (parsed.ok()) {
                    answer.record = std::move(parsed.record);
                }
            }
        }
        cache_.emplace(std::move(target), answer);
        co_return answer;
    }

    DnsSource& dns_;
    std::map<std::string, NameAnswer> cache_;
    std::size_t queries_ = 0;
};

// Tri-state alignment: aligned, not aligned, or unknown because of a DNS error.
enum class Aligned : std::uint8_t {
    Yes,
    No,
    Unknown,
};

class Evaluator {
public:
    Evaluator(DnsSource& dns, DmarcLimits limits) : dns_(dns), walker_(dns), limits_(limits) {}

    asio::awaitable<DmarcOutcome> run(DmarcInputs inputs) {
        co_await evaluate(std::move(inputs));
        out_.queries = walker_.queries() + extra_queries_;
        co_return std::move(out_);
    }

private:
    asio::awaitable<void> evaluate(DmarcInputs inputs) {
        DmarcOutcome& out = out_;
        switch (normalize_name(inputs.from_domain, author_)) {
            case NameCheck::Ok:
                break;
            case NameCheck::NonAscii:
                // §5.3.1: a U-label MUST be converted to an A-label first (by the caller).
                out.author_domain = author_;
                out.result = DmarcResult::PermError;
                out.reason = "author domain not in A-label form";
                co_return;
            case NameCheck::Invalid:
                out.result = DmarcResult::None;
                out.reason = "no valid author domain";
                co_return;
        }
        out.author_domain = author_;

        // §4.10.1: the record at the author domain first, then the Tree Walk above it.
        author_walk_ = co_await walker_.walk(author_);
        const auto& walk = author_walk_;
        if (walk.temperror && walk.failed_name == "_dmarc." + author_) {
            out.result = DmarcResult::TempError;
            out.reason = "dns error at " + walk.failed_name;
            co_return;
        }
        org_author_ = organizational_domain(walk);
        if (org_author_) {
            out.organizational_domain = *org_author_;
        }

        const DmarcWalkEntry* applied = walk.at(author_);
        bool subdomain = false;
        if (applied == nullptr) {
            if (walk.temperror) {
                // Without the rest of the walk we cannot tell whether a policy applies.
                out.result = DmarcResult::TempError;
                out.reason = "dns error at " + walk.failed_name;
                co_return;
            }
            // §4.10.1: the record of the Organizational Domain, else that of the PSD.
            applied = walk.at(*org_author_);
            if (applied == nullptr && !walk.found.empty() &&
                walk.found.back().record.psd == DmarcPsd::Yes) {
                applied = &walk.found.back();
            }
            if (applied == nullptr) {
                // §4.10.1: no record at all: "Mail Receivers MUST NOT apply the DMARC mechanism".
                out.result = DmarcResult::None;
                out.reason = "no DMARC policy record";
                co_return;
            }
            subdomain = true;
        }
        const DmarcRecord& rec = applied->record;
        out.policy_domain = applied->domain;
        out.record = rec;
        out.rua = rec.rua;
        out.testing = rec.testing;

        // §4.10.1: an invalid p, sp or np: with a syntactically valid rua URI act as p=none,
        // otherwise no DMARC processing.
        const bool policy_usable = rec.policy_valid();
        if (!policy_usable && rec.rua.empty()) {
            out.result = DmarcResult::None;
            out.reason = "policy record with invalid policy and no rua";
            co_return;
        }

        // §4.4, §5.3.4, §5.3.5: any aligned Authenticated Identifier passes.
        bool unknown = false;
        std::string unknown_reason;
        if (inputs.spf_domain && (inputs.spf_result == DmarcSpfResult::Pass ||
                                  inputs.spf_result == DmarcSpfResult::TempError)) {
            std::string spf_domain;
            if (normalize_name(*inputs.spf_domain, spf_domain) == NameCheck::Ok) {
                const Aligned a = co_await aligned(spf_domain, rec.aspf);
                if (inputs.spf_result == DmarcSpfResult::Pass && a == Aligned::Yes) {
                    out.spf_aligned = true;
                    out.aligned_by = DmarcIdentifier::Spf;
                    out.aligned_domain = spf_domain;
                } else if (a != Aligned::No) {
                    // An SPF temperror on a MAIL FROM domain that would align, or an alignment
                    // we could not decide: a retry may pass (§5.3.6).
                    unknown = true;
                    unknown_reason = inputs.spf_result == DmarcSpfResult::TempError
                                         ? "spf temperror"
                                         : "dns error during alignment";
                }
            }
        }
        std::vector<std::string> tried;
        for (const auto& signature : inputs.dkim) {
            std::string d;
            if (normalize_name(signature.domain, d) != NameCheck::Ok ||
                std::find(tried.begin(), tried.end(), d) != tried.end()) {
                continue;
            }
            tried.push_back(d);
            const Aligned a = co_await aligned(d, rec.adkim);
            if (a == Aligned::Yes) {
                out.dkim_aligned = true;
                out.aligned_by = DmarcIdentifier::Dkim;
                out.aligned_domain = d;
                break;
            }
            if (a == Aligned::Unknown) {
                unknown = true;
                unknown_reason = "dns error during alignment";
            }
        }

        if (out.dkim_aligned || out.spf_aligned) {
            out.result = DmarcResult::Pass;
            out.reason =
                std::string(to_string(out.aligned_by)) + " " + out.aligned_domain + " aligned";
        } else if (unknown) {
            out.result = DmarcResult::TempError;
            out.reason = unknown_reason;
        } else {
            out.result = DmarcResult::Fail;
            out.reason = "no aligned spf or dkim identifier";
        }

        // The requested policy (§4.10.1): p for the policy domain itself; sp for an existing
        // subdomain, np for a non-existent one, each falling back to p (§4.7 sp, np).
        if (!policy_usable) {
            out.requested = DmarcPolicy::None;
            out.requested_from = DmarcPolicySource::None;
            if (out.reason.size() < 80) {
                out.reason += "; invalid policy, acting as p=none";
            }
        } else if (!subdomain) {
            out.requested = rec.p.value_or(DmarcPolicy::None);
            out.requested_from = DmarcPolicySource::P;
        } else {
            out.requested = rec.sp ? *rec.sp : rec.p.value_or(DmarcPolicy::None);
            out.requested_from = rec.sp ? DmarcPolicySource::Sp : DmarcPolicySource::P;
            if (rec.np && *rec.np != out.requested) {
                // §3.2.13 / Appendix A.4: NXDOMAIN for the name (any type) means it does not
                // exist; NODATA means it does.
                ++extra_queries_;
                const auto answer = co_await dns_.a(author_);
                if (!answer) {
                    if (out.result == DmarcResult::Fail) {
                        out.result = DmarcResult::TempError;
                        out.reason = "dns error checking author domain existence";
                    }
                } else if (answer->nxdomain) {
                    out.requested = *rec.np;
                    out.requested_from = DmarcPolicySource::Np;
                }
            }
        }
        if (out.result == DmarcResult::Fail) {
            out.disposition = out.testing ? lowered(out.requested) : out.requested;
        }
        co_return;
    }

    // §4.4: strict = identical; relaxed = same Organizational Domain (§4.10.2).
    asio::awaitable<Aligned> aligned(std::string domain, DmarcAlignment mode) {
        if (domain == author_) {
            // Identical names align in both modes; §4.10.2 needs no walk for this.
            co_return Aligned::Yes;
        }
        if (mode == DmarcAlignment::Strict) {
            co_return Aligned::No;
        }
        if (!org_author_) {
            co_return Aligned::Unknown;
        }
        // An Organizational Domain is the name itself or one of its ancestors, so the two can
        // only match if the identifier is at or under the author's: no queries otherwise.
        if (!is_same_or_subdomain(domain, *org_author_)) {
            co_return Aligned::No;
        }
        std::optional<std::string> org;
        if (const auto it = org_cache_.find(domain); it != org_cache_.end()) {
            org = it->second;
        } else {
            if (walks_ >= limits_.max_identifier_walks) {
                co_return Aligned::No;
            }
            ++walks_;
            const auto walk = co_await walker_.walk(domain);
            org = organizational_domain(walk);
            org_cache_.emplace(domain, org);
        }
        if (!org) {
            co_return Aligned::Unknown;
        }
        co_return *org == *org_author_ ? Aligned::Yes : Aligned::No;
    }

    DnsSource& dns_;
    Walker walker_;
    DmarcLimits limits_;
    DmarcOutcome out_;
    std::string author_;
    DmarcTreeWalk author_walk_;
    std::optional<std::string> org_author_;
    std::map<std::string, std::optional<std::string>> org_cache_;
    std::size_t walks_ = 0;
    std::size_t extra_queries_ = 0;
};

int severity(const DmarcOutcome& o) {
    switch (o.result) {
        case DmarcResult::Fail:
            return 5;
        case DmarcResult::TempError:
            return 4;
        case DmarcResult::PermError:
            return 3;
        case DmarcResult::Pass:
            return 2;
        case DmarcResult::None:
            return 1;
    }
    return 0;
}

}  // namespace

std::vector<std::string> dmarc_walk_targets(std::string_view domain) {
    std::vector<std::string> out;
    if (domain.empty()) {
        return out;
    }
    out.emplace_back(domain);
    std::size_t x = label_count(domain);
    if (x == 1) {
        return out;
    }
    // §4.10 step 4: one label fewer, or straight down to 7 labels for long names.
    x = x >= kMaxWalkQueries ? kShortcutLabels : x - 1;
    // Steps 5-7: then each parent, down to the top-level label.
    for (; x >= 1 && out.size() < kMaxWalkQueries; --x) {
        out.push_back(last_labels(domain, x));
    }
    return out;
}

const DmarcWalkEntry* DmarcTreeWalk::at(std::string_view domain) const noexcept {
    for (const auto& entry : found) {
        if (entry.domain == domain) {
            return &entry;
        }
    }
    return nullptr;
}

asio::awaitable<DmarcTreeWalk> dmarc_tree_walk(DnsSource& dns, std::string domain) {
    Walker walker(dns);
    co_return co_await walker.walk(std::move(domain));
}

std::optional<std::string> organizational_domain(const DmarcTreeWalk& walk) {
    // §4.10.2: select from the names with valid records, longest to shortest.
    for (const auto& entry : walk.found) {
        // Rule 1: psd=n marks the Organizational Domain.
        if (entry.record.psd == DmarcPsd::No) {
            return entry.domain;
        }
        // Rule 2: psd=y on a name other than the start: the name one label below it.
        if (entry.record.psd == DmarcPsd::Yes && entry.domain != walk.start) {
            return last_labels(walk.start, label_count(entry.domain) + 1);
        }
    }
    if (walk.temperror) {
        return std::nullopt;  // a record further up could still have changed the answer
    }
    // Rule 3: the record at the name with the fewest labels; no record: the start itself.
    if (!walk.found.empty()) {
        return walk.found.back().domain;
    }
    return walk.start;
}

asio::awaitable<Result<std::string>> find_organizational_domain(
    DnsSource& dns, std::string domain
) {
    std::string name;
    if (normalize_name(domain, name) != NameCheck::Ok) {
        co_return make_error_code(dns::Errc::BadName);
    }
    Walker walker(dns);
    const auto walk = co_await walker.walk(std::move(name));
    auto org = organizational_domain(walk);
    if (!org) {
        co_return make_error_code(dns::Errc::Timeout);
    }
    co_return std::move(*org);
}

asio::awaitable<DmarcOutcome> evaluate_dmarc(
    DnsSource& dns, DmarcInputs inputs, DmarcLimits limits
) {
    Evaluator evaluator(dns, limits);
    co_return co_await evaluator.run(std::move(inputs));
}

asio::awaitable<DmarcOutcome> evaluate_dmarc_all(
    DnsSource& dns,
    std::vector<std::string> author_domains,
    DmarcInputs inputs,
    DmarcLimits limits,
    std::size_t max_domains
) {
    // §11.5: "apply the DMARC mechanism to each domain ... and apply the most strict policy
    // selected among the checks that fail"; limiting the count avoids a denial of service.
    std::optional<DmarcOutcome> chosen;
    std::size_t done = 0;
    for (auto& domain : author_domains) {
        if (done++ == max_domains) {
            break;
        }
        DmarcInputs one = inputs;
        one.from_domain = std::move(domain);
        auto outcome = co_await evaluate_dmarc(dns, std::move(one), limits);
        if (!chosen || severity(outcome) > severity(*chosen) ||
            (severity(outcome) == severity(*chosen) && outcome.disposition > chosen->disposition)) {
            chosen = std::move(outcome);
        }
    }
    if (!chosen) {
        DmarcOutcome none;
        none.reason = "no author domain";
        co_return none;
    }
    if (author_domains.size() > max_domains && chosen->result != DmarcResult::Fail &&
        chosen->reason.size() < 80) {
        chosen->reason += "; not all author domains checked";
    }
    co_return std::move(*chosen);
}

AuthorDomains author_domains(std::string_view message) {
    AuthorDomains out;
    const auto split = split_message(message);
    if (split.status != SplitMessage::Status::Ok) {
        out.status = AuthorDomains::Status::BadHeader;
        return out;
    }
    std::size_t from_fields = 0;
    for (const auto& field : split.fields) {
        if (!mime::iequals(field.name, "From")) {
            continue;
        }
        ++from_fields;
        const auto colon = field.raw.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        for (const auto& address : mime::parse_address_list(field.raw.substr(colon + 1))) {
            if (address.kind != mime::Address::Kind::Mailbox || address.host.empty()) {
                continue;
            }
            // Not a domain name (empty labels, address literals): no author domain to protect.
            std::string domain;
            const NameCheck check = normalize_name(address.host, domain);
            if (check == NameCheck::Invalid ||
                std::find(out.domains.begin(), out.domains.end(), domain) != out.domains.end()) {
                continue;
            }
            if (out.domains.size() == kMaxAuthorDomains) {
                out.truncated = true;
                continue;
            }
            out.non_ascii = out.non_ascii || check == NameCheck::NonAscii;
            out.domains.push_back(std::move(domain));
        }
    }
    // §5.3.1: zero or several domains: DMARC validation is not possible (a receiver MAY go on,
    // §11.5). §4.4: a repeated From field gives no reliable author domain either.
    if (from_fields == 0) {
        out.status = AuthorDomains::Status::NoFrom;
    } else if (from_fields > 1) {
        out.status = AuthorDomains::Status::MultipleFromFields;
    } else if (out.domains.empty()) {
        out.status = AuthorDomains::Status::NoDomain;
    } else if (out.domains.size() > 1) {
        out.status = AuthorDomains::Status::MultipleDomains;
    } else {
        out.status = AuthorDomains::Status::Ok;
    }
    return out;
}

std::string_view to_string(DmarcResult result) noexcept {
    switch (result) {
        case DmarcResult::None:
            return "none";
        case DmarcResult::Pass:
            return "pass";
        case DmarcResult::Fail:
            return "fail";
        case DmarcResult::TempError:
            return "temperror";
        case DmarcResult::PermError:
            return "permerror";
    }
    return "none";
}

std::string_view to_string(DmarcSpfResult result) noexcept {
    switch (result) {
        case DmarcSpfResult::None:
            return "none";
        case DmarcSpfResult::Neutral:
            return "neutral";
        case DmarcSpfResult::Pass:
            return "pass";
        case DmarcSpfResult::Fail:
            return "fail";
        case DmarcSpfResult::SoftFail:
            return "softfail";
        case DmarcSpfResult::TempError:
            return "temperror";
        case DmarcSpfResult::PermError:
            return "permerror";
    }
    return "none";
}

std::string_view to_string(DmarcIdentifier identifier) noexcept {
    switch (identifier) {
        case DmarcIdentifier::None:
            return "none";
        case DmarcIdentifier::Spf:
            return "spf";
        case DmarcIdentifier::Dkim:
            return "dkim";
    }
    return "none";
}

std::string_view to_string(DmarcPolicySource source) noexcept {
    switch (source) {
        case DmarcPolicySource::None:
            return "none";
        case DmarcPolicySource::P:
            return "p";
        case DmarcPolicySource::Sp:
            return "sp";
        case DmarcPolicySource::Np:
            return "np";
    }
    return "none";
}

std::string_view to_string(AuthorDomains::Status status) noexcept {
    switch (status) {
        case AuthorDomains::Status::Ok:
            return "ok";
        case AuthorDomains::Status::NoFrom:
            return "no From field";
        case AuthorDomains::Status::MultipleFromFields:
            return "several From fields";
        case AuthorDomains::Status::NoDomain:
            return "no author domain";
        case AuthorDomains::Status::MultipleDomains:
            return "several author domains";
        case AuthorDomains::Status::BadHeader:
            return "bad header";
    }
    return "unknown";
}

}  // namespace sov::mailauth
