// `sovereign dkim`: DKIM keys of hosted domains (docs/dkim.md): keygen, list, rotate (publish the
// new selector first, switch once DNS serves it) and sign (a message on stdin, for admins and
// for cross-checks with other verifiers); verify (any message, through the configured resolver).
#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "accounts/address.hpp"
#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "cli/dns_check.hpp"
#include "cli/dns_records.hpp"
#include "core/clock.hpp"
#include "dns/resolver.hpp"
#include "mailauth/dkim_sign.hpp"
#include "mailauth/dkim_store.hpp"
#include "mailauth/dkim_verify.hpp"
#include "mailauth/dns_source.hpp"
#include "mailauth/errors.hpp"

namespace sov::cli {

namespace {

namespace asio = boost::asio;
using mailauth::KeyStore;
using mailauth::SelectorState;

std::string utc_date(std::int64_t seconds) {
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

struct Opened {
    core::Config config;
    KeyStore store;
};

// The domain as canonical A-labels, hosted here (domain aliases too: mail From them needs a
// d= that aligns, RFC 7489 §3.1.1), and its key store. The name is validated before it becomes
// a path (KeyStore::open checks again).
OrExit<Opened> open_store(const Command& command, const Args& args) {
    using Out = OrExit<Opened>;
    auto opened = load_config_and_directory(args);
    if (!opened) {
        return Out::exit_with(opened.exit_code());
    }
    const std::string& given = args.positional[1];
    auto domain = accounts::normalize_domain(given);
    if (!domain) {
        return Out::exit_with(fail(command, given, domain.error()));
    }
    if (!opened->directory->is_local_domain(domain->ascii)) {
        return Out::exit_with(
            fail(command, given + ": not a domain hosted here (sovereign domain list)")
        );
    }
    auto store = KeyStore::open(opened->config.keys_dir() / "dkim", domain->ascii);
    if (!store) {
        return Out::exit_with(fail(command, domain->ascii, store.error()));
    }
    return Opened{std::move(opened->config), std::move(*store)};
}

void print_records(const std::vector<ExpectedRecord>& records) {
    for (const auto& record : records) {
        std::cout << zone_line(record) << "\n";
    }
}

std::vector<ExpectedRecord> records_in_state(const KeyStore& store, SelectorState state) {
    auto all = dkim_records(store);
    std::vector<ExpectedRecord> out;
    for (const auto& entry : store.with_state(state)) {
        const auto owner = fmt::format("{}._domainkey.{}", entry.selector, store.domain());
        std::copy_if(all.begin(), all.end(), std::back_inserter(out), [&](const auto& r) {
            return r.owner == owner;
        });
    }
    return out;
}

int keygen(const Command& command, const Args& args, Opened& opened) {
    mailauth::KeyGenOptions options;
    if (auto bits = args.option("rsa-bits")) {
        try {
            options.rsa_bits = static_cast<unsigned>(std::stoul(*bits));
        } catch (const std::exception&) {
            return usage_error(command, "--rsa-bits takes a number");
        }
    }
    if (auto only = args.option("only")) {
        if (*only != "rsa" && *only != "ed25519") {
            return usage_error(command, "--only takes rsa or ed25519");
        }
        options.rsa = *only == "rsa";
        options.ed25519 = *only == "ed25519";
    }
    auto created = opened.store.create_initial(core::now(), options);
    if (!created) {
        return fail(command, opened.store.domain(), created.error());
    }
    for (const auto& entry : *created) {
        std::cout << fmt::format(
            "created {} ({}), active\n", entry.selector, mailauth::to_string(entry.algorithm)
        );
    }
    std::cout << "\n; Publish these DNS records (also in `sovereign dns records "
              << opened.store.domain() << "`):\n";
    print_records(records_in_state(opened.store, SelectorState::Active));
    return kExitOk;
}

int list(const Command& command, Opened& opened) {
    const auto& store = opened.store;
    if (store.entries().empty()) {
        std::cout << store.domain() << ": no DKIM keys (sovereign dkim keygen " << store.domain()
                  << ")\n";
        return kExitOk;
    }
    bool all_readable = true;
    for (const auto& entry : store.entries()) {
        std::cout << fmt::format(
            "{:<18} {:<8} {:<8} since {}, created {}\n",
            entry.selector,
            mailauth::to_string(entry.algorithm),
            mailauth::to_string(entry.state),
            utc_date(entry.changed),
            utc_date(entry.created)
        );
        auto key = store.load_key(entry);
        if (!key) {
            std::cout << fmt::format("  key unreadable: {}\n", key.error().message());
            all_readable = false;
            continue;
        }
        std::cout << "  " << zone_line(dkim_record(store.domain(), entry, key->dns_record()))
                  << "\n";
    }
    if (!all_readable) {
        return fail(command, store.domain() + ": some keys cannot be read");
    }
    return kExitOk;
}

// Rotation step 2: every pending record must be served (DNSSEC-secure or provably insecure)
// with our key before signing switches to it; otherwise receivers would fail our mail.
int promote_if_published(const Command& command, Opened& opened) {
    auto& store = opened.store;
    auto pending = records_in_state(store, SelectorState::Pending);
    asio::io_context io;
    auto resolver =
        dns::Resolver::create(io.get_executor(), dns::resolver_options(opened.config.dns));
    if (!resolver) {
        return fail(command, "resolver", resolver.error());
    }
    auto future = asio::co_spawn(io, check_records(**resolver, pending), asio::use_future);
    io.run();
    bool published = true;
    for (const auto& c : future.get()) {
        const bool ok =
            c.status == RecordCheck::Status::Ok || c.status == RecordCheck::Status::Insecure;
        published = published && ok;
        std::cout << fmt::format(
            "{:<9}{}\n", ok ? "published" : to_string(c.status), zone_line(c.expected)
        );
        if (!ok) {
            for (const auto& found : c.found) {
                std::cout << fmt::format("{:9}found: {}\n", "", found);
            }
            if (!c.detail.empty()) {
                std::cout << fmt::format("{:9}{}\n", "", c.detail);
            }
        }
    }
    if (!published) {
        std::cout << "\nSigning stays with the active keys. Publish the records above, wait for "
                     "the DNS to serve them, then run `sovereign dkim rotate "
                  << store.domain() << "` again.\n";
        return kExitRuntime;
    }
    const auto retiring = store.with_state(SelectorState::Active);
    if (auto promoted = store.promote_pending(core::now()); !promoted) {
        return fail(command, store.domain(), promoted.error());
    }
    std::cout << "\nSigning now uses";
    for (const auto& entry : store.with_state(SelectorState::Active)) {
        std::cout << " " << entry.selector;
    }
    std::cout << "; retired";
    for (const auto& entry : retiring) {
        std::cout << " " << entry.selector;
    }
    std::cout << ".\nKeep the retired records published for a few days (mail signed with them "
                 "may still be in\ntransit), then run `sovereign dkim rotate "
              << store.domain() << " --forget-retired` and remove them from DNS.\n"
              << "A running server picks the new keys up when it restarts.\n";
    return kExitOk;
}

int rotate(const Command& command, const Args& args, Opened& opened) {
    auto& store = opened.store;
    if (args.has("forget-retired")) {
        auto forgotten = store.forget_retired();
        if (!forgotten) {
            return fail(command, store.domain(), forgotten.error());
        }
        for (const auto& entry : *forgotten) {
            std::cout << fmt::format(
                "forgot {}: remove {}._domainkey.{} from DNS\n",
                entry.selector,
                entry.selector,
                store.domain()
            );
        }
        if (forgotten->empty()) {
            std::cout << "no retired selectors\n";
        }
        return kExitOk;
    }
    if (!store.with_state(SelectorState::Pending).empty()) {
        return promote_if_published(command, opened);
    }
    // Step 1: the new pair, published before use. Same algorithms as the active pair.
    mailauth::KeyGenOptions options;
    const auto active = store.with_state(SelectorState::Active);
    options.rsa = std::any_of(active.begin(), active.end(), [](const auto& e) {
        return e.algorithm == mailauth::KeyAlgorithm::Rsa;
    });
    options.ed25519 = std::any_of(active.begin(), active.end(), [](const auto& e) {
        return e.algorithm == mailauth::KeyAlgorithm::Ed25519;
    });
    for (const auto& entry : active) {
        if (entry.algorithm == mailauth::KeyAlgorithm::Rsa) {
            if (auto key = store.load_key(entry)) {
                options.rsa_bits = std::max(key->bits(), mailauth::kDefaultRsaBits);
            }
        }
    }
    auto created = store.create_pending(core::now(), options);
    if (!created) {
        return fail(command, store.domain(), created.error());
    }
    for (const auto& entry : *created) {
        std::cout << fmt::format(
            "created {} ({}), pending\n", entry.selector, mailauth::to_string(entry.algorithm)
        );
    }
    std::cout << "\n; Publish these DNS records beside the current ones, then run `sovereign "
                 "dkim rotate "
              << store.domain() << "`\n; again: it switches signing once the DNS serves them.\n";
    print_records(records_in_state(store, SelectorState::Pending));
    return kExitOk;
}

// Bare LF line ends (a file from an editor) become CRLF, as SMTP would carry the message.
std::string to_crlf(const std::string& in) {
    std::string out;
    out.reserve(in.size() + in.size() / 32);
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) {
            out += '\r';
        }
        out += in[i];
    }
    return out;
}

int sign(const Command& command, const Args& args, Opened& opened) {
    const auto& store = opened.store;
    mailauth::SignOptions options;
    if (auto canon = args.option("canon")) {
        // For tests against other verifiers; the server always signs relaxed/relaxed.
        const auto slash = canon->find('/');
        const auto header = mailauth::canon_from_string(canon->substr(0, slash));
        // RFC 6376 §3.5: one name alone means that header algorithm and a simple body.
        const auto body = slash == std::string::npos
                              ? std::optional<mailauth::Canon>(mailauth::Canon::Simple)
                              : mailauth::canon_from_string(canon->substr(slash + 1));
        if (!header || !body) {
            return usage_error(command, "--canon takes HEADER/BODY, each simple or relaxed");
        }
        options.header_canon = *header;
        options.body_canon = *body;
    }
    std::vector<mailauth::SigningKey> keys;
    for (const auto& entry : store.with_state(SelectorState::Active)) {
        auto key = store.load_key(entry);
        if (!key) {
            return fail(command, entry.selector, key.error());
        }
        keys.push_back({entry.selector, std::move(*key)});
    }
    if (keys.empty()) {
        return fail(command, store.domain(), make_error_code(mailauth::Errc::NoKeys));
    }
    std::cin >> std::noskipws;
    const std::string message = to_crlf(
        std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>())
    );
    const mailauth::Signer signer(store.domain(), std::move(keys), options);
    auto fields = signer.sign(message);
    if (!fields) {
        return fail(command, "message", fields.error());
    }
    std::cout << *fields << message << std::flush;
    return kExitOk;
}

// Verifies every DKIM-Signature of a message file ("-": stdin) through the configured
// validating resolver, as the MX would; one line per signature; exit 0 when one passes.
int verify(const Command& command, const Args& args) {
    auto config = load_command_config(args);
    if (!config) {
        return config.exit_code();
    }
    const std::string& path = args.positional[1];
    std::string raw;
    if (path == "-") {
        std::cin >> std::noskipws;
        raw.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            return fail(command, path + ": cannot be read");
        }
        raw.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const std::string message = to_crlf(raw);
    asio::io_context io;
    auto resolver = dns::Resolver::create(io.get_executor(), dns::resolver_options(config->dns));
    if (!resolver) {
        return fail(command, "resolver", resolver.error());
    }
    mailauth::ResolverDnsSource dns(**resolver);
    auto future = asio::co_spawn(io, mailauth::verify_dkim(dns, message, {}), asio::use_future);
    io.run();
    const auto verdicts = future.get();
    if (verdicts.empty()) {
        std::cout << "none: no DKIM-Signature field\n";
        return kExitRuntime;
    }
    bool passed = false;
    for (const auto& v : verdicts) {
        passed = passed || v.result == mailauth::DkimResult::Pass;
        std::cout << fmt::format(
            "{} d={} s={} a={}{}{}\n",
            mailauth::to_string(v.result),
            v.domain.empty() ? "?" : v.domain,
            v.selector.empty() ? "?" : v.selector,
            v.algorithm.empty() ? "?" : v.algorithm,
            v.testing ? " (testing)" : "",
            v.reason.empty() ? "" : " " + v.reason
        );
    }
    return passed ? kExitOk : kExitRuntime;
}

int run_dkim(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data", "rsa-bits", "only", "canon"}, .flags = {"forget-retired"}},
        Positionals::exactly(2, "expected an action and a DOMAIN (verify: a FILE)")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    if (action != "keygen" && action != "list" && action != "rotate" && action != "sign" &&
        action != "verify") {
        return usage_error(command, "unknown action '" + action + "'");
    }
    if ((args->option("rsa-bits") || args->option("only")) && action != "keygen") {
        return usage_error(command, "--rsa-bits and --only are for keygen");
    }
    if (args->option("canon") && action != "sign") {
        return usage_error(command, "--canon is for sign");
    }
    if (args->has("forget-retired") && action != "rotate") {
        return usage_error(command, "--forget-retired is for rotate");
    }
    if (action == "verify") {
        return verify(command, *args);  // any message: no hosted domain or key store needed
    }
    auto opened = open_store(command, *args);
    if (!opened) {
        return opened.exit_code();
    }
    if (action == "keygen") {
        return keygen(command, *args, *opened);
    }
    if (action == "list") {
        return list(command, *opened);
    }
    if (action == "rotate") {
        return rotate(command, *args, *opened);
    }
    return sign(command, *args, *opened);
}

}  // namespace

Command dkim_command() {
    return make_command(
        "dkim",
        "DKIM signing keys of a hosted domain: create, list, rotate; sign or verify a message",
        "usage: sovereign dkim keygen DOMAIN [--rsa-bits N] [--only rsa|ed25519] [--data DIR]\n"
        "       sovereign dkim list DOMAIN [--data DIR]\n"
        "       sovereign dkim rotate DOMAIN [--forget-retired] [--data DIR]\n"
        "       sovereign dkim sign DOMAIN [--canon H/B] [--data DIR] < MESSAGE > SIGNED\n"
        "       sovereign dkim verify FILE [--data DIR]\n\n"
        "Outgoing mail is signed twice, rsa-sha256 (RFC 6376) and ed25519-sha256 (RFC 8463),\n"
        "relaxed/relaxed. Keys live in DATA/keys/dkim/DOMAIN/, one selector per key, named\n"
        "sYYYYMMDDx-rsa / sYYYYMMDDx-ed after the day they were made (docs/dkim.md).\n\n"
        "keygen   makes the domain's first keys (RSA 2048 bits unless --rsa-bits; both\n"
        "         algorithms unless --only), active at once, and prints their TXT records.\n"
        "list     shows every selector, its algorithm and state, and its TXT record.\n"
        "rotate   first call: makes a pending pair and prints the records to publish;\n"
        "         `sovereign dns records` shows old and new. Next call: looks the pending\n"
        "         records up through the validating resolver and, once all are served with our\n"
        "         key, signs with them and retires the old pair (still listed and published).\n"
        "         --forget-retired deletes the retired keys: remove their records after it.\n"
        "sign     reads a message on stdin (LF line ends become CRLF) and prints it with the\n"
        "         DKIM-Signature fields the server would add, to test a setup with any verifier.\n"
        "         --canon simple/simple (or relaxed/simple, ...) overrides c= for such tests.\n"
        "verify   checks every DKIM-Signature of the message in FILE (- for stdin; LF line\n"
        "         ends become CRLF) with keys looked up through the validating resolver, as the\n"
        "         MX does, and prints one line per signature: \"pass d=example.com s=sel\n"
        "         a=ed25519-sha256\" or the failure and its reason. Exit 0 when one passes.\n",
        run_dkim
    );
}

}  // namespace sov::cli
