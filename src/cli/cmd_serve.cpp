#include <malloc.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "roles/server.hpp"

namespace sov::cli {

namespace {

int run_serve(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data", "role"}, .flags = {}},
        Positionals::none("no positional arguments expected")
    );
    if (!args) {
        return args.exit_code();
    }
    auto config = load_command_config(*args);
    if (!config) {
        return config.exit_code();
    }
    // glibc raises its mmap threshold after freeing a large block (up to 32 MB), and from then
    // on keeps big temporary buffers (a long FETCH answer, a SEARCH's candidates) in the
    // threads' heaps instead of returning them: with thousands of idle IMAP sessions that was
    // ~8 KB of resident memory per session (bench/README.md, IMAP). A fixed threshold stops
    // that. It is 1 MB, not glibc's first 128 KB: a FETCH of a 200 KB message holds two such
    // buffers (the file, the answer), and a mapping of its own costs each of them page faults
    // and an munmap (BODY.PEEK[] of messages >= 128 KB: 490 -> 380 µs, bench/README.md). What
    // is free at the top of a heap is returned once it exceeds 2 MB.
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 2 << 20);
    roles::ServeOptions options;
    options.role = args->option("role").value_or("all");
    return roles::serve(std::move(*config), options);
}

}  // namespace

Command serve_command() {
    return make_command(
        "serve",
        "run the mail system (every role in one process by default)",
        "usage: sovereign serve [--data DIR | --config FILE] [--role all|mailbox]\n\n"
        "Runs until SIGTERM or SIGINT, which drain open sessions (up to shutdown_grace).\n"
        "SIGHUP reloads the TLS certificate and the log settings.\n",
        run_serve
    );
}

}  // namespace sov::cli
