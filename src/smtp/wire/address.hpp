#pragma once
// RFC 5321 §4.1.2 paths (reverse-path, forward-path) with RFC 6531 SMTPUTF8, and ESMTP
// parameters (RFC 5321 §4.1.2 Mail-parameters, xtext of RFC 3461 §4).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sov::smtp::wire {

/// RFC 5321 §4.5.3.1.1-3 size limits (the minimums every implementation must accept; we accept
/// exactly these, as larger parts would not survive other hops anyway).
inline constexpr std::size_t kMaxLocalPart = 64;
inline constexpr std::size_t kMaxDomain = 255;
inline constexpr std::size_t kMaxPath = 256;  // including the angle brackets

enum class AddressStatus {
    Ok,
    Syntax,         ///< not a Path / Mailbox per RFC 5321 §4.1.2
    LocalTooLong,   ///< local part over 64 octets (§4.5.3.1.1)
    DomainTooLong,  ///< domain over 255 octets (§4.5.3.1.2)
    PathTooLong,    ///< path over 256 octets (§4.5.3.1.3)
    BadUtf8,        ///< non-ASCII bytes that are not valid UTF-8 (RFC 3629)
    NeedsUtf8,      ///< valid UTF-8 but SMTPUTF8 was not requested (RFC 6531 §3.4)
};

/// A mailbox. `local_part` is decoded (quotes and quoted-pair backslashes removed);
/// `domain` is as sent: a domain name or an address literal including its brackets
/// ("[192.0.2.1]", "[IPv6:2001:db8::1]").
struct Mailbox {
    std::string local_part;
    std::string domain;

    /// local@domain with the local part re-quoted when it is not a Dot-string.
    [[nodiscard]] std::string to_string() const;
    friend bool operator==(const Mailbox&, const Mailbox&) = default;
};

/// A reverse-path or forward-path.
struct Path {
    bool null = false;        ///< "<>" (reverse-path only, §4.5.5)
    bool postmaster = false;  ///< "<Postmaster>" without domain (forward-path only, §4.1.1.3)
    bool utf8 = false;        ///< contains non-ASCII (needs SMTPUTF8, RFC 6531)
    Mailbox mailbox;          ///< empty for null; local_part "Postmaster", empty domain

    /// The address as it goes in Return-Path or a DSN: "" for null, "Postmaster", or
    /// Mailbox::to_string().
    [[nodiscard]] std::string to_string() const;
    friend bool operator==(const Path&, const Path&) = default;
};

enum class PathKind {
    Reverse,  ///< MAIL FROM: allows "<>"
    Forward,  ///< RCPT TO: allows "<Postmaster>"
};

struct PathResult {
    AddressStatus status = AddressStatus::Syntax;
    Path path;
    std::string_view rest;  ///< text after the closing '>' (parameters follow a space)
};

/// Parses a path at the start of `text` ("<...>" ... ). A source route ("<@a,@b:user@c>") is
/// accepted and ignored (RFC 5321 §4.1.1.3 and Appendix C). Non-ASCII is accepted only when
/// `allow_utf8` (RFC 6531 §3.3 extends Mailbox with UTF-8), and must be valid UTF-8.
[[nodiscard]] PathResult parse_path(std::string_view text, PathKind kind, bool allow_utf8) noexcept;

/// One ESMTP parameter (RFC 5321 §4.1.2: esmtp-keyword ["=" esmtp-value]).
struct EsmtpParam {
    std::string_view keyword;  ///< as sent; compare case-insensitively
    std::string_view value;
    bool has_value = false;
};

/// Parses the space-separated parameters after a path. False on a syntax error (empty keyword,
/// bad keyword chars, empty or non-esmtp-value chars; values may be UTF-8 per RFC 6531 §3.3).
/// Leading spaces are skipped. Views point into `text`.
[[nodiscard]] bool parse_esmtp_params(std::string_view text, std::vector<EsmtpParam>& out) noexcept;

/// Decodes RFC 3461 §4 xtext ("+" HEXCHAR HEXCHAR for bytes outside '!'..'~' and '+' '=').
/// False on malformed escapes or raw bytes outside the allowed range. Appends to `out`.
[[nodiscard]] bool xtext_decode(std::string_view text, std::string& out) noexcept;

/// Encodes bytes as xtext (for DSN generation and tests).
[[nodiscard]] std::string xtext_encode(std::string_view bytes);

/// True if `bytes` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
[[nodiscard]] bool valid_utf8(std::string_view bytes) noexcept;

/// Case-insensitive ASCII equality (verbs, keywords, "Postmaster").
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace sov::smtp::wire
