#include "imap/engine/message_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace sov::imap {

bool MessageFile::load(const std::filesystem::path& path, std::uint64_t limit) {
    loaded_ = false;
    data_.clear();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return false;
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        return false;
    }
    const auto want = std::min<std::uint64_t>(static_cast<std::uint64_t>(st.st_size), limit);
    data_.resize(static_cast<std::size_t>(want));
    std::size_t done = 0;
    while (done < data_.size()) {
        const auto n = ::read(fd, data_.data() + done, data_.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    data_.resize(done);
    loaded_ = done == static_cast<std::size_t>(want);
    return loaded_;
}

}  // namespace sov::imap
