// ConfigDiagnostic formatting and file loading; the table and the parser are in config_table.cpp.
#include "core/config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include <fmt/format.h>

namespace sov::core {

std::string ConfigDiagnostic::to_string() const {
    // Line 0: the problem has no place in the file (a missing key, an unreadable file).
    if (line == 0) {
        return fmt::format("{}: {}", file, reason);
    }
    return fmt::format("{}:{}: {}", file, line, reason);
}

ConfigLoad load_config(const std::filesystem::path& path) {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(path, ec);
    if (ec) {
        absolute = path;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int err = errno;
        ConfigLoad out;
        out.config.source = path;
        out.diagnostics.push_back(
            ConfigDiagnostic{path.string(), 0, fmt::format("cannot read: {}", std::strerror(err))}
        );
        return out;
    }
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) {
        ConfigLoad out;
        out.config.source = path;
        out.diagnostics.push_back(ConfigDiagnostic{path.string(), 0, "read error"});
        return out;
    }
    auto load = parse_config(text, path.string(), absolute.parent_path());
    load.config.source = path;
    return load;
}

}  // namespace sov::core
