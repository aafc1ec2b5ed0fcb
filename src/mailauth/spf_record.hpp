#pragma once
// An SPF record (RFC 7208 §4.5, §4.6, §12) parsed into its terms. The whole record is checked
// before anything is evaluated (§4.6: "if there are any syntax errors anywhere in the record,
// check_host() returns immediately with the result 'permerror'"), including the macro syntax of
// every domain-spec and modifier value. Sans-I/O and noexcept; the record owns its strings.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace sov::mailauth {

/// §4.6.2 qualifiers; the default is "+".
enum class SpfQualifier {
    Pass,      // "+"
    Fail,      // "-"
    SoftFail,  // "~"
    Neutral,   // "?"
};

enum class SpfMechanismKind {
    All,
    Include,
    A,
    Mx,
    Ptr,
    Ip4,
    Ip6,
    Exists,
};

struct SpfMechanism {
    SpfQualifier qualifier = SpfQualifier::Pass;
    SpfMechanismKind kind = SpfMechanismKind::All;
    std::string domain_spec;           // unexpanded; empty: the current <domain> (§4.8)
    boost::asio::ip::address network;  // ip4 / ip6 only
    unsigned cidr4 = 32;               // a, mx, ip4 (§5.6: default /32)
    unsigned cidr6 = 128;              // a, mx, ip6 (default /128)
    std::string text;                  // the term as written, for the Authentication-Results detail
};

struct SpfModifier {
    std::string name;
    std::string value;
};

struct SpfRecord {
    std::vector<SpfMechanism> mechanisms;
    std::optional<std::string> redirect;         // domain-spec (§6.1)
    std::optional<std::string> exp;              // domain-spec (§6.2)
    std::vector<SpfModifier> unknown_modifiers;  // kept, never acted on (§6: MUST be ignored)

    /// §5.1, §6.1: "redirect" is ignored when the record has an "all" mechanism anywhere.
    [[nodiscard]] bool has_all() const noexcept;
};

struct SpfRecordLimits {
    // §3.4 asks publishers to stay under 450 octets; a few KiB leaves room for records split
    // into many character-strings while refusing anything absurd.
    std::size_t max_octets = 4096;
    std::size_t max_terms = 128;
};

enum class SpfParseStatus {
    Ok,
    NotSpf,  // no "v=spf1" version section followed by SP or end (§4.5)
    TooLong,
    TooManyTerms,
    BadCharacter,       // outside printable US-ASCII, or a separator other than SP (§3.1, §4.6.1)
    UnknownMechanism,   // e.g. "moo", "redirect:x", "-all." (§4.6.1)
    BadModifierName,    // name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    BadArgument,        // an argument where none is allowed, or a missing one ("include", "all/8")
    BadDomainSpec,      // macro or domain-end syntax (§7.1)
    BadNetwork,         // ip4-network / ip6-network (§5.6)
    BadCidr,            // CIDR length syntax or range (§5.6)
    DuplicateModifier,  // redirect= or exp= twice (§6)
};

[[nodiscard]] std::string_view to_string(SpfParseStatus status) noexcept;

struct SpfParseResult {
    SpfParseStatus status = SpfParseStatus::NotSpf;
    SpfRecord record;
    std::string term;  // the offending term, for the permerror detail

    [[nodiscard]] bool ok() const noexcept { return status == SpfParseStatus::Ok; }
};

/// §4.5: the record begins with "v=spf1" (case-insensitive) followed by SP or its end.
[[nodiscard]] bool is_spf_record(std::string_view txt) noexcept;

/// Parses one SPF record (the TXT strings already joined, §3.3).
[[nodiscard]] SpfParseResult parse_spf_record(
    std::string_view text, const SpfRecordLimits& limits = {}
) noexcept;

}  // namespace sov::mailauth
