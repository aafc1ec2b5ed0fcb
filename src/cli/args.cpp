#include "cli/args.hpp"

namespace sov::cli {

std::optional<std::string> Args::option(const std::string& name) const {
    const auto it = options.find(name);
    if (it == options.end()) {
        return std::nullopt;
    }
    return it->second;
}

Args parse_args(int argc, char** argv, int first, const ArgSpec& spec) {
    Args args;
    bool only_positionals = false;
    for (int i = first; i < argc; ++i) {
        const std::string arg = argv[i];
        if (only_positionals || arg.size() < 2 || arg[0] != '-') {
            args.positional.push_back(arg);
            continue;
        }
        if (arg == "--") {
            only_positionals = true;
            continue;
        }
        if (arg == "-h" || arg == "--help") {
            args.flags.insert("help");
            continue;
        }
        std::string name = arg.substr(arg.starts_with("--") ? 2 : 1);
        std::optional<std::string> inline_value;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name.resize(eq);
        }
        if (spec.flags.contains(name) && !inline_value) {
            args.flags.insert(name);
        } else if (spec.options.contains(name)) {
            if (inline_value) {
                args.options[name] = *inline_value;
            } else if (i + 1 < argc) {
                args.options[name] = argv[++i];
            } else {
                args.error = "option --" + name + " needs a value";
                return args;
            }
        } else {
            args.error = "unknown option --" + name;
            return args;
        }
    }
    return args;
}

}  // namespace sov::cli
