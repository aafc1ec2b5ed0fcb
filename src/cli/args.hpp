#pragma once
// A small argument reader for the `sovereign` subcommands: positionals, `--name value` options and
// `--flag` switches. Unknown options are usage errors (exit 2), never ignored.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sov::cli {

/// Exit codes of every subcommand (the contract).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

struct ArgSpec {
    std::set<std::string> options;  // take a value: --data DIR
    std::set<std::string> flags;    // no value: --help
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;
    std::set<std::string> flags;
    std::string error;  // non-empty: a usage error

    bool has(const std::string& flag) const { return flags.contains(flag); }
    std::optional<std::string> option(const std::string& name) const;
};

/// Parses argv[first..] against `spec`; "--help" and "-h" are always accepted flags.
Args parse_args(int argc, char** argv, int first, const ArgSpec& spec);

}  // namespace sov::cli
