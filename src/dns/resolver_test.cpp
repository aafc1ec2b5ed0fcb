// Resolver mechanics without a DNS server: answers come from unbound's local-data. DNSSEC
// classification (secure / insecure / bogus) needs signed zones and is tested against the NSD
// fixture in tests/integration/test_dns.py.
#include "dns/resolver.hpp"

#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "dns/errors.hpp"

namespace sov::dns {
namespace {

namespace asio = boost::asio;

ResolverOptions local_options() {
    ResolverOptions o;
    o.timeout = std::chrono::milliseconds(5000);
    o.local_data = {
        "mail.example.test. 300 IN MX 10 mx1.example.test.",
        "mail.example.test. 300 IN MX 20 mx2.example.test.",
        "mx1.example.test. 300 IN A 192.0.2.1",
        "1.2.0.192.in-addr.arpa. 300 IN PTR mx1.example.test.",
        "_mta-sts.example.test. 300 IN TXT \"v=STSv1; \" \"id=2024\"",
        "_25._tcp.mx1.example.test. 300 IN TLSA 3 1 1 "
        "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
    };
    return o;
}

template <class T>
T run(asio::io_context& io, asio::awaitable<T> task) {
    auto future = asio::co_spawn(io, std::move(task), asio::use_future);
    io.restart();
    io.run();
    return future.get();
}

TEST(Resolver, TypedAnswersFromLocalData) {
    asio::io_context io;
    auto resolver = Resolver::create(io.get_executor(), local_options());
    ASSERT_TRUE(resolver) << resolver.error().message();
    auto& r = **resolver;

    auto mx = run(io, r.mx("mail.example.test"));
    ASSERT_TRUE(mx) << mx.error().message();
    EXPECT_EQ(mx->security, Security::Insecure);  // no trust anchor covers it
    ASSERT_EQ(mx->records.size(), 2U);
    std::sort(mx->records.begin(), mx->records.end(), [](auto& a, auto& b) {
        return a.preference < b.preference;
    });
    EXPECT_EQ(mx->records[0], (MxRecord{10, "mx1.example.test"}));
    EXPECT_EQ(mx->records[1], (MxRecord{20, "mx2.example.test"}));
    EXPECT_EQ(mx->ttl, 300U);

    auto txt = run(io, r.txt("_mta-sts.example.test."));
    ASSERT_TRUE(txt);
    ASSERT_EQ(txt->records.size(), 1U);
    EXPECT_EQ(txt->records[0], "v=STSv1; id=2024");

    auto tlsa = run(io, r.tlsa("_25._tcp.mx1.example.test"));
    ASSERT_TRUE(tlsa);
    ASSERT_EQ(tlsa->records.size(), 1U);
    EXPECT_EQ(tlsa->records[0].usage, 3);
    EXPECT_EQ(tlsa->records[0].data.size(), 32U);

    auto a = run(io, r.a("mx1.example.test"));
    ASSERT_TRUE(a);
    ASSERT_EQ(a->records.size(), 1U);
    EXPECT_EQ(a->records[0].to_string(), "192.0.2.1");
}

TEST(Resolver, PtrNamesOfAnAddress) {
    asio::io_context io;
    auto resolver = Resolver::create(io.get_executor(), local_options());
    ASSERT_TRUE(resolver);
    auto ptr = run(io, (*resolver)->ptr(asio::ip::make_address("192.0.2.1")));
    ASSERT_TRUE(ptr) << ptr.error().message();
    ASSERT_EQ(ptr->records.size(), 1U);
    EXPECT_EQ(ptr->records[0], "mx1.example.test");
}

TEST(ReverseName, Ipv4Ipv6AndMapped) {
    EXPECT_EQ(reverse_name(asio::ip::make_address("192.0.2.1")), "1.2.0.192.in-addr.arpa");
    EXPECT_EQ(reverse_name(asio::ip::make_address("::ffff:192.0.2.1")), "1.2.0.192.in-addr.arpa");
    EXPECT_EQ(
        reverse_name(asio::ip::make_address("2001:db8::567:89ab")),
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    );
}

TEST(Resolver, NoDataIsAnAnswerNotAnError) {
    asio::io_context io;
    auto resolver = Resolver::create(io.get_executor(), local_options());
    ASSERT_TRUE(resolver);
    auto aaaa = run(io, (*resolver)->aaaa("mx1.example.test"));
    ASSERT_TRUE(aaaa) << aaaa.error().message();
    EXPECT_TRUE(aaaa->records.empty());
    EXPECT_FALSE(aaaa->nxdomain);
}

TEST(Resolver, RefusesBadNamesWithoutSending) {
    asio::io_context io;
    auto resolver = Resolver::create(io.get_executor(), local_options());
    ASSERT_TRUE(resolver);
    for (const std::string& name : std::vector<std::string>{
             "",
             ".",
             "a..b",
             "spaced name.test",
             std::string("nul\0x.test", 10),
             "back\\slash.test",
             std::string(64, 'a') + ".test",
             "caf\xc3\xa9.test"
         }) {
        auto answer = run(io, (*resolver)->query(name, RrType::A));
        ASSERT_FALSE(answer) << name;
        EXPECT_EQ(answer.error(), Errc::BadName) << name;
    }
    EXPECT_TRUE(valid_query_name("_25._tcp.mx.example.test."));
    EXPECT_TRUE(valid_query_name(std::string(63, 'a') + ".test"));
}

TEST(Resolver, SilentServerTimesOutAndResolverKeepsWorking) {
    asio::io_context io;
    // A UDP socket that never answers (and a TCP fallback would be refused, which unbound
    // retries): the query must end at our timeout, not libunbound's.
    asio::ip::udp::socket silent(
        io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)
    );
    auto options = local_options();
    options.forwarders = {fmt::format("127.0.0.1@{}", silent.local_endpoint().port())};
    options.timeout = std::chrono::milliseconds(300);
    auto resolver = Resolver::create(io.get_executor(), options);
    ASSERT_TRUE(resolver);
    const auto start = std::chrono::steady_clock::now();
    // (not .invalid or .test: unbound answers RFC 6761 names itself)
    auto answer = run(io, (*resolver)->query("nowhere.example.net", RrType::A));
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), Errc::Timeout);
    EXPECT_TRUE(is_temporary(answer.error()));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

    auto mx = run(io, (*resolver)->mx("mail.example.test"));
    ASSERT_TRUE(mx) << mx.error().message();
    EXPECT_EQ(mx->records.size(), 2U);
}

TEST(Resolver, ConcurrentQueriesFromSeveralThreads) {
    asio::io_context io;
    auto resolver = Resolver::create(io.get_executor(), local_options());
    ASSERT_TRUE(resolver);
    auto& r = **resolver;
    constexpr int kQueries = 200;
    std::vector<std::future<Result<Records<MxRecord>>>> futures;
    for (int i = 0; i < kQueries; ++i) {
        futures.push_back(asio::co_spawn(io, r.mx("mail.example.test"), asio::use_future));
    }
    std::thread second([&] { io.run(); });
    io.run();
    second.join();
    for (auto& f : futures) {
        auto mx = f.get();
        ASSERT_TRUE(mx);
        EXPECT_EQ(mx->records.size(), 2U);
    }
}

TEST(Resolver, UnreadableTrustAnchorFailsAtCreation) {
    asio::io_context io;
    auto options = local_options();
    options.trust_anchors = {"/nonexistent/anchor.ds"};
    auto resolver = Resolver::create(io.get_executor(), options);
    ASSERT_FALSE(resolver);
    EXPECT_EQ(resolver.error(), Errc::Setup);

    options = local_options();
    options.forwarders = {"not-an-address"};
    EXPECT_FALSE(Resolver::create(io.get_executor(), options));
}

}  // namespace
}  // namespace sov::dns
