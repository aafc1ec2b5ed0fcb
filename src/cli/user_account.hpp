#pragma once
// Creating and removing a user touches two places: the accounts directory and the message store
// (the account's mailboxes). Shared by `user` and `quickstart`.
#include <string>

#include "accounts/directory.hpp"
#include "core/config.hpp"

namespace sov::cli {

/// Adds the user and creates its mailboxes; prints what happened; returns an exit code.
int add_user_account(
    const core::Config& config,
    accounts::Directory& directory,
    const std::string& address,
    const std::string& password,
    accounts::Quota quota
);

/// Removes the user from the directory first (no new mail is accepted), then its mail.
int remove_user_account(
    const core::Config& config, accounts::Directory& directory, const std::string& address
);

}  // namespace sov::cli
