#include "cli/command_support.hpp"

#include <iostream>

#include "cli/data_dir.hpp"
#include "cli/open_services.hpp"

namespace sov::cli {

Command make_command(std::string name, std::string summary, std::string usage, CommandBody body) {
    Command command;
    command.name = std::move(name);
    command.summary = std::move(summary);
    command.usage = std::move(usage);
    // The copy captured here has no run() of its own; the body only needs the name and usage.
    command.run = [command, body](int argc, char** argv, int first) {
        return body(command, argc, argv, first);
    };
    return command;
}

int print_usage(const Command& command) {
    std::cout << command.usage;
    return kExitOk;
}

std::optional<int> check_usage(
    const Command& command, const Args& args, const Positionals& positionals
) {
    if (!args.error.empty()) {
        return usage_error(command, args.error);
    }
    const auto count = args.positional.size();
    if (count < positionals.min || count > positionals.max) {
        return usage_error(command, positionals.error);
    }
    return std::nullopt;
}

OrExit<Args> parse_command_args(
    const Command& command,
    int argc,
    char** argv,
    int first,
    const ArgSpec& spec,
    const Positionals& positionals
) {
    auto args = parse_args(argc, argv, first, spec);
    if (args.has("help")) {
        return OrExit<Args>::exit_with(print_usage(command));
    }
    if (const auto failed = check_usage(command, args, positionals)) {
        return OrExit<Args>::exit_with(*failed);
    }
    return args;
}

OrExit<core::Config> load_command_config(const Args& args) {
    auto config = load_config_or_report(args);
    if (!config) {
        return OrExit<core::Config>::exit_with(kExitUsage);
    }
    return std::move(*config);
}

OrExit<ConfigAndDirectory> load_config_and_directory(const Args& args) {
    auto config = load_command_config(args);
    if (!config) {
        return OrExit<ConfigAndDirectory>::exit_with(config.exit_code());
    }
    auto directory = open_directory(*config);
    if (!directory) {
        return OrExit<ConfigAndDirectory>::exit_with(kExitRuntime);
    }
    return ConfigAndDirectory{std::move(*config), std::move(directory)};
}

int fail(const Command& command, std::string_view what, const std::error_code& reason) {
    std::cerr << "sovereign " << command.name << ": " << what << ": " << reason.message() << "\n";
    return kExitRuntime;
}

int fail(const Command& command, const std::error_code& reason) {
    return fail(command, reason.message());
}

int fail(const Command& command, std::string_view message) {
    std::cerr << "sovereign " << command.name << ": " << message << "\n";
    return kExitRuntime;
}

}  // namespace sov::cli
