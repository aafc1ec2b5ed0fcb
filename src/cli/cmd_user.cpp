#include <charconv>
#include <iostream>

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

int run_user(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data", "quota-bytes", "quota-messages", "password-file"},
         .flags = {}},
        Positionals::at_least(1, "expected add, del, passwd or list")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    const auto count = args->positional.size();
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
        "add, remove, list users or change a password",
        "usage: sovereign user add ADDRESS [--quota-bytes N] [--quota-messages N] [--password-file "
        "F]\n"
        "       sovereign user del ADDRESS\n"
        "       sovereign user passwd ADDRESS [--password-file F]\n"
        "       sovereign user list [DOMAIN]\n"
        "(all take --data DIR or --config FILE)\n\n"
        "Passwords are read from standard input (one line) or --password-file, never from the\n"
        "command line. A new user gets the mailboxes INBOX, Sent, Drafts, Trash, Junk, Archive.\n"
        "Quotas of 0 mean unlimited; the default comes from [quota] in the configuration.\n",
        run_user
    );
}

}  // namespace sov::cli
