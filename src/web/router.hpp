#pragma once
// What the web listeners answer, as a pure function of the request head: no sockets, no clock
// (the caller passes the date), so every route is unit-tested without a connection.
//
// Served today (docs/web.md):
//   GET/HEAD /.well-known/mta-sts.txt at Host mta-sts.<hosted domain>  → our MTA-STS policy
//                                                                        (RFC 8461 §3.3)
//   GET/HEAD /healthz (any Host)                                       → 200 "ok" (monitoring)
// Anything else is 404; methods other than GET and HEAD are 405; a request with a body is 413;
// the policy of a host we cannot look up (database error) is 503 with Retry-After.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace sov::web {

/// The head of one request, as RequestReader parsed it. We accept no request bodies.
struct Request {
    std::string method;                    // as sent; methods are case-sensitive (RFC 9110 §9.1)
    std::string target;                    // request-target as sent (RFC 9112 §3.2)
    std::vector<std::string> host_fields;  // every Host field value, in order
    unsigned version = 11;                 // 10 for HTTP/1.0, 11 for HTTP/1.1
    bool keep_alive = false;               // the client allows another request on the connection
    bool has_body = false;                 // Content-Length > 0 or Transfer-Encoding present
};

struct Header {
    std::string name;
    std::string value;
};

struct Response {
    unsigned status = 200;
    std::vector<Header> headers;  // besides Date, Content-Length and Connection (serialize())
    std::string body;
    bool close = false;  // the connection ends after this response
};

/// What the site serves and the one lookup it needs.
struct Site {
    std::string mta_sts_policy;  // the policy file's bytes: tls::to_text(tls::our_policy(config))
    /// True for a hosted domain or domain alias (any case); an error when the directory cannot
    /// be read (answered 503: a temporary failure, not "no policy here"). May block (SQLite):
    /// route() is run on the worker pool by the driver.
    std::function<Result<bool>(std::string_view domain)> is_hosted_domain;
};

inline constexpr std::string_view kMtaStsPath = "/.well-known/mta-sts.txt";
inline constexpr std::string_view kMtaStsPrefix = "mta-sts.";
inline constexpr std::string_view kHealthPath = "/healthz";

/// Where a request is addressed: the host (lowercase, without port or trailing dot) and the
/// path (without query). `valid` is false for a target in none of the forms we accept.
struct Location {
    std::string host;
    std::string path;
    bool valid = false;
};

/// RFC 9112 §3.2.2: an absolute-form target ("http://host/path") names the host and the Host
/// field is then ignored; otherwise (origin-form "/path?query") the Host field does.
[[nodiscard]] Location locate(const Request& request);

/// "Example.COM:443" → "example.com"; "[::1]:8443" → "[::1]"; one trailing dot dropped.
[[nodiscard]] std::string normalize_host(std::string_view host_field);

/// The response to a complete request head.
[[nodiscard]] Response route(const Request& request, const Site& site);

/// A plain-text response for `status` (used for errors found before a request is complete:
/// 400, 431). It closes the connection.
[[nodiscard]] Response error_response(unsigned status);

/// The status line, headers (Date, Content-Type, Content-Length, Connection: close when
/// `response.close`) and, unless `head_only` (a HEAD request, RFC 9110 §9.3.2), the body.
[[nodiscard]] std::string serialize(const Response& response, bool head_only, core::WallTime date);

/// RFC 9110 §5.6.7 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
[[nodiscard]] std::string http_date(core::WallTime time);

[[nodiscard]] std::string_view reason_phrase(unsigned status) noexcept;

}  // namespace sov::web
