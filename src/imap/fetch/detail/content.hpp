#pragma once
// CRLF normalisation of message content, and the declarations shared by the renderers.
//
// Everything FETCH sends is normalised: an LF not preceded by CR becomes CRLF (RFC 9051 §2.3.4
// counts RFC822.SIZE in the message's wire form; RFC 3516 §6 wants CRLF line ends). Whether an
// LF is "bare" is decided exactly as mime::parse_message counts Part::body_bare_lf (by the byte
// before it in the whole message), so sizes computed from the cached structure and sizes
// computed from the bytes agree.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "imap/fetch/detail/emitter.hpp"
#include "imap/fetch/fetch.hpp"
#include "imap/wire/ast.hpp"
#include "imap/wire/response.hpp"
#include "mime/structure.hpp"

namespace sov::imap::fetch::detail {

/// A range of message bytes. `prev_cr`: the byte just before the range is CR, so an LF at the
/// start of the range is not bare.
struct Text {
    std::string_view bytes;
    bool prev_cr = false;
};

/// [begin, end) of `message`, clamped to its size (a structure that does not match the bytes
/// must not make us read out of bounds).
[[nodiscard]] Text slice(std::string_view message, std::uint64_t begin, std::uint64_t end) noexcept;

/// What normalising a text changes: its bare LFs (each becomes CRLF) and its NUL octets.
struct TextScan {
    std::uint64_t bare_lf = 0;
    bool nul = false;
    /// Sent as it is: the common case, a message with CRLF line ends and no NUL.
    [[nodiscard]] bool clean() const noexcept { return bare_lf == 0 && !nul; }
};

/// How many octets scan_text reads at a time: Widest is what the CPU allows (32 with AVX2,
/// else 16); the others exist for tests, to check each path against the octet loop.
enum class ScanWidth {
    Widest,
    Sixteen,
    Octets
};

/// One pass over `t`.
[[nodiscard]] TextScan scan_text(Text t, ScanWidth width = ScanWidth::Widest) noexcept;

/// Appends the normalised octets [from, to) of `t` to `out`.
void append_normalized(Text t, std::uint64_t from, std::uint64_t to, std::string& out);

/// Writes " {n}\r\n" + the normalised octets [from, to) of `t` (n = to - from), with NUL
/// octets sent as 0x80 (a literal may not contain NUL, RFC 9051 §9 CHAR8; Dovecot does the
/// same), or `""` when the range is empty.
/// `scan` is scan_text(t): a clean text is copied in one piece.
void write_normalized_literal(
    wire::ResponseWriter& w, Text t, const TextScan& scan, std::uint64_t from, std::uint64_t to
);

/// The normalised window [first, second) of a text of `total` octets for a partial request
/// (RFC 9051 §6.4.5: a start beyond the end gives an empty string, a length beyond the end is
/// truncated).
[[nodiscard]] std::pair<std::uint64_t, std::uint64_t> window(
    std::uint64_t total, const std::optional<wire::Partial>& partial
) noexcept;

/// Per-thread scratch buffers keep their capacity between calls (no allocation per message in
/// the ENVELOPE / BODYSTRUCTURE / HEADER.FIELDS loops) unless one message made them huge.
inline void release_if_large(std::string& buffer) noexcept {
    if (buffer.capacity() > (std::size_t{1} << 20)) {
        std::string().swap(buffer);
    }
}

/// The bare LFs of a part's header block. mime::Part records them only for the body
/// (body_bare_lf); when the structure grows a `header_bare_lf` field it is used, until then a
/// header is assumed to use CRLF (see rfc822_size()).
template <class P>
[[nodiscard]] std::uint64_t header_bare_lf_of(const P& p) noexcept {
    if constexpr (requires { p.header_bare_lf; }) {
        return p.header_bare_lf;
    } else {
        return 0;
    }
}

/// BODY[] (and RFC822): no part number, no text specifier, the whole message.
[[nodiscard]] inline bool is_whole_message(const wire::Section& section) noexcept {
    return section.part.empty() && section.text == wire::SectionText::None;
}

/// The part that a section-part designates (RFC 9051 §6.4.5.1), or nullopt; an empty list is
/// the message itself (index 0).
[[nodiscard]] std::optional<std::uint32_t> resolve_part(
    const mime::MessageStructure& s, std::span<const std::uint32_t> numbers
) noexcept;

/// Appends `section` in the form the response echoes ("1.2.HEADER.FIELDS (A B)"), without the
/// brackets.
void append_section_spec(std::string& out, const wire::Section& section);
void append_partial_origin(std::string& out, const std::optional<wire::Partial>& partial);

// Renderers (envelope.cpp, body_structure.cpp, section.cpp, binary.cpp).
void emit_envelope(Emitter& e, const mime::MessageStructure& s, std::uint32_t envelope_index);
void write_envelope(wire::ResponseWriter& w, const mime::MessageStructure& s);
void write_body_structure(wire::ResponseWriter& w, const mime::MessageStructure& s, bool extended);
void write_body_section(
    wire::ResponseWriter& w,
    std::string_view item,
    const wire::Section& section,
    const std::optional<wire::Partial>& partial,
    const mime::MessageStructure& s,
    std::string_view bytes
);
[[nodiscard]] AttStatus write_binary(
    wire::ResponseWriter& w,
    const wire::FetchAtt& att,
    const mime::MessageStructure& s,
    std::string_view bytes
);

}  // namespace sov::imap::fetch::detail
