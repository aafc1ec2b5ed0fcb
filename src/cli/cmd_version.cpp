#include <iostream>

#include <boost/version.hpp>
#include <openssl/opensslv.h>
#include <sqlite3.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"

namespace sov::cli {

namespace {

int run_version(const Command& command, int argc, char** argv, int first) {
    // Unlike the other commands, version checks its arguments before --help: `version --help x`
    // is a usage error.
    const auto args = parse_args(argc, argv, first, {});
    if (const auto failed =
            check_usage(command, args, Positionals::none("no arguments expected"))) {
        return *failed;
    }
    if (args.has("help")) {
        return print_usage(command);
    }
    std::cout << "sovereign " << SOV_VERSION << "\n"
              << "  " << OPENSSL_VERSION_TEXT << "\n"
              << "  SQLite " << sqlite3_libversion() << "\n"
              << "  Boost " << BOOST_VERSION / 100000 << "." << BOOST_VERSION / 100 % 1000 << "\n";
    return kExitOk;
}

}  // namespace

Command version_command() {
    return make_command(
        "version",
        "print the version and the libraries it was built with",
        "usage: sovereign version\n",
        run_version
    );
}

}  // namespace sov::cli
