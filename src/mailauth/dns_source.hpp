#pragma once
// What mail authentication asks of DNS (SPF, DKIM keys, DMARC policies, ARC keys), as an
// interface: in the server it is the validating resolver (ResolverDnsSource), in tests and
// benchmarks a table of records (StaticDns), so the RFC test suites run against their own zone
// data without a DNS server.
//
// The answers are dns::Records: NXDOMAIN and "no records of this type" are answers (the SPF
// void-lookup limit counts both, RFC 7208 §4.6.4); an error (timeout, SERVFAIL, a bogus DNSSEC
// answer) is a temporary failure for every caller (RFC 7208 §5: temperror; RFC 6376 §6.1.2:
// TEMPFAIL; RFC 9989 §4.10: temperror).
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "core/result.hpp"
#include "dns/rdata.hpp"
#include "dns/resolver.hpp"

namespace sov::mailauth {

template <class T>
using DnsAnswer = Result<dns::Records<T>>;

class DnsSource {
public:
    virtual ~DnsSource() = default;

    /// TXT records, each the concatenation of its character-strings (RFC 7208 §3.3).
    virtual boost::asio::awaitable<DnsAnswer<std::string>> txt(std::string name) = 0;
    virtual boost::asio::awaitable<DnsAnswer<boost::asio::ip::address>> a(std::string name) = 0;
    virtual boost::asio::awaitable<DnsAnswer<boost::asio::ip::address>> aaaa(std::string name) = 0;
    virtual boost::asio::awaitable<DnsAnswer<dns::MxRecord>> mx(std::string name) = 0;
    /// The PTR names of an address, without the final dot.
    virtual boost::asio::awaitable<DnsAnswer<std::string>> ptr(boost::asio::ip::address address
    ) = 0;
};

/// The validating resolver as a DnsSource. The resolver must outlive it.
class ResolverDnsSource final : public DnsSource {
public:
    explicit ResolverDnsSource(dns::Resolver& resolver) : resolver_(resolver) {}

    boost::asio::awaitable<DnsAnswer<std::string>> txt(std::string name) override;
    boost::asio::awaitable<DnsAnswer<boost::asio::ip::address>> a(std::string name) override;
    boost::asio::awaitable<DnsAnswer<boost::asio::ip::address>> aaaa(std::string name) override;
    boost::asio::awaitable<DnsAnswer<dns::MxRecord>> mx(std::string name) override;
    boost::asio::awaitable<DnsAnswer<std::string>> ptr(boost::asio::ip::address address) override;

private:
    dns::Resolver& resolver_;
};

}  // namespace sov::mailauth
