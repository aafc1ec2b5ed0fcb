#include "net/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sov::net {

bool running_as_root() {
    return geteuid() == 0;
}

bool drop_privileges(const std::string& user, std::string& error) {
    if (!running_as_root() || user.empty()) {
        return true;
    }
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        error = "unknown user '" + user + "' in run_as_user";
        return false;
    }
    if (setgroups(0, nullptr) != 0 || setgid(pw.pw_gid) != 0 || setuid(pw.pw_uid) != 0) {
        error = std::string{"cannot drop privileges: "} + std::strerror(errno);
        return false;
    }
    // setuid succeeded; make sure root cannot be regained.
    if (setuid(0) == 0) {
        error = "privileges were not dropped: setuid(0) still works";
        return false;
    }
    return true;
}

}  // namespace sov::net
