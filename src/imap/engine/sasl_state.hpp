#pragma once
// An AUTHENTICATE exchange in progress (RFC 9051 §6.2.2): PLAIN waiting for its one response, or
// SCRAM-SHA-256 (RFC 7677) between its rounds.
#include <memory>
#include <optional>
#include <string>

#include "accounts/directory.hpp"
#include "accounts/scram.hpp"
#include "imap/engine/session.hpp"

namespace sov::imap {

struct Session::SaslState {
    enum class Stage {
        PlainResponse,  // waiting for the PLAIN message
        ScramFirst,     // waiting for client-first-message
        ScramFinal,     // waiting for client-final-message
        ScramDone,      // server-final sent; waiting for the client's empty response
    };
    std::string tag;
    Stage stage = Stage::PlainResponse;
    std::unique_ptr<accounts::ScramServer> scram;
    /// Filled by the SCRAM lookup: the account the client claims to be (verified only once the
    /// proof checks out).
    std::shared_ptr<std::optional<accounts::Account>> account =
        std::make_shared<std::optional<accounts::Account>>();
};

}  // namespace sov::imap
