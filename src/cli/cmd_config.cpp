#include <iostream>

#include "cli/args.hpp"
#include "cli/commands_list.hpp"
#include "cli/data_dir.hpp"
#include "core/config.hpp"

namespace sov::cli {

Command config_command() {
    Command command;
    command.name = "config";
    command.summary = "check the configuration file, or print the reference of every key";
    command.usage =
        "usage: sovereign config check [--config FILE | --data DIR]\n"
        "       sovereign config reference\n\n"
        "check      parses the file and reports every problem as file:line: reason;\n"
        "           exit 0 when it is valid, 2 when not.\n"
        "reference  prints the documentation of every key (Markdown, as docs/config.md).\n";
    command.run = [command](int argc, char** argv, int first) {
        const auto args =
            parse_args(argc, argv, first, {.options = {"config", "data"}, .flags = {}});
        if (args.has("help")) {
            std::cout << command.usage;
            return kExitOk;
        }
        if (!args.error.empty() || args.positional.size() != 1) {
            return usage_error(
                command, args.error.empty() ? "expected check or reference" : args.error
            );
        }
        if (args.positional[0] == "reference") {
            std::cout << core::config_reference_markdown();
            return kExitOk;
        }
        if (args.positional[0] != "check") {
            return usage_error(command, "unknown action '" + args.positional[0] + "'");
        }
        const auto path = config_path(args);
        const auto loaded = core::load_config(path);
        for (const auto& diagnostic : loaded.diagnostics) {
            std::cerr << diagnostic.to_string() << "\n";
        }
        if (!loaded.ok()) {
            std::cerr << loaded.diagnostics.size() << " problem(s) in " << path.string() << "\n";
            return kExitUsage;
        }
        std::cout << path.string() << ": ok (" << loaded.config.listeners.size()
                  << " listeners, data in " << loaded.config.data_dir.string() << ")\n";
        return kExitOk;
    };
    return command;
}

}  // namespace sov::cli
