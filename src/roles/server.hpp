#pragma once
// `sovereign serve`: composes the roles named on the command line (all of them by default, in one
// process) from the configuration, runs them until SIGTERM/SIGINT, and reloads on SIGHUP.
#include <string>

#include "core/config.hpp"

namespace sov::roles {

struct ServeOptions {
    std::string role = "all";  // "all" or "mailbox" for now; "gateway", "web", ... come later
};

/// Returns the process exit code (0 after a clean shutdown, 1 on a runtime failure).
int serve(core::Config config, const ServeOptions& options);

}  // namespace sov::roles
