#pragma once
// The MIME structure of a message (RFC 2045/2046, RFC 5322), computed once at delivery and
// cached by the store so IMAP can answer ENVELOPE, BODYSTRUCTURE and BODY[section] without
// re-parsing. Offsets index the message bytes exactly as given (LF-only or CRLF).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mime/address.hpp"
#include "mime/content_type.hpp"

namespace sov::mime {

inline constexpr std::uint32_t kNoIndex = 0xFFFFFFFFU;

/// Limits on what parse_message() builds. Past a limit the parser still returns a tree that
/// covers all bytes; the excess is folded into a leaf and a problem flag is set.
struct ParseLimits {
    /// Nesting of multipart and message/rfc822 levels; deeper entities become leaves. Bounds
    /// recursion and the boundary stack (stack-overflow attacks, MimeKit stack-overflow.txt).
    std::uint32_t max_depth = 32;
    /// Parts in the whole tree; bounds the cached structure and BODYSTRUCTURE size.
    std::uint32_t max_parts = 5000;
    /// Bytes of one part's header block that are interpreted; later fields are ignored.
    std::size_t max_header_bytes = std::size_t{1} << 20;
};

/// Problem flags (bit set), per part and OR-ed for the whole message.
enum Problem : std::uint32_t {
    kProblemNone = 0,
    kProblemBadHeaderLine = 1U << 0,     // header line without ':' or with an invalid name
    kProblemHeaderTooLong = 1U << 1,     // header block over max_header_bytes
    kProblemNoHeaderEnd = 1U << 2,       // no empty line after the header (body is empty)
    kProblemBadContentType = 1U << 3,    // unparsable Content-Type: RFC 2045 §5.2 default used
    kProblemNoBoundary = 1U << 4,        // multipart without boundary: treated as a leaf
    kProblemNoCloseDelimiter = 1U << 5,  // multipart ended without "--boundary--"
    kProblemNoParts = 1U << 6,           // multipart with no body part
    kProblemDepthLimit = 1U << 7,
    kProblemPartLimit = 1U << 8,
    kProblemEncodedMessage = 1U << 9,  // message/rfc822 with base64/QP CTE: parsed undecoded
    kProblemNul = 1U << 10,            // NUL byte in a header block
};

struct Envelope {
    // Raw values, unfolded (RFC 5322 §2.2.3), not decoded: IMAP ENVELOPE sends them as they are.
    std::string date;
    std::string subject;
    std::string from;
    std::string sender;
    std::string reply_to;
    std::string to;
    std::string cc;
    std::string bcc;
    std::string in_reply_to;
    std::string message_id;
    // Parsed address lists (display names decoded to UTF-8).
    std::vector<Address> from_addr;
    std::vector<Address> sender_addr;
    std::vector<Address> reply_to_addr;
    std::vector<Address> to_addr;
    std::vector<Address> cc_addr;
    std::vector<Address> bcc_addr;
    bool operator==(const Envelope&) const = default;
};

struct Part {
    // Byte offsets into the whole message: [header_offset, body_offset) is the header block
    // including the empty line; [body_offset, end_offset) the body. The line break before a
    // boundary delimiter belongs to the delimiter (RFC 2046 §5.1.1), not to the part.
    std::uint64_t header_offset = 0;
    std::uint64_t body_offset = 0;
    std::uint64_t end_offset = 0;
    /// Lines in the body: LF count, plus one for a final line without LF.
    std::uint64_t body_lines = 0;
    /// LFs not preceded by CR: body size after LF -> CRLF conversion is body_size() + this.
    std::uint64_t body_bare_lf = 0;
    /// The same for the header block: header size after LF -> CRLF is header_size() + this.
    std::uint64_t header_bare_lf = 0;

    // Tree links (indices into MessageStructure::parts; root = 0, pre-order).
    std::uint32_t parent = kNoIndex;
    std::uint32_t first_child = kNoIndex;  // multipart: first body part; message: nested root
    std::uint32_t next_sibling = kNoIndex;
    std::uint32_t child_count = 0;
    /// For the root and each nested message's root part: index into envelopes.
    std::uint32_t envelope = kNoIndex;
    std::uint32_t problems = kProblemNone;

    ContentType content_type;  // defaults applied (text/plain; charset=us-ascii, digest)
    bool content_type_given = false;
    std::string transfer_encoding;  // lowercased Content-Transfer-Encoding, empty if absent
    std::string content_id;         // raw unfolded values, empty if absent
    std::string description;
    std::string md5;
    std::string location;
    ContentType disposition;  // type = disposition (lowercased), empty if absent; no subtype
    std::vector<std::string> languages;  // Content-Language tags (RFC 3282)

    [[nodiscard]] std::uint64_t header_size() const noexcept { return body_offset - header_offset; }
    [[nodiscard]] std::uint64_t body_size() const noexcept { return end_offset - body_offset; }
    /// A multipart that actually has body parts (a boundary was found).
    [[nodiscard]] bool is_multipart() const noexcept {
        return content_type.type == "multipart" && first_child != kNoIndex;
    }
    /// message/rfc822 or message/global whose nested message was parsed.
    [[nodiscard]] bool is_message() const noexcept {
        return content_type.type == "message" && first_child != kNoIndex;
    }
    bool operator==(const Part&) const = default;
};

struct MessageStructure {
    std::vector<Part> parts;          // parts[0] is the message itself
    std::vector<Envelope> envelopes;  // envelopes[0] belongs to the root
    std::uint32_t problems = kProblemNone;
    std::uint64_t size = 0;  // bytes parsed

    /// Children of part `index` in order (multipart body parts, or the nested message's root).
    [[nodiscard]] std::vector<std::uint32_t> children(std::uint32_t index) const;
    bool operator==(const MessageStructure&) const = default;
};

/// Parses a whole message. Never fails and never throws on any input: malformed input yields a
/// best-effort tree with problem flags (Dovecot-like).
[[nodiscard]] MessageStructure parse_message(
    std::string_view bytes, const ParseLimits& limits = {}
) noexcept;

}  // namespace sov::mime
