#include "cli/open_services.hpp"

#include <fstream>

#include "roles/store_setup.hpp"

namespace sov::cli {

std::unique_ptr<accounts::Directory> open_directory(const core::Config& config) {
    auto directory = accounts::Directory::open(config.accounts_db());
    if (!directory) {
        std::cerr << "cannot open " << config.accounts_db().string() << ": "
                  << directory.error().message() << "\n";
        return nullptr;
    }
    return std::move(*directory);
}

std::unique_ptr<store::Store> open_store(const core::Config& config) {
    store::StoreOptions options = roles::make_store_options(config);
    options.sync_threads = 2;
    auto store = store::Store::open(std::move(options));
    if (!store) {
        std::cerr << "cannot open the message store in " << config.data_dir.string() << ": "
                  << store.error().message() << "\n";
        return nullptr;
    }
    return std::move(*store);
}

bool read_password(const std::string& file, std::string& password, std::string& error) {
    if (!file.empty()) {
        std::ifstream in(file);
        if (!in) {
            error = "cannot read " + file;
            return false;
        }
        std::getline(in, password);
    } else {
        std::getline(std::cin, password);
    }
    if (!password.empty() && password.back() == '\r') {
        password.pop_back();
    }
    if (password.empty()) {
        error = "empty password (give it on standard input or with --password-file)";
        return false;
    }
    return true;
}

}  // namespace sov::cli
