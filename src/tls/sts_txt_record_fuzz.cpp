// Fuzzes both DNS TXT record parsers: MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3).
// Properties checked:
// - an accepted MTA-STS record starts with "v=STSv1", has a valid id and valid extension fields,
//   and the record we would publish for that id parses back to it;
// - an accepted TLS-RPT record starts with "v=TLSRPTv1", has at least one rua URI, each of a
//   supported scheme, and every mailto: URI yields recipients;
// - the discovery helpers, given the input's lines as separate TXT records, agree with the
//   single-record parsers when exactly one line is a candidate.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "tls/mta_sts_record.hpp"
#include "tls/tlsrpt_record.hpp"

namespace {

namespace tls = sov::tls;

using sov::fuzz::check;

void check_sts(std::string_view input) {
    const auto record = tls::parse_sts_record(input);
    if (!record) {
        return;
    }
    check(input.starts_with("v=STSv1"));
    check(tls::is_sts_id(record->id));
    for (const auto& ext : record->extensions) {
        check(tls::is_txt_ext_name(ext.name) && tls::is_txt_ext_value(ext.value));
        check(ext.name != "id" && ext.name != "v");
    }
    const auto again = tls::parse_sts_record(tls::format_sts_record(record->id));
    check(again.has_value() && again->id == record->id && again->extensions.empty());
}

void check_tlsrpt(std::string_view input) {
    const auto record = tls::parse_tlsrpt_record(input);
    if (!record) {
        return;
    }
    check(input.starts_with("v=TLSRPTv1"));
    check(!record->rua.empty());
    for (const auto& uri : record->rua) {
        check(input.find(uri.uri) != std::string_view::npos);
        if (uri.scheme == tls::UriScheme::Mailto) {
            const auto to = tls::mailto_recipients(uri);
            check(to.has_value() && !to->empty());
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_sts(input);
    check_tlsrpt(input);

    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos <= input.size()) {
        const std::size_t nl = input.find('\n', pos);
        const std::size_t end = nl == std::string_view::npos ? input.size() : nl;
        lines.emplace_back(input.substr(pos, end - pos));
        pos = end + 1;
    }
    const auto sts = tls::select_sts_record(lines);
    const auto rpt = tls::select_tlsrpt_record(lines);
    if (lines.size() == 1) {
        // One TXT record: selection adds only the candidate check.
        const auto direct = tls::parse_sts_record(lines[0]);
        if (sts) {
            check(direct.has_value() && *direct == *sts);
        }
        const auto direct_rpt = tls::parse_tlsrpt_record(lines[0]);
        if (rpt) {
            check(direct_rpt.has_value() && *direct_rpt == *rpt);
        }
    }
    return 0;
}
