#pragma once
// Reads one stored message file for FETCH/SEARCH. The store never modifies a message file
// (store.hpp), so a read needs no lock; a file expunged meanwhile simply fails to load.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace sov::imap {

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
