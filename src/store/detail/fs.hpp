#pragma once
// Small POSIX helpers for the store: every failure is logged here with its errno and returned as
// store::Errc::Io (or NotFound/Exists where the caller needs to tell them apart).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace sov::store::detail {

/// Owns a file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return fd_; }
    int release() noexcept {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

Status write_all(int fd, std::string_view bytes, const std::filesystem::path& what);
Status sync_data(int fd, const std::filesystem::path& what);  // fdatasync
/// fsync of a directory, so entries created or removed in it are durable.
Status sync_dir(const std::filesystem::path& dir);
/// mkdir; an existing directory is fine. `created` tells whether it was new (the parent then
/// needs sync_dir).
Status make_dir(const std::filesystem::path& dir, bool& created);
/// link(2) `from` to `to`; falls back to a full copy plus fdatasync when a link is impossible
/// (EXDEV, EMLINK, EPERM, ...). `synced_copy` tells whether the copy path ran.
Status link_or_copy(
    const std::filesystem::path& from, const std::filesystem::path& to, bool& synced_copy
);
Result<std::string> read_file(const std::filesystem::path& path);
/// unlink; ENOENT is fine.
void remove_file(const std::filesystem::path& path) noexcept;

/// 16 hex digits from getrandom(2).
std::string random_token();

}  // namespace sov::store::detail
