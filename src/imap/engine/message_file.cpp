#include "imap/engine/message_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sov::imap {

std::optional<std::size_t> read_message_file(
    const char* path, std::uint64_t limit, std::string& buffer
) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return std::nullopt;
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    const auto want = static_cast<std::size_t>(
        std::min<std::uint64_t>(static_cast<std::uint64_t>(st.st_size), limit)
    );
    if (buffer.size() < want) {
        buffer.resize(want);
    }
    std::size_t done = 0;
    while (done < want) {
        const auto n = ::read(fd, buffer.data() + done, want - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (done != want) {
        return std::nullopt;
    }
    return done;
}

bool MessageFile::load(const std::filesystem::path& path, std::uint64_t limit) {
    data_.clear();
    const auto size = read_message_file(path.c_str(), limit, data_);
    data_.resize(size.value_or(0));
    loaded_ = size.has_value();
    return loaded_;
}

}  // namespace sov::imap
