// The HTTPS policy fetch (RFC 8461 §3.3) and the StsResolver procedure against an in-process
// HTTPS server on 127.0.0.1, with the Policy Host's address from unbound local-data. The real
// Policy Hosts of the signed test zones are exercised by tests/integration/test_mta_sts.py.
#include "tls/mta_sts_fetch.hpp"

#include <chrono>
#include <future>
#include <stdexcept>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "tls/client_context.hpp"
#include "tls/errors.hpp"
#include "tls/https_client.hpp"
#include "tls/mta_sts_cache.hpp"
#include "tls/mta_sts_resolver.hpp"

namespace sov::tls {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kPolicy =
    "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n";

std::string response(
    std::string_view status,
    std::string_view content_type,
    std::string_view body,
    std::string_view extra = ""
) {
    return fmt::format(
        "HTTP/1.1 {}\r\n{}Content-Length: {}\r\n{}Connection: close\r\n\r\n{}",
        status,
        content_type.empty() ? std::string() : fmt::format("Content-Type: {}\r\n", content_type),
        body.size(),
        extra,
        body
    );
}

// A Policy Host: accepts connections on 127.0.0.1 (any port), TLS with `cert`, reads one
// request and answers with `answer` (raw bytes), or holds the connection open when `silent`.
class PolicyHost {
public:
    PolicyHost(
        asio::io_context& io, const std::filesystem::path& cert, const std::filesystem::path& key
    )
        : acceptor_(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        std::string error;
        auto ctx = net::make_server_context(cert, key, error);
        EXPECT_TRUE(ctx) << error;
        if (ctx) {
            context_ = *ctx;
        }
        asio::co_spawn(io, serve(), [](const std::exception_ptr&) {});
    }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    void stop() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
    }

    std::string answer = response("200 OK", "text/plain", kPolicy);
    bool silent = false;
    std::string last_request;
    int connections = 0;

private:
    asio::awaitable<void> serve() {
        while (true) {
            auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
            if (ec) {
                co_return;
            }
            ++connections;
            asio::ssl::stream<asio::ip::tcp::socket> tls(std::move(socket), *context_);
            auto [handshake] = co_await tls.async_handshake(asio::ssl::stream_base::server, kTuple);
            if (handshake) {
                continue;
            }
            std::string request;
            auto [read_error, n] = co_await asio::async_read_until(
                tls, asio::dynamic_buffer(request), "\r\n\r\n", kTuple
            );
            if (read_error) {
                continue;
            }
            // A POST (the TLS-RPT upload): read its body too.
            const auto head_end = request.find("\r\n\r\n") + 4;
            const auto length_at = request.find("Content-Length: ");
            if (length_at != std::string::npos && length_at < head_end) {
                const auto length = std::stoul(request.substr(length_at + 16));
                if (request.size() < head_end + length) {
                    std::string more(head_end + length - request.size(), '\0');
                    auto [body_error, m] =
                        co_await asio::async_read(tls, asio::buffer(more), kTuple);
                    if (body_error) {
                        continue;
                    }
                    request += more;
                }
            }
            last_request = request;
            if (silent) {
                asio::steady_timer wait(acceptor_.get_executor(), 30s);
                co_await wait.async_wait(kTuple);  // never answers within the client's deadline
                continue;
            }
            co_await asio::async_write(tls, asio::buffer(answer), kTuple);
            co_await tls.async_shutdown(kTuple);
        }
    }

    asio::ip::tcp::acceptor acceptor_;
    net::SslContextPtr context_;
};

template <class T>
T run(asio::io_context& io, asio::awaitable<T> task) {
    auto future = asio::co_spawn(io, std::move(task), asio::use_future);
    // The policy host keeps running; step the loop until our task is done (or 20 s pass, and
    // future.get() below reports the broken promise).
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (future.wait_for(0s) != std::future_status::ready &&
           std::chrono::steady_clock::now() < deadline) {
        if (io.stopped()) {
            io.restart();
        }
        io.run_one_for(100ms);
    }
    if (future.wait_for(0s) != std::future_status::ready) {
        throw std::runtime_error("task did not finish within 20 s");  // gtest reports it
    }
    return future.get();
}

class StsFetch : public ::testing::Test {
protected:
    void SetUp() override {
        std::string error;
        ASSERT_TRUE(net::write_self_signed_certificate("mta-sts.example.test", cert_, key_, error))
            << error;
        // Trusting the self-signed leaf itself makes it a trust anchor for PKIX.
        auto context = make_client_context(cert_, error);
        ASSERT_TRUE(context) << error;
        client_ = *context;
        dns::ResolverOptions options;
        options.timeout = 5000ms;
        options.local_data = {
            "mta-sts.example.test. 300 IN A 127.0.0.1",
            "_mta-sts.example.test. 300 IN TXT \"v=STSv1; id=one;\"",
            "mta-sts.noaddr.example.test. 300 IN TXT \"no address here\"",
            "_mta-sts.noaddr.example.test. 300 IN A 127.0.0.9",  // and no TXT there
        };
        auto resolver = dns::Resolver::create(io_.get_executor(), options);
        ASSERT_TRUE(resolver);
        resolver_ = std::move(*resolver);
    }

    Result<FetchedPolicy> fetch(
        std::uint16_t port,
        FetchDiagnostics& diag,
        std::string domain = "example.test",
        std::chrono::milliseconds timeout = 10s
    ) {
        FetchOptions options;
        options.port = port;
        options.timeout = timeout;
        return run(
            io_,
            fetch_policy(io_.get_executor(), *resolver_, client_, std::move(domain), options, &diag)
        );
    }

    Result<PostResult> post(
        std::uint16_t port, std::string path, std::string body, std::string& detail
    ) {
        HttpsTarget target{.host = "mta-sts.example.test", .port = port, .path = std::move(path)};
        return run(
            io_,
            post_https(
                io_.get_executor(),
                *resolver_,
                client_,
                std::move(target),
                "application/tlsrpt+gzip",
                std::move(body),
                PostOptions{},
                &detail
            )
        );
    }

    test::TempDir dir_;
    std::filesystem::path cert_ = dir_.path() / "host.crt";
    std::filesystem::path key_ = dir_.path() / "host.key";
    asio::io_context io_;
    net::SslContextPtr client_;
    std::unique_ptr<dns::Resolver> resolver_;
};

TEST(StsFetchPure, PolicyHostAndMediaType) {
    EXPECT_EQ(policy_host("Example.COM."), "mta-sts.example.com");
    EXPECT_TRUE(is_text_plain("text/plain"));
    EXPECT_TRUE(is_text_plain("TEXT/Plain ; charset=utf-8"));
    EXPECT_TRUE(is_text_plain("text/plain;charset=us-ascii;format=flowed"));
    EXPECT_FALSE(is_text_plain(""));
    EXPECT_FALSE(is_text_plain("text/html"));
    EXPECT_FALSE(is_text_plain("text/plainx"));
    EXPECT_FALSE(is_text_plain("application/octet-stream; x=text/plain"));
}

TEST_F(StsFetch, FetchesAndParsesThePolicy) {
    PolicyHost host(io_, cert_, key_);
    FetchDiagnostics diag;
    const auto before = core::now();
    auto fetched = fetch(host.port(), diag, "Example.Test.");
    ASSERT_TRUE(fetched) << fetched.error().message() << ": " << diag.detail;
    EXPECT_EQ(fetched->body, kPolicy);
    EXPECT_EQ(fetched->policy.mode, Mode::Enforce);
    EXPECT_EQ(fetched->policy.max_age, 86400U);
    EXPECT_EQ(fetched->policy.mx, std::vector<std::string>{"mx.example.test"});
    EXPECT_GE(fetched->fetched_at, before);
    EXPECT_EQ(diag.status, 200U);
    EXPECT_EQ(diag.address, "127.0.0.1");
    EXPECT_EQ(diag.url, fmt::format("https://mta-sts.example.test:{}{}", host.port(), kPolicyPath));
    // §3.2 path, HTTP/1.1 with Host and Connection: close.
    EXPECT_EQ(host.last_request.rfind("GET /.well-known/mta-sts.txt HTTP/1.1\r\n", 0), 0U)
        << host.last_request;
    EXPECT_NE(host.last_request.find("Host: mta-sts.example.test\r\n"), std::string::npos);
    EXPECT_NE(host.last_request.find("Connection: close\r\n"), std::string::npos);
}

TEST_F(StsFetch, ContentTypeParametersAreIgnored) {
    PolicyHost host(io_, cert_, key_);
    host.answer = response("200 OK", "text/plain; charset=utf-8", kPolicy);
    FetchDiagnostics diag;
    auto fetched = fetch(host.port(), diag);
    ASSERT_TRUE(fetched) << diag.detail;
}

TEST_F(StsFetch, RedirectsAreNotFollowed) {
    PolicyHost host(io_, cert_, key_);
    host.answer = response(
        "301 Moved Permanently", "text/plain", "", "Location: https://elsewhere.test/p.txt\r\n"
    );
    FetchDiagnostics diag;
    auto fetched = fetch(host.port(), diag);
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error(), Errc::BadStatus);
    EXPECT_EQ(diag.status, 301U);
    EXPECT_EQ(diag.detail, "HTTP 301 (redirect to https://elsewhere.test/p.txt, not followed)");
    EXPECT_EQ(host.connections, 1);
}

TEST_F(StsFetch, OnlyStatus200Counts) {
    PolicyHost host(io_, cert_, key_);
    for (const auto* status : {"404 Not Found", "204 No Content", "500 Internal Server Error"}) {
        host.answer = response(status, "text/plain", status[0] == '2' ? "" : std::string(kPolicy));
        FetchDiagnostics diag;
        auto fetched = fetch(host.port(), diag);
        ASSERT_FALSE(fetched) << status;
        EXPECT_EQ(fetched.error(), Errc::BadStatus) << status;
    }
}

TEST_F(StsFetch, WrongOrMissingMediaTypeIsRefused) {
    PolicyHost host(io_, cert_, key_);
    for (const auto* type : {"text/html", "application/octet-stream", ""}) {
        host.answer = response("200 OK", type, kPolicy);
        FetchDiagnostics diag;
        auto fetched = fetch(host.port(), diag);
        ASSERT_FALSE(fetched) << type;
        EXPECT_EQ(fetched.error(), Errc::BadContentType) << type;
    }
}

TEST_F(StsFetch, InvalidPolicyIsAParseError) {
    PolicyHost host(io_, cert_, key_);
    host.answer = response(
        "200 OK", "text/plain", "version: STSv1\r\nmode: enforcing\r\nmx: a.test\r\nmax_age: 1\r\n"
    );
    FetchDiagnostics diag;
    auto fetched = fetch(host.port(), diag);
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error(), Errc::BadMode);
    EXPECT_EQ(diag.detail, "invalid policy: invalid MTA-STS mode");
}

TEST_F(StsFetch, OversizedBodyIsRefused) {
    PolicyHost host(io_, cert_, key_);
    std::string body(kPolicy);
    while (body.size() <= kMaxPolicyBytes) {
        body += "mx: another-mx-host.example.test\r\n";
    }
    host.answer = response("200 OK", "text/plain", body);
    FetchDiagnostics diag;
    auto fetched = fetch(host.port(), diag);
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error(), Errc::TooLarge);
}

TEST_F(StsFetch, CertificateForAnotherNameIsRefused) {
    std::string error;
    const auto other_cert = dir_.path() / "other.crt";
    const auto other_key = dir_.path() / "other.key";
    ASSERT_TRUE(net::write_self_signed_certificate("www.example.test", other_cert, other_key, error)
    );
    auto context = make_client_context(other_cert, error);  // trusted, but names another host
    ASSERT_TRUE(context);
    client_ = *context;
    PolicyHost host(io_, other_cert, other_key);
    FetchDiagnostics diag;
    auto fetched = fetch(host.port(), diag);
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error(), Errc::CertificateInvalid);
    EXPECT_NE(diag.detail.find("mta-sts.example.test"), std::string::npos) << diag.detail;
    EXPECT_EQ(host.last_request, "");  // nothing was sent to it
}

TEST_F(StsFetch, UntrustedCertificateIsRefused) {
    std::string error;
    const auto stranger = dir_.path() / "stranger.crt";
    const auto stranger_key = dir_.path() / "stranger.key";
    ASSERT_TRUE(
        net::write_self_signed_certificate("mta-sts.example.test", stranger, stranger_key, error)
    );
    PolicyHost host(io_, stranger, stranger_key);  // right name, but not the trusted key
    FetchDiagnostics diag;
    auto fetched = fetch(host.port(), diag);
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error(), Errc::CertificateInvalid);
}

TEST_F(StsFetch, SilentHostTimesOut) {
    PolicyHost host(io_, cert_, key_);
    host.silent = true;
    FetchDiagnostics diag;
    const auto start = std::chrono::steady_clock::now();
    auto fetched = fetch(host.port(), diag, "example.test", 500ms);
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error(), Errc::FetchTimeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(StsFetch, NoAddressOrNoListenerFails) {
    FetchDiagnostics diag;
    auto fetched = fetch(443, diag, "noaddr.example.test");
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error(), Errc::FetchFailed);
    EXPECT_EQ(diag.detail, "no address records for mta-sts.noaddr.example.test");

    PolicyHost host(io_, cert_, key_);
    const auto port = host.port();
    host.stop();
    FetchDiagnostics refused;
    fetched = fetch(port, refused);
    ASSERT_FALSE(fetched);
    EXPECT_EQ(fetched.error(), Errc::FetchFailed);
    EXPECT_EQ(refused.detail.rfind("connect: ", 0), 0U) << refused.detail;
}

// ---- StsResolver: TXT discovery + cache + fetch, end to end

TEST_F(StsFetch, ResolverFetchesOnceThenUsesTheCache) {
    auto cache = PolicyCache::open(PolicyCache::path_in(dir_.path()));
    ASSERT_TRUE(cache);
    PolicyHost host(io_, cert_, key_);
    StsOptions options;
    options.fetch.port = host.port();
    StsResolver sts(*resolver_, client_, cache->get(), options);

    auto first = run(io_, sts.current_policy("example.test"));
    ASSERT_TRUE(first) << first.error().message();
    ASSERT_TRUE(first->policy) << first->note;
    EXPECT_EQ(first->policy->source, PolicySource::Fetched);
    EXPECT_EQ(first->policy->id, "one");
    EXPECT_EQ(first->policy->policy.mode, Mode::Enforce);
    EXPECT_EQ(host.connections, 1);
    auto stored = (*cache)->lookup("example.test");
    ASSERT_TRUE(stored && *stored);
    EXPECT_EQ((*stored)->id, "one");
    EXPECT_EQ((*stored)->body, kPolicy);

    // Same id, fresh entry: no fetch, even with the host gone.
    host.stop();
    auto second = run(io_, sts.current_policy("example.test"));
    ASSERT_TRUE(second && second->policy);
    EXPECT_EQ(second->policy->source, PolicySource::Cache);
    EXPECT_EQ(host.connections, 1);
}

TEST_F(StsFetch, ResolverFallsBackToTheCacheWhenARefetchFails) {
    auto cache = PolicyCache::open(PolicyCache::path_in(dir_.path()));
    ASSERT_TRUE(cache);
    // A cached policy under another id: the TXT record's id "one" asks for a refetch.
    FetchedPolicy old{parse_policy(kPolicy).value(), std::string(kPolicy), core::now()};
    ASSERT_TRUE((*cache)->store("example.test", "zero", old));
    PolicyHost host(io_, cert_, key_);
    host.answer = response("302 Found", "text/plain", "", "Location: /elsewhere\r\n");
    StsOptions options;
    options.fetch.port = host.port();
    StsResolver sts(*resolver_, client_, cache->get(), options);
    auto lookup = run(io_, sts.current_policy("example.test"));
    ASSERT_TRUE(lookup);
    ASSERT_TRUE(lookup->policy) << lookup->note;
    EXPECT_EQ(lookup->policy->source, PolicySource::Cache);
    EXPECT_EQ(lookup->policy->id, "zero");
    EXPECT_NE(lookup->note.find("fetch failed"), std::string::npos) << lookup->note;
    auto failure = (*cache)->last_failure("example.test");
    ASSERT_TRUE(failure && *failure);
    EXPECT_EQ((*failure)->id, "one");

    // §3.3: within five minutes the same id is not fetched again.
    auto again = run(io_, sts.current_policy("example.test"));
    ASSERT_TRUE(again && again->policy);
    EXPECT_EQ(host.connections, 1);
}

TEST_F(StsFetch, ResolverReportsAFailedFetchWithoutACachedPolicy) {
    auto cache = PolicyCache::open(PolicyCache::path_in(dir_.path()));
    ASSERT_TRUE(cache);
    PolicyHost host(io_, cert_, key_);
    host.answer = response("404 Not Found", "text/plain", "");
    StsOptions options;
    options.fetch.port = host.port();
    StsResolver sts(*resolver_, client_, cache->get(), options);
    auto lookup = run(io_, sts.current_policy("example.test"));
    ASSERT_TRUE(lookup);
    EXPECT_FALSE(lookup->policy);  // RFC 8461 §5: delivery goes on without MTA-STS
    ASSERT_TRUE(lookup->failure) << lookup->note;
    EXPECT_EQ(lookup->failure->type, ResultType::StsPolicyFetchError);
    EXPECT_NE(lookup->failure->reason.find("HTTP 404"), std::string::npos)
        << lookup->failure->reason;

    // Not retried within five minutes (§3.3), but still reported with the recorded reason.
    auto again = run(io_, sts.current_policy("example.test"));
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->policy);
    ASSERT_TRUE(again->failure);
    EXPECT_EQ(again->failure->type, ResultType::StsPolicyFetchError);
    EXPECT_EQ(again->failure->reason, lookup->failure->reason);
    EXPECT_EQ(host.connections, 1);
}

TEST_F(StsFetch, ResolverReportsAnInvalidPolicyAndAnUntrustedHost) {
    PolicyHost host(io_, cert_, key_);
    host.answer = response("200 OK", "text/html", kPolicy);
    StsOptions options;
    options.fetch.port = host.port();
    options.retry_after_failure = 0s;
    StsResolver sts(*resolver_, client_, nullptr, options);
    auto invalid = run(io_, sts.current_policy("example.test"));
    ASSERT_TRUE(invalid && invalid->failure);
    EXPECT_EQ(invalid->failure->type, ResultType::StsPolicyInvalid);

    // A client trusting nothing we serve: the Policy Host fails PKIX.
    std::string error;
    const auto other_cert = dir_.path() / "other.crt";
    const auto other_key = dir_.path() / "other.key";
    ASSERT_TRUE(net::write_self_signed_certificate("other.test", other_cert, other_key, error));
    auto untrusting = make_client_context(other_cert, error);
    ASSERT_TRUE(untrusting) << error;
    StsResolver strict(*resolver_, *untrusting, nullptr, options);
    auto webpki = run(io_, strict.current_policy("example.test"));
    ASSERT_TRUE(webpki && webpki->failure);
    EXPECT_EQ(webpki->failure->type, ResultType::StsWebpkiInvalid);
}

TEST(StsFailureType, FromErrorCodesAndRecordedText) {
    EXPECT_EQ(
        sts_failure_type(make_error_code(Errc::FetchFailed)), ResultType::StsPolicyFetchError
    );
    EXPECT_EQ(
        sts_failure_type(make_error_code(Errc::FetchTimeout)), ResultType::StsPolicyFetchError
    );
    EXPECT_EQ(sts_failure_type(make_error_code(Errc::BadStatus)), ResultType::StsPolicyFetchError);
    EXPECT_EQ(
        sts_failure_type(make_error_code(Errc::CertificateInvalid)), ResultType::StsWebpkiInvalid
    );
    EXPECT_EQ(
        sts_failure_type(make_error_code(Errc::BadContentType)), ResultType::StsPolicyInvalid
    );
    EXPECT_EQ(sts_failure_type(make_error_code(Errc::BadMode)), ResultType::StsPolicyInvalid);
    const auto webpki = make_error_code(Errc::CertificateInvalid).message() + ": expired";
    EXPECT_EQ(sts_failure_type(webpki), ResultType::StsWebpkiInvalid);
    const auto invalid = make_error_code(Errc::MissingField).message() + ": no mx";
    EXPECT_EQ(sts_failure_type(invalid), ResultType::StsPolicyInvalid);
    EXPECT_EQ(sts_failure_type("something else"), ResultType::StsPolicyFetchError);
}

TEST_F(StsFetch, ResolverWithoutRecordOrCacheHasNoPolicy) {
    StsOptions options;
    StsResolver sts(*resolver_, client_, nullptr, options);
    auto lookup = run(io_, sts.current_policy("noaddr.example.test"));
    ASSERT_TRUE(lookup);
    EXPECT_FALSE(lookup->policy);
    EXPECT_EQ(lookup->note, "no _mta-sts record");
}

// ---- the HTTPS client shared with the TLS-RPT upload (https_client.hpp)

TEST(HttpsUri, Parses) {
    auto t = parse_https_uri("HTTPS://Reports.Example.COM./v1/tlsrpt?x=1#frag");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "reports.example.com");
    EXPECT_EQ(t->port, 443);
    EXPECT_EQ(t->path, "/v1/tlsrpt?x=1");
    auto p = parse_https_uri("https://r.example:8443");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->port, 8443);
    EXPECT_EQ(p->path, "/");
    EXPECT_EQ(parse_https_uri("https://r.example?q")->path, "/?q");
    for (const auto* bad :
         {"http://r.example/",
          "https://",
          "https://user@r.example/",
          "https://[::1]/",
          "https://r.example:0/",
          "https://r.example:70000/",
          "https://r.example:x/",
          "https://r.example/a b",
          "mailto:x@r.example"}) {
        EXPECT_FALSE(parse_https_uri(bad)) << bad;
    }
}

TEST_F(StsFetch, PostSendsTheBodyAndReturnsTheStatus) {
    PolicyHost host(io_, cert_, key_);
    host.answer = response("201 Created", "text/plain", "thanks");
    std::string detail;
    auto posted = post(host.port(), "/r?a=1", std::string("\x1f\x8b report", 9), detail);
    ASSERT_TRUE(posted) << posted.error().message() << ": " << detail;
    EXPECT_EQ(posted->status, 201U);
    EXPECT_EQ(posted->address, "127.0.0.1");
    const auto& r = host.last_request;
    EXPECT_EQ(r.rfind("POST /r?a=1 HTTP/1.1\r\n", 0), 0U) << r;
    EXPECT_NE(
        r.find(fmt::format("Host: mta-sts.example.test:{}\r\n", host.port())), std::string::npos
    ) << r;
    EXPECT_NE(r.find("Content-Type: application/tlsrpt+gzip\r\n"), std::string::npos) << r;
    EXPECT_NE(r.find("Content-Length: 9\r\n"), std::string::npos) << r;
    EXPECT_EQ(r.substr(r.size() - 9), std::string("\x1f\x8b report", 9));

    host.answer = response("500 Internal Server Error", "text/plain", "no");
    auto refused = post(host.port(), "/r?a=1", "x", detail);
    ASSERT_TRUE(refused);  // a status is an answer, not a transport error
    EXPECT_EQ(refused->status, 500U);
    EXPECT_EQ(detail, "HTTP 500");
}

TEST_F(StsFetch, PostRefusesAHostFailingPkix) {
    std::string error;
    const auto stranger = dir_.path() / "stranger.crt";
    const auto stranger_key = dir_.path() / "stranger.key";
    ASSERT_TRUE(
        net::write_self_signed_certificate("mta-sts.example.test", stranger, stranger_key, error)
    );
    PolicyHost host(io_, stranger, stranger_key);
    std::string detail;
    auto posted = post(host.port(), "/", "x", detail);
    ASSERT_FALSE(posted);
    EXPECT_EQ(posted.error(), Errc::CertificateInvalid);
    EXPECT_TRUE(host.last_request.empty()) << "nothing is sent to an unauthenticated host";
}

}  // namespace
}  // namespace sov::tls
