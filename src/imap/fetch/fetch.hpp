#pragma once
// FETCH response data for the content attributes (RFC 9051 §6.4.5, §7.5.2; RFC 3501 §6.4.5,
// §7.4.2; RFC 3516 BINARY): ENVELOPE, BODY, BODYSTRUCTURE, BODY[section]<partial>,
// BINARY[part]<partial>, BINARY.SIZE[part], RFC822, RFC822.HEADER, RFC822.TEXT, RFC822.SIZE;
// RFC 8970 PREVIEW.
//
// Rendering works from the MIME structure cached at delivery (mime::MessageStructure) plus, for
// the attributes that send content, the message bytes as stored. Messages are stored as
// received: they normally use CRLF but may contain bare LFs. Everything sent is CRLF-normalised
// (every LF not preceded by CR becomes CRLF, as Dovecot's virtual size does), and every size
// (BODYSTRUCTURE body sizes, RFC822.SIZE, literal lengths, partial offsets) counts normalised
// octets, so that RFC822.SIZE equals the length of the BODY[] literal.
//
// Pure functions: no I/O, no logging, no exceptions other than std::bad_alloc.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "imap/wire/ast.hpp"
#include "imap/wire/response.hpp"
#include "mime/structure.hpp"

namespace sov::imap::fetch {

/// Whether rendering `att` needs the message bytes (else the cached structure suffices):
/// ENVELOPE, BODY, BODYSTRUCTURE and RFC822.SIZE do not; BODY[...], BINARY[...],
/// BINARY.SIZE[...], RFC822, RFC822.HEADER, RFC822.TEXT and PREVIEW do. PREVIEW (LAZY) needs
/// nothing: it is written as NIL (the engine clears `lazy` when it reads the file anyway).
[[nodiscard]] bool needs_bytes(const wire::FetchAtt& att) noexcept;

/// Whether rendering `att` needs the structure: every content attribute above (not FLAGS, UID,
/// INTERNALDATE, MODSEQ, EMAILID, THREADID, SAVEDATE) but the whole message, BODY[] and RFC822,
/// which are the bytes alone.
[[nodiscard]] bool needs_structure(const wire::FetchAtt& att) noexcept;

enum class AttStatus {
    Ok,
    /// BINARY / BINARY.SIZE of a part whose Content-Transfer-Encoding we cannot decode: the
    /// engine must fail the FETCH with NO [UNKNOWN-CTE] (RFC 3516 §4.3, RFC 9051 §7.5.2).
    UnknownCte,
    /// BINARY / BINARY.SIZE of a part that does not exist. BODY[...] of a nonexistent part is
    /// not an error: it answers "" (see section.cpp).
    NoSuchPart,
};

/// Writes " NAME value" for one content attribute through `w` (the caller has opened the
/// msg-att list): ENVELOPE, BODY, BODYSTRUCTURE, BODY[...]<..>, BINARY[...]<..>,
/// BINARY.SIZE[...], RFC822, RFC822.HEADER, RFC822.TEXT, RFC822.SIZE. The name is echoed as
/// RFC 9051 §7.5.2 wants it: BODY.PEEK[...] answers BODY[...], BINARY.PEEK[...] answers
/// BINARY[...], HEADER.FIELDS lists the fields as requested, and a partial request answers with
/// the origin octet only ("BODY[]<0>"). `bytes` may be empty when !needs_bytes(att).
///
/// On a status other than Ok nothing is written. Attributes that are not content attributes
/// (FLAGS, UID, ...) write nothing and return Ok: the engine renders those.
[[nodiscard]] AttStatus write_att(
    wire::ResponseWriter& w,
    const wire::FetchAtt& att,
    const mime::MessageStructure& s,
    std::string_view bytes
);

/// The octets BODY[section]<partial> sends (CRLF-normalised), what a CATENATE URL part puts
/// into the new message (RFC 4469 §3); nullopt for a section that does not exist (where FETCH
/// answers "").
[[nodiscard]] std::optional<std::string> body_section_octets(
    const wire::Section& section,
    const std::optional<wire::Partial>& partial,
    const mime::MessageStructure& s,
    std::string_view bytes
);

/// The RFC822.SIZE value: the size in octets of BODY[] as write_att sends it (RFC 9051 §2.3.4).
[[nodiscard]] std::uint64_t rfc822_size(const mime::MessageStructure& s) noexcept;

}  // namespace sov::imap::fetch
