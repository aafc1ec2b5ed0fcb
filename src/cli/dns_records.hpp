#pragma once
// The DNS records a domain hosted here should publish, computed from the configuration and the
// TLS certificate: what `sovereign dns records` prints and what `sovereign dns check` verifies.
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/result.hpp"
#include "dns/rdata.hpp"
#include "mailauth/dkim_store.hpp"

namespace sov::cli {

struct ExpectedRecord {
    enum class Match {
        Exact,    // the RRset must contain this record (MX, TLSA, SRV, MTA-STS id, CNAME)
        Prefix,   // exactly one record starting with `rdata`'s tag (SPF, DMARC, TLS-RPT, CAA):
                  // the operator may have written their own policy
        DkimKey,  // a DKIM key record (RFC 6376 §3.6.1) with the same k= and p=: spacing, tag
                  // order and extra tags (t=, n=, h=) are the operator's
    };
    std::string purpose;  // "MX", "SPF", ...
    std::string comment;  // why, with the RFC
    std::string owner;    // absolute name, no final dot
    dns::RrType type = dns::RrType::TXT;
    std::string value;  // TXT: the joined text; other types: presentation form
    Match match = Match::Exact;
    std::string prefix;  // for Match::Prefix: "v=spf1", "v=DMARC1", ...
};

/// Every record for `domain` (canonical A-labels). `tlsa_keys`: the 3 1 1 digests to publish
/// for our MX host (current key, and the next one during a rollover). The DKIM key records come
/// from the domain's key store under config.keys_dir() (dkim_records()).
std::vector<ExpectedRecord> expected_records(
    const core::Config& config, const std::string& domain, const std::vector<std::string>& tlsa_keys
);

/// The key record of one DKIM selector: TXT at <selector>._domainkey.<domain> (RFC 6376 §3.6.2.1)
/// holding `txt` (PrivateKey::dns_record()).
ExpectedRecord dkim_record(
    const std::string& domain, const mailauth::SelectorEntry& entry, const std::string& txt
);

/// The key records of every selector of `store` (active, pending and retired: all stay published
/// until `sovereign dkim rotate --forget-retired`). A selector whose key cannot be read is left
/// out; `sovereign dkim list` reports it.
std::vector<ExpectedRecord> dkim_records(const mailauth::KeyStore& store);

/// One record as a zone-file line: "owner. 3600 IN TYPE rdata" (TXT split into quoted
/// 255-byte strings, RFC 1035 §3.3.14).
std::string zone_line(const ExpectedRecord& record);

}  // namespace sov::cli
