#pragma once
// LIST patterns (RFC 9051 §6.3.9): "*" matches anything, "%" anything but the hierarchy
// separator; the reference name is prefixed to the pattern.
#include <string>
#include <string_view>

namespace sov::imap {

/// The reference and the pattern combined (a pattern starting with the separator ignores a
/// reference ending with one, so "a/" + "/b" does not become "a//b").
std::string list_pattern(std::string_view reference, std::string_view pattern, char separator);

/// Whether `name` matches. "INBOX" matches case-insensitively (RFC 9051 §5.1).
bool list_match(std::string_view pattern, std::string_view name, char separator);

}  // namespace sov::imap
