#pragma once
// Started as root, the server binds its ports and then gives root up for good (setgroups, setgid,
// setuid), so a bug in a protocol engine cannot touch what root can.
#include <string>

namespace sov::net {

/// Does nothing when not root or `user` is empty. Returns false with `error` set on failure; the
/// caller must then exit rather than go on as root.
bool drop_privileges(const std::string& user, std::string& error);

/// True when the process runs as root.
bool running_as_root();

}  // namespace sov::net
