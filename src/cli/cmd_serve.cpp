#include <iostream>

#include "cli/args.hpp"
#include "cli/commands_list.hpp"
#include "cli/data_dir.hpp"
#include "roles/server.hpp"

namespace sov::cli {

Command serve_command() {
    Command command;
    command.name = "serve";
    command.summary = "run the mail system (every role in one process by default)";
    command.usage =
        "usage: sovereign serve [--data DIR | --config FILE] [--role all|mailbox]\n\n"
        "Runs until SIGTERM or SIGINT, which drain open sessions (up to shutdown_grace).\n"
        "SIGHUP reloads the TLS certificate and the log settings.\n";
    command.run = [command](int argc, char** argv, int first) {
        const auto args =
            parse_args(argc, argv, first, {.options = {"config", "data", "role"}, .flags = {}});
        if (args.has("help")) {
            std::cout << command.usage;
            return kExitOk;
        }
        if (!args.error.empty() || !args.positional.empty()) {
            return usage_error(
                command, args.error.empty() ? "no positional arguments expected" : args.error
            );
        }
        auto config = load_config_or_report(args);
        if (!config) {
            return kExitUsage;
        }
        roles::ServeOptions options;
        options.role = args.option("role").value_or("all");
        return roles::serve(std::move(*config), options);
    };
    return command;
}

}  // namespace sov::cli
