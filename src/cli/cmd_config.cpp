#include <iostream>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/data_dir.hpp"
#include "core/config.hpp"

namespace sov::cli {

namespace {

int run_config(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data"}, .flags = {}},
        Positionals::exactly(1, "expected check or reference")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    if (action == "reference") {
        std::cout << core::config_reference_markdown();
        return kExitOk;
    }
    if (action != "check") {
        return usage_error(command, "unknown action '" + action + "'");
    }
    // Not load_command_config: check also reports how many problems it found.
    const auto path = config_path(*args);
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
}

}  // namespace

Command config_command() {
    return make_command(
        "config",
        "check the configuration file, or print the reference of every key",
        "usage: sovereign config check [--config FILE | --data DIR]\n"
        "       sovereign config reference\n\n"
        "check      parses the file and reports every problem as file:line: reason;\n"
        "           exit 0 when it is valid, 2 when not.\n"
        "reference  prints the documentation of every key (Markdown, as docs/config.md).\n",
        run_config
    );
}

}  // namespace sov::cli
