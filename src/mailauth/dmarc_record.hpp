#pragma once
// The DMARC Policy Record (RFC 9989 §4.7 tags, §4.8 formal definition), as published in TXT at
// _dmarc.<domain>. RFC 9989 obsoletes RFC 7489; of RFC 7489's tags, pct is read as Appendix A.6
// says (pct=0 means t=y, anything else t=n) and rf / ri are ignored like any unknown tag.
//
// Parsing is lenient where the RFC asks for it: unknown tags are ignored and "syntax errors in the
// remainder of the record MUST be discarded in favor of default values (if any) or ignored
// outright" (§4.8). Only a record that does not start with v=DMARC1 is not a DMARC record at all
// (§4.7 "v"). Invalid p / sp / np values are kept visible (`*_invalid`), because §4.10.1 decides
// on them: with a usable rua the record acts as p=none, without one DMARC does not apply.
// Sans-I/O, noexcept.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sov::mailauth {

/// Domain Owner Assessment Policy (RFC 9989 §3.2.8, §4.7 "p"). Ordered by strictness.
enum class DmarcPolicy : std::uint8_t {
    None,
    Quarantine,
    Reject,
};

/// Identifier alignment mode (§4.7 adkim / aspf).
enum class DmarcAlignment : std::uint8_t {
    Relaxed,
    Strict,
};

/// The "psd" tag (§4.7): y = a Public Suffix Domain, n = an Organizational Domain, u = unknown.
enum class DmarcPsd : std::uint8_t {
    Unknown,  // "u", the default
    Yes,
    No,
};

/// One DMARC Reporting URI (§4.6, §4.8 dmarc-uri / obs-dmarc-uri).
struct DmarcReportUri {
    std::string uri;     // without the obsolete "!size" suffix
    std::string scheme;  // lowercased
    /// The RFC 7489 size limit ("!10m"), in octets. RFC 9989 §4.8 says reporters should ignore
    /// it; kept so a report writer can choose to honour it.
    std::optional<std::uint64_t> max_size;
    /// For mailto: the percent-decoded addr-spec (RFC 6068), empty for other schemes or when
    /// the address is not local@domain. Only these are usable: mailto is the one scheme a
    /// reporter must support (§4.7 rua) and the only one we send to.
    std::string address;

    [[nodiscard]] bool is_usable_mailto() const noexcept { return !address.empty(); }
    bool operator==(const DmarcReportUri&) const = default;
};

/// The "fo" tag (§4.7): failure reporting options. Defaults to "0".
struct DmarcFailureOptions {
    bool all_fail = true;   // "0": report when every mechanism fails to produce an aligned pass
    bool any_fail = false;  // "1": report when any mechanism fails to produce an aligned pass
    bool dkim = false;      // "d"
    bool spf = false;       // "s"
    bool operator==(const DmarcFailureOptions&) const = default;
};

struct DmarcRecord {
    // p / sp / np: nullopt when absent or invalid (the *_invalid flag tells which).
    std::optional<DmarcPolicy> p;
    std::optional<DmarcPolicy> sp;
    std::optional<DmarcPolicy> np;
    bool p_invalid = false;
    bool sp_invalid = false;
    bool np_invalid = false;

    DmarcPsd psd = DmarcPsd::Unknown;
    /// t=y (§4.7 "t"), or RFC 7489 pct=0 when there is no t tag (Appendix A.6).
    bool testing = false;
    DmarcAlignment adkim = DmarcAlignment::Relaxed;
    DmarcAlignment aspf = DmarcAlignment::Relaxed;

    bool has_rua = false;  // the tag was present (even if none of its URIs parsed)
    bool has_ruf = false;
    /// Syntactically valid URIs of any scheme, in record order, at most kMaxReportUris each.
    std::vector<DmarcReportUri> rua;
    std::vector<DmarcReportUri> ruf;
    DmarcFailureOptions fo;

    /// §4.10.1: an invalid p (or an invalid sp / np) makes the record act as p=none when rua
    /// holds at least one syntactically valid URI; otherwise DMARC does not apply.
    [[nodiscard]] bool policy_valid() const noexcept {
        return !p_invalid && !sp_invalid && !np_invalid;
    }
    /// The mailto: rua addresses: where aggregate reports go (RFC 9990).
    [[nodiscard]] std::vector<std::string> rua_mailto() const;
};

struct DmarcRecordLimits {
    // Real records are under 300 octets; a TXT RRset can carry 64 KiB. Anything near the limit
    // is hostile or broken, and a broken record is ignored like a missing one.
    std::size_t max_octets = 4096;
};

/// At most this many URIs are kept per rua / ruf (RFC 9989 Appendix C.7 lets a receiver limit
/// them; RFC 7489 required at least two).
inline constexpr std::size_t kMaxReportUris = 10;

struct DmarcRecordParse {
    enum class Status : std::uint8_t {
        Ok,
        NotDmarc,  // does not start with v=DMARC1: "the entire record MUST be ignored" (§4.7)
        TooLong,   // starts with v=DMARC1 but exceeds the limit: a DMARC record we cannot use
    };
    Status status = Status::NotDmarc;
    DmarcRecord record;  // meaningful only when status == Ok

    [[nodiscard]] bool ok() const noexcept { return status == Status::Ok; }
};

/// Parses one TXT record (its character-strings already concatenated, §4.5).
[[nodiscard]] DmarcRecordParse parse_dmarc_record(
    std::string_view text, const DmarcRecordLimits& limits = {}
) noexcept;

/// Parses one reporting URI (with an optional obsolete "!size" suffix); nullopt if it is not a
/// syntactically valid URI (RFC 3986 scheme ":" followed by URI characters, no raw ',' or '!').
[[nodiscard]] std::optional<DmarcReportUri> parse_dmarc_uri(std::string_view text) noexcept;

[[nodiscard]] std::string_view to_string(DmarcPolicy policy) noexcept;
[[nodiscard]] std::string_view to_string(DmarcAlignment alignment) noexcept;
[[nodiscard]] std::string_view to_string(DmarcPsd psd) noexcept;
[[nodiscard]] std::string_view to_string(DmarcRecordParse::Status status) noexcept;

}  // namespace sov::mailauth
