#include "exchange/detail/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace sov::exchange::detail {

Fd::~Fd() {
    if (fd_ >= 0) {
        (void)::close(fd_);
    }
}

std::string os_error() {
    return std::strerror(errno);
}

std::optional<std::string> read_small_file(const std::filesystem::path& path, std::size_t limit) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return std::nullopt;
    }
    std::string out;
    std::array<char, 16384> buf{};
    while (true) {
        const auto n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return std::nullopt;
        }
        if (n == 0) {
            return out;
        }
        out.append(buf.data(), static_cast<std::size_t>(n));
        if (out.size() > limit) {
            return std::nullopt;
        }
    }
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string create_file(
    const std::filesystem::path& path,
    std::string_view bytes,
    std::optional<std::int64_t> mtime_seconds
) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) {
        return os_error();
    }
    if (!write_all(fd.get(), bytes)) {
        return os_error();
    }
    if (mtime_seconds) {
        // Dovecot takes a Maildir message's INTERNALDATE from its mtime.
        const std::array<timespec, 2> times{
            timespec{.tv_sec = *mtime_seconds, .tv_nsec = 0},
            timespec{.tv_sec = *mtime_seconds, .tv_nsec = 0}
        };
        if (::futimens(fd.get(), times.data()) != 0) {
            return os_error();
        }
    }
    return {};
}

std::string make_dir(const std::filesystem::path& path) {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return os_error();
    }
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) {
        return os_error();
    }
    if (!S_ISDIR(st.st_mode)) {
        return "exists and is not a directory";
    }
    return {};
}

}  // namespace sov::exchange::detail
