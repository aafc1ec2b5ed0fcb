// Fuzzes the DMARC Policy Record parser (RFC 9989 §4.7, §4.8) and, on the same bytes, the other
// pure parts of DMARC: reporting URIs, the Tree Walk's target list (§4.10) and RFC5322.From
// author-domain extraction (§5.3.1).
// Properties checked:
// - a record is accepted only if it starts with the tag v=DMARC1, and only under the size limit;
// - rua / ruf hold at most kMaxReportUris URIs, each of which parses again to itself, and a
//   usable mailto: address is one local@domain;
// - the walk targets are at most 8 names, each a suffix of the input ending in its last label;
// - author domains are lowercase, without a final dot, distinct, bounded, and "Ok" means one.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "mailauth/dmarc_policy.hpp"
#include "mailauth/dmarc_record.hpp"

namespace {

namespace ma = sov::mailauth;

using sov::fuzz::check;

void check_uris(const std::vector<ma::DmarcReportUri>& uris) {
    check(uris.size() <= ma::kMaxReportUris);
    for (const auto& uri : uris) {
        const auto again = ma::parse_dmarc_uri(uri.uri);
        check(again.has_value() && again->uri == uri.uri && again->scheme == uri.scheme);
        check(again->address == uri.address);
        if (uri.is_usable_mailto()) {
            check(uri.scheme == "mailto");
            check(std::count(uri.address.begin(), uri.address.end(), '@') == 1);
        }
    }
}

void check_record(std::string_view input) {
    const auto parsed = ma::parse_dmarc_record(input);
    std::string_view trimmed = input;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) {
        trimmed.remove_prefix(1);
    }
    if (parsed.ok()) {
        check(input.size() <= ma::DmarcRecordLimits{}.max_octets);
        check(trimmed.size() >= 1 && (trimmed[0] == 'v' || trimmed[0] == 'V'));
        check(input.find("DMARC1") != std::string_view::npos);
        const auto& rec = parsed.record;
        check(rec.policy_valid() == (!rec.p_invalid && !rec.sp_invalid && !rec.np_invalid));
        check(!(rec.p && rec.p_invalid) && !(rec.sp && rec.sp_invalid));
        check(!(rec.fo.all_fail && rec.fo.any_fail));
        check(rec.has_rua || rec.rua.empty());
        check(rec.has_ruf || rec.ruf.empty());
        check_uris(rec.rua);
        check_uris(rec.ruf);
    } else {
        check(parsed.record.rua.empty() && !parsed.record.p);
    }
    if (auto uri = ma::parse_dmarc_uri(input)) {
        check_uris({*uri});
    }
}

void check_walk(std::string_view input) {
    if (input.empty() || input.size() > 300) {
        return;
    }
    const auto targets = ma::dmarc_walk_targets(input);
    check(!targets.empty() && targets.size() <= 8);
    check(targets.front() == input);
    const auto last = input.substr(input.rfind('.') + 1);
    check(targets.back() == last);
    for (const auto& t : targets) {
        check(input.ends_with(t));
    }
}

void check_author(std::string_view input) {
    const auto a = ma::author_domains(input);
    check(a.domains.size() <= ma::kMaxAuthorDomains);
    if (a.status == ma::AuthorDomains::Status::Ok) {
        check(a.domains.size() == 1);
    }
    for (std::size_t i = 0; i < a.domains.size(); ++i) {
        const auto& d = a.domains[i];
        check(!d.empty() && d.back() != '.');
        check(std::none_of(d.begin(), d.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
        for (std::size_t j = 0; j < i; ++j) {
            check(a.domains[j] != d);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_record(input);
    check_walk(input);
    if (size <= 65536) {
        check_author(input);
    }
    return 0;
}
