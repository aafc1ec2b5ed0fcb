#pragma once
// Small POSIX file helpers shared by the importer and the exporter (private to the module).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace sov::exchange::detail {

/// Owns a file descriptor.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd();
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Fd& operator=(Fd&& other) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

/// Reads a whole small metadata file (dovecot-keywords, dovecot-uidlist, subscriptions); nullopt
/// if it is missing, unreadable or larger than `limit`.
std::optional<std::string> read_small_file(const std::filesystem::path& path, std::size_t limit);

/// Writes all of `bytes`; false with errno set on failure.
bool write_all(int fd, std::string_view bytes);

/// Creates a new file (never replacing one, never following a symlink) with `bytes`; mtime and
/// atime set to `mtime_seconds` when given. Empty string on success, else the reason.
std::string create_file(
    const std::filesystem::path& path,
    std::string_view bytes,
    std::optional<std::int64_t> mtime_seconds = std::nullopt
);

/// mkdir with mode 0700 (mail is private); an existing directory is fine. Empty string on success.
std::string make_dir(const std::filesystem::path& path);

/// strerror(errno) as a std::string.
std::string os_error();

}  // namespace sov::exchange::detail
