#pragma once
// What an SMTP/LMTP server session asks of the rest of the system, and nothing more: a verdict on
// each recipient, a spool writer for the body, and the delivery of a finished message. The mailbox
// role implements it with accounts + store (roles/local_delivery); the gateway's filter pipeline
// will wrap it (ARCHITECTURE.md §2), and a relay implementation will speak LMTP to another host.
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/result.hpp"
#include "smtp/wire/server_engine.hpp"
#include "store/store.hpp"

namespace sov::smtp::server {

/// Facts about the client session, for policy decisions and logs.
struct SessionInfo {
    std::string id;         // session id, on every log line
    std::string client_ip;  // "192.0.2.1"
    std::string helo;       // HELO/EHLO/LHLO argument
    bool tls = false;
    std::string auth_identity;  // authenticated user (submission), "" if none
    wire::Protocol protocol = wire::Protocol::Smtp;
};

class InboundHandler {
public:
    virtual ~InboundHandler() = default;

    /// MAIL FROM verdict, asked where the listener verifies senders (submission): 250 2.1.0 to
    /// accept, 550 5.7.1 for an address the user may not send as, 451 4.7.1 over a rate limit.
    virtual boost::asio::awaitable<wire::Reply> check_sender(
        SessionInfo session, wire::Envelope envelope
    ) {
        (void)session;
        (void)envelope;
        co_return wire::Reply{250, "2.1.0", "Sender OK"};
    }

    /// RCPT TO verdict: 250 2.1.5 to accept, or the refusal (550 5.1.1 unknown user, 550 5.7.1
    /// relaying denied, 452 4.2.2 mailbox full, 451 4.3.0 temporary failure...).
    virtual boost::asio::awaitable<wire::Reply> check_recipient(
        SessionInfo session, wire::Envelope envelope, wire::Recipient recipient
    ) = 0;

    /// A spool writer for the next message body.
    virtual Result<store::Incoming> begin_message() = 0;

    /// Delivers a complete message durably; one reply per envelope recipient, in RCPT order. A
    /// 2xx reply is only returned once the message is on stable storage (ARCHITECTURE.md §4).
    virtual boost::asio::awaitable<std::vector<wire::Reply>> deliver(
        SessionInfo session, wire::Envelope envelope, store::Incoming message
    ) = 0;
};

}  // namespace sov::smtp::server
