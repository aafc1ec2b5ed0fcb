#include "cli/data_dir.hpp"

#include <stdlib.h>

#include <iostream>

namespace sov::cli {

std::filesystem::path config_path(const Args& args) {
    if (const auto file = args.option("config")) {
        return *file;
    }
    if (const auto dir = args.option("data")) {
        return std::filesystem::path{*dir} / "sovereign.toml";
    }
    if (const char* env = getenv("SOVEREIGN_DATA"); env != nullptr && *env != '\0') {
        return std::filesystem::path{env} / "sovereign.toml";
    }
    return std::filesystem::path{"data"} / "sovereign.toml";
}

std::optional<core::Config> load_config_or_report(const Args& args) {
    const auto path = config_path(args);
    auto loaded = core::load_config(path);
    for (const auto& diagnostic : loaded.diagnostics) {
        std::cerr << diagnostic.to_string() << "\n";
    }
    if (!loaded.ok()) {
        return std::nullopt;
    }
    return std::move(loaded.config);
}

}  // namespace sov::cli
