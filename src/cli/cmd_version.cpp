#include <iostream>

#include <boost/version.hpp>
#include <openssl/opensslv.h>
#include <sqlite3.h>

#include "cli/args.hpp"
#include "cli/commands_list.hpp"

namespace sov::cli {

Command version_command() {
    Command command;
    command.name = "version";
    command.summary = "print the version and the libraries it was built with";
    command.usage = "usage: sovereign version\n";
    command.run = [command](int argc, char** argv, int first) {
        const auto args = parse_args(argc, argv, first, {});
        if (!args.error.empty() || !args.positional.empty()) {
            return usage_error(command, args.error.empty() ? "no arguments expected" : args.error);
        }
        if (args.has("help")) {
            std::cout << command.usage;
            return kExitOk;
        }
        std::cout << "sovereign " << SOV_VERSION << "\n"
                  << "  " << OPENSSL_VERSION_TEXT << "\n"
                  << "  SQLite " << sqlite3_libversion() << "\n"
                  << "  Boost " << BOOST_VERSION / 100000 << "." << BOOST_VERSION / 100 % 1000
                  << "\n";
        return kExitOk;
    };
    return command;
}

}  // namespace sov::cli
