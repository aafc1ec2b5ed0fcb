#pragma once
// The sender's MTA-STS procedure (RFC 8461 §3, §5.1): which policy applies to a Policy Domain
// now. TXT discovery at `_mta-sts.<domain>` through the validating resolver, the durable cache
// (mta_sts_cache.hpp) and the HTTPS fetch (mta_sts_fetch.hpp), combined as follows:
//
//  * A cached policy is used until max_age after it was fetched (§3.2, §5.1 step 1).
//  * The TXT id is compared with the cached policy's id on every lookup; a different id means a
//    new policy is published and triggers a fetch (§3.1, §5.1 step 3).
//  * A cached policy older than `refresh_after` (a day) is fetched again even when the id is
//    unchanged (§3.3 "SHOULD proactively refresh ... once per day"; §10.2: do not wait for
//    expiry, so an attacker must block every refresh over the policy's whole lifetime).
//  * No TXT record, a TXT lookup failure or a failed fetch does not remove a non-expired cached
//    policy: it is still applied (§3.1 last paragraph, §3.3 "the sender MUST apply that cached
//    policy"). Without one, the domain is treated as having no policy (§3.3).
//  * A failed fetch is not retried for the same id within `retry_after_failure` (§3.3: "five
//    minutes or longer per version ID"), and is logged as a warning unless the cached policy's
//    mode is "none" (§3.3, §10.2).
//
// Log events: mta_sts.fetched, mta_sts.fetch_failed, mta_sts.cached (a cached policy applied),
// mta_sts.none (no policy; debug level).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/awaitable.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "dns/resolver.hpp"
#include "net/tls_context.hpp"
#include "tls/mta_sts_cache.hpp"
#include "tls/mta_sts_fetch.hpp"
#include "tls/mta_sts_policy.hpp"
#include "tls/tlsrpt_report.hpp"

namespace sov::tls {

struct StsOptions {
    FetchOptions fetch;
    std::chrono::seconds refresh_after{std::chrono::hours{24}};  // §3.3 "once per day"
    /// §3.3 rate limit for failed fetches per id. Zero: always try (`sovereign tls probe`,
    /// where an operator wants to see the policy host's current answer).
    std::chrono::seconds retry_after_failure{std::chrono::minutes{5}};
};

enum class PolicySource {
    Fetched,  // fetched during this lookup
    Cache,    // from the cache
};

/// The policy in force for a domain. Mode None is returned too (it is a policy, §8.3: it
/// replaces a cached stricter one), but means "no MTA-STS" to the caller (§5).
struct ActivePolicy {
    Policy policy;
    std::string id;  // the TXT id it was fetched under
    core::WallTime fetched_at;
    core::WallTime expires_at;
    PolicySource source = PolicySource::Fetched;

    /// enforce or testing: MX hosts are validated (§4) and failures handled by mode (§5).
    [[nodiscard]] bool applies() const noexcept { return policy.mode != Mode::None; }
};

/// Why a policy the domain publishes (its `_mta-sts` TXT record is there) could not be applied:
/// the fetch failed, or was not retried yet after a failure (§3.3), and no cached policy was
/// left. Delivery goes on as if there were no MTA-STS (§5), but SMTP TLS Reporting counts the
/// sessions as failures of the "sts" policy (RFC 8460 §4.3.2.2).
struct StsFailure {
    ResultType type = ResultType::StsPolicyFetchError;  // or StsPolicyInvalid, StsWebpkiInvalid
    std::string reason;                                 // "failure-reason-code"
};

struct StsLookup {
    std::optional<ActivePolicy> policy;  // nullopt: the domain has no usable policy
    std::string note;  // how that was decided, for logs and `tls probe` ("no _mta-sts record")
    /// Set only without `policy`: the published policy could not be had (see StsFailure).
    std::optional<StsFailure> failure;
};

/// The RFC 8460 §4.3.2.2 result type of a failed fetch_policy(): sts-webpki-invalid for a
/// certificate failing PKIX, sts-policy-invalid for an answer that is not a valid policy (media
/// type, size, syntax), sts-policy-fetch-error for everything else (no address, connection,
/// timeout, HTTP status).
[[nodiscard]] ResultType sts_failure_type(std::error_code fetch_error) noexcept;

/// The same for a failure recorded in the cache (FetchFailure::error, "<message>: <detail>"),
/// used while a failed fetch is not retried yet.
[[nodiscard]] ResultType sts_failure_type(std::string_view recorded_error);

// ---- the decision of §5.1, separated from I/O so it can be tested on its own

/// What the `_mta-sts` TXT lookup said.
enum class TxtState {
    Record,        // exactly one valid record: `id` is set
    NoRecord,      // none, several, or an invalid one (§3.1: no available policy)
    LookupFailed,  // timeout, SERVFAIL, bogus
};

struct Discovery {
    TxtState state = TxtState::NoRecord;
    std::string id;
    std::string why;  // for NoRecord / LookupFailed: the reason in words
};

enum class StsStep {
    UseCache,  // apply the cached policy, fetch nothing
    Fetch,     // fetch; on failure fall back to the cached policy if it has not expired
    NoPolicy,  // the domain has no policy we can apply
};

struct StsDecision {
    StsStep step = StsStep::NoPolicy;
    std::string_view reason;
};

/// The §5.1 decision. `cached` and `failure` may be null (nothing cached, no failure recorded).
[[nodiscard]] StsDecision decide_sts(
    const CachedPolicy* cached,
    const Discovery& txt,
    const FetchFailure* failure,
    core::WallTime now,
    const StsOptions& options
) noexcept;

/// Turns the TXT answer at `_mta-sts.<domain>` into a Discovery (§3.1 selection rules).
[[nodiscard]] Discovery discover(const Result<dns::Records<std::string>>& txt);

// ---- the procedure

/// Keeps references: `resolver` and `cache` (which may be null: no caching, every lookup
/// fetches) must outlive it.
class StsResolver {
public:
    StsResolver(
        dns::Resolver& resolver, net::SslContextPtr context, PolicyCache* cache, StsOptions options
    )
        : resolver_(resolver),
          context_(std::move(context)),
          cache_(cache),
          options_(std::move(options)) {}

    /// The policy to apply to mail for `domain` now (an ASCII domain, A-labels). Fails only with
    /// the DNS error when the TXT lookup fails and no non-expired policy is cached: whether that
    /// defers delivery is the caller's choice (the probe reports it and goes on without).
    boost::asio::awaitable<Result<StsLookup>> current_policy(std::string domain);

private:
    dns::Resolver& resolver_;
    net::SslContextPtr context_;
    PolicyCache* cache_;
    StsOptions options_;
};

}  // namespace sov::tls
