#pragma once
// The Authentication-Results header field (RFC 8601): how the MX tells the mailbox, the user's
// client and any later filter what SPF, DKIM, DMARC and ARC found. We write one field per message
// and, before adding it, remove every field that claims our authserv-id (§5: a field bearing our
// id that we did not write is a forgery the recipient's software would otherwise trust).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sov::mailauth {

/// One resinfo (RFC 8601 §2.2): "method=result reason=... ptype.property=value ...".
struct AuthResult {
    std::string method;  // "spf", "dkim", "dmarc", "arc" (IANA method registry)
    std::string result;  // "pass", "fail", "none", ... (IANA result registry for the method)
    std::string reason;  // optional free text, written as a quoted-string
    std::vector<std::pair<std::string, std::string>> properties;  // {"smtp.mailfrom", "a@b.c"}
};

/// The whole field, "Authentication-Results: <id>;\r\n\t<resinfo>;\r\n\t...\r\n", one resinfo
/// per folded line. No results gives "<id>; none" (§2.2). Values that are neither a token nor an
/// addr-spec are written as quoted-strings; the authserv-id is written as given (the caller
/// validates it as a host name at configuration time).
[[nodiscard]] std::string format_authentication_results(
    std::string_view authserv_id, const std::vector<AuthResult>& results
);

/// The authserv-id of an Authentication-Results field value (everything after the colon):
/// leading CFWS skipped (comments nest), then a token or quoted-string. nullopt when the value
/// does not start with one. Bounded: values over 64 KiB are not examined.
[[nodiscard]] std::optional<std::string> authserv_id_of(std::string_view field_value);

/// `message` without the Authentication-Results fields of its header whose authserv-id equals
/// `authserv_id` (ASCII case-insensitively). `removed`, if given, receives how many were dropped.
/// Fields of other authserv-ids, ARC-Authentication-Results and the body are left as they are.
[[nodiscard]] std::string remove_authentication_results(
    std::string_view message, std::string_view authserv_id, std::size_t* removed = nullptr
);

}  // namespace sov::mailauth
