#pragma once
// One mail transaction over an established outbound connection (RFC 5321 §3.3): MAIL FROM with the
// parameters the peer supports, RCPT TO for each recipient, DATA with the dot-stuffed message.
// Commands are pipelined when the peer offers PIPELINING (RFC 2920). Extensions are used only when
// offered: SIZE (RFC 1870: a message over the peer's limit fails without being sent), 8BITMIME
// (RFC 6152), SMTPUTF8 (RFC 6531 §3.2: a message that needs it fails at a peer without it), DSN
// (RFC 3461: NOTIFY, ORCPT, RET, ENVID passed on), REQUIRETLS (RFC 8689).
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "smtp/client/connection.hpp"
#include "smtp/queue/queue_store.hpp"

namespace sov::smtp::queue {

struct RecipientOutcome {
    int code = 0;        // SMTP reply code (or a local 4xx/5xx)
    std::string reply;   // "250 2.0.0 Ok" as one line
    bool local = false;  // the reason is ours (no SMTP reply text from the peer)
    /// Accepted by a peer that offers DSN, which got NOTIFY/ORCPT: further notices are its
    /// business (RFC 3461 §5.2.2). Unset for a peer without DSN ("relayed", §5.2.3).
    bool dsn_passed_on = false;
};

struct TransactionOutcome {
    std::vector<RecipientOutcome> recipients;  // in the order given
    bool connection_usable = true;  // false after a network error: do not send more on it
    /// A REQUIRETLS bounce went out without REQUIRETLS: the hop could not honour it and RFC 8689
    /// §5 says a null-sender message is not to be discarded for that.
    bool requiretls_waived = false;
};

struct TransactionInput {
    const QueuedMessage* message = nullptr;
    std::vector<const QueuedRecipient*> recipients;
    std::string_view content;
    bool tls_authenticated = false;  // DANE or MTA-STS verified the peer (REQUIRETLS)
};

boost::asio::awaitable<TransactionOutcome> send_message(
    client::Connection& connection, TransactionInput input
);

/// RFC 5321 §4.5.2 transparency: a '.' at the start of a line is doubled; the result ends with
/// CRLF "." CRLF.
std::string dot_stuff(std::string_view content);

}  // namespace sov::smtp::queue
