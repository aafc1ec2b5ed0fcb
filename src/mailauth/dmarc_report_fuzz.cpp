// Fuzzes the DMARC report readers: the aggregate XML reader (RFC 9990 / RFC 7489, libxml2),
// gunzip / unzip / report-file sniffing, report extraction from an email, and the ARF failure
// report parser (RFC 5965 / RFC 9991).
// Properties checked:
// - nothing crashes, and every limit holds (decompressed output never exceeds its limit);
// - a report that reads is written as XML that reads again, and writing is a fixed point from
//   then on: write(read(write(r))) == write(r);
// - gzip then gunzip gives the input back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "mailauth/dmarc_failure_report.hpp"
#include "mailauth/dmarc_report.hpp"

namespace {

namespace ma = sov::mailauth;

using sov::fuzz::check;

constexpr std::size_t kLimit = std::size_t{1} << 20U;

void check_report(std::string_view xml) {
    const ma::ReportLimits limits{.max_bytes = kLimit, .max_records = 1000};
    const auto report = ma::read_aggregate_report(xml, limits);
    if (!report) {
        return;
    }
    const auto written = ma::write_aggregate_report(*report);
    const auto again =
        ma::read_aggregate_report(written, {.max_bytes = written.size(), .max_records = 1000});
    check(static_cast<bool>(again));
    check(!again->recovered && again->rfc9990_namespace);
    check(again->records.size() == report->records.size());
    check(ma::write_aggregate_report(*again) == written);
    (void)ma::report_filename("receiver.example", *report, report->metadata.report_id, true);
    (void)ma::report_subject("receiver.example", *report);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_report(input);

    if (const auto plain = ma::gunzip(input, kLimit)) {
        check(plain->size() <= kLimit);
        check_report(*plain);
    }
    if (const auto plain = ma::unzip_first_xml(input, kLimit)) {
        check(plain->size() <= kLimit);
    }
    if (const auto file = ma::decode_report_file(input, kLimit)) {
        check(file->size() <= kLimit);
    }
    if (const auto xml = ma::extract_report_xml(input, {.max_bytes = kLimit})) {
        check(xml->size() <= kLimit);
        check_report(*xml);
    }
    if (size <= 4096) {
        const auto gz = ma::gzip(input);
        const auto back = ma::gunzip(gz, size);
        check(back && *back == input);
    }

    const auto fields = ma::parse_feedback_fields(input);
    check(fields.report.reported_domain.size() <= ma::FailureReportLimits{}.max_fields);
    const auto arf = ma::read_failure_report(input);
    check(
        arf.report.original_headers.size() <= ma::FailureReportLimits{}.max_original_header_bytes
    );
    return 0;
}
