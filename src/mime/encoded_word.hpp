#pragma once
// RFC 2047 encoded-words and charset conversion to UTF-8 (glibc iconv).
#include <string>
#include <string_view>

namespace sov::mime {

enum class EncodedWordMode {
    /// Unstructured text and phrases: an encoded-word glued to ordinary text gets a space
    /// between them (what mail clients display for "[SPAM]=?utf-8?q?x?=").
    Text,
    /// Parameter values (RFC 2231/2047 mix seen in the wild): no space is added.
    Parameter,
};

/// Converts `bytes` in `charset` (RFC 2231 §5 "*language" suffix allowed) to UTF-8, appending to
/// `out`. Returns false (and appends nothing) for an unknown charset or invalid input.
[[nodiscard]] bool charset_to_utf8(
    std::string_view charset, std::string_view bytes, std::string& out
);

/// Decodes every RFC 2047 encoded-word in `text` and appends the result to `out`. Whitespace
/// between two adjacent encoded-words is dropped (RFC 2047 §6.2); a malformed encoded-word or one
/// in an unknown charset is kept as it is.
void decode_encoded_words(std::string_view text, std::string& out, EncodedWordMode mode);

/// Base64 (RFC 2045 §6.8) decode, ignoring characters outside the alphabet; stops at '='.
void decode_base64(std::string_view in, std::string& out);

}  // namespace sov::mime
