#pragma once
// The queue runner: takes due recipients from the QueueStore, groups them by destination domain
// and delivers them — to the local store through a LocalSink when the domain is ours, else by MX
// lookup through the validating resolver (null MX RFC 7505, implicit MX RFC 5321 §5.1, preference
// order) and the TLS policy of each host (DANE → MTA-STS → opportunistic, host_session.hpp), with
// one connection carrying several messages. With a smarthost configured (client/smarthost.hpp)
// every remote domain goes to that relay instead, over authenticated TLS, never by MX. Every
// outcome is recorded at once (queue_store.hpp); permanent failures, expiry, delay warnings and
// NOTIFY=SUCCESS notices produce DSNs (dsn.hpp), queued from the null sender.
//
// All of its state lives on one strand; `wake()` may be called from any thread.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "dns/resolver.hpp"
#include "net/tls_context.hpp"
#include "smtp/client/connection.hpp"
#include "smtp/client/smarthost.hpp"
#include "smtp/client/tls_probe.hpp"
#include "smtp/queue/dsn.hpp"
#include "smtp/queue/queue_store.hpp"
#include "smtp/queue/retry_policy.hpp"
#include "smtp/queue/transaction.hpp"
#include "tls/mta_sts_resolver.hpp"
#include "tls/tlsrpt_report.hpp"

namespace sov::smtp::queue {

/// Where mail for our own domains goes (the mailbox role's store, or LMTP in a split deployment).
class LocalSink {
public:
    virtual ~LocalSink() = default;
    virtual bool is_local_domain(std::string_view domain) = 0;
    /// One outcome per recipient, in order (2xx delivered, 4xx retry, 5xx failed).
    virtual boost::asio::awaitable<std::vector<RecipientOutcome>> deliver_local(
        const QueuedMessage& message,
        std::vector<const QueuedRecipient*> recipients,
        std::string content
    ) = 0;
};

/// One TLS negotiation with an MX host, as SMTP TLS Reporting counts it (RFC 8460 §4).
struct TlsAttempt {
    std::string policy_domain;  // the recipient domain, lower case
    tls::PolicyType policy_type = tls::PolicyType::NoPolicyFound;
    std::vector<std::string> policy_strings;  // TLSA records "3 1 1 ab12…" or MTA-STS lines
    std::vector<std::string> mx_patterns;     // the MTA-STS policy's mx patterns
    std::string mx_host;                      // "receiving-mx-hostname"
    std::string receiving_ip;                 // empty when no address was reached
    std::string sending_ip;                   // ours on that connection ("sending-mta-ip")
    std::optional<tls::ResultType> failure;   // unset: a successful session
    std::string failure_reason;               // "failure-reason-code"
};

/// Where the runner reports TLS outcomes (roles/tlsrpt_reporting.hpp stores them). Called on the
/// runner's strand: must return quickly and never block.
class TlsAttemptRecorder {
public:
    virtual ~TlsAttemptRecorder() = default;
    virtual void record(TlsAttempt attempt) = 0;
};

struct RunnerSettings {
    std::string hostname = "localhost";  // EHLO name and DSN Reporting-MTA
    RetryPolicy retry;
    std::size_t max_connections = 20;  // outbound deliveries at once
    std::size_t max_per_domain = 2;    // of which to one destination domain
    std::uint16_t port = 25;           // the remote SMTP port (tests use another)
    client::Timeouts timeouts;
    /// Longest wait between looks at the queue (new mail and `queue retry` wake it sooner).
    std::chrono::seconds poll{5};
    client::SmarthostSettings smarthost;  // host empty: MX delivery
};

/// The group key of due mail for a smarthost: not a domain name, so no domain can collide.
inline constexpr std::string_view kSmarthostKey = "[smarthost]";

/// Next-hop selection: the key the runner groups a recipient domain's mail by, which also says
/// where it goes. Our own domains stay local and other domains go by MX, each under its own name;
/// with a smarthost every remote domain shares kSmarthostKey (one connection carries them all).
[[nodiscard]] std::string next_hop_key(
    std::string_view domain, bool local, const client::SmarthostSettings& smarthost
);

/// RFC 8689 §3: the message header has "TLS-Required: No" (the sender asks that TLS policy
/// failures not stop delivery). Looks at the header section only.
[[nodiscard]] bool tls_required_no(std::string_view message) noexcept;

/// The envelope of a DSN about a message with envelope `original`: from the null reverse-path,
/// SMTPUTF8 / 8BITMIME as the original (the DSN quotes its header), and REQUIRETLS when the
/// original had it (RFC 8689 §5).
[[nodiscard]] MessageEnvelope dsn_envelope(const MessageEnvelope& original);

/// The `last_host` the runner records for deliveries through the LocalSink.
inline constexpr std::string_view kLocalHost = "local";

/// A delivered recipient is owed a success DSN by us: NOTIFY=SUCCESS, a sender to tell, and
/// the next hop was our store or a peer that does not do DSN (RFC 3461 §5.2.2, §5.2.3).
[[nodiscard]] bool owes_success_notice(
    const MessageEnvelope& envelope, unsigned notify, const RecipientOutcome& outcome
);

/// The notices a message's recipients now call for, in three DSNs: failures (unless NOTIFY
/// excludes them), delay warnings (once, after `retry.delay_warning`) and success notices
/// ("relayed" / "delivered", owed as recorded by record_delivered). None to the null sender.
struct NoticePlan {
    std::vector<std::int64_t> settled;  // failures and successes whose notice is handled
    std::vector<std::int64_t> warned;   // delays now notified
    std::vector<DsnRecipient> failed;
    std::vector<DsnRecipient> delayed;
    std::vector<DsnRecipient> succeeded;
};
[[nodiscard]] NoticePlan plan_notices(
    const QueuedMessage& message, core::WallTime now, const RetryPolicy& retry
);

class Runner {
public:
    Runner(
        boost::asio::any_io_executor io,
        boost::asio::thread_pool::executor_type pool,
        QueueStore& store,
        dns::Resolver& resolver,
        net::SslContextPtr tls_context,
        tls::StsResolver* sts,
        LocalSink* local,
        RunnerSettings settings
    );

    void start();
    /// Reports every TLS negotiation to `recorder` from now on (null: none). It must outlive the
    /// runner's deliveries.
    void set_tls_recorder(TlsAttemptRecorder* recorder);
    /// Something was queued: look now rather than at the next poll.
    void wake();

private:
    using Strand = boost::asio::strand<boost::asio::any_io_executor>;

    boost::asio::awaitable<void> loop();
    boost::asio::awaitable<void> deliver_domain(std::string domain, std::vector<DueBatch> batches);
    boost::asio::awaitable<void> deliver_remote(
        const std::string& domain, std::vector<DueBatch>& batches
    );
    /// After a DANE or MTA-STS failure stopped every host: batches [next, end) whose message has
    /// "TLS-Required: No" are sent with opportunistic TLS (RFC 8689 §4.2.2); the others are
    /// left at [next, end) for deferral.
    boost::asio::awaitable<void> deliver_tls_optional(
        const std::string& domain,
        const std::vector<dns::MxRecord>& hosts,
        const client::ProbeOptions& options,
        std::vector<DueBatch>& batches,
        std::size_t& next,
        const std::string& last_error
    );
    boost::asio::awaitable<void> deliver_local(std::vector<DueBatch>& batches);
    boost::asio::awaitable<void> deliver_smarthost(std::vector<DueBatch>& batches);
    /// The peer of an established connection, as the per-connection send step needs it.
    struct Hop {
        std::string host;            // MX host name or smarthost, recorded as last_host
        std::string tls;             // negotiated TLS ("" for none), for the log
        bool authenticated = false;  // DANE / MTA-STS / smarthost-verified peer (REQUIRETLS)
    };
    /// The one send step of MX and smarthost delivery: sends batches [next, end) over
    /// `connection` (connection reuse) until it breaks, advancing `next` and recording every
    /// outcome, then QUITs if the connection is still usable.
    boost::asio::awaitable<void> send_over(
        client::Connection& connection,
        const Hop& hop,
        std::vector<DueBatch>& batches,
        std::size_t& next
    );
    /// Batches [next, end) that no connection carried: deferred (451 4.4.1 `reason`).
    boost::asio::awaitable<void> defer_rest(
        std::vector<DueBatch>& batches, std::size_t next, const std::string& reason
    );
    /// Records the outcome of one attempt for one batch, then owes DSNs and cleans up.
    boost::asio::awaitable<void> apply(
        const DueBatch& batch,
        const QueuedMessage& message,
        const std::vector<RecipientOutcome>& outcomes,
        const std::string& host
    );
    boost::asio::awaitable<void> send_notices(std::string message_id);
    void report_tls(
        const std::string& domain,
        const client::HostProbe& probe,
        const tls::DanePolicy& dane,
        const tls::ActivePolicy* sts
    );
    /// Every batch in `batches` gets the same local outcome (lookup failures, no host reachable).
    boost::asio::awaitable<void> apply_all(
        std::vector<DueBatch>& batches, RecipientOutcome outcome
    );

    Strand strand_;
    boost::asio::thread_pool::executor_type pool_;
    QueueStore& store_;
    dns::Resolver& resolver_;
    net::SslContextPtr tls_context_;
    tls::StsResolver* sts_;
    LocalSink* local_;
    TlsAttemptRecorder* tls_recorder_ = nullptr;  // read and written on strand_
    RunnerSettings settings_;
    boost::asio::steady_timer timer_;
    bool wake_pending_ = false;
    std::set<std::string> busy_;  // "message-id domain" of batches being delivered
    std::map<std::string, std::size_t> per_domain_;
    std::size_t active_ = 0;
};

}  // namespace sov::smtp::queue
