#include "cli/user_account.hpp"

#include <iostream>

#include "cli/args.hpp"
#include "cli/open_services.hpp"

namespace sov::cli {

int add_user_account(
    const core::Config& config,
    accounts::Directory& directory,
    const std::string& address,
    const std::string& password,
    accounts::Quota quota
) {
    auto added = directory.add_user(address, password, quota);
    if (!added) {
        std::cerr << "sovereign user: " << address << ": " << added.error().message() << "\n";
        return kExitRuntime;
    }
    auto store = open_store(config);
    if (!store) {
        return kExitRuntime;
    }
    const store::Quota store_quota{.max_bytes = quota.bytes, .max_messages = quota.messages};
    if (auto ensured = store->ensure_account(added->address, store_quota); !ensured) {
        std::cerr << "sovereign user: mailboxes for " << added->address << ": "
                  << ensured.error().message() << "\n";
        return kExitRuntime;
    }
    std::cout << "added user " << added->address << "\n";
    return kExitOk;
}

int remove_user_account(
    const core::Config& config, accounts::Directory& directory, const std::string& address
) {
    auto user = directory.find_user(address);
    if (!user) {
        std::cerr << "sovereign user: " << address << ": " << user.error().message() << "\n";
        return kExitRuntime;
    }
    if (auto removed = directory.del_user(address); !removed) {
        std::cerr << "sovereign user: " << address << ": " << removed.error().message() << "\n";
        return kExitRuntime;
    }
    auto store = open_store(config);
    if (!store) {
        return kExitRuntime;
    }
    if (auto removed = store->remove_account(user->address); !removed) {
        std::cerr << "sovereign user: mail of " << user->address << ": "
                  << removed.error().message() << "\n";
        return kExitRuntime;
    }
    std::cout << "removed user " << user->address << " and its mail\n";
    return kExitOk;
}

}  // namespace sov::cli
