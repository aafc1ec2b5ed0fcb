#pragma once
// One factory per subcommand, each defined in its own cmd_<name>.cpp.
#include "cli/command.hpp"

namespace sov::cli {

Command quickstart_command();
Command serve_command();
Command config_command();
Command domain_command();
Command user_command();
Command alias_command();
Command import_command();
Command export_command();
Command dns_command();
Command tls_command();
Command dkim_command();
Command queue_command();
Command dmarc_command();
Command tlsrpt_command();
Command version_command();

}  // namespace sov::cli
