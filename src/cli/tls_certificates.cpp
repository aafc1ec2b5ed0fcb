#include "cli/tls_certificates.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cli/command_support.hpp"
#include "dns/resolver.hpp"
#include "net/tls_context.hpp"
#include "tls/dane.hpp"

namespace sov::cli {

namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;

struct Pair {
    fs::path certificate;
    fs::path key;
};

// keys/cert.pem + keys/key.pem (as configured), keys/next/…, keys/previous/….
Pair current_pair(const core::Config& config) {
    return {config.tls.certificate, config.tls.private_key};
}

Pair staged_pair(const core::Config& config, const char* slot) {
    const auto dir = config.tls.certificate.parent_path() / slot;
    return {dir / "cert.pem", dir / "key.pem"};
}

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

X509Ptr read_certificate(const fs::path& path) {
    std::unique_ptr<FILE, decltype(&std::fclose)> file(
        std::fopen(path.c_str(), "rb"), &std::fclose
    );
    if (!file) {
        return {nullptr, &X509_free};
    }
    return {PEM_read_X509(file.get(), nullptr, nullptr, nullptr), &X509_free};
}

std::string name_of(const X509_NAME* name) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<std::size_t>(n)};
}

std::string time_of(const ASN1_TIME* time) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    ASN1_TIME_print(bio.get(), time);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<std::size_t>(n)};
}

std::string dns_names_of(X509* cert) {
    std::string out;
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type == GEN_DNS) {
            const auto* text = ASN1_STRING_get0_data(name->d.dNSName);
            out += out.empty() ? "" : ", ";
            out.append(
                reinterpret_cast<const char*>(text),
                static_cast<std::size_t>(ASN1_STRING_length(name->d.dNSName))
            );
        }
    }
    GENERAL_NAMES_free(names);
    return out;
}

void describe(const char* label, const Pair& pair) {
    auto cert = read_certificate(pair.certificate);
    if (!cert) {
        std::cout << fmt::format("{}: none ({})\n", label, pair.certificate.string());
        return;
    }
    const auto tlsa = tls::tlsa_3_1_1_of(pair.certificate);
    std::cout << fmt::format(
        "{}: {}\n  subject:   {}\n  names:     {}\n  issuer:    {}\n  valid:     {} .. {}\n"
        "  key:       {} {} bits\n  TLSA:      3 1 1 {}\n",
        label,
        pair.certificate.string(),
        name_of(X509_get_subject_name(cert.get())),
        dns_names_of(cert.get()),
        name_of(X509_get_issuer_name(cert.get())),
        time_of(X509_get0_notBefore(cert.get())),
        time_of(X509_get0_notAfter(cert.get())),
        OBJ_nid2sn(EVP_PKEY_get_base_id(X509_get0_pubkey(cert.get()))),
        EVP_PKEY_get_bits(X509_get0_pubkey(cert.get())),
        tlsa ? *tlsa : std::string("?")
    );
}

int show(const core::Config& config) {
    describe("current", current_pair(config));
    if (fs::exists(staged_pair(config, "next").certificate)) {
        describe(
            "next (staged: publish its TLSA record, then `sovereign tls activate`)",
            staged_pair(config, "next")
        );
    }
    return kExitOk;
}

// The pair must load as a server context: the key matches the certificate.
bool usable(const Pair& pair, std::string& error) {
    return static_cast<bool>(net::make_server_context(pair.certificate, pair.key, error));
}

int stage_self_signed(const Command& command, const core::Config& config) {
    const auto next = staged_pair(config, "next");
    std::error_code ec;
    fs::create_directories(next.certificate.parent_path(), ec);
    std::string error;
    if (ec ||
        !net::write_self_signed_certificate(config.hostname, next.certificate, next.key, error)) {
        return fail(command, error.empty() ? ec.message() : error);
    }
    std::cout << "staged a new self-signed certificate for " << config.hostname << " in "
              << next.certificate.parent_path().string() << "\n";
    describe("next", next);
    std::cout << "Publish its TLSA record (sovereign dns records DOMAIN), wait for the old "
                 "record's TTL, then run `sovereign tls activate`.\n";
    return kExitOk;
}

int stage_given(const Command& command, const core::Config& config, const Pair& given) {
    std::string error;
    if (!usable(given, error)) {
        return fail(command, error);
    }
    const auto next = staged_pair(config, "next");
    std::error_code ec;
    fs::create_directories(next.certificate.parent_path(), ec);
    const mode_t old_mask = ::umask(077);
    fs::copy_file(given.key, next.key, fs::copy_options::overwrite_existing, ec);
    ::umask(old_mask);
    if (!ec) {
        fs::permissions(next.key, fs::perms::owner_read | fs::perms::owner_write, ec);
    }
    if (!ec) {
        fs::copy_file(
            given.certificate, next.certificate, fs::copy_options::overwrite_existing, ec
        );
    }
    if (ec) {
        return fail(command, "staging", ec);
    }
    std::cout << "staged " << given.certificate.string() << " as the next certificate\n";
    describe("next", next);
    return kExitOk;
}

// Does the DNS (securely) publish the staged key's TLSA record for our MX host?
std::string tlsa_readiness(const core::Config& config, const std::string& digest) {
    asio::io_context io;
    auto resolver = dns::Resolver::create(io.get_executor(), dns::resolver_options(config.dns));
    if (!resolver) {
        return "resolver: " + resolver.error().message();
    }
    auto future =
        asio::co_spawn(io, (*resolver)->tlsa(tls::tlsa_name(config.hostname)), asio::use_future);
    io.run();
    const auto tlsa = future.get();
    if (!tlsa) {
        return "TLSA lookup failed: " + tlsa.error().message();
    }
    if (tlsa->records.empty()) {
        return {};  // no DANE published for this host: nothing to keep consistent
    }
    for (const auto& record : tlsa->records) {
        if (record.usage == 3 && record.selector == 1 && record.matching_type == 1 &&
            dns::to_hex(record.data) == digest) {
            return {};
        }
    }
    return fmt::format(
        "{} does not publish TLSA 3 1 1 {} yet: publish it (sovereign dns records), wait for "
        "the old record's TTL, and try again (or --force)",
        tls::tlsa_name(config.hostname),
        digest
    );
}

int activate(const Command& command, const core::Config& config, bool force) {
    const auto next = staged_pair(config, "next");
    std::string error;
    if (!fs::exists(next.certificate) || !usable(next, error)) {
        return fail(
            command, error.empty() ? "nothing staged (sovereign tls selfsigned|install)" : error
        );
    }
    const auto digest = tls::tlsa_3_1_1_of(next.certificate);
    if (!digest) {
        return fail(command, next.certificate.string(), digest.error());
    }
    if (!force) {
        if (auto problem = tlsa_readiness(config, *digest); !problem.empty()) {
            return fail(command, problem);
        }
    }
    const auto current = current_pair(config);
    const auto previous = staged_pair(config, "previous");
    std::error_code ec;
    fs::create_directories(previous.certificate.parent_path(), ec);
    // Each rename is atomic; the server reads the pair at start and on SIGHUP.
    fs::rename(current.key, previous.key, ec);
    if (!ec) {
        fs::rename(current.certificate, previous.certificate, ec);
    }
    if (!ec) {
        fs::rename(next.key, current.key, ec);
    }
    if (!ec) {
        fs::rename(next.certificate, current.certificate, ec);
    }
    if (ec) {
        return fail(command, "switching certificates", ec);
    }
    std::cout << "activated; the previous pair is in "
              << previous.certificate.parent_path().string()
              << ".\nReload the server (SIGHUP) to use it; remove the old TLSA record after a "
                 "while.\n";
    return kExitOk;
}

}  // namespace

bool is_tls_certificate_action(const std::string& action) {
    return action == "show" || action == "selfsigned" || action == "install" ||
           action == "activate";
}

int run_tls_certificate_action(const Command& command, const Args& args) {
    auto config = load_command_config(args);
    if (!config) {
        return config.exit_code();
    }
    const auto& action = args.positional[0];
    if (action == "show") {
        return show(*config);
    }
    if (action == "selfsigned") {
        return stage_self_signed(command, *config);
    }
    if (action == "install") {
        if (args.positional.size() != 3) {
            return usage_error(command, "install takes CERT.pem KEY.pem");
        }
        return stage_given(command, *config, Pair{args.positional[1], args.positional[2]});
    }
    return activate(command, *config, args.has("force"));
}

}  // namespace sov::cli
