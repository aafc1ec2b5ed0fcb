#pragma once
// `sovereign dns check`: each expected record looked up through the validating resolver and
// judged ok / missing / wrong / insecure (not DNSSEC-secure) / failed (lookup error).
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "cli/dns_records.hpp"
#include "dns/resolver.hpp"

namespace sov::cli {

struct RecordCheck {
    enum class Status {
        Ok,
        Missing,
        Wrong,
        Insecure,
        Failed,
    };
    ExpectedRecord expected;
    Status status = Status::Missing;
    std::vector<std::string> found;  // what the DNS has (TXT joined, others presentation form)
    std::string detail;
};

std::string_view to_string(RecordCheck::Status status) noexcept;

boost::asio::awaitable<std::vector<RecordCheck>> check_records(
    dns::Resolver& resolver, std::vector<ExpectedRecord> expected
);

}  // namespace sov::cli
