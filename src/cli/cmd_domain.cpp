#include <iostream>

#include "cli/args.hpp"
#include "cli/commands_list.hpp"
#include "cli/data_dir.hpp"
#include "cli/open_services.hpp"

namespace sov::cli {

Command domain_command() {
    Command command;
    command.name = "domain";
    command.summary = "add, remove or list hosted domains and domain aliases";
    command.usage =
        "usage: sovereign domain add DOMAIN [--alias-of TARGET] [--data DIR]\n"
        "       sovereign domain del DOMAIN [--data DIR]\n"
        "       sovereign domain list [--data DIR]\n\n"
        "Internationalised names may be given in Unicode or as xn-- labels.\n"
        "--alias-of makes every address at DOMAIN an address at TARGET.\n";
    command.run = [command](int argc, char** argv, int first) {
        const auto args =
            parse_args(argc, argv, first, {.options = {"config", "data", "alias-of"}, .flags = {}});
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
        const bool needs_name = action == "add" || action == "del";
        if ((needs_name && args.positional.size() != 2) ||
            (action == "list" && args.positional.size() != 1)) {
            return usage_error(command, "wrong number of arguments for '" + action + "'");
        }
        if (!needs_name && action != "list") {
            return usage_error(command, "unknown action '" + action + "'");
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
            auto domains = directory->list_domains();
            if (!domains) {
                std::cerr << "sovereign domain: " << domains.error().message() << "\n";
                return kExitRuntime;
            }
            for (const auto& domain : *domains) {
                std::cout << domain.name;
                if (domain.display_name != domain.name) {
                    std::cout << " (" << domain.display_name << ")";
                }
                if (!domain.alias_of.empty()) {
                    std::cout << " -> " << domain.alias_of;
                }
                std::cout << "\n";
            }
            return kExitOk;
        }
        const auto& name = args.positional[1];
        if (action == "add") {
            if (const auto target = args.option("alias-of")) {
                auto added = directory->add_domain_alias(name, *target);
                if (!added) {
                    std::cerr << "sovereign domain: " << name << ": " << added.error().message()
                              << "\n";
                    return kExitRuntime;
                }
                std::cout << "added domain alias " << added->name << " -> " << added->alias_of
                          << "\n";
                return kExitOk;
            }
            auto added = directory->add_domain(name);
            if (!added) {
                std::cerr << "sovereign domain: " << name << ": " << added.error().message()
                          << "\n";
                return kExitRuntime;
            }
            std::cout << "added domain " << added->name << "\n";
            return kExitOk;
        }
        auto removed = directory->del_domain(name);
        if (!removed) {
            // A domain alias is removed by the same command.
            if (auto alias_removed = directory->del_domain_alias(name); alias_removed) {
                std::cout << "removed domain alias " << name << "\n";
                return kExitOk;
            }
            std::cerr << "sovereign domain: " << name << ": " << removed.error().message() << "\n";
            return kExitRuntime;
        }
        std::cout << "removed domain " << name << "\n";
        return kExitOk;
    };
    return command;
}

}  // namespace sov::cli
