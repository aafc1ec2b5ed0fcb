#pragma once
// The mailbox role's inbound handler: recipients are checked against the accounts directory and
// messages go into the local store. It answers exactly as an LMTP server would, one reply per
// recipient (ARCHITECTURE.md §2: in one-process mode the gateway calls it directly).
#include <string>
#include <variant>
#include <vector>

#include "accounts/directory.hpp"
#include "accounts/send_limiter.hpp"
#include "mailauth/arc_headers.hpp"
#include "smtp/queue/runner.hpp"
#include "smtp/server/inbound_handler.hpp"
#include "store/store.hpp"

namespace sov::roles {

class Outbound;
class InboundAuthenticator;

/// Where each recipient of a transaction goes; indices are RCPT positions.
struct DeliveryPlan {
    /// One queue entry of forwarded copies: the distinct external targets first reached through
    /// aliases of `domain` (one copy per target however many aliases lead to it), and every RCPT
    /// whose outcome depends on that entry.
    struct Forward {
        std::string domain;
        std::vector<std::string> targets;
        std::vector<std::size_t> sources;  // per target: the RCPT that first led to it (ORCPT)
        std::vector<std::size_t> rcpts;
    };
    std::vector<std::size_t> stored;   // reaches local accounts: the store
    std::vector<std::size_t> relayed;  // another domain (authenticated submission): the queue
    std::vector<Forward> forwards;
    std::vector<std::size_t> deferred;  // resolves differently than at RCPT time
};

/// Plans a transaction from each RCPT's address and resolution. `queue`: the outbound queue is
/// there (else forwarding recipients are deferred); `relay`: the client may relay (other domains
/// go to the queue, else they are deferred).
[[nodiscard]] DeliveryPlan plan_delivery(
    const std::vector<std::string>& addresses,
    const std::vector<accounts::RecipientResolution>& resolutions,
    bool queue,
    bool relay
);

/// Also the outbound queue's sink for our own domains (DSNs to local senders, queued mail).
class LocalDelivery final : public smtp::server::InboundHandler, public smtp::queue::LocalSink {
public:
    /// `postmaster_domain` completes a bare "<postmaster>" recipient (RFC 5321 §4.5.1).
    LocalDelivery(
        accounts::Directory& directory, store::Store& store, std::string postmaster_domain
    )
        : directory_(directory), store_(store), postmaster_domain_(std::move(postmaster_domain)) {}

    boost::asio::awaitable<smtp::wire::Reply> check_recipient(
        smtp::server::SessionInfo session,
        smtp::wire::Envelope envelope,
        smtp::wire::Recipient recipient
    ) override;

    Result<store::Incoming> begin_message() override;

    boost::asio::awaitable<std::vector<smtp::wire::Reply>> deliver(
        smtp::server::SessionInfo session, smtp::wire::Envelope envelope, store::Incoming message
    ) override;

    /// Authenticated clients' mail for other domains, and copies for the external targets of
    /// aliases, go here (null: refused with 451).
    void set_outbound(Outbound* outbound) { outbound_ = outbound; }
    /// Checks SPF/DKIM/ARC/DMARC of mail from unauthenticated SMTP clients (the MX) and adds
    /// Authentication-Results (null: no checks, no header).
    void set_authenticator(InboundAuthenticator* authenticator) { authenticator_ = authenticator; }
    /// Submission policy for authenticated senders (issue 5): whom they may send as, and how
    /// much per hour (`limiter` may be null: no limits).
    void set_submission_policy(accounts::SenderPolicy policy, accounts::SendLimiter* limiter) {
        sender_policy_ = policy;
        limiter_ = limiter;
    }

    boost::asio::awaitable<smtp::wire::Reply> check_sender(
        smtp::server::SessionInfo session, smtp::wire::Envelope envelope
    ) override;

    // smtp::queue::LocalSink
    bool is_local_domain(std::string_view domain) override;
    boost::asio::awaitable<std::vector<smtp::queue::RecipientOutcome>> deliver_local(
        const smtp::queue::QueuedMessage& message,
        std::vector<const smtp::queue::QueuedRecipient*> recipients,
        std::string content
    ) override;

private:
    boost::asio::awaitable<std::vector<smtp::wire::Reply>> deliver_here(
        smtp::server::SessionInfo session, smtp::wire::Envelope envelope, store::Incoming message
    );
    std::string address_of(const smtp::wire::Recipient& recipient) const;
    struct Authenticated {
        store::Incoming message;  // with its Authentication-Results
        std::string authserv_id;  // the one they name
        mailauth::ArcCv chain = mailauth::ArcCv::None;
    };
    /// The message with its Authentication-Results, or the refusal for every recipient.
    boost::asio::awaitable<std::variant<Authenticated, std::vector<smtp::wire::Reply>>>
    authenticate(
        const smtp::server::SessionInfo& session,
        const smtp::wire::Envelope& envelope,
        store::Incoming message
    );

    accounts::Directory& directory_;
    store::Store& store_;
    std::string postmaster_domain_;
    Outbound* outbound_ = nullptr;
    InboundAuthenticator* authenticator_ = nullptr;
    accounts::SenderPolicy sender_policy_ = accounts::SenderPolicy::Own;
    accounts::SendLimiter* limiter_ = nullptr;
};

/// The reply a recipient gets for a store outcome (RFC 3463 codes).
smtp::wire::Reply reply_for(const store::DeliveryOutcome& outcome, const std::string& rcpt);

}  // namespace sov::roles
