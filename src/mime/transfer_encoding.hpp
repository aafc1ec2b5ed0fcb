#pragma once
// Content-Transfer-Encoding decoding (RFC 2045 §6): used by IMAP BINARY (RFC 3516), by SEARCH
// on decoded text, and by the full-text indexer.
#include <string>
#include <string_view>

namespace sov::mime {

enum class TransferEncoding {
    Identity,         // absent, 7bit, 8bit, binary: the bytes are the content
    Base64,           // RFC 2045 §6.8
    QuotedPrintable,  // RFC 2045 §6.7
    Unknown,          // anything else: IMAP BINARY answers NO [UNKNOWN-CTE] (RFC 3516 §4.3)
};

/// Classifies a lowercased Content-Transfer-Encoding value (Part::transfer_encoding).
[[nodiscard]] TransferEncoding classify_transfer_encoding(std::string_view cte) noexcept;

/// Appends the decoded content of `body` to `out`. Decoding is lenient, as mail readers are:
/// characters outside the base64 alphabet are skipped, a malformed "=XY" in quoted-printable is
/// kept literally. Identity and Unknown append `body` unchanged.
void decode_transfer_encoding(TransferEncoding encoding, std::string_view body, std::string& out);

/// Quoted-printable (RFC 2045 §6.7): soft line breaks ("=" CRLF or "=" LF) removed, trailing
/// whitespace before a line break dropped (rule 3).
void decode_quoted_printable(std::string_view in, std::string& out);

}  // namespace sov::mime
