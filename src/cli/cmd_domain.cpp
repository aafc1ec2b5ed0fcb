#include <iostream>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"

namespace sov::cli {

namespace {

int list_domains(const Command& command, accounts::Directory& directory) {
    auto domains = directory.list_domains();
    if (!domains) {
        return fail(command, domains.error());
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

int add_domain(
    const Command& command,
    accounts::Directory& directory,
    const std::string& name,
    const std::optional<std::string>& alias_of
) {
    if (alias_of) {
        auto added = directory.add_domain_alias(name, *alias_of);
        if (!added) {
            return fail(command, name, added.error());
        }
        std::cout << "added domain alias " << added->name << " -> " << added->alias_of << "\n";
        return kExitOk;
    }
    auto added = directory.add_domain(name);
    if (!added) {
        return fail(command, name, added.error());
    }
    std::cout << "added domain " << added->name << "\n";
    return kExitOk;
}

int del_domain(const Command& command, accounts::Directory& directory, const std::string& name) {
    auto removed = directory.del_domain(name);
    if (!removed) {
        // A domain alias is removed by the same command.
        if (auto alias_removed = directory.del_domain_alias(name); alias_removed) {
            std::cout << "removed domain alias " << name << "\n";
            return kExitOk;
        }
        return fail(command, name, removed.error());
    }
    std::cout << "removed domain " << name << "\n";
    return kExitOk;
}

int run_domain(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data", "alias-of"}, .flags = {}},
        Positionals::at_least(1, "expected add, del or list")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    const bool needs_name = action == "add" || action == "del";
    if ((needs_name && args->positional.size() != 2) ||
        (action == "list" && args->positional.size() != 1)) {
        return usage_error(command, "wrong number of arguments for '" + action + "'");
    }
    if (!needs_name && action != "list") {
        return usage_error(command, "unknown action '" + action + "'");
    }
    auto opened = load_config_and_directory(*args);
    if (!opened) {
        return opened.exit_code();
    }
    auto& directory = *opened->directory;
    if (action == "list") {
        return list_domains(command, directory);
    }
    if (action == "add") {
        return add_domain(command, directory, args->positional[1], args->option("alias-of"));
    }
    return del_domain(command, directory, args->positional[1]);
}

}  // namespace

Command domain_command() {
    return make_command(
        "domain",
        "add, remove or list hosted domains and domain aliases",
        "usage: sovereign domain add DOMAIN [--alias-of TARGET] [--data DIR]\n"
        "       sovereign domain del DOMAIN [--data DIR]\n"
        "       sovereign domain list [--data DIR]\n\n"
        "Internationalised names may be given in Unicode or as xn-- labels.\n"
        "--alias-of makes every address at DOMAIN an address at TARGET.\n",
        run_domain
    );
}

}  // namespace sov::cli
