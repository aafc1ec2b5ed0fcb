// `sovereign dns`: the validating resolver as the server uses it, for operators.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/dns_check.hpp"
#include "cli/dns_records.hpp"
#include "dns/errors.hpp"
#include "dns/resolver.hpp"
#include "tls/dane.hpp"

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

// The 3 1 1 digests of our MX key(s): the certificate in use and, during a rollover, the staged
// next one (`sovereign tls` writes it beside the current pair).
OrExit<std::vector<std::string>> our_tlsa_keys(const Command& command, const core::Config& config) {
    std::vector<std::string> keys;
    auto current = tls::tlsa_3_1_1_of(config.tls.certificate);
    if (!current) {
        return OrExit<std::vector<std::string>>::exit_with(
            fail(command, config.tls.certificate.string(), current.error())
        );
    }
    keys.push_back(*current);
    const auto next = config.tls.certificate.parent_path() / "next" / "cert.pem";
    if (std::filesystem::exists(next)) {
        if (auto digest = tls::tlsa_3_1_1_of(next); digest && *digest != *current) {
            keys.push_back(*digest);
        }
    }
    return keys;
}

// A domain we host (aliases too: they receive mail under their own name), as canonical A-labels.
OrExit<std::vector<ExpectedRecord>> records_for(const Command& command, const Args& args) {
    using Out = OrExit<std::vector<ExpectedRecord>>;
    auto opened = load_config_and_directory(args);
    if (!opened) {
        return Out::exit_with(opened.exit_code());
    }
    auto domains = opened->directory->list_domains();
    if (!domains) {
        return Out::exit_with(fail(command, domains.error()));
    }
    const std::string& wanted = args.positional[1];
    const auto it = std::find_if(domains->begin(), domains->end(), [&](const auto& d) {
        return d.name == wanted || d.display_name == wanted;
    });
    if (it == domains->end()) {
        return Out::exit_with(
            fail(command, wanted + ": not a domain hosted here (sovereign domain list)")
        );
    }
    auto keys = our_tlsa_keys(command, opened->config);
    if (!keys) {
        return Out::exit_with(keys.exit_code());
    }
    return expected_records(opened->config, it->name, *keys);
}

// "; text" lines of at most ~96 columns.
std::string comment_lines(const std::string& text) {
    std::string out;
    std::string line = ";";
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find(' ', pos);
        if (end == std::string::npos) {
            end = text.size();
        }
        const auto word = std::string_view(text).substr(pos, end - pos);
        if (line.size() + 1 + word.size() > 96 && line.size() > 1) {
            out += line + "\n";
            line = ";";
        }
        line += " ";
        line += word;
        pos = end + 1;
    }
    return out + line + "\n";
}

int print_records(const std::vector<ExpectedRecord>& records) {
    std::cout << "; DNS records for " << records.front().owner
              << " (zone-file syntax). Sign the zone with DNSSEC: TLSA needs it, and\n"
                 "; `sovereign dns check` reports unsigned answers.\n";
    for (const auto& record : records) {
        std::cout << "\n"
                  << comment_lines(record.purpose + ": " + record.comment) << zone_line(record)
                  << "\n";
    }
    return kExitOk;
}

int check(const Command& command, const core::Config& config, std::vector<ExpectedRecord> records) {
    asio::io_context io;
    auto resolver = dns::Resolver::create(io.get_executor(), dns::resolver_options(config.dns));
    if (!resolver) {
        return fail(command, "resolver", resolver.error());
    }
    auto future =
        asio::co_spawn(io, check_records(**resolver, std::move(records)), asio::use_future);
    io.run();
    bool all_ok = true;
    for (const auto& c : future.get()) {
        all_ok = all_ok && c.status == RecordCheck::Status::Ok;
        std::cout << fmt::format(
            "{:<9}{:<14}{}\n", to_string(c.status), c.expected.purpose, zone_line(c.expected)
        );
        if (c.status == RecordCheck::Status::Ok) {
            continue;
        }
        for (const auto& found : c.found) {
            std::cout << fmt::format("{:23}found: {}\n", "", found);
        }
        if (!c.detail.empty()) {
            std::cout << fmt::format("{:23}{}\n", "", c.detail);
        }
        if (c.status == RecordCheck::Status::Missing || c.status == RecordCheck::Status::Wrong) {
            std::cout << fmt::format("{:23}fix: publish the record above\n", "");
        }
    }
    return all_ok ? kExitOk : kExitRuntime;
}

int run_dns(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data"}, .flags = {}},
        Positionals::at_least(1, "expected lookup, records or check")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    if (action == "records" || action == "check") {
        if (args->positional.size() != 2) {
            return usage_error(command, action + " takes DOMAIN");
        }
        auto records = records_for(command, *args);
        if (!records) {
            return records.exit_code();
        }
        if (action == "records") {
            return print_records(*records);
        }
        auto config = load_command_config(*args);
        if (!config) {
            return config.exit_code();
        }
        return check(command, *config, std::move(*records));
    }
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
        "the DNS records to publish, their check, and lookups through the validating resolver",
        "usage: sovereign dns records DOMAIN [--data DIR]\n"
        "       sovereign dns check DOMAIN [--data DIR]\n"
        "       sovereign dns lookup NAME [TYPE] [--data DIR]\n\n"
        "records prints, as a zone-file fragment with comments, every record DOMAIN needs: MX,\n"
        "SPF, DMARC, TLSA for the MX certificate (and the next key during a rollover), MTA-STS,\n"
        "TLS-RPT, client SRV records (RFC 6186), CAA, and the DKIM key of every selector made\n"
        "by `sovereign dkim` (active, pending during a rotation, retired).\n\n"
        "check looks each of them up and reports ok / missing / wrong / insecure (not\n"
        "DNSSEC-secure) / failed, with the record that fixes it; exit code 0 only when all are\n"
        "ok.\n\n"
        "Asks the DNSSEC-validating resolver configured in [dns], as the server would, and\n"
        "prints the records with their status: secure (validated), insecure (provably\n"
        "unsigned) or bogus (validation failed; exit code 1 with the validator's reason).\n"
        "TYPE is one of A, AAAA, MX, TXT, TLSA, SRV, CAA, NS, CNAME, PTR, SOA, DS, DNSKEY.\n",
        run_dns
    );
}

}  // namespace sov::cli
