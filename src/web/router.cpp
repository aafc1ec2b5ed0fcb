#include "web/router.hpp"

#include <time.h>

#include <array>
#include <cctype>
#include <utility>

#include <fmt/format.h>

namespace sov::web {

namespace {

constexpr std::string_view kTextPlain = "text/plain";

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) {
            return false;
        }
    }
    return true;
}

/// The path of an origin-form target: up to '?' (the query; RFC 9112 §3.2.1). A '#' cannot
/// appear in a request-target, but a client that sends one means the same path.
std::string path_of(std::string_view target) {
    const auto end = target.find_first_of("?#");
    return std::string(target.substr(0, end));
}

Response text(unsigned status, std::string body) {
    Response response;
    response.status = status;
    response.headers.push_back({"Content-Type", std::string(kTextPlain)});
    response.body = std::move(body);
    return response;
}

}  // namespace

std::string normalize_host(std::string_view host_field) {
    std::string_view host = host_field;
    if (host.starts_with('[')) {
        // IP-literal (RFC 3986 §3.2.2): the port, if any, follows the ']'.
        const auto close = host.find(']');
        host = close == std::string_view::npos ? host : host.substr(0, close + 1);
    } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);  // RFC 9110 §7.2: Host = uri-host [ ":" port ]
    }
    if (host.ends_with('.')) {
        host.remove_suffix(1);  // the absolute form of the same DNS name
    }
    return lowercase(host);
}

Location locate(const Request& request) {
    Location location;
    const std::string_view target = request.target;
    if (target.starts_with('/')) {
        // origin-form: the Host field names the host (RFC 9112 §3.2.1, §3.3).
        location.path = path_of(target);
        if (!request.host_fields.empty()) {
            location.host = normalize_host(request.host_fields.front());
        }
        location.valid = true;
        return location;
    }
    // absolute-form (RFC 9112 §3.2.2): "a server MUST accept the absolute-form", and the Host
    // field is then ignored in favour of the target's authority.
    std::string_view rest;
    if (iequals_prefix(target, "http://")) {
        rest = target.substr(7);
    } else if (iequals_prefix(target, "https://")) {
        rest = target.substr(8);
    } else {
        return location;  // asterisk-form, authority-form or garbage
    }
    const auto authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority.remove_prefix(at + 1);  // userinfo is not part of the host
    }
    location.host = normalize_host(authority);
    // An empty path is "/" (RFC 9112 §3.2.1); so is a bare "?query". Built with path_of()
    // rather than assigned from a literal: GCC 12 -O3 misreports that assignment (-Wrestrict,
    // GCC bug 105651).
    const std::string_view path_and_query =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    location.path = path_of(path_and_query.starts_with('/') ? path_and_query : "/");
    location.valid = !location.host.empty();
    return location;
}

Response route(const Request& request, const Site& site) {
    if (request.version != 10 && request.version != 11) {
        auto response = text(505, "HTTP Version Not Supported\n");
        response.close = true;
        return response;
    }
    if (request.has_body) {
        // Nothing here takes a body. RFC 9110 §15.5.14: the server may close the connection
        // rather than read the body it refuses.
        auto response = text(413, "Request body not accepted\n");
        response.close = true;
        return response;
    }
    // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
    // request message that lacks a Host header field and to any request message that contains
    // more than one Host header field line or a Host header field with an invalid field value."
    if (request.host_fields.size() > 1 || (request.version == 11 && request.host_fields.empty())) {
        auto response = text(400, "Bad Request: one Host field required\n");
        response.close = true;
        return response;
    }
    if (request.method != "GET" && request.method != "HEAD") {
        // RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
        auto response = text(405, "Method Not Allowed\n");
        response.headers.push_back({"Allow", "GET, HEAD"});
        return response;
    }
    const Location location = locate(request);
    if (!location.valid) {
        auto response = text(400, "Bad Request: bad request-target\n");
        response.close = true;
        return response;
    }
    if (location.path == kHealthPath) {
        return text(200, "ok");
    }
    if (location.path == kMtaStsPath) {
        // RFC 8461 §3.3: the policy lives at "mta-sts" prepended to the Policy Domain, and a
        // sender follows no redirect, so this host name is answered directly or not at all.
        const std::string_view host = location.host;
        if (host.starts_with(kMtaStsPrefix) && host.size() > kMtaStsPrefix.size() &&
            site.is_hosted_domain) {
            const auto hosted = site.is_hosted_domain(host.substr(kMtaStsPrefix.size()));
            if (!hosted) {
                // We could not tell whether the domain is ours: a temporary failure (RFC 9110
                // §15.6.4), so that a sender's fetch fails as "try later" and monitoring sees a
                // server error, rather than a 404 claiming the policy does not exist.
                auto response = text(503, "Service Unavailable: try again later\n");
                response.headers.push_back({"Retry-After", "60"});
                return response;
            }
            if (*hosted) {
                // §3.3: "the HTTP response body ... MUST be of the media type 'text/plain'".
                return text(200, site.mta_sts_policy);
            }
        }
    }
    return text(404, "Not Found\n");
}

Response error_response(unsigned status) {
    auto response = text(status, fmt::format("{}\n", reason_phrase(status)));
    response.close = true;
    return response;
}

std::string_view reason_phrase(unsigned status) noexcept {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 413:
            return "Content Too Large";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

std::string http_date(core::WallTime time) {
    static constexpr std::array<std::string_view, 7> kDays = {
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
    };
    static constexpr std::array<std::string_view, 12> kMonths = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
    struct tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        kDays.at(static_cast<std::size_t>(utc.tm_wday)),
        utc.tm_mday,
        kMonths.at(static_cast<std::size_t>(utc.tm_mon)),
        utc.tm_year + 1900,
        utc.tm_hour,
        utc.tm_min,
        utc.tm_sec
    );
}

std::string serialize(const Response& response, bool head_only, core::WallTime date) {
    // We speak HTTP/1.1 only; an HTTP/1.0 client gets a 1.1 response and a closed connection
    // (RFC 9110 §6.2: the version is the sender's capability).
    std::string out = fmt::format(
        "HTTP/1.1 {} {}\r\nDate: {}\r\n",
        response.status,
        reason_phrase(response.status),
        http_date(date)
    );
    for (const auto& header : response.headers) {
        out += fmt::format("{}: {}\r\n", header.name, header.value);
    }
    // RFC 9110 §8.6: for HEAD, the Content-Length a GET would have had.
    out += fmt::format("Content-Length: {}\r\n", response.body.size());
    if (response.close) {
        out += "Connection: close\r\n";  // RFC 9112 §9.6
    }
    out += "\r\n";
    if (!head_only) {
        out += response.body;
    }
    return out;
}

}  // namespace sov::web
