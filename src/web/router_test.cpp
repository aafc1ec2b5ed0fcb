#include "web/router.hpp"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

namespace sov::web {
namespace {

const std::string kPolicy =
    "version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\n"
    "max_age: 604800\r\n";

Site test_site() {
    Site site;
    site.mta_sts_policy = kPolicy;
    site.is_hosted_domain = [](std::string_view domain) {
        // What accounts::Directory::is_local_domain does: any case; aliases count.
        std::string lower(domain);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
            return static_cast<char>(std::tolower(c));
        });
        return lower == "example.test" || lower == "alias.test";
    };
    return site;
}

Request get(std::string target, std::string host) {
    Request request;
    request.method = "GET";
    request.target = std::move(target);
    request.host_fields = {std::move(host)};
    request.version = 11;
    request.keep_alive = true;
    return request;
}

std::string header(const Response& response, std::string_view name) {
    for (const auto& h : response.headers) {
        if (h.name == name) {
            return h.value;
        }
    }
    return {};
}

TEST(Router, ServesThePolicyToMtaStsOfAHostedDomain) {
    const auto response =
        route(get("/.well-known/mta-sts.txt", "mta-sts.example.test"), test_site());
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, kPolicy);
    // RFC 8461 §3.3: media type text/plain.
    EXPECT_EQ(header(response, "Content-Type"), "text/plain");
    EXPECT_FALSE(response.close);
}

TEST(Router, HostIsCaseInsensitiveAndPortAndTrailingDotIgnored) {
    for (const char* host :
         {"MTA-STS.Example.TEST",
          "mta-sts.example.test:443",
          "mta-sts.example.test.",
          "mta-sts.example.test.:8443",
          "mta-sts.alias.test"}) {
        const auto response = route(get("/.well-known/mta-sts.txt", host), test_site());
        EXPECT_EQ(response.status, 200) << host;
        EXPECT_EQ(response.body, kPolicy) << host;
    }
}

TEST(Router, OtherHostsGet404) {
    for (const char* host :
         {"example.test",
          "mail.example.test",
          "mta-sts.other.test",
          "mta-sts.",
          "mta-sts",
          "www.mta-sts.example.test",
          "mta-stsexample.test",
          "[::1]:443",
          "127.0.0.1"}) {
        const auto response = route(get("/.well-known/mta-sts.txt", host), test_site());
        EXPECT_EQ(response.status, 404) << host;
        EXPECT_EQ(header(response, "Content-Type"), "text/plain") << host;
    }
}

TEST(Router, OtherPathsGet404) {
    for (const char* target :
         {"/",
          "/.well-known/mta-sts.txt/",
          "/.well-known/MTA-STS.txt",
          "/.well-known/",
          "/.well-known/mta-sts%2Etxt",
          "//.well-known/mta-sts.txt",
          "/index.html"}) {
        const auto response = route(get(target, "mta-sts.example.test"), test_site());
        EXPECT_EQ(response.status, 404) << target;
    }
}

TEST(Router, QueryIsNotPartOfThePath) {
    const auto response =
        route(get("/.well-known/mta-sts.txt?x=1", "mta-sts.example.test"), test_site());
    EXPECT_EQ(response.status, 200);
}

TEST(Router, AbsoluteFormTargetNamesTheHost) {
    // RFC 9112 §3.2.2: the target's authority wins over the Host field.
    auto request = get("https://MTA-STS.example.test:443/.well-known/mta-sts.txt", "nobody.test");
    EXPECT_EQ(route(request, test_site()).status, 200);
    request = get("http://mta-sts.other.test/.well-known/mta-sts.txt", "mta-sts.example.test");
    EXPECT_EQ(route(request, test_site()).status, 404);
    request = get("http://user@mta-sts.example.test/.well-known/mta-sts.txt", "x");
    EXPECT_EQ(route(request, test_site()).status, 200);
    request = get("https://mta-sts.example.test", "x");
    EXPECT_EQ(locate(request).path, "/");
    EXPECT_EQ(route(request, test_site()).status, 404);
    request = get("ftp://mta-sts.example.test/.well-known/mta-sts.txt", "x");
    EXPECT_EQ(route(request, test_site()).status, 400);
    request = get("https:///.well-known/mta-sts.txt", "x");
    EXPECT_EQ(route(request, test_site()).status, 400);
}

TEST(Router, HealthzAnswersOkForAnyHost) {
    for (const char* host : {"", "localhost", "mta-sts.example.test", "anything:1"}) {
        const auto response = route(get("/healthz", host), test_site());
        EXPECT_EQ(response.status, 200) << host;
        EXPECT_EQ(response.body, "ok");
    }
}

TEST(Router, MethodsOtherThanGetAndHeadGet405WithAllow) {
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "BREW"}) {
        auto request = get("/.well-known/mta-sts.txt", "mta-sts.example.test");
        request.method = method;
        const auto response = route(request, test_site());
        EXPECT_EQ(response.status, 405) << method;
        EXPECT_EQ(header(response, "Allow"), "GET, HEAD") << method;
        EXPECT_FALSE(response.close) << method;  // no body was sent: the connection stays usable
    }
    auto head = get("/.well-known/mta-sts.txt", "mta-sts.example.test");
    head.method = "HEAD";
    EXPECT_EQ(route(head, test_site()).status, 200);
}

TEST(Router, ARequestBodyGets413AndClose) {
    auto request = get("/.well-known/mta-sts.txt", "mta-sts.example.test");
    request.method = "POST";
    request.has_body = true;
    const auto response = route(request, test_site());
    EXPECT_EQ(response.status, 413);
    EXPECT_TRUE(response.close);
}

TEST(Router, Http11NeedsExactlyOneHost) {
    auto request = get("/healthz", "a");
    request.host_fields.clear();
    EXPECT_EQ(route(request, test_site()).status, 400);
    request.host_fields = {"a", "a"};
    EXPECT_EQ(route(request, test_site()).status, 400);
    EXPECT_TRUE(route(request, test_site()).close);
    // HTTP/1.0 has no Host requirement; without one, no mta-sts host matches.
    request.version = 10;
    request.host_fields.clear();
    EXPECT_EQ(route(request, test_site()).status, 200);
    request.target = "/.well-known/mta-sts.txt";
    EXPECT_EQ(route(request, test_site()).status, 404);
}

TEST(Router, UnknownVersionGets505) {
    auto request = get("/healthz", "a");
    request.version = 20;
    EXPECT_EQ(route(request, test_site()).status, 505);
}

TEST(Router, AsteriskFormIsBadForGet) {
    EXPECT_EQ(route(get("*", "a"), test_site()).status, 400);
}

TEST(Router, NoDomainLookupWithoutALookupFunction) {
    Site site;
    site.mta_sts_policy = kPolicy;
    EXPECT_EQ(route(get("/.well-known/mta-sts.txt", "mta-sts.example.test"), site).status, 404);
}

TEST(Router, LookupOnlyForTheMtaStsName) {
    std::set<std::string> asked;
    Site site;
    site.is_hosted_domain = [&asked](std::string_view domain) {
        asked.emplace(domain);
        return false;
    };
    (void)route(get("/.well-known/mta-sts.txt", "Mta-Sts.Example.Test:443"), site);
    (void)route(get("/.well-known/mta-sts.txt", "www.example.test"), site);
    (void)route(get("/other", "mta-sts.x.test"), site);
    EXPECT_EQ(asked, std::set<std::string>{"example.test"});
}

TEST(Router, DirectoryErrorIsATemporaryFailureNot404) {
    Site site;
    site.mta_sts_policy = kPolicy;
    site.is_hosted_domain = [](std::string_view) -> Result<bool> {
        return {boost::system::in_place_error, std::make_error_code(std::errc::io_error)};
    };
    const auto response = route(get("/.well-known/mta-sts.txt", "mta-sts.example.test"), site);
    EXPECT_EQ(response.status, 503);
    ASSERT_EQ(response.headers.size(), 2U) << "Content-Type and Retry-After";
    EXPECT_EQ(response.headers[1].name, "Retry-After");
    EXPECT_FALSE(response.close);  // the connection is fine; only the lookup failed
    // Other paths do not depend on the lookup.
    EXPECT_EQ(route(get("/healthz", "mta-sts.example.test"), site).status, 200);
}

TEST(NormalizeHost, Forms) {
    EXPECT_EQ(normalize_host("Example.COM"), "example.com");
    EXPECT_EQ(normalize_host("example.com:443"), "example.com");
    EXPECT_EQ(normalize_host("example.com."), "example.com");
    EXPECT_EQ(normalize_host("[::1]:8443"), "[::1]");
    EXPECT_EQ(normalize_host("[::1]"), "[::1]");
    EXPECT_EQ(normalize_host("[::1"), "[::1");
    EXPECT_EQ(normalize_host(""), "");
    EXPECT_EQ(normalize_host(":443"), "");
}

TEST(Serialize, StatusLineHeadersAndBody) {
    auto response = route(get("/healthz", "a"), test_site());
    const auto date = std::chrono::system_clock::time_point{std::chrono::seconds{784111777}};
    EXPECT_EQ(
        serialize(response, false, date),
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n"
        "Content-Length: 2\r\n\r\nok"
    );
    // HEAD: the same headers, with the Content-Length a GET would have had, and no body.
    EXPECT_EQ(
        serialize(response, true, date),
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n"
        "Content-Length: 2\r\n\r\n"
    );
    response.close = true;
    EXPECT_NE(serialize(response, true, date).find("\r\nConnection: close\r\n"), std::string::npos);
}

TEST(Serialize, ErrorResponsesClose) {
    for (const unsigned status : {400U, 431U}) {
        const auto response = error_response(status);
        EXPECT_EQ(response.status, status);
        EXPECT_TRUE(response.close);
        const auto wire = serialize(response, false, core::WallTime{});
        EXPECT_TRUE(wire.starts_with("HTTP/1.1 " + std::to_string(status) + " ")) << wire;
        EXPECT_EQ(reason_phrase(status).empty(), false);
    }
    EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
}

TEST(HttpDate, ImfFixdate) {
    using std::chrono::seconds;
    using std::chrono::system_clock;
    EXPECT_EQ(http_date(system_clock::time_point{seconds{0}}), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(
        http_date(system_clock::time_point{seconds{951782400}}), "Tue, 29 Feb 2000 00:00:00 GMT"
    );
}

}  // namespace
}  // namespace sov::web
