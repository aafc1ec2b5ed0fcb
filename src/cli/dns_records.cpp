#include "cli/dns_records.hpp"

#include <fmt/format.h>

#include "core/log.hpp"
#include "tls/dane.hpp"
#include "tls/mta_sts_record.hpp"
#include "tls/our_policy.hpp"

namespace sov::cli {

namespace {

constexpr int kTtl = 3600;

std::string quoted_txt(std::string_view text) {
    // Character-strings of at most 255 bytes; our values have no quotes or backslashes.
    std::string out;
    do {
        const auto piece = text.substr(0, 255);
        out += out.empty() ? "" : " ";
        out += fmt::format("\"{}\"", piece);
        text.remove_prefix(piece.size());
    } while (!text.empty());
    return out;
}

// RFC 6186 / RFC 8314 §5.1 service names for our access listeners.
std::string srv_service(const core::Listener& listener) {
    const bool implicit = listener.tls == core::TlsMode::Implicit;
    switch (listener.protocol) {
        case core::Protocol::Imap:
            return implicit ? "_imaps._tcp" : "_imap._tcp";
        case core::Protocol::Submission:
            return implicit ? "_submissions._tcp" : "_submission._tcp";
        default:
            return {};
    }
}

}  // namespace

std::vector<ExpectedRecord> expected_records(
    const core::Config& config, const std::string& domain, const std::vector<std::string>& tlsa_keys
) {
    const std::string& host = config.hostname;
    const std::string postmaster = "postmaster@" + domain;
    std::vector<ExpectedRecord> out;
    out.push_back({
        .purpose = "MX",
        .comment = fmt::format("Mail for {} goes to this server (RFC 5321 §5.1).", domain),
        .owner = domain,
        .type = dns::RrType::MX,
        .value = fmt::format("10 {}.", host),
        .match = ExpectedRecord::Match::Exact,
        .prefix = {},
    });
    out.push_back({
        .purpose = "SPF",
        .comment = "Only the domain's MX hosts send its mail (RFC 7208); others fail.",
        .owner = domain,
        .type = dns::RrType::TXT,
        .value = "v=spf1 mx -all",
        .match = ExpectedRecord::Match::Prefix,
        .prefix = "v=spf1",
    });
    out.push_back({
        .purpose = "DMARC",
        .comment = "Receivers quarantine unauthenticated mail in this domain's name and send "
                   "aggregate reports to the postmaster (RFC 9989, RFC 9990).",
        .owner = "_dmarc." + domain,
        .type = dns::RrType::TXT,
        .value = fmt::format("v=DMARC1; p=quarantine; rua=mailto:{}", postmaster),
        .match = ExpectedRecord::Match::Prefix,
        .prefix = "v=DMARC1",
    });
    for (std::size_t i = 0; i < tlsa_keys.size(); ++i) {
        out.push_back({
            .purpose = "TLSA",
            .comment = i == 0 ? "DANE-EE: senders authenticate our MX by its key (RFC 7672); "
                                "needs a DNSSEC-signed zone."
                              : "The next key of a rollover: publish it before switching "
                                "(RFC 7671 §8.1).",
            .owner = tls::tlsa_name(host),
            .type = dns::RrType::TLSA,
            .value = "3 1 1 " + tlsa_keys[i],
            .match = ExpectedRecord::Match::Exact,
            .prefix = {},
        });
    }
    const auto policy = tls::our_policy(config);
    out.push_back({
        .purpose = "MTA-STS",
        .comment = fmt::format(
            "Announces the MTA-STS policy (RFC 8461 §3.1, mode {}); the id changes with it.",
            tls::to_string(policy.mode)
        ),
        .owner = "_mta-sts." + domain,
        .type = dns::RrType::TXT,
        .value = fmt::format("v=STSv1; id={}", tls::policy_id(policy)),
        .match = ExpectedRecord::Match::Exact,
        .prefix = {},
    });
    out.push_back({
        .purpose = "MTA-STS host",
        .comment = "Where senders fetch the policy over HTTPS (RFC 8461 §3.3); the https "
                   "listener serves it and the certificate must cover this name.",
        .owner = "mta-sts." + domain,
        .type = dns::RrType::CNAME,
        .value = host + ".",
        .match = ExpectedRecord::Match::Exact,
        .prefix = {},
    });
    out.push_back({
        .purpose = "TLS-RPT",
        .comment = "Senders report TLS failures delivering to us (RFC 8460 §3).",
        .owner = "_smtp._tls." + domain,
        .type = dns::RrType::TXT,
        .value = fmt::format("v=TLSRPTv1; rua=mailto:{}", postmaster),
        .match = ExpectedRecord::Match::Prefix,
        .prefix = "v=TLSRPTv1",
    });
    for (const auto& listener : config.listeners) {
        const std::string service = srv_service(listener);
        if (service.empty()) {
            continue;
        }
        out.push_back({
            .purpose = "SRV " + service.substr(1, service.find('.') - 1),
            .comment = "Mail clients find the server by this (RFC 6186, RFC 8314 §5.1).",
            .owner = fmt::format("{}.{}", service, domain),
            .type = dns::RrType::SRV,
            .value = fmt::format("0 1 {} {}.", listener.port, host),
            .match = ExpectedRecord::Match::Exact,
            .prefix = {},
        });
    }
    // DKIM keys (RFC 6376 §3.6.2.1), when `sovereign dkim keygen` has made some.
    if (auto store = mailauth::KeyStore::open(config.keys_dir() / "dkim", domain); store) {
        auto dkim = dkim_records(*store);
        out.insert(out.end(), dkim.begin(), dkim.end());
    } else {
        log::warn(
            "dns.dkim_keys_unreadable", {{"domain", domain}, {"error", store.error().message()}}
        );
    }
    out.push_back({
        .purpose = "CAA",
        .comment = "Only the CA that issues this server's certificates may issue for the domain "
                   "(RFC 8659); change the CA name if it is not Let's Encrypt.",
        .owner = domain,
        .type = dns::RrType::CAA,
        .value = "0 issue \"letsencrypt.org\"",
        .match = ExpectedRecord::Match::Prefix,
        .prefix = "0 issue ",
    });
    return out;
}

ExpectedRecord dkim_record(
    const std::string& domain, const mailauth::SelectorEntry& entry, const std::string& txt
) {
    std::string comment;
    switch (entry.state) {
        case mailauth::SelectorState::Active:
            comment = fmt::format(
                "Receivers verify our {} signatures with this key (RFC 6376 §3.6.2.1).",
                mailauth::signing_algorithm(entry.algorithm)
            );
            break;
        case mailauth::SelectorState::Pending:
            comment =
                "The next key of a rotation: publish it now; `sovereign dkim rotate` "
                "switches signing to it once DNS serves it.";
            break;
        case mailauth::SelectorState::Retired:
            comment =
                "A retired key: mail signed with it may still be in transit; remove the "
                "record after `sovereign dkim rotate --forget-retired`.";
            break;
    }
    // Short purposes (the `dns check` column is 14 wide); the owner name carries the selector.
    const bool rsa = entry.algorithm == mailauth::KeyAlgorithm::Rsa;
    std::string purpose = "DKIM ";
    if (entry.state == mailauth::SelectorState::Active) {
        purpose += rsa ? "rsa" : "ed25519";
    } else {
        purpose += entry.state == mailauth::SelectorState::Pending ? "new " : "old ";
        purpose += rsa ? "rsa" : "ed";
    }
    return {
        .purpose = std::move(purpose),
        .comment = std::move(comment),
        .owner = fmt::format("{}._domainkey.{}", entry.selector, domain),
        .type = dns::RrType::TXT,
        .value = txt,
        .match = ExpectedRecord::Match::DkimKey,
        .prefix = {},
    };
}

std::vector<ExpectedRecord> dkim_records(const mailauth::KeyStore& store) {
    std::vector<ExpectedRecord> out;
    // Active first, then pending, then retired: the order of the rotation.
    for (const auto state :
         {mailauth::SelectorState::Active,
          mailauth::SelectorState::Pending,
          mailauth::SelectorState::Retired}) {
        for (const auto& entry : store.with_state(state)) {
            auto key = store.load_key(entry);
            if (!key) {
                log::warn(
                    "dns.dkim_key_unreadable",
                    {{"selector", entry.selector}, {"error", key.error().message()}}
                );
                continue;
            }
            out.push_back(dkim_record(store.domain(), entry, key->dns_record()));
        }
    }
    return out;
}

std::string zone_line(const ExpectedRecord& record) {
    const std::string value =
        record.type == dns::RrType::TXT ? quoted_txt(record.value) : record.value;
    return fmt::format("{}. {} IN {} {}", record.owner, kTtl, dns::to_string(record.type), value);
}

}  // namespace sov::cli
