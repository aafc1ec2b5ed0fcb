#pragma once
// Reads one stored message file for FETCH/SEARCH. The store never modifies a message file
// (store.hpp), so a read needs no lock; a file expunged meanwhile simply fails to load.
#include <fcntl.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace sov::imap {

/// Where a message file is and what the index says of it.
struct MessageFileRef {
    /// `path` is relative to this directory (AT_FDCWD: to the working directory, or absolute).
    int dir_fd = AT_FDCWD;
    const char* path = nullptr;
    /// The size the index records; 0 if unknown. With it, the file is usually read without an
    /// fstat: one read() asked for one octet more that ends at exactly this size shows the
    /// whole file was read. Any other outcome measures the file, so a wrong size costs only
    /// time.
    std::uint64_t expected_size = 0;
};

/// Reads the file (never through a symlink), or its first `limit` bytes, into the front of
/// `buffer`, which is enlarged when too small but never shrunk (so a reused buffer is not
/// zero-filled again). The number of bytes read, or nullopt when the file is gone, unreadable
/// or shorter than it said.
std::optional<std::size_t> read_message_file(
    const MessageFileRef& file, std::uint64_t limit, std::string& buffer
);

class MessageFile {
public:
    /// Reads the whole file, or its first `limit` bytes (FETCH of the header only); false if
    /// it is gone or unreadable.
    bool load(const std::filesystem::path& path, std::uint64_t limit = UINT64_MAX);
    [[nodiscard]] bool loaded() const { return loaded_; }
    [[nodiscard]] std::string_view bytes() const { return data_; }

private:
    std::string data_;
    bool loaded_ = false;
};

}  // namespace sov::imap
