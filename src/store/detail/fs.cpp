#include "store/detail/fs.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include <fmt/format.h>

#include "core/log.hpp"
#include "store/errors.hpp"

namespace sov::store::detail {
namespace {

Status io_failure(std::string_view op, const std::filesystem::path& what, int err) {
    log::error("store.io", {{"op", op}, {"path", what.string()}, {"error", std::strerror(err)}});
    return Errc::Io;
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Status write_all(int fd, std::string_view bytes, const std::filesystem::path& what) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_failure("write", what, errno);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

Status sync_data(int fd, const std::filesystem::path& what) {
    if (::fdatasync(fd) != 0) {
        return io_failure("fdatasync", what, errno);
    }
    return {};
}

Status sync_dir(const std::filesystem::path& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        return io_failure("open_dir", dir, errno);
    }
    if (::fsync(fd.get()) != 0) {
        return io_failure("fsync_dir", dir, errno);
    }
    return {};
}

Status make_dir(const std::filesystem::path& dir, bool& created) {
    created = false;
    if (::mkdir(dir.c_str(), 0700) == 0) {
        created = true;
        return {};
    }
    if (errno == EEXIST) {
        struct stat st{};
        if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            return {};
        }
    }
    return io_failure("mkdir", dir, errno);
}

Status link_or_copy(
    const std::filesystem::path& from, const std::filesystem::path& to, bool& synced_copy
) {
    synced_copy = false;
    if (::link(from.c_str(), to.c_str()) == 0) {
        return {};
    }
    int err = errno;
    if (err == EEXIST || err == ENOENT || err == ENOSPC || err == EIO || err == EDQUOT ||
        err == EROFS) {
        return io_failure("link", to, err);
    }
    // EXDEV (another file system), EMLINK, EPERM (no hard links here): copy and sync the copy.
    Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) {
        return io_failure("open", from, errno);
    }
    Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) {
        return io_failure("create", to, errno);
    }
    std::array<char, 65536> buf{};
    for (;;) {
        ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            remove_file(to);
            return io_failure("read", from, e);
        }
        if (n == 0) {
            break;
        }
        if (auto st = write_all(out.get(), {buf.data(), static_cast<std::size_t>(n)}, to); !st) {
            remove_file(to);
            return st;
        }
    }
    if (auto st = sync_data(out.get(), to); !st) {
        remove_file(to);
        return st;
    }
    synced_copy = true;
    return {};
}

Result<std::string> read_file(const std::filesystem::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) {
            return Errc::NotFound;
        }
        return io_failure("open", path, errno).error();
    }
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) {
        return io_failure("fstat", path, errno).error();
    }
    std::string out;
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < out.size()) {
        ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return io_failure("read", path, errno).error();
        }
        if (n == 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return out;
}

void remove_file(const std::filesystem::path& path) noexcept {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        log::warn(
            "store.unlink_failed", {{"path", path.string()}, {"error", std::strerror(errno)}}
        );
    }
}

std::string random_token() {
    std::uint64_t v = 0;
    auto* p = reinterpret_cast<unsigned char*>(&v);
    std::size_t got = 0;
    while (got < sizeof v) {
        ssize_t n = ::getrandom(p + got, sizeof v - got, 0);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
        }
    }
    return fmt::format("{:016x}", v);
}

}  // namespace sov::store::detail
