#pragma once
// Opening the data directory's databases for administrative subcommands. These run beside a live
// server: SQLite (WAL) lets both read and write.
#include <iostream>
#include <memory>
#include <string>

#include "accounts/directory.hpp"
#include "core/config.hpp"
#include "store/store.hpp"

namespace sov::cli {

std::unique_ptr<accounts::Directory> open_directory(const core::Config& config);
std::unique_ptr<store::Store> open_store(const core::Config& config);

/// Reads a secret: from --password-file when given, else one line of standard input (never argv,
/// which other users can read in /proc). The trailing newline is removed.
bool read_password(const std::string& file, std::string& password, std::string& error);

}  // namespace sov::cli
