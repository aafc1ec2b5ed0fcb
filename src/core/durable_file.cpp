#include "core/durable_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include "core/errors.hpp"
#include "core/log.hpp"

namespace sov::core {

namespace {

Status os_failure(std::string_view op, const std::filesystem::path& path) {
    const auto error = last_os_error();
    log::error("file.io", {{"op", op}, {"path", path.string()}, {"error", error.message()}});
    return error;
}

}  // namespace

Status write_file_durably(
    const std::filesystem::path& dir, std::string_view name, std::string_view content
) {
    const auto final_path = dir / std::string(name);
    const auto temp_path = dir / ("." + std::string(name) + ".tmp");
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return os_failure("open", temp_path);
    }
    std::size_t done = 0;
    while (done < content.size()) {
        const auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            auto st = os_failure("write", temp_path);
            ::close(fd);
            ::unlink(temp_path.c_str());
            return st;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fdatasync(fd) != 0) {
        auto st = os_failure("fdatasync", temp_path);
        ::close(fd);
        ::unlink(temp_path.c_str());
        return st;
    }
    ::close(fd);
    if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
        auto st = os_failure("rename", final_path);
        ::unlink(temp_path.c_str());
        return st;
    }
    return sync_directory(dir);
}

Status sync_directory(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return os_failure("open", dir);
    }
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) {
        return os_failure("fsync", dir);
    }
    return {};
}

std::string random_id(std::size_t chars) {
    static constexpr std::string_view kAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string out(chars, '0');
    for (auto& c : out) {
        c = kAlphabet[randombytes_uniform(static_cast<std::uint32_t>(kAlphabet.size()))];
    }
    return out;
}

}  // namespace sov::core
