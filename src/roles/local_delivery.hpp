#pragma once
// The mailbox role's inbound handler: recipients are checked against the accounts directory and
// messages go into the local store. It answers exactly as an LMTP server would, one reply per
// recipient (ARCHITECTURE.md §2: in one-process mode the gateway calls it directly).
#include <string>

#include "accounts/directory.hpp"
#include "smtp/server/inbound_handler.hpp"
#include "store/store.hpp"

namespace sov::roles {

class LocalDelivery final : public smtp::server::InboundHandler {
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

private:
    std::string address_of(const smtp::wire::Recipient& recipient) const;

    accounts::Directory& directory_;
    store::Store& store_;
    std::string postmaster_domain_;
};

/// The reply a recipient gets for a store outcome (RFC 3463 codes).
smtp::wire::Reply reply_for(const store::DeliveryOutcome& outcome, const std::string& rcpt);

}  // namespace sov::roles
