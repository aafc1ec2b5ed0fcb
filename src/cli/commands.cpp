#include <iostream>

#include "cli/args.hpp"
#include "cli/command.hpp"
#include "cli/commands_list.hpp"

namespace sov::cli {

const std::vector<Command>& all_commands() {
    static const std::vector<Command> kCommands = {
        quickstart_command(),
        serve_command(),
        config_command(),
        domain_command(),
        user_command(),
        alias_command(),
        import_command(),
        export_command(),
        dns_command(),
        tls_command(),
        dkim_command(),
        queue_command(),
        dmarc_command(),
        tlsrpt_command(),
        version_command(),
    };
    return kCommands;
}

int usage_error(const Command& command, const std::string& reason) {
    std::cerr << "sovereign " << command.name << ": " << reason << "\n\n" << command.usage;
    return kExitUsage;
}

}  // namespace sov::cli
