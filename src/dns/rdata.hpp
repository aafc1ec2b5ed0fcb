#pragma once
// Record data (RDATA) in DNS wire format, as libunbound hands it over (uncompressed, RFC 1035
// §3.3), turned into the values mail code needs. Every parser checks lengths against the data it
// is given and fails with Errc::Malformed; nothing here trusts the network.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "core/result.hpp"

namespace sov::dns {

/// The record types Sovereign looks up (IANA "Resource Record (RR) TYPEs").
enum class RrType : std::uint16_t {
    A = 1,
    NS = 2,
    CNAME = 5,
    SOA = 6,
    PTR = 12,
    MX = 15,
    TXT = 16,
    AAAA = 28,
    SRV = 33,
    DS = 43,
    DNSKEY = 48,
    TLSA = 52,
    CAA = 257,
};

std::string_view to_string(RrType type) noexcept;
std::optional<RrType> rr_type_from_string(std::string_view name) noexcept;

struct MxRecord {
    std::uint16_t preference = 0;
    std::string exchange;  // presentation form without the final dot; "." is the null MX (RFC 7505)

    bool operator==(const MxRecord&) const = default;
};

/// RFC 6698 §2.1.
struct TlsaRecord {
    std::uint8_t usage = 0;          // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
    std::uint8_t selector = 0;       // 0 full certificate, 1 SubjectPublicKeyInfo
    std::uint8_t matching_type = 0;  // 0 exact, 1 SHA-256, 2 SHA-512
    std::vector<std::uint8_t> data;

    bool operator==(const TlsaRecord&) const = default;
};

/// RFC 2782.
struct SrvRecord {
    std::uint16_t priority = 0;
    std::uint16_t weight = 0;
    std::uint16_t port = 0;
    std::string target;  // "." means "service not available" (RFC 2782, RFC 6186 §4)

    bool operator==(const SrvRecord&) const = default;
};

/// RFC 8659 §4.1.
struct CaaRecord {
    std::uint8_t flags = 0;
    std::string tag;
    std::string value;

    bool operator==(const CaaRecord&) const = default;
};

Result<boost::asio::ip::address_v4> parse_a(std::string_view rdata) noexcept;
Result<boost::asio::ip::address_v6> parse_aaaa(std::string_view rdata) noexcept;
Result<MxRecord> parse_mx(std::string_view rdata);
/// The character-strings of one TXT record joined without separator: how SPF (RFC 7208 §3.3),
/// DKIM (RFC 6376 §3.6.2.2), MTA-STS and TLS-RPT read a record split into 255-byte strings.
Result<std::string> parse_txt(std::string_view rdata);
Result<TlsaRecord> parse_tlsa(std::string_view rdata);
Result<SrvRecord> parse_srv(std::string_view rdata);
Result<CaaRecord> parse_caa(std::string_view rdata);
/// NS, CNAME, PTR: the whole RDATA is one domain name.
Result<std::string> parse_name_rdata(std::string_view rdata);

/// A wire-format name starting at `pos` (advanced past it), in presentation form without the
/// final dot (RFC 1035 §5.1 escapes for dots and non-printable bytes in labels). Compression
/// pointers are refused: RDATA from libunbound is uncompressed.
Result<std::string> read_name(std::string_view wire, std::size_t& pos);

/// The record as a zone file shows it (after "name TTL IN TYPE"); unknown types as RFC 3597
/// `\# <length> <hex>`.
std::string to_presentation(RrType type, std::string_view rdata);

/// Lower-case hexadecimal (TLSA data, DS digests).
std::string to_hex(const std::vector<std::uint8_t>& bytes);

}  // namespace sov::dns
