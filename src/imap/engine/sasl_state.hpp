#pragma once
// An AUTHENTICATE exchange in progress (RFC 9051 §6.2.2): the tag to answer and the shared SASL
// server (accounts/sasl.hpp) between its rounds.
#include <string>
#include <utility>

#include "accounts/sasl.hpp"
#include "imap/engine/session.hpp"

namespace sov::imap {

struct Session::SaslState {
    SaslState(
        std::string tag_,
        accounts::SaslMechanism mechanism,
        accounts::SaslServer::ScramLookup lookup
    )
        : tag(std::move(tag_)), server(mechanism, std::move(lookup)) {}

    std::string tag;
    accounts::SaslServer server;
};

}  // namespace sov::imap
