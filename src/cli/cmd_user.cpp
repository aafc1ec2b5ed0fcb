#include <charconv>
#include <ctime>
#include <iostream>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/open_services.hpp"
#include "cli/user_account.hpp"

namespace sov::cli {

namespace {

bool parse_u64(const std::string& text, std::uint64_t& out) {
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc{} && ptr == end;
}

int list_users(const Command& command, accounts::Directory& directory, const std::string& domain) {
    auto users = directory.list_users(domain);
    if (!users) {
        return fail(command, users.error());
    }
    for (const auto& user : *users) {
        std::cout << user.address << "  quota=" << user.quota.bytes << "B/" << user.quota.messages
                  << "msgs\n";
    }
    return kExitOk;
}

std::string format_time(std::int64_t unix_seconds) {
    if (unix_seconds == 0) {
        return "never";
    }
    return fmt::format(
        "{:%Y-%m-%d %H:%M:%S}Z", fmt::gmtime(static_cast<std::time_t>(unix_seconds))
    );
}

// `user app-password add|list|revoke ADDRESS [NAME]`: positional[0] is "app-password".
int run_app_password(const Command& command, const Args& args) {
    const auto& positional = args.positional;
    const std::string action = positional.size() > 1 ? positional[1] : "";
    if (action != "add" && action != "list" && action != "revoke") {
        return usage_error(command, "app-password: expected add, list or revoke");
    }
    if (positional.size() != (action == "list" ? 3U : 4U)) {
        return usage_error(command, "wrong number of arguments for 'app-password " + action + "'");
    }
    for (const char* option : {"quota-bytes", "quota-messages", "password-file"}) {
        if (args.option(option)) {
            // Nothing is read: app passwords are generated, never chosen.
            return usage_error(
                command, std::string{"--"} + option + " does not apply to app-password"
            );
        }
    }
    auto opened = load_config_and_directory(args);
    if (!opened) {
        return opened.exit_code();
    }
    auto& directory = *opened->directory;
    const auto& address = positional[2];
    if (action == "list") {
        auto list = directory.list_app_passwords(address);
        if (!list) {
            return fail(command, address, list.error());
        }
        for (const auto& entry : *list) {
            std::cout << entry.name << "  created=" << format_time(entry.created)
                      << "  last_used=" << format_time(entry.last_used) << "\n";
        }
        return kExitOk;
    }
    const auto& name = positional[3];
    if (action == "revoke") {
        if (auto revoked = directory.revoke_app_password(address, name); !revoked) {
            return fail(command, address + ": app password '" + name + "'", revoked.error());
        }
        std::cout << "revoked app password '" << name << "' of " << address << "\n";
        return kExitOk;
    }
    auto password = directory.add_app_password(address, name);
    if (!password) {
        return fail(command, address + ": app password '" + name + "'", password.error());
    }
    // The only time the password is shown: it is stored as a hash.
    std::cout << "app password '" << name << "' for " << address
              << " (shown only now; use it instead of the account password):\n"
              << *password << "\n";
    return kExitOk;
}

int run_user(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data", "quota-bytes", "quota-messages", "password-file"},
         .flags = {}},
        Positionals::at_least(1, "expected add, del, passwd, list or app-password")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    const auto count = args->positional.size();
    if (action == "app-password") {
        return run_app_password(command, *args);
    }
    if (action != "add" && action != "del" && action != "passwd" && action != "list") {
        return usage_error(command, "unknown action '" + action + "'");
    }
    if (action == "list" ? count > 2 : count != 2) {
        return usage_error(command, "wrong number of arguments for '" + action + "'");
    }
    auto opened = load_config_and_directory(*args);
    if (!opened) {
        return opened.exit_code();
    }
    const auto& config = opened->config;
    auto& directory = *opened->directory;

    if (action == "list") {
        return list_users(command, directory, count == 2 ? args->positional[1] : "");
    }
    const auto& address = args->positional[1];
    if (action == "del") {
        return remove_user_account(config, directory, address);
    }
    std::string password;
    std::string error;
    if (!read_password(args->option("password-file").value_or(""), password, error)) {
        std::cerr << "sovereign user: " << error << "\n";
        return kExitUsage;
    }
    if (action == "passwd") {
        if (auto set = directory.set_password(address, password); !set) {
            return fail(command, address, set.error());
        }
        std::cout << "password changed for " << address << "\n";
        return kExitOk;
    }
    accounts::Quota quota{config.default_quota.max_bytes, config.default_quota.max_messages};
    for (const auto& [option, field] :
         {std::pair{"quota-bytes", &quota.bytes}, std::pair{"quota-messages", &quota.messages}}) {
        if (const auto value = args->option(option); value && !parse_u64(*value, *field)) {
            return usage_error(command, std::string{"--"} + option + " needs a number");
        }
    }
    return add_user_account(config, directory, address, password, quota);
}

}  // namespace

Command user_command() {
    return make_command(
        "user",
        "add, remove, list users, change a password, manage app passwords",
        "usage: sovereign user add ADDRESS [--quota-bytes N] [--quota-messages N] [--password-file "
        "F]\n"
        "       sovereign user del ADDRESS\n"
        "       sovereign user passwd ADDRESS [--password-file F]\n"
        "       sovereign user list [DOMAIN]\n"
        "       sovereign user app-password add ADDRESS NAME\n"
        "       sovereign user app-password list ADDRESS\n"
        "       sovereign user app-password revoke ADDRESS NAME\n"
        "(all take --data DIR or --config FILE)\n\n"
        "Passwords are read from standard input (one line) or --password-file, never from the\n"
        "command line. A new user gets the mailboxes INBOX, Sent, Drafts, Trash, Junk, Archive.\n"
        "Quotas of 0 mean unlimited; the default comes from [quota] in the configuration.\n\n"
        "App passwords are extra passwords for one device or program each (NAME, e.g. \"phone\"),\n"
        "so that a lost device can be locked out without changing the account password. They are\n"
        "generated (140 random bits), printed once by 'add' and stored only as a hash. They work\n"
        "with IMAP LOGIN and SASL PLAIN/LOGIN, not with SCRAM-SHA-256 (which needs the account\n"
        "password). 'user passwd' does not revoke them; 'user del' removes them with the user.\n",
        run_user
    );
}

}  // namespace sov::cli
