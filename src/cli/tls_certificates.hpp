#pragma once
// `sovereign tls show|selfsigned|install|activate`: the MX/listener certificate and its key
// rollover. A new key is staged in keys/next/ first; `dns records` then prints its TLSA record
// beside the current one, and `activate` switches only once the DNS serves it (RFC 7671 §8.1:
// publish the new TLSA record, wait for caches, then change the key), so DANE senders never see
// a key that no published record matches.
#include "cli/args.hpp"
#include "cli/command.hpp"

namespace sov::cli {

/// Handles the certificate actions of `sovereign tls`; `args.positional[0]` is the action.
int run_tls_certificate_action(const Command& command, const Args& args);

/// True for the actions run_tls_certificate_action handles.
bool is_tls_certificate_action(const std::string& action);

}  // namespace sov::cli
