#pragma once
// The DNS records a domain hosted here should publish, computed from the configuration and the
// TLS certificate: what `sovereign dns records` prints and what `sovereign dns check` verifies.
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/result.hpp"
#include "dns/rdata.hpp"

namespace sov::cli {

struct ExpectedRecord {
    enum class Match {
        Exact,   // the RRset must contain this record (MX, TLSA, SRV, MTA-STS id, CNAME)
        Prefix,  // exactly one record starting with `rdata`'s tag (SPF, DMARC, TLS-RPT, CAA):
                 // the operator may have written their own policy
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
/// for our MX host (current key, and the next one during a rollover).
std::vector<ExpectedRecord> expected_records(
    const core::Config& config, const std::string& domain, const std::vector<std::string>& tlsa_keys
);

/// One record as a zone-file line: "owner. 3600 IN TYPE rdata" (TXT split into quoted
/// 255-byte strings, RFC 1035 §3.3.14).
std::string zone_line(const ExpectedRecord& record);

}  // namespace sov::cli
