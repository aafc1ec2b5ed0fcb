#pragma once
// Where a subcommand finds its configuration: --config FILE, else --data DIR/sovereign.toml, else
// $SOVEREIGN_DATA/sovereign.toml, else ./data/sovereign.toml (the quickstart default).
#include <filesystem>
#include <optional>

#include "cli/args.hpp"
#include "core/config.hpp"

namespace sov::cli {

std::filesystem::path config_path(const Args& args);

/// Loads the configuration for a subcommand; prints diagnostics and returns nullopt on failure.
std::optional<core::Config> load_config_or_report(const Args& args);

}  // namespace sov::cli
