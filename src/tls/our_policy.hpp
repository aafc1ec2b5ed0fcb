#pragma once
// Our own MTA-STS policy, from the configuration: what the https listeners serve at
// mta-sts.<domain>/.well-known/mta-sts.txt and what `dns records` announces in _mta-sts TXT.
#include <string>

#include "core/config.hpp"
#include "tls/mta_sts_policy.hpp"

namespace sov::tls {

/// mode and max_age from [mta_sts]; one mx line, our host name (the MX every hosted domain
/// points to).
Policy our_policy(const core::Config& config);

/// The policy's id for the _mta-sts TXT record (RFC 8461 §3.1): derived from the policy text, so
/// it changes exactly when the policy does and senders refetch. 20 hex digits (80 bits).
std::string policy_id(const Policy& policy);

}  // namespace sov::tls
