#pragma once
// The steps every subcommand takes before its own work, done one way for all of them: reading the
// arguments (--help and usage errors), loading the configuration, opening the accounts directory,
// and reporting a failed operation as "sovereign NAME: ...: reason" with exit code 1.
#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "accounts/directory.hpp"
#include "cli/args.hpp"
#include "cli/command.hpp"
#include "core/config.hpp"

namespace sov::cli {

/// The body of a subcommand; `command` gives its name and usage for messages.
using CommandBody = int (*)(const Command& command, int argc, char** argv, int first);

/// Builds a Command whose run() calls `body` with the command itself.
Command make_command(std::string name, std::string summary, std::string usage, CommandBody body);

/// A step's outcome: a value to go on with, or the exit code the subcommand returns now (the step
/// has already printed why).
template <typename T>
class OrExit {
public:
    OrExit(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    static OrExit exit_with(int exit_code) { return OrExit{exit_code, 0}; }

    explicit operator bool() const { return value_.has_value(); }
    T& operator*() { return *value_; }
    T* operator->() { return &*value_; }
    int exit_code() const { return exit_code_; }

private:
    OrExit(int exit_code, int /*tag*/) : exit_code_(exit_code) {}

    std::optional<T> value_;
    int exit_code_ = kExitOk;
};

/// How many positional arguments a subcommand takes, and the usage error when the count is wrong.
struct Positionals {
    std::size_t min = 0;
    std::size_t max = std::numeric_limits<std::size_t>::max();
    std::string error;

    static Positionals none(std::string error) { return {0, 0, std::move(error)}; }
    static Positionals exactly(std::size_t count, std::string error) {
        return {count, count, std::move(error)};
    }
    static Positionals at_least(std::size_t count, std::string error) {
        return {count, std::numeric_limits<std::size_t>::max(), std::move(error)};
    }
};

/// Prints the command's usage to stdout and returns kExitOk (the answer to --help).
int print_usage(const Command& command);

/// When `args` has a parse error or a positional count outside `positionals`, prints a usage
/// error and returns kExitUsage; nullopt when the arguments are fine.
std::optional<int> check_usage(
    const Command& command, const Args& args, const Positionals& positionals
);

/// Parses argv[first..] against `spec`. --help prints the usage (exit kExitOk); a parse error or a
/// wrong positional count prints a usage error (exit kExitUsage). --help wins over both.
OrExit<Args> parse_command_args(
    const Command& command,
    int argc,
    char** argv,
    int first,
    const ArgSpec& spec,
    const Positionals& positionals
);

/// Loads the configuration named by --config/--data; on failure the diagnostics are printed and
/// the exit code is kExitUsage.
OrExit<core::Config> load_command_config(const Args& args);

struct ConfigAndDirectory {
    core::Config config;
    std::unique_ptr<accounts::Directory> directory;
};

/// load_command_config, then opens the accounts directory (failure: printed, kExitRuntime).
OrExit<ConfigAndDirectory> load_config_and_directory(const Args& args);

/// Prints "sovereign NAME: WHAT: REASON" to stderr and returns kExitRuntime.
int fail(const Command& command, std::string_view what, const std::error_code& reason);
/// Prints "sovereign NAME: REASON" to stderr and returns kExitRuntime.
int fail(const Command& command, const std::error_code& reason);
/// Prints "sovereign NAME: MESSAGE" to stderr and returns kExitRuntime.
int fail(const Command& command, std::string_view message);

}  // namespace sov::cli
