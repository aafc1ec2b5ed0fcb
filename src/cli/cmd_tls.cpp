// `sovereign tls`: transport security as the server applies it.
#include <charconv>
#include <chrono>
#include <iostream>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/tls_certificates.hpp"
#include "dns/resolver.hpp"
#include "smtp/client/tls_probe.hpp"
#include "tls/client_context.hpp"
#include "tls/mta_sts_cache.hpp"
#include "tls/mta_sts_resolver.hpp"

namespace sov::cli {

namespace {

namespace asio = boost::asio;

std::string describe_sts(const smtp::client::DomainProbe& probe) {
    if (!probe.sts_policy) {
        return fmt::format("no MTA-STS policy ({})", probe.sts_note);
    }
    const auto& p = *probe.sts_policy;
    return fmt::format(
        "MTA-STS {}, id {}, max_age {} ({})",
        tls::to_string(p.policy.mode),
        p.id,
        p.policy.max_age,
        probe.sts_note
    );
}

std::string sts_label(const smtp::client::DomainProbe& probe, const smtp::client::HostProbe& h) {
    using smtp::client::StsCheck;
    switch (h.sts) {
        case StsCheck::NotApplicable:
            return {};
        case StsCheck::DaneInstead:
            return ", MTA-STS not checked (DANE applies)";
        case StsCheck::Valid:
        case StsCheck::WouldFail:
        case StsCheck::Failed:
            break;
    }
    return fmt::format(
        ", MTA-STS {}",
        probe.sts_policy ? tls::to_string(probe.sts_policy->policy.mode) : std::string_view("?")
    );
}

void print_probe(const smtp::client::DomainProbe& probe) {
    std::cout << fmt::format(
        "{}: MX {}{}\n",
        probe.domain,
        probe.mx_secure ? "secure" : "insecure",
        probe.error.empty() ? "; " + describe_sts(probe) : std::string()
    );
    if (!probe.error.empty()) {
        std::cout << fmt::format("  failed: {}\n", probe.error);
    }
    for (const auto& host : probe.hosts) {
        std::cout << fmt::format(
            "  {} {} [{}] address {}, {}{}: {}: {}{}{}\n",
            host.preference,
            host.host,
            host.address.empty() ? "-" : host.address,
            host.address_secure ? "secure" : "insecure",
            smtp::client::to_string(host.dane),
            sts_label(probe, host),
            host.ok ? "ok" : "FAILED",
            host.detail,
            host.sts_detail.empty() ? "" : "; " + host.sts_detail,
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
    // [tls] trusted_cas: the PKIX trust for MTA-STS policy hosts and MX hosts (RFC 8461 §3.3,
    // §4.2); empty means the system store.
    auto context = tls::make_client_context(config.tls.trusted_cas, error);
    if (!context) {
        return fail(command, error);
    }
    // The same cache delivery uses. Without it the probe still works, fetching every time.
    std::unique_ptr<tls::PolicyCache> cache;
    if (auto opened = tls::PolicyCache::open(tls::PolicyCache::path_in(config.data_dir))) {
        cache = std::move(*opened);
    } else {
        std::cerr << fmt::format(
            "warning: MTA-STS cache unavailable ({}); policies are fetched, not cached\n",
            opened.error().message()
        );
    }
    tls::StsOptions sts_options;
    // An operator probing wants the policy host's current answer, not the delivery back-off.
    sts_options.retry_after_failure = std::chrono::seconds{0};
    tls::StsResolver sts(**resolver, *context, cache.get(), sts_options);
    smtp::client::ProbeOptions options;
    options.port = port;
    options.helo = config.hostname;
    auto future = asio::co_spawn(
        io,
        smtp::client::probe_domain(**resolver, *context, &sts, domain, options),
        asio::use_future
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
        {.options = {"config", "data", "port"}, .flags = {"force"}},
        Positionals::at_least(1, "expected probe, show, selfsigned, install or activate")
    );
    if (!args) {
        return args.exit_code();
    }
    if (is_tls_certificate_action(args->positional[0])) {
        return run_tls_certificate_action(command, *args);
    }
    if (args->positional[0] != "probe" || args->positional.size() != 2) {
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
        "check a destination's SMTP TLS (DANE, MTA-STS); our certificate and its key rollover",
        "usage: sovereign tls probe DOMAIN [--port N] [--data DIR]\n"
        "       sovereign tls show [--data DIR]\n"
        "       sovereign tls selfsigned [--data DIR]\n"
        "       sovereign tls install CERT.pem KEY.pem [--data DIR]\n"
        "       sovereign tls activate [--force] [--data DIR]\n\n"
        "Looks up DOMAIN's MX hosts through the validating resolver, its MTA-STS policy\n"
        "(RFC 8461: _mta-sts TXT record, the policy cache in DATA/tls/mta-sts.db, HTTPS fetch)\n"
        "and, for each MX host, its TLSA records (RFC 7672). Then connects, says EHLO, starts\n"
        "TLS and checks the server's certificate: against the TLSA records when they are secure\n"
        "and usable (DANE takes precedence), else by PKIX for the MX name when an MTA-STS policy\n"
        "is in force ([tls] trusted_cas, or the system store); QUIT, no mail is sent.\n"
        "Exit code 0 when every MX host meets the policy that applies to it.\n\n"
        "show prints the certificate in use (names, issuer, validity, key, TLSA 3 1 1 digest)\n"
        "and a staged next one. selfsigned and install stage a new pair in keys/next/; `dns\n"
        "records` then lists its TLSA record too. activate switches to the staged pair once the\n"
        "DNS serves that record (RFC 7671 §8.1; --force skips the check); then SIGHUP the "
        "server.\n",
        run_tls
    );
}

}  // namespace sov::cli
