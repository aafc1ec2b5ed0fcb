// `sovereign tls`: transport security as the server applies it.
#include <charconv>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "dns/resolver.hpp"
#include "smtp/client/tls_probe.hpp"
#include "tls/client_context.hpp"

namespace sov::cli {

namespace {

namespace asio = boost::asio;

void print_probe(const smtp::client::DomainProbe& probe) {
    std::cout << fmt::format("{}: MX {}\n", probe.domain, probe.mx_secure ? "secure" : "insecure");
    if (!probe.error.empty()) {
        std::cout << fmt::format("  failed: {}\n", probe.error);
    }
    for (const auto& host : probe.hosts) {
        std::cout << fmt::format(
            "  {} {} [{}] address {}, {}: {}: {}{}\n",
            host.preference,
            host.host,
            host.address.empty() ? "-" : host.address,
            host.address_secure ? "secure" : "insecure",
            smtp::client::to_string(host.dane),
            host.ok ? "ok" : "FAILED",
            host.detail,
            host.tls.empty() ? "" : "; " + host.tls
        );
    }
}

int probe(
    const Command& command,
    const core::Config& config,
    const std::string& domain,
    std::uint16_t port
) {
    asio::io_context io;
    auto resolver = dns::Resolver::create(io.get_executor(), dns::resolver_options(config.dns));
    if (!resolver) {
        return fail(command, "resolver", resolver.error());
    }
    std::string error;
    auto context = tls::make_client_context({}, error);
    if (!context) {
        return fail(command, error);
    }
    smtp::client::ProbeOptions options;
    options.port = port;
    options.helo = config.hostname;
    auto future = asio::co_spawn(
        io, smtp::client::probe_domain(**resolver, *context, domain, options), asio::use_future
    );
    io.run();
    const auto result = future.get();
    print_probe(result);
    return result.ok() ? kExitOk : kExitRuntime;
}

int run_tls(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data", "port"}, .flags = {}},
        Positionals::exactly(2, "expected: probe DOMAIN")
    );
    if (!args) {
        return args.exit_code();
    }
    if (args->positional[0] != "probe") {
        return usage_error(command, "unknown action '" + args->positional[0] + "'");
    }
    std::uint16_t port = 25;
    if (const auto text = args->option("port")) {
        const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), port);
        if (ec != std::errc{} || end != text->data() + text->size() || port == 0) {
            return usage_error(command, "--port takes a port number");
        }
    }
    auto config = load_command_config(*args);
    if (!config) {
        return config.exit_code();
    }
    return probe(command, *config, args->positional[1], port);
}

}  // namespace

Command tls_command() {
    return make_command(
        "tls",
        "check a destination's SMTP TLS (DANE) as delivery would",
        "usage: sovereign tls probe DOMAIN [--port N] [--data DIR]\n\n"
        "Looks up DOMAIN's MX hosts through the validating resolver and, for each, its TLSA\n"
        "records (RFC 7672), then connects, says EHLO, starts TLS and checks the server's\n"
        "certificate against the TLSA records when they are secure; QUIT, no mail is sent.\n"
        "Exit code 0 when every MX host meets the policy that applies to it.\n",
        run_tls
    );
}

}  // namespace sov::cli
