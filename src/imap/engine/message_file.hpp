#pragma once
// Reads one stored message file for FETCH/SEARCH. The store never modifies a message file
// (store.hpp), so a read needs no lock; a file expunged meanwhile simply fails to load.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace sov::imap {

/// Reads the file at `path` (never through a symlink), or its first `limit` bytes, into the
/// front of `buffer`, which is enlarged when too small but never shrunk (so a reused buffer is
/// not zero-filled again). The number of bytes read, or nullopt when the file is gone,
/// unreadable or shorter than it said.
std::optional<std::size_t> read_message_file(
    const char* path, std::uint64_t limit, std::string& buffer
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
