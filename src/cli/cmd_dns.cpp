// `sovereign dns`: the validating resolver as the server uses it, for operators.
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "dns/errors.hpp"
#include "dns/resolver.hpp"

namespace sov::cli {

namespace {

namespace asio = boost::asio;

// Prints the answer as zone-file lines under a comment giving its DNSSEC status; exit 0 for an
// answer (also "no such name"), 1 when there is none to rely on (bogus, timeout, failure).
int lookup(
    const Command& command, const core::Config& config, const std::string& name, dns::RrType type
) {
    asio::io_context io;
    auto resolver = dns::Resolver::create(io.get_executor(), dns::resolver_options(config.dns));
    if (!resolver) {
        return fail(command, "resolver", resolver.error());
    }
    dns::Diagnostics diagnostics;
    auto future =
        asio::co_spawn(io, (*resolver)->query(name, type, &diagnostics), asio::use_future);
    io.run();
    auto answer = future.get();
    if (!answer) {
        if (answer.error() == dns::Errc::Bogus) {
            std::cout << fmt::format("; bogus: {}\n", diagnostics.why_bogus);
        }
        return fail(command, name, answer.error());
    }
    std::cout << fmt::format(
        "; {}, {}\n",
        dns::to_string(answer->security),
        answer->nxdomain ? "NXDOMAIN" : (answer->rdata.empty() ? "NODATA" : "NOERROR")
    );
    const std::string owner = answer->canonical_name.ends_with('.') ? answer->canonical_name
                                                                    : answer->canonical_name + ".";
    for (const auto& rdata : answer->rdata) {
        std::cout << fmt::format(
            "{} {} IN {} {}\n",
            owner,
            answer->ttl,
            dns::to_string(type),
            dns::to_presentation(type, rdata)
        );
    }
    return kExitOk;
}

int run_dns(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data"}, .flags = {}},
        Positionals::at_least(1, "expected lookup")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    if (action != "lookup") {
        return usage_error(command, "unknown action '" + action + "'");
    }
    if (args->positional.size() < 2 || args->positional.size() > 3) {
        return usage_error(command, "lookup takes NAME [TYPE]");
    }
    const std::string type_name = args->positional.size() == 3 ? args->positional[2] : "A";
    const auto type = dns::rr_type_from_string(type_name);
    if (!type) {
        return usage_error(command, "unknown record type '" + type_name + "'");
    }
    auto config = load_command_config(*args);
    if (!config) {
        return config.exit_code();
    }
    return lookup(command, *config, args->positional[1], *type);
}

}  // namespace

Command dns_command() {
    return make_command(
        "dns",
        "look up DNS records through the validating resolver",
        "usage: sovereign dns lookup NAME [TYPE] [--data DIR]\n\n"
        "Asks the DNSSEC-validating resolver configured in [dns], as the server would, and\n"
        "prints the records with their status: secure (validated), insecure (provably\n"
        "unsigned) or bogus (validation failed; exit code 1 with the validator's reason).\n"
        "TYPE is one of A, AAAA, MX, TXT, TLSA, SRV, CAA, NS, CNAME, PTR, SOA, DS, DNSKEY.\n",
        run_dns
    );
}

}  // namespace sov::cli
