#include "imap/engine/message_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sov::imap {

namespace {

// Up to `size` bytes at `offset`, fewer only at the end of the file; -1 on an error.
ssize_t read_at(int fd, char* out, std::size_t size, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < size) {
        const auto n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return static_cast<ssize_t>(done);
}

void make_room(std::string& buffer, std::size_t size) {
    if (buffer.size() < size) {
        buffer.resize(size);
    }
}

// The file's size from fstat, then its first `limit` bytes of that.
std::optional<std::size_t> read_measured(int fd, std::uint64_t limit, std::string& buffer) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        return std::nullopt;
    }
    const auto want = static_cast<std::size_t>(
        std::min<std::uint64_t>(static_cast<std::uint64_t>(st.st_size), limit)
    );
    make_room(buffer, want);
    if (read_at(fd, buffer.data(), want, 0) != static_cast<ssize_t>(want)) {
        return std::nullopt;
    }
    return want;
}

}  // namespace

std::optional<std::size_t> read_message_file(
    const MessageFileRef& file, std::uint64_t limit, std::string& buffer
) {
    const int fd = ::openat(file.dir_fd, file.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return std::nullopt;
    }
    std::optional<std::size_t> result;
    if (file.expected_size > 0) {
        const auto want = static_cast<std::size_t>(std::min(file.expected_size, limit));
        // The whole file: one octet more than expected, so that getting exactly `want` also
        // shows the end of the file (a read of a regular file returns less than asked only
        // there). One call: a loop would need a second one to see the end.
        const std::size_t ask = want == file.expected_size ? want + 1 : want;
        make_room(buffer, ask);
        ssize_t n = 0;
        do {
            n = ::pread(fd, buffer.data(), ask, 0);
        } while (n < 0 && errno == EINTR);
        if (n == static_cast<ssize_t>(want)) {
            result = want;
        }
    }
    if (!result) {
        result = read_measured(fd, limit, buffer);
    }
    ::close(fd);
    return result;
}

bool MessageFile::load(const std::filesystem::path& path, std::uint64_t limit) {
    data_.clear();
    const auto size = read_message_file({.path = path.c_str()}, limit, data_);
    data_.resize(size.value_or(0));
    loaded_ = size.has_value();
    return loaded_;
}

}  // namespace sov::imap
