#include <iostream>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"

namespace sov::cli {

namespace {

int run_alias(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data"}, .flags = {}},
        Positionals::at_least(1, "expected add, del or list")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    const auto count = args->positional.size();
    const bool ok_count = (action == "add" && count >= 3) || (action == "del" && count == 2) ||
                          (action == "list" && count <= 2);
    if (!ok_count) {
        return usage_error(command, "wrong arguments for '" + action + "'");
    }
    auto opened = load_config_and_directory(*args);
    if (!opened) {
        return opened.exit_code();
    }
    auto& directory = *opened->directory;

    if (action == "list") {
        auto aliases = directory.list_aliases(count == 2 ? args->positional[1] : "");
        if (!aliases) {
            return fail(command, aliases.error());
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
    const auto& source = args->positional[1];
    if (action == "add") {
        const std::vector<std::string> destinations(
            args->positional.begin() + 2, args->positional.end()
        );
        if (auto added = directory.add_alias(source, destinations); !added) {
            return fail(command, source, added.error());
        }
        std::cout << "added alias " << source << "\n";
        return kExitOk;
    }
    if (auto removed = directory.del_alias(source); !removed) {
        return fail(command, source, removed.error());
    }
    std::cout << "removed alias " << source << "\n";
    return kExitOk;
}

}  // namespace

Command alias_command() {
    return make_command(
        "alias",
        "add, remove or list address aliases and catch-alls",
        "usage: sovereign alias add SOURCE DESTINATION... [--data DIR]\n"
        "       sovereign alias del SOURCE [--data DIR]\n"
        "       sovereign alias list [DOMAIN] [--data DIR]\n\n"
        "SOURCE is local@domain, or @domain for the domain's catch-all. Destinations are local\n"
        "users, other aliases, or external addresses.\n",
        run_alias
    );
}

}  // namespace sov::cli
