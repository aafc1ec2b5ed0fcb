#pragma once
// Content-Type / Content-Disposition parsing: RFC 2045 §5.1, RFC 2183, RFC 2231 parameter
// continuations, charsets and languages; RFC 2047 encoded-words in values (common in the wild).
#include <string>
#include <string_view>
#include <vector>

namespace sov::mime {

struct Parameter {
    std::string name;      // lowercased; RFC 2231 "*N" / "*" suffixes removed
    std::string value;     // unquoted, continuations joined, decoded to UTF-8
    std::string language;  // RFC 2231 §5 language tag, empty if none
    bool operator==(const Parameter&) const = default;
};

struct ContentType {
    std::string type;     // lowercased; "text" by default
    std::string subtype;  // lowercased; empty for Content-Disposition
    std::vector<Parameter> params;

    /// Value of parameter `name` (lowercase), or nullptr.
    [[nodiscard]] const std::string* param(std::string_view name) const noexcept;
    bool operator==(const ContentType&) const = default;
};

/// Parses "type/subtype *(; param)". Returns false when no type token exists at all (the caller
/// then applies the RFC 2045 §5.2 default). `out.subtype` may be empty ("text/", "inline").
/// Lenient like Dovecot: CFWS anywhere, unterminated quotes, empty/invalid params are skipped.
[[nodiscard]] bool parse_content_type(std::string_view raw, ContentType& out);

/// Parses a parameter list "; a=b; c*0=..." (also used for Content-Disposition after its token).
void parse_parameters(std::string_view raw, std::vector<Parameter>& out);

}  // namespace sov::mime
