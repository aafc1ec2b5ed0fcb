#pragma once
// The "_mta-sts" TXT record (RFC 8461 §3.1): `v=STSv1; id=20160831085700Z;`. Pure parsing; the
// DNS lookup lives elsewhere and hands us the TXT strings, each record's strings already joined
// without separators as §3.1 requires.
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace sov::tls {

/// A `name=value` field that the parser does not interpret. Unknown fields are kept (not just
/// skipped) so callers can log them; RFC 8461 §3.1 and RFC 8460 §3 say they are ignored.
struct RecordExtension {
    std::string name;
    std::string value;
    bool operator==(const RecordExtension&) const = default;
};

struct StsRecord {
    std::string id;  // 1*32(ALPHA / DIGIT); compared with the cached policy's id
    std::vector<RecordExtension> extensions;
    bool operator==(const StsRecord&) const = default;
};

/// Parses one TXT record. Strict per the §3.1 ABNF (case-sensitive `v=STSv1` first, `id` of 1-32
/// alphanumerics, extension names and values per their rules, US-ASCII only), with one leniency:
/// whitespace after the last field is accepted. A repeated field keeps its first value (§3.2,
/// last paragraph). Errors: BadVersion, Syntax, MissingField (no id).
[[nodiscard]] Result<StsRecord> parse_sts_record(std::string_view txt) noexcept;

/// Applies the discovery rule of §3.1 to all TXT strings found at `_mta-sts.<domain>`: records
/// not starting with `v=STSv1` *WSP ";" are discarded; none left is NoRecord, more than one is
/// MultipleRecords (both mean "no MTA-STS policy"); otherwise the one record is parsed.
[[nodiscard]] Result<StsRecord> select_sts_record(const std::vector<std::string>& txts) noexcept;

/// Renders the TXT record we publish for our own policy: `v=STSv1; id=<id>;`. `id` must be
/// 1-32 alphanumerics (checked by the caller; see is_sts_id()).
[[nodiscard]] std::string format_sts_record(std::string_view id);

/// True if `id` is a valid sts-id value: 1*32(ALPHA / DIGIT).
[[nodiscard]] bool is_sts_id(std::string_view id) noexcept;

/// Shared with the TLS-RPT record, whose extension grammar is the same (RFC 8461 §3.1,
/// RFC 8460 §3): name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
[[nodiscard]] bool is_txt_ext_name(std::string_view name) noexcept;
/// value = 1*(%x21-3A / %x3C / %x3E-7E): printable ASCII except "=", ";" and space.
[[nodiscard]] bool is_txt_ext_value(std::string_view value) noexcept;

}  // namespace sov::tls
