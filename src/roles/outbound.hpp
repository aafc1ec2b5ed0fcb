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

#include "smtp/queue/queue_store.hpp"
#include "smtp/queue/runner.hpp"
#include "smtp/server/inbound_handler.hpp"
#include "store/store.hpp"

namespace sov::roles {

/// Signs a message for a domain (its author's); returns the header fields to prepend ("" when
/// the domain has no keys). Empty function: no signing.
using MessageSigner = std::function<std::string(std::string_view domain, std::string_view message)>;

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

private:
    smtp::queue::QueueStore& queue_;
    smtp::queue::Runner& runner_;
    boost::asio::thread_pool& pool_;
    std::string hostname_;
    MessageSigner signer_;
};

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
