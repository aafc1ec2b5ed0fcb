// The one binary: `sovereign <command> ...` (see src/cli/commands.cpp for the list).
#include <cstring>
#include <iostream>

#include "cli/args.hpp"
#include "cli/command.hpp"

namespace {

void print_overview() {
    std::cout << "usage: sovereign <command> [options]\n\ncommands:\n";
    for (const auto& command : sov::cli::all_commands()) {
        std::cout << "  " << command.name;
        for (std::size_t pad = command.name.size(); pad < 12; ++pad) {
            std::cout << ' ';
        }
        std::cout << command.summary << "\n";
    }
    std::cout << "\n'sovereign <command> --help' describes a command.\n"
              << "Exit codes: 0 ok, 1 runtime error, 2 usage or configuration error.\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_overview();
        return sov::cli::kExitUsage;
    }
    const std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_overview();
        return sov::cli::kExitOk;
    }
    if (name == "--version") {
        argv[1] = const_cast<char*>("version");
    }
    for (const auto& command : sov::cli::all_commands()) {
        if (command.name == argv[1]) {
            try {
                return command.run(argc, argv, 2);
            } catch (const std::exception& e) {
                std::cerr << "sovereign " << command.name << ": " << e.what() << "\n";
                return sov::cli::kExitRuntime;
            }
        }
    }
    std::cerr << "sovereign: unknown command '" << name << "'\n\n";
    print_overview();
    return sov::cli::kExitUsage;
}
