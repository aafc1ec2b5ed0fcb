#include <iostream>

#include "cli/args.hpp"
#include "cli/commands_list.hpp"
#include "cli/data_dir.hpp"
#include "cli/open_services.hpp"

namespace sov::cli {

Command alias_command() {
    Command command;
    command.name = "alias";
    command.summary = "add, remove or list address aliases and catch-alls";
    command.usage =
        "usage: sovereign alias add SOURCE DESTINATION... [--data DIR]\n"
        "       sovereign alias del SOURCE [--data DIR]\n"
        "       sovereign alias list [DOMAIN] [--data DIR]\n\n"
        "SOURCE is local@domain, or @domain for the domain's catch-all. Destinations are local\n"
        "users, other aliases, or external addresses.\n";
    command.run = [command](int argc, char** argv, int first) {
        const auto args =
            parse_args(argc, argv, first, {.options = {"config", "data"}, .flags = {}});
        if (args.has("help")) {
            std::cout << command.usage;
            return kExitOk;
        }
        if (!args.error.empty() || args.positional.empty()) {
            return usage_error(
                command, args.error.empty() ? "expected add, del or list" : args.error
            );
        }
        const auto& action = args.positional[0];
        const auto count = args.positional.size();
        const bool ok_count = (action == "add" && count >= 3) || (action == "del" && count == 2) ||
                              (action == "list" && count <= 2);
        if (!ok_count) {
            return usage_error(command, "wrong arguments for '" + action + "'");
        }
        const auto config = load_config_or_report(args);
        if (!config) {
            return kExitUsage;
        }
        auto directory = open_directory(*config);
        if (!directory) {
            return kExitRuntime;
        }
        if (action == "list") {
            auto aliases = directory->list_aliases(count == 2 ? args.positional[1] : "");
            if (!aliases) {
                std::cerr << "sovereign alias: " << aliases.error().message() << "\n";
                return kExitRuntime;
            }
            for (const auto& alias : *aliases) {
                std::cout << alias.source << " ->";
                for (const auto& destination : alias.destinations) {
                    std::cout << " " << destination;
                }
                std::cout << "\n";
            }
            return kExitOk;
        }
        const auto& source = args.positional[1];
        if (action == "add") {
            const std::vector<std::string> destinations(
                args.positional.begin() + 2, args.positional.end()
            );
            if (auto added = directory->add_alias(source, destinations); !added) {
                std::cerr << "sovereign alias: " << source << ": " << added.error().message()
                          << "\n";
                return kExitRuntime;
            }
            std::cout << "added alias " << source << "\n";
            return kExitOk;
        }
        if (auto removed = directory->del_alias(source); !removed) {
            std::cerr << "sovereign alias: " << source << ": " << removed.error().message() << "\n";
            return kExitRuntime;
        }
        std::cout << "removed alias " << source << "\n";
        return kExitOk;
    };
    return command;
}

}  // namespace sov::cli
