#include "mailauth/static_dns.hpp"

#include <gtest/gtest.h>

#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;

TEST(StaticDns, AnswersNoDataNxdomainAndFailures) {
    StaticDns dns;
    dns.add_txt("Example.COM.", "v=spf1 -all");
    dns.add_a("example.com", asio::ip::make_address("192.0.2.1"));
    dns.add_ptr(asio::ip::make_address("192.0.2.1"), "mail.example.com.");
    dns.add_name("empty.example.com");
    dns.fail("slow.example.com", dns::RrType::TXT);

    auto txt = test::run_awaitable(dns.txt("example.com"));
    ASSERT_TRUE(txt);
    ASSERT_EQ(txt->records.size(), 1U);
    EXPECT_EQ(txt->records[0], "v=spf1 -all");

    auto nodata = test::run_awaitable(dns.mx("example.com"));
    ASSERT_TRUE(nodata);
    EXPECT_FALSE(nodata->nxdomain);
    EXPECT_TRUE(nodata->records.empty());

    auto empty = test::run_awaitable(dns.a("empty.example.com"));
    ASSERT_TRUE(empty);
    EXPECT_FALSE(empty->nxdomain);

    auto missing = test::run_awaitable(dns.txt("nowhere.example.com"));
    ASSERT_TRUE(missing);
    EXPECT_TRUE(missing->nxdomain);

    EXPECT_FALSE(test::run_awaitable(dns.txt("slow.example.com")));
    EXPECT_TRUE(test::run_awaitable(dns.a("slow.example.com")));  // only TXT fails

    auto ptr = test::run_awaitable(dns.ptr(asio::ip::make_address("192.0.2.1")));
    ASSERT_TRUE(ptr);
    ASSERT_EQ(ptr->records.size(), 1U);
    EXPECT_EQ(ptr->records[0], "mail.example.com");
    EXPECT_EQ(dns.queries(), 7U);
}

}  // namespace
}  // namespace sov::mailauth
