#pragma once
// The submission side of the outbound queue: an authenticated client's message for remote
// recipients gets the RFC 6409 §8 fix-ups (Date, Message-ID), is DKIM-signed once, and is queued
// durably before the client hears 250 (ARCHITECTURE.md §4).
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "mailauth/arc_headers.hpp"
#include "smtp/queue/dsn.hpp"
#include "smtp/queue/queue_store.hpp"
#include "smtp/queue/runner.hpp"
#include "smtp/server/inbound_handler.hpp"
#include "store/store.hpp"

namespace sov::roles {

/// Signs a message for a domain (its author's); returns the header fields to prepend ("" when
/// the domain has no keys). Empty function: no signing.
using MessageSigner = std::function<std::string(std::string_view domain, std::string_view message)>;

/// What the MX knows of a message it forwards for an alias: the input of the ARC set it adds
/// (RFC 8617 §5.1).
struct ForwardSeal {
    std::string domain;       // the alias's domain: d= of the AMS and AS
    std::string authserv_id;  // whose Authentication-Results in the message make the AAR
    mailauth::ArcCv chain = mailauth::ArcCv::None;  // verify_arc's verdict on arrival (cv=)
};

/// Seals `message` for `domain` with `aar` as the AAR payload: the ARC fields to prepend; ""
/// when the chain may not be extended (RFC 8617 §5.1 step 2), nullopt when we hold no key for
/// the domain. Either way the copy goes out unsealed.
using ArcSealer = std::function<Result<std::optional<std::string>>(
    std::string_view domain, std::string_view message, std::string_view aar, mailauth::ArcCv chain
)>;

/// RFC 5321 §6.3: a message with more Received fields than this is looping (the RFC asks for a
/// threshold of at least 100).
inline constexpr std::size_t kMaxReceived = 100;

struct Forwarded {
    std::string id;        // the queue id; empty when not queued
    bool looping = false;  // not queued: more than kMaxReceived Received fields (RFC 5321 §6.3)
};

class Outbound {
public:
    Outbound(
        smtp::queue::QueueStore& queue,
        smtp::queue::Runner& runner,
        boost::asio::thread_pool& pool,
        std::string hostname,
        MessageSigner signer
    )
        : queue_(queue),
          runner_(runner),
          pool_(pool),
          hostname_(std::move(hostname)),
          signer_(std::move(signer)) {}

    /// Queues `message` for `recipients` (remote ones); one reply per recipient.
    boost::asio::awaitable<std::vector<smtp::wire::Reply>> submit(
        const smtp::server::SessionInfo& session,
        const smtp::wire::Envelope& envelope,
        std::vector<smtp::wire::Recipient> recipients,
        store::Incoming& message
    );

    /// Queues a message this server wrote itself (DMARC aggregate reports): Date and
    /// Message-ID added when missing, DKIM-signed by its From domain like submitted mail,
    /// queued for `recipients` with `sender` as reverse-path. Returns the queue id.
    boost::asio::awaitable<Result<std::string>> enqueue_generated(
        std::string sender, std::vector<std::string> recipients, std::string message
    );

    /// Queues a "delivered" DSN (RFC 3461 §5.2.2, RFC 3464) to the sender of a message we stored
    /// for recipients that asked NOTIFY=SUCCESS: from the null sender, the original's header
    /// only (§4.3), RFC 6533 form for an SMTPUTF8 message. Nothing for the null sender.
    boost::asio::awaitable<Result<std::string>> notify_delivered(
        const smtp::wire::Envelope& envelope,
        std::vector<smtp::queue::DsnRecipient> recipients,
        std::string original
    );

    /// Seals forwarded copies (empty: they go out unsealed).
    void set_arc_sealer(ArcSealer sealer) { sealer_ = std::move(sealer); }

    /// Queues a copy of a received message for the external `targets` of aliases (RFC 5321
    /// §3.9.1: the rest of the envelope, reverse-path included, is unchanged; "<>" stays "<>").
    /// With `seal`, the copy gets an ARC set when we hold a key for seal->domain. A copy from an
    /// authenticated session is treated as submitted mail instead (Date, Message-ID, DKIM by the
    /// author's domain). The content is read, checked for a loop, sealed and queued on the pool.
    boost::asio::awaitable<Result<Forwarded>> forward(
        const smtp::server::SessionInfo& session,
        const smtp::wire::Envelope& envelope,
        std::vector<smtp::queue::NewRecipient> targets,
        store::Incoming& message,
        std::optional<ForwardSeal> seal
    );

private:
    smtp::queue::QueueStore& queue_;
    smtp::queue::Runner& runner_;
    boost::asio::thread_pool& pool_;
    std::string hostname_;
    MessageSigner signer_;
    ArcSealer sealer_;
};

/// The number of Received fields in the header (RFC 5321 §6.3 loop detection).
std::size_t received_count(std::string_view message);

/// The ARC set for a forwarded copy, or "" when it goes unsealed (no key, no Authentication-
/// Results of ours in the message, or a chain that may not be extended); the reason is logged.
std::string seal_forwarded(
    const ArcSealer& sealer, const ForwardSeal& seal, std::string_view message, std::string_view id
);

/// The first `name:` field of the header, unfolded, without the name and colon; nullopt if absent.
std::optional<std::string> header_field(std::string_view message, std::string_view name);

/// The lower-cased domain of the first mailbox in From (RFC 5322 §3.6.2), "" if none.
std::string author_domain(std::string_view message);

/// RFC 6409 §8.2, §8.3: adds "Date:" and "Message-ID:" to a header that lacks them (at the end of
/// the header section). Returns the message unchanged when both are present.
std::string add_missing_fields(
    std::string message, std::string_view hostname, std::int64_t unix_time
);

}  // namespace sov::roles
