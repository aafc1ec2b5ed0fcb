#pragma once
// Decoded text of a message for searching: IMAP SEARCH text criteria (RFC 9051 §6.4.4: "transfer
// encodings and [MIME-HDRS] strings ... MUST be decoded before comparing text") and the store's
// full-text index. Everything produced here is UTF-8.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mime/structure.hpp"

namespace sov::mime {

struct SearchableText {
    std::string headers;  ///< "Name: decoded value\n" per field of the top-level header
    std::string body;     ///< decoded text parts (and nested messages' headers), UTF-8
};

/// headers: every header field of the top-level message, unfolded, RFC 2047 decoded, one
/// "Name: value\n" line each, in message order.
/// body: the decoded (transfer encoding, then charset → UTF-8) content of every text/* leaf in
/// tree order; text/html has its tags stripped and common entities decoded. A message/rfc822
/// part contributes its header lines (same form as `headers`) followed by its own text. Parts
/// that are neither text nor message (attachments) are skipped. Text in an unknown charset is
/// kept as it is (bytes that are not UTF-8 are read as Latin-1, so the output stays UTF-8).
/// Parts are separated by "\n". The total of headers + body is at most `max_bytes`, cut on a
/// UTF-8 character boundary; headers come first.
[[nodiscard]] SearchableText searchable_text(
    std::string_view message, const MessageStructure& s, std::size_t max_bytes = 4U << 20U
);

/// What the store's full-text index keeps of a message: searchable_text() of its parse, folded
/// with fold_case() as SEARCH folds its needles, and after the headers the display form
/// (append_address_display) of the From, To, Cc and Bcc address lists, one line each.
[[nodiscard]] SearchableText folded_searchable_text(std::string_view message);

/// Case-folded form for case-insensitive substring matching (RFC 9051 §6.4.4 "case insensitive";
/// RFC 5256 §7 asks for i;unicode-casemap). This is a simple, locale-independent approximation:
/// every code point is mapped to its simple lowercase form for ASCII, Latin-1, Latin Extended-A,
/// the regular pairs of Latin Extended-B and Latin Extended Additional, Greek (final sigma folds
/// to sigma), Cyrillic, Armenian and fullwidth Latin; other code points are unchanged. No
/// normalisation or decomposition is done ("ß" does not match "ss"). Bytes that are not valid
/// UTF-8 are copied unchanged.
[[nodiscard]] std::string fold_case(std::string_view utf8);
/// Appends fold_case(utf8) to `out`.
void append_folded(std::string& out, std::string_view utf8);

/// A header field value for display and search: unfolded, RFC 2047 encoded-words decoded to
/// UTF-8, whitespace around folds collapsed, trimmed.
[[nodiscard]] std::string decode_header_value(std::string_view raw);

/// One field of a header block: the name as written (no trailing WSP) and the raw value after
/// the colon, still folded (CRLF/LF + WSP inside).
struct HeaderField {
    std::string_view name;
    std::string_view value;
};

/// Splits a header block (e.g. message.substr(part.header_offset, part.header_size())) into its
/// fields, stopping at the first empty line. Lines without a colon are skipped.
[[nodiscard]] std::vector<HeaderField> header_fields(std::string_view header_block);

/// The unfolded raw value (RFC 5322 §2.2.3, not decoded) of the first field called `name`
/// (ASCII case-insensitive) in the header of `part`; "" if there is none. For THREAD's
/// References, which the cached Envelope does not keep.
[[nodiscard]] std::string header_value(
    std::string_view message, const Part& part, std::string_view name
);

/// Appends the decoded content of a leaf part (transfer encoding removed, charset converted to
/// UTF-8 as in searchable_text; HTML not stripped).
void append_decoded_text(std::string_view message, const Part& part, std::string& out);

/// Crude HTML to text: tags, comments, <script> and <style> contents removed; block-level tags
/// become line breaks; numeric character references and the common named ones (&amp; &lt; &gt;
/// &quot; &apos; &nbsp;, typographic quotes and dashes, &zwnj; and &shy; as nothing) decoded.
void append_html_text(std::string_view html, std::string& out);

}  // namespace sov::mime
