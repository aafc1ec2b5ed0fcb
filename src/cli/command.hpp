#pragma once
// Each subcommand lives in its own cmd_*.cpp and registers a Command in commands.cpp.
#include <functional>
#include <string>
#include <vector>

namespace sov::cli {

struct Command {
    std::string name;     // "user", "config", ...
    std::string summary;  // one line for `sovereign --help`
    std::string usage;    // full help text for `sovereign NAME --help`
    /// argv[first] is the first argument after the command name.
    std::function<int(int argc, char** argv, int first)> run;
};

const std::vector<Command>& all_commands();

/// Prints the command's usage to stderr with a reason and returns kExitUsage.
int usage_error(const Command& command, const std::string& reason);

}  // namespace sov::cli
