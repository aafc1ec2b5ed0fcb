#pragma once
// DMARC evaluation (RFC 9989): policy discovery and Organizational Domain determination by the
// DNS Tree Walk (§4.10, §4.10.1, §4.10.2), identifier alignment (§4.4), and the result with the
// handling the Domain Owner asks for (§4.7 p / sp / np / t, §5.3).
//
// No Public Suffix List: RFC 9989 replaced it with the Tree Walk everywhere ("reliance on a PSL
// has been replaced by a technique called a DNS Tree Walk", Appendix C.3; §4.10 and Appendix A.5
// keep the PSL only as RFC 7489 history). Nothing in RFC 9989 still allows it, so libpsl is not
// used.
//
// Inputs are plain values, independent of the SPF and DKIM verifiers' types: the caller maps
// its results into DmarcInputs. DNS goes only through DnsSource; everything else is pure.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "mailauth/dmarc_record.hpp"
#include "mailauth/dns_source.hpp"

namespace sov::mailauth {

// ------------------------------------------------------------------------------------- inputs

/// The SPF result for the MAIL FROM identity (RFC 7208 §2.6), as the caller got it.
enum class DmarcSpfResult : std::uint8_t {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
};

/// A DKIM signature that verified (RFC 9989 §4.4.1: only validated signatures count).
struct DkimPass {
    std::string domain;    // d=
    std::string selector;  // s=, kept for reports (§5.3.3)
};

struct DmarcInputs {
    /// The RFC5322.From domain (see author_domains()), as A-labels (§5.3.1).
    std::string from_domain;
    /// The MAIL FROM domain SPF evaluated (for a null reverse-path the HELO domain, RFC 7208
    /// §2.4 / RFC 9989 §3.2.4), if any.
    std::optional<std::string> spf_domain;
    DmarcSpfResult spf_result = DmarcSpfResult::None;
    std::vector<DkimPass> dkim;
};

struct DmarcLimits {
    /// Distinct Authenticated Identifiers that get a Tree Walk of their own (each is at most 8
    /// queries); further ones are treated as unaligned. Bounds what a message with many valid
    /// signatures from unrelated domains can make us query.
    std::size_t max_identifier_walks = 8;
};

// ----------------------------------------------------------------------------------- outcome

/// RFC 8601 / IANA "dmarc" result keywords (RFC 9989 §9.2).
enum class DmarcResult : std::uint8_t {
    None,  // no DMARC Policy Record applies (or DMARC cannot be applied to this author domain)
    Pass,
    Fail,
    TempError,
    PermError,
};

/// Which Authenticated Identifier produced the pass.
enum class DmarcIdentifier : std::uint8_t {
    None,
    Spf,
    Dkim,
};

/// Which tag of the record the requested policy came from.
enum class DmarcPolicySource : std::uint8_t {
    None,  // no record, or a record with an invalid policy and a usable rua (acts as p=none)
    P,
    Sp,
    Np,
};

struct DmarcOutcome {
    DmarcResult result = DmarcResult::None;
    /// The Domain Owner Assessment Policy that applies to this author domain: p, or sp / np for
    /// a subdomain of the policy domain (§4.10.1). Meaningful when a record was found.
    DmarcPolicy requested = DmarcPolicy::None;
    DmarcPolicySource requested_from = DmarcPolicySource::None;
    /// t=y (or pct=0): the owner is testing; see disposition.
    bool testing = false;
    /// What the policy asks us to do with *this* message: `requested` when the result is fail,
    /// lowered one level when testing (§4.7 "t": reject -> quarantine, quarantine -> none);
    /// none otherwise. This is the RFC 8601 policy.dmarc property (§9.1). Whether we act on
    /// it is the receiver's choice (§5.4, §7.4: never reject on p=reject alone).
    DmarcPolicy disposition = DmarcPolicy::None;

    std::string author_domain;          // lowercase, no final dot
    std::string policy_domain;          // where the applied record was found; empty if none
    std::string organizational_domain;  // of the author domain; empty if it could not be found

    DmarcIdentifier aligned_by = DmarcIdentifier::None;
    std::string aligned_domain;  // the identifier that aligned
    bool spf_aligned = false;    // per mechanism, for aggregate reports (RFC 9990)
    bool dkim_aligned = false;

    std::string reason;  // short printable ASCII for logs and Authentication-Results comments

    /// The applied record (policy_published in reports) and its rua list (report writer).
    std::optional<DmarcRecord> record;
    std::vector<DmarcReportUri> rua;

    /// DNS queries made for this evaluation.
    std::size_t queries = 0;
};

/// Evaluates DMARC for one author domain (§5.3.2 - §5.3.6).
boost::asio::awaitable<DmarcOutcome> evaluate_dmarc(
    DnsSource& dns, DmarcInputs inputs, DmarcLimits limits = {}
);

/// For a From field with several author domains (§11.5): evaluates each domain (at most
/// `max_domains`) and returns the outcome to act on: the failing one with the strictest
/// disposition, else a temperror, else a permerror, else a pass, else none.
boost::asio::awaitable<DmarcOutcome> evaluate_dmarc_all(
    DnsSource& dns,
    std::vector<std::string> author_domains,
    DmarcInputs inputs,
    DmarcLimits limits = {},
    std::size_t max_domains = 4
);

// --------------------------------------------------------------------------------- tree walk

/// The names a Tree Walk queries (without the "_dmarc." prefix), in order (§4.10 steps 1-7):
/// the domain, then — after cutting a name of 8 or more labels to its last 7 — each parent down
/// to the top-level label. Never more than 8 names.
[[nodiscard]] std::vector<std::string> dmarc_walk_targets(std::string_view domain);

struct DmarcWalkEntry {
    std::string domain;  // where the record was found (without "_dmarc.")
    DmarcRecord record;
};

struct DmarcTreeWalk {
    std::string start;
    /// Valid records found, longest name first (names with several DMARC records are skipped,
    /// §4.10 step 2 / 6).
    std::vector<DmarcWalkEntry> found;
    bool temperror = false;   // a query failed; the walk stopped there
    std::string failed_name;  // the name whose query failed
    std::size_t queries = 0;

    /// The record found at `domain`, if any.
    [[nodiscard]] const DmarcWalkEntry* at(std::string_view domain) const noexcept;
};

/// Performs the DNS Tree Walk of §4.10 from `domain` (lowercase, no final dot).
boost::asio::awaitable<DmarcTreeWalk> dmarc_tree_walk(DnsSource& dns, std::string domain);

/// The Organizational Domain selected from a completed walk (§4.10.2 rules 1-3; the start
/// itself when no record was found). nullopt if the walk stopped on a DNS error before it could
/// decide.
[[nodiscard]] std::optional<std::string> organizational_domain(const DmarcTreeWalk& walk);

/// Tree Walk + selection: the Organizational Domain of `domain`, or a temporary DNS error.
boost::asio::awaitable<Result<std::string>> find_organizational_domain(
    DnsSource& dns, std::string domain
);

// ------------------------------------------------------------------------------ author domain

/// The RFC5322.From author domain(s) of a message (§5.3.1, §4.4, §11.5).
struct AuthorDomains {
    enum class Status : std::uint8_t {
        Ok,                  // exactly one author domain: evaluate it
        NoFrom,              // no From field: not a valid RFC 5322 message, DMARC does not apply
        MultipleFromFields,  // more than one From field (RFC 5322 §3.6 allows one): same
        NoDomain,            // From holds no address with a domain
        MultipleDomains,     // several addresses with different domains (§11.5)
        BadHeader,           // the header could not be split into fields
    };
    Status status = Status::NoFrom;
    /// Distinct domains in order of appearance, lowercase, final dot removed, at most
    /// kMaxAuthorDomains; hosts that are not domain names (address literals, empty labels) are
    /// left out. Domains with non-ASCII (U-label) characters are included as written:
    /// the caller converts them to A-labels (§5.3.1) before evaluation, e.g. with
    /// accounts::normalize_domain (this module does not link libidn2).
    std::vector<std::string> domains;
    bool non_ascii = false;  // some domain needs the U-label -> A-label conversion
    bool truncated = false;  // more than kMaxAuthorDomains were present
};

inline constexpr std::size_t kMaxAuthorDomains = 8;

/// Extracts the author domain(s) from a message or its header block (CRLF line ends).
[[nodiscard]] AuthorDomains author_domains(std::string_view message);

// --------------------------------------------------------------------------------- to_string

/// RFC 8601 result keyword: none, pass, fail, temperror, permerror.
[[nodiscard]] std::string_view to_string(DmarcResult result) noexcept;
[[nodiscard]] std::string_view to_string(DmarcSpfResult result) noexcept;
[[nodiscard]] std::string_view to_string(DmarcIdentifier identifier) noexcept;
[[nodiscard]] std::string_view to_string(DmarcPolicySource source) noexcept;
[[nodiscard]] std::string_view to_string(AuthorDomains::Status status) noexcept;

}  // namespace sov::mailauth
