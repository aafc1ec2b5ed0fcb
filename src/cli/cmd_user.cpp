#include <charconv>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands_list.hpp"
#include "cli/data_dir.hpp"
#include "cli/open_services.hpp"
#include "cli/user_account.hpp"

namespace sov::cli {

namespace {

bool parse_u64(const std::string& text, std::uint64_t& out) {
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc{} && ptr == end;
}

}  // namespace

Command user_command() {
    Command command;
    command.name = "user";
    command.summary = "add, remove, list users or change a password";
    command.usage =
        "usage: sovereign user add ADDRESS [--quota-bytes N] [--quota-messages N] [--password-file "
        "F]\n"
        "       sovereign user del ADDRESS\n"
        "       sovereign user passwd ADDRESS [--password-file F]\n"
        "       sovereign user list [DOMAIN]\n"
        "(all take --data DIR or --config FILE)\n\n"
        "Passwords are read from standard input (one line) or --password-file, never from the\n"
        "command line. A new user gets the mailboxes INBOX, Sent, Drafts, Trash, Junk, Archive.\n"
        "Quotas of 0 mean unlimited; the default comes from [quota] in the configuration.\n";
    command.run = [command](int argc, char** argv, int first) {
        const auto args = parse_args(
            argc,
            argv,
            first,
            {.options = {"config", "data", "quota-bytes", "quota-messages", "password-file"},
             .flags = {}}
        );
        if (args.has("help")) {
            std::cout << command.usage;
            return kExitOk;
        }
        if (!args.error.empty() || args.positional.empty()) {
            return usage_error(
                command, args.error.empty() ? "expected add, del, passwd or list" : args.error
            );
        }
        const auto& action = args.positional[0];
        if (action != "add" && action != "del" && action != "passwd" && action != "list") {
            return usage_error(command, "unknown action '" + action + "'");
        }
        if (action == "list" ? args.positional.size() > 2 : args.positional.size() != 2) {
            return usage_error(command, "wrong number of arguments for '" + action + "'");
        }
        const auto config = load_config_or_report(args);
        if (!config) {
            return kExitUsage;
        }
        auto directory = open_directory(*config);
        if (!directory) {
            return kExitRuntime;
        }
        if (action == "list") {
            auto users =
                directory->list_users(args.positional.size() == 2 ? args.positional[1] : "");
            if (!users) {
                std::cerr << "sovereign user: " << users.error().message() << "\n";
                return kExitRuntime;
            }
            for (const auto& user : *users) {
                std::cout << user.address << "  quota=" << user.quota.bytes << "B/"
                          << user.quota.messages << "msgs\n";
            }
            return kExitOk;
        }
        const auto& address = args.positional[1];
        if (action == "del") {
            return remove_user_account(*config, *directory, address);
        }
        std::string password;
        std::string error;
        if (!read_password(args.option("password-file").value_or(""), password, error)) {
            std::cerr << "sovereign user: " << error << "\n";
            return kExitUsage;
        }
        if (action == "passwd") {
            if (auto set = directory->set_password(address, password); !set) {
                std::cerr << "sovereign user: " << address << ": " << set.error().message() << "\n";
                return kExitRuntime;
            }
            std::cout << "password changed for " << address << "\n";
            return kExitOk;
        }
        accounts::Quota quota{config->default_quota.max_bytes, config->default_quota.max_messages};
        for (const auto& [option, field] :
             {std::pair{"quota-bytes", &quota.bytes}, std::pair{"quota-messages", &quota.messages}
             }) {
            if (const auto value = args.option(option); value && !parse_u64(*value, *field)) {
                return usage_error(command, std::string{"--"} + option + " needs a number");
            }
        }
        return add_user_account(*config, *directory, address, password, quota);
    };
    return command;
}

}  // namespace sov::cli
