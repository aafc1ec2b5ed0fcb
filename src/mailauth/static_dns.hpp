#pragma once
// A DnsSource answered from a table: the RFC test suites' zone data (SPF, DKIM, ARC), DMARC
// policy cases, and benchmarks that want a warm cache without a resolver. Names compare
// case-insensitively, with or without the final dot. A name "exists" when anything was added
// at it (records of any type, a failure, or add_name); every other name is NXDOMAIN.
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mailauth/dns_source.hpp"

namespace sov::mailauth {

class StaticDns final : public DnsSource {
public:
    void add_txt(std::string_view name, std::string value);
    void add_a(std::string_view name, const boost::asio::ip::address& address);
    void add_aaaa(std::string_view name, const boost::asio::ip::address& address);
    /// A or AAAA by the address family.
    void add_address(std::string_view name, const boost::asio::ip::address& address);
    void add_mx(std::string_view name, std::uint16_t preference, std::string_view host);
    void add_ptr(const boost::asio::ip::address& address, std::string_view host);
    /// The name exists with no records (an empty non-terminal, or a name with other data).
    void add_name(std::string_view name);
    /// Every lookup of this name and type fails (as a timeout would): a temporary error.
    void fail(std::string_view name, dns::RrType type);
    /// Answers for every name are reported with this DNSSEC status (default insecure).
    void set_security(dns::Security security) { security_ = security; }

    /// Lookups answered so far (benchmarks and limit tests count them).
    [[nodiscard]] std::size_t queries() const noexcept { return queries_; }

    boost::asio::awaitable<DnsAnswer<std::string>> txt(std::string name) override;
    boost::asio::awaitable<DnsAnswer<boost::asio::ip::address>> a(std::string name) override;
    boost::asio::awaitable<DnsAnswer<boost::asio::ip::address>> aaaa(std::string name) override;
    boost::asio::awaitable<DnsAnswer<dns::MxRecord>> mx(std::string name) override;
    boost::asio::awaitable<DnsAnswer<std::string>> ptr(boost::asio::ip::address address) override;

private:
    struct Node {
        std::vector<std::string> txt;
        std::vector<boost::asio::ip::address> a;
        std::vector<boost::asio::ip::address> aaaa;
        std::vector<dns::MxRecord> mx;
        std::vector<std::string> ptr;
        std::set<dns::RrType> failing;
    };

    Node& node(std::string_view name);
    template <class T>
    DnsAnswer<T> answer(std::string_view name, dns::RrType type, std::vector<T> Node::* field);

    std::map<std::string, Node> nodes_;
    dns::Security security_ = dns::Security::Insecure;
    std::size_t queries_ = 0;
};

}  // namespace sov::mailauth
