#include "tls/mta_sts_resolver.hpp"

#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include "core/log.hpp"
#include "dns/errors.hpp"
#include "tls/errors.hpp"
#include "tls/mta_sts_record.hpp"

namespace sov::tls {

namespace asio = boost::asio;

namespace {

ActivePolicy from_cache(const CachedPolicy& cached) {
    return ActivePolicy{
        .policy = cached.policy,
        .id = cached.id,
        .fetched_at = cached.fetched_at,
        .expires_at = cached.expires_at,
        .source = PolicySource::Cache,
    };
}

std::int64_t seconds_until(core::WallTime t, core::WallTime now) {
    return std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
}

}  // namespace

ResultType sts_failure_type(std::error_code fetch_error) noexcept {
    if (fetch_error.category() != tls_category()) {
        return ResultType::StsPolicyFetchError;
    }
    switch (static_cast<Errc>(fetch_error.value())) {
        case Errc::CertificateInvalid:
            return ResultType::StsWebpkiInvalid;  // "could not be authenticated using PKIX"
        case Errc::FetchFailed:
        case Errc::FetchTimeout:
        case Errc::BadStatus:
        case Errc::CacheFailed:
            return ResultType::StsPolicyFetchError;  // e.g. "the policy host is unreachable"
        default:
            // BadContentType, TooLarge and the policy parser's codes: something was served,
            // but it is not a valid policy.
            return ResultType::StsPolicyInvalid;
    }
}

ResultType sts_failure_type(std::string_view recorded_error) {
    // The cache keeps the error's message, not its code: find the code whose message leads.
    for (int e = static_cast<int>(Errc::NoRecord); e <= static_cast<int>(Errc::CacheFailed); ++e) {
        const auto code = make_error_code(static_cast<Errc>(e));
        const auto message = code.message();
        if (recorded_error.starts_with(message) &&
            (recorded_error.size() == message.size() || recorded_error[message.size()] == ':')) {
            return sts_failure_type(code);
        }
    }
    return ResultType::StsPolicyFetchError;
}

Discovery discover(const Result<dns::Records<std::string>>& txt) {
    Discovery out;
    if (!txt) {
        out.state = TxtState::LookupFailed;
        out.why = "TXT lookup failed: " + txt.error().message();
        return out;
    }
    if (txt->nxdomain || txt->records.empty()) {
        out.why = "no _mta-sts record";
        return out;
    }
    // §3.1: records not starting with "v=STSv1" are discarded; not exactly one left, or an
    // invalid one, means no available policy.
    auto record = select_sts_record(txt->records);
    if (!record) {
        out.why = "_mta-sts record unusable: " + record.error().message();
        return out;
    }
    out.state = TxtState::Record;
    out.id = record->id;
    return out;
}

StsDecision decide_sts(
    const CachedPolicy* cached,
    const Discovery& txt,
    const FetchFailure* failure,
    core::WallTime now,
    const StsOptions& options
) noexcept {
    const bool fresh = cached != nullptr && !cached->expired(now);
    if (txt.state != TxtState::Record) {
        // §3.1: "the absence of a usable TXT record is not by itself sufficient to remove a
        // sender's previously cached policy"; §3.3: with no live policy, a valid cached one
        // MUST be applied.
        if (fresh) {
            return {
                StsStep::UseCache,
                txt.state == TxtState::NoRecord ? "no usable TXT record; cached policy not expired"
                                                : "TXT lookup failed; cached policy not expired"
            };
        }
        return {
            StsStep::NoPolicy,
            txt.state == TxtState::NoRecord ? "no usable TXT record" : "TXT lookup failed"
        };
    }
    std::string_view why_fetch;
    if (cached == nullptr) {
        why_fetch = "no cached policy";
    } else if (!fresh) {
        why_fetch = "cached policy expired";
    } else if (cached->id != txt.id) {
        why_fetch = "policy id changed";  // §3.1: the id identifies a policy instance
    } else if (now - cached->fetched_at >= options.refresh_after) {
        why_fetch = "daily refresh";  // §3.3, §10.2
    } else {
        return {StsStep::UseCache, "policy id unchanged"};
    }
    // §3.3: after a failed fetch, wait at least five minutes before trying this id again.
    if (failure != nullptr && failure->id == txt.id && now >= failure->failed_at &&
        now - failure->failed_at < options.retry_after_failure) {
        if (fresh) {
            return {StsStep::UseCache, "fetch failed recently; cached policy not expired"};
        }
        return {StsStep::NoPolicy, "fetch for this policy id failed recently; not retried yet"};
    }
    return {StsStep::Fetch, why_fetch};
}

asio::awaitable<Result<StsLookup>> StsResolver::current_policy(std::string domain) {
    const std::string key = cache_key(domain);
    const auto txt_answer = co_await resolver_.txt("_mta-sts." + key);
    const Discovery txt = discover(txt_answer);

    std::optional<CachedPolicy> cached;
    std::optional<FetchFailure> failure;
    if (cache_ != nullptr) {
        // A cache that cannot be read (logged by the cache) is treated as empty: delivery goes
        // on with what DNS and HTTPS say now.
        if (auto entry = cache_->lookup(key)) {
            cached = std::move(*entry);
        }
        if (txt.state == TxtState::Record) {
            if (auto last = cache_->last_failure(key)) {
                failure = std::move(*last);
            }
        }
    }
    const auto now = core::now();
    const auto decision =
        decide_sts(cached ? &*cached : nullptr, txt, failure ? &*failure : nullptr, now, options_);

    StsLookup out;
    const auto use_cache = [&](std::string_view why) {
        out.policy = from_cache(*cached);
        out.note =
            fmt::format("cached: {}; expires in {} s", why, seconds_until(cached->expires_at, now));
        log::info(
            "mta_sts.cached",
            {{"domain", key},
             {"id", cached->id},
             {"mode", to_string(cached->policy.mode)},
             {"reason", why},
             {"expires_in", seconds_until(cached->expires_at, now)}}
        );
    };

    switch (decision.step) {
        case StsStep::UseCache:
            use_cache(decision.reason);
            co_return out;
        case StsStep::NoPolicy:
            if (txt.state == TxtState::LookupFailed) {
                log::info("mta_sts.none", {{"domain", key}, {"reason", txt.why}});
                co_return txt_answer.error();
            }
            out.note = txt.state == TxtState::NoRecord ? txt.why : std::string(decision.reason);
            if (txt.state == TxtState::Record && failure && failure->id == txt.id) {
                // A policy is published but its fetch failed a moment ago (not retried yet,
                // §3.3): the sessions still count as failures of that policy (RFC 8460 §4.3.2).
                out.failure = StsFailure{
                    .type = sts_failure_type(failure->error),
                    .reason = failure->error,
                };
            }
            log::debug("mta_sts.none", {{"domain", key}, {"reason", out.note}});
            co_return out;
        case StsStep::Fetch:
            break;
    }

    FetchDiagnostics diag;
    auto executor = co_await asio::this_coro::executor;
    auto fetched = co_await fetch_policy(executor, resolver_, context_, key, options_.fetch, &diag);
    if (fetched) {
        log::info(
            "mta_sts.fetched",
            {{"domain", key},
             {"id", txt.id},
             {"mode", to_string(fetched->policy.mode)},
             {"max_age", fetched->policy.max_age},
             {"reason", decision.reason},
             {"address", diag.address}}
        );
        if (cache_ != nullptr) {
            (void)cache_->store(key, txt.id, *fetched);  // a failure is logged by the cache
        }
        out.policy = ActivePolicy{
            .policy = fetched->policy,
            .id = txt.id,
            .fetched_at = fetched->fetched_at,
            .expires_at = fetched->fetched_at + std::chrono::seconds{fetched->policy.max_age},
            .source = PolicySource::Fetched,
        };
        out.note = fmt::format("fetched from {}", diag.url);
        co_return out;
    }

    const bool fresh = cached && !cached->expired(now);
    // §3.3: alert administrators when a refresh fails, "unless the cached policy mode is none".
    const bool quiet = fresh && cached->policy.mode == Mode::None;
    log::write(
        quiet ? log::Level::Info : log::Level::Warn,
        "mta_sts.fetch_failed",
        {{"domain", key},
         {"id", txt.id},
         {"url", diag.url},
         {"error", fetched.error().message()},
         {"detail", diag.detail},
         {"fallback", fresh ? "cached policy" : "no policy"}}
    );
    if (cache_ != nullptr) {
        (void
        )cache_->record_failure(key, txt.id, now, fetched.error().message() + ": " + diag.detail);
    }
    const std::string why =
        fmt::format("fetch failed: {}: {}", fetched.error().message(), diag.detail);
    if (fresh) {
        use_cache(why);
        co_return out;
    }
    // §3.3: no policy fetched and none cached: deliver as though the domain had no MTA-STS.
    // TLS-RPT still reports the policy failure (RFC 8460 §4.3.2.2).
    out.note = why;
    out.failure = StsFailure{
        .type = sts_failure_type(fetched.error()),
        .reason = fmt::format("{}: {}", fetched.error().message(), diag.detail),
    };
    co_return out;
}

}  // namespace sov::tls
