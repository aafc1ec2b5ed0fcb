// Fuzzes the TLS-RPT report reader (RFC 8460 §4) and the gzip decoder (§5.2). Properties checked:
// - an accepted report serialises with to_json() to JSON that parses back to the same report,
//   and that JSON is a fixed point of parse ∘ to_json;
// - gunzip() never returns more than its bound, and what it returns survives gzip/gunzip;
// - if the input is gzip of a report, the same properties hold for the decompressed report.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tls/tlsrpt_report.hpp"

namespace {

namespace tls = sov::tls;

constexpr std::size_t kMaxOut = 1U << 20U;

using sov::fuzz::check;

void check_report(std::string_view json) {
    const auto report = tls::parse_report(json);
    if (!report) {
        return;
    }
    const std::string out = tls::to_json(*report);
    const auto again = tls::parse_report(out);
    check(again.has_value() && *again == *report);
    check(tls::to_json(*again) == out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_report(input);
    if (const auto plain = tls::gunzip(input, kMaxOut)) {
        check(plain->size() <= kMaxOut);
        const auto back = tls::gunzip(tls::gzip(*plain), plain->size());
        check(back.has_value() && *back == *plain);
        check_report(*plain);
    }
    return 0;
}
