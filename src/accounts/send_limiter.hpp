#pragma once
// Per-account send rate limits for authenticated submission (issue 5): messages per hour and
// recipients per hour, so a stolen password or a compromised client cannot turn the server into
// a spam cannon before anyone notices. In memory only: a restart forgets the counts, which
// costs at most one extra hour's worth of mail.
//
// The hour slides: each account has kBuckets one-minute buckets (a ring indexed by minute), so
// the window is the current minute and the 59 before it, and memory per account is fixed. The
// number of accounts tracked is bounded too (Options::max_accounts; the least recently active
// one is dropped when full).
//
// Intended use by the SMTP layer:
//   MAIL FROM     check_message()                  → 451 4.7.1 if the message limit is reached
//   each RCPT     check_recipient(n accepted so far) → 452 4.5.3 for the recipient that would
//                                                     cross the limit (RFC 5321 §4.5.3.1.10:
//                                                     the client sends the rest later)
//   end of DATA   check_and_record(n recipients)   → records the message; refused (451 4.7.1)
//                                                     only if parallel sessions of the same
//                                                     account used the room meanwhile
// Verdict::retry_after says when the next slot frees, for the reply text and for logs.
//
// Thread-safe (one mutex). A limit of 0 means unlimited; with both 0 nothing is tracked.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sov::accounts {

class SendLimiter {
public:
    using Clock = std::chrono::steady_clock;

    struct Limits {
        std::uint32_t messages_per_hour = 0;    // 0 = unlimited
        std::uint32_t recipients_per_hour = 0;  // 0 = unlimited
    };
    struct Options {
        Limits limits;
        std::size_t max_accounts = 10000;  // ~1 KiB each
    };

    struct Verdict {
        enum class Kind {
            Allowed,
            MessageLimit,    // messages_per_hour reached: 451 4.7.1
            RecipientLimit,  // recipients_per_hour would be crossed: 452 4.5.3 (RCPT) / 451 4.7.1
        };
        Kind kind = Kind::Allowed;
        /// When the request would fit (not for Allowed). A request larger than the limit itself
        /// never fits; it gets the whole window.
        Clock::duration retry_after{};

        bool allowed() const noexcept { return kind == Kind::Allowed; }
    };

    static constexpr std::size_t kBuckets = 60;
    static constexpr Clock::duration kBucketWidth = std::chrono::minutes{1};
    static constexpr Clock::duration kWindow = kBucketWidth * kBuckets;

    SendLimiter() : SendLimiter(Options{}) {}
    explicit SendLimiter(Options options) : options_(options) {}

    /// Is there room for one more message? Records nothing.
    Verdict check_message(std::string_view account, Clock::time_point now = Clock::now());
    /// Is there room for one more message with `accepted + 1` recipients? For the RCPT command
    /// after `accepted` recipients of this transaction were accepted. Records nothing.
    Verdict check_recipient(
        std::string_view account, std::size_t accepted, Clock::time_point now = Clock::now()
    );
    /// Checks room for one message with `recipients` recipients and, if allowed, counts it.
    Verdict check_and_record(
        std::string_view account, std::size_t recipients, Clock::time_point now = Clock::now()
    );

    /// Messages and recipients counted in the window ending at `now` (tests, logs).
    struct Usage {
        std::uint64_t messages = 0;
        std::uint64_t recipients = 0;
    };
    Usage usage(std::string_view account, Clock::time_point now = Clock::now()) const;
    /// Accounts currently tracked (tests).
    std::size_t tracked_for_test() const;

private:
    struct Window {
        // Bucket i counts the minute m with m % kBuckets == i; minute[i] says which m it holds.
        std::array<std::int64_t, kBuckets> minute{};
        std::array<std::uint32_t, kBuckets> messages{};
        std::array<std::uint32_t, kBuckets> recipients{};
        std::int64_t last_minute = 0;  // last recorded minute (eviction)
    };

    Verdict check_recipient_count(
        std::string_view account, std::uint64_t recipients, Clock::time_point now
    ) const;
    Verdict check_locked(
        const Window* window,
        std::uint64_t messages,
        std::uint64_t recipients,
        Clock::time_point now
    ) const;
    Window& window_for(const std::string& account, std::int64_t minute);

    Options options_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Window> windows_;
};

}  // namespace sov::accounts
