#pragma once
// Writing a file so that it survives a crash the moment the call returns (ARCHITECTURE.md §4):
// temporary name, write, fdatasync, rename into place, fsync of the directory.
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace sov::core {

/// Writes `content` as `dir/name` durably, mode 0600. An existing file of that name is replaced.
Status write_file_durably(
    const std::filesystem::path& dir, std::string_view name, std::string_view content
);

/// fsync of a directory, making a rename or unlink in it durable.
Status sync_directory(const std::filesystem::path& dir);

/// A random identifier of `chars` characters from [0-9a-z] (libsodium's generator).
std::string random_id(std::size_t chars);

}  // namespace sov::core
