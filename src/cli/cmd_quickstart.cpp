#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <openssl/rand.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/open_services.hpp"
#include "cli/user_account.hpp"
#include "core/config.hpp"
#include "net/privileges.hpp"
#include "net/tls_context.hpp"

namespace sov::cli {

namespace fs = std::filesystem;

namespace {

// 20 characters from an unambiguous alphabet: ~115 bits.
std::string random_password() {
    static constexpr std::string_view kAlphabet =
        "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    std::array<unsigned char, 20> bytes{};
    RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
    std::string password;
    for (const unsigned char byte : bytes) {
        password.push_back(kAlphabet[byte % kAlphabet.size()]);
    }
    return password;
}

bool chown_tree(const fs::path& root, const std::string& user, std::string& error) {
    const passwd* pw = getpwnam(user.c_str());
    if (pw == nullptr) {
        error = "no such user " + user;
        return false;
    }
    std::error_code ec;
    if (lchown(root.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        error = "chown " + root.string() + " failed";
        return false;
    }
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (lchown(it->path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            error = "chown " + it->path().string() + " failed";
            return false;
        }
    }
    return !ec;
}

// Copies --cert/--key into place, or writes a self-signed certificate for `hostname`.
int install_certificate(
    const Command& command,
    const Args& args,
    const core::Config& config,
    const std::string& hostname
) {
    std::error_code ec;
    if (const auto cert = args.option("cert")) {
        fs::copy_file(*cert, config.tls.certificate, fs::copy_options::overwrite_existing, ec);
        if (!ec) {
            fs::copy_file(
                *args.option("key"),
                config.tls.private_key,
                fs::copy_options::overwrite_existing,
                ec
            );
        }
        if (ec) {
            return fail(command, "copying the certificate", ec);
        }
        fs::permissions(config.tls.private_key, fs::perms::owner_read | fs::perms::owner_write, ec);
        return kExitOk;
    }
    std::string error;
    if (!net::write_self_signed_certificate(
            hostname, config.tls.certificate, config.tls.private_key, error
        )) {
        return fail(command, error);
    }
    return kExitOk;
}

int run_quickstart(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options =
             {"domain",
              "hostname",
              "data",
              "port-base",
              "admin",
              "run-as",
              "cert",
              "key",
              "password-file"},
         .flags = {}},
        Positionals::none("no positional arguments expected")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto domain = args->option("domain");
    const auto hostname = args->option("hostname");
    if (!domain || !hostname) {
        return usage_error(command, "--domain and --hostname are required");
    }
    if (args->option("cert").has_value() != args->option("key").has_value()) {
        return usage_error(command, "--cert and --key go together");
    }
    int port_base = 10000;
    if (const auto text = args->option("port-base")) {
        auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), port_base);
        if (ec != std::errc{} || ptr != text->data() + text->size() || port_base < 0 ||
            port_base > 64900) {
            return usage_error(command, "--port-base must be a number from 0 to 64900");
        }
    }
    // Started as root, the server drops to this user after binding its ports.
    const std::string run_as =
        args->option("run-as").value_or(net::running_as_root() ? "sovereign" : "");
    if (!run_as.empty() && getpwnam(run_as.c_str()) == nullptr) {
        return fail(
            command,
            "user '" + run_as + "' does not exist; create it (useradd --system " + run_as +
                ") or pass --run-as"
        );
    }

    const fs::path data = fs::absolute(args->option("data").value_or("data"));
    const fs::path config_file = data / "sovereign.toml";
    if (fs::exists(config_file)) {
        return fail(command, config_file.string() + " exists already; not touching it");
    }
    std::error_code ec;
    fs::create_directories(data / "keys", ec);
    if (ec) {
        return fail(command, "cannot create " + data.string(), ec);
    }
    fs::permissions(data, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec, ec);
    fs::permissions(data / "keys", fs::perms::owner_all, ec);

    {
        std::ofstream out(config_file);
        out << core::default_config_text(*hostname, static_cast<std::uint16_t>(port_base), run_as);
        if (!out) {
            return fail(command, "cannot write " + config_file.string());
        }
    }
    auto loaded = core::load_config(config_file);
    if (!loaded.ok()) {
        for (const auto& d : loaded.diagnostics) {
            std::cerr << d.to_string() << "\n";
        }
        return kExitRuntime;
    }
    const auto& config = loaded.config;

    if (const int installed = install_certificate(command, *args, config, *hostname);
        installed != kExitOk) {
        return installed;
    }

    auto directory = open_directory(config);
    if (!directory) {
        return kExitRuntime;
    }
    auto added_domain = directory->add_domain(*domain);
    if (!added_domain) {
        return fail(command, "domain " + *domain, added_domain.error());
    }
    const std::string admin =
        args->option("admin").value_or("postmaster") + "@" + added_domain->name;
    std::string password;
    std::string error;
    const bool generated = !args->option("password-file");
    if (generated) {
        password = random_password();
    } else if (!read_password(*args->option("password-file"), password, error)) {
        std::cerr << "sovereign quickstart: " << error << "\n";
        return kExitUsage;
    }
    const accounts::Quota quota{config.default_quota.max_bytes, config.default_quota.max_messages};
    if (add_user_account(config, *directory, admin, password, quota) != kExitOk) {
        return kExitRuntime;
    }
    directory.reset();
    if (!run_as.empty() && net::running_as_root() && !chown_tree(data, run_as, error)) {
        return fail(command, error);
    }

    std::cout << "\nSovereign is set up in " << data.string() << "\n\n"
              << "  domain     " << added_domain->name << "\n"
              << "  hostname   " << *hostname << "\n"
              << "  admin      " << admin << "\n";
    if (generated) {
        std::cout << "  password   " << password
                  << "   (shown once; change it with 'sovereign user passwd')\n";
    }
    std::cout << "\nListeners (127.0.0.1):\n";
    for (const auto& listener : config.listeners) {
        std::cout << "  " << listener.name << "  port " << listener.port << "\n";
    }
    std::cout << "\nNext:\n"
              << "  sovereign serve --data " << data.string() << "\n"
              << "  swaks --server 127.0.0.1:" << port_base + 25 << " --to " << admin << "\n"
              << "  Edit " << config_file.string() << " to listen on public addresses, then\n"
              << "  publish DNS: MX for " << added_domain->name << " -> " << *hostname
              << " and an A/AAAA record for " << *hostname << " (see README, 'DNS').\n";
    return kExitOk;
}

}  // namespace

Command quickstart_command() {
    return make_command(
        "quickstart",
        "create a complete data directory: config, certificate, domain, admin user",
        "usage: sovereign quickstart --domain DOMAIN --hostname HOST [--data DIR]\n"
        "                            [--port-base N] [--admin LOCALPART] [--run-as USER]\n"
        "                            [--cert FILE --key FILE] [--password-file F]\n\n"
        "Creates DIR (default ./data): sovereign.toml, keys/ (a self-signed certificate unless\n"
        "--cert/--key are given), accounts.db with DOMAIN and the admin user (default\n"
        "postmaster@DOMAIN), and mail/. The admin password is generated and printed unless\n"
        "--password-file is given. Listeners bind 127.0.0.1 at port-base + 25 (MX),\n"
        "+ 24 (LMTP), + 587 and + 465 (submission), + 143 and + 993 (IMAP), + 443 (HTTPS);\n"
        "the default port base is 10000.\n"
        "Refuses to touch an existing sovereign.toml.\n",
        run_quickstart
    );
}

}  // namespace sov::cli
