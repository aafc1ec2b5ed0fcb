#include "mailauth/dns_source.hpp"

namespace sov::mailauth {

namespace asio = boost::asio;

asio::awaitable<DnsAnswer<std::string>> ResolverDnsSource::txt(std::string name) {
    co_return co_await resolver_.txt(std::move(name));
}

asio::awaitable<DnsAnswer<asio::ip::address>> ResolverDnsSource::a(std::string name) {
    co_return co_await resolver_.a(std::move(name));
}

asio::awaitable<DnsAnswer<asio::ip::address>> ResolverDnsSource::aaaa(std::string name) {
    co_return co_await resolver_.aaaa(std::move(name));
}

asio::awaitable<DnsAnswer<dns::MxRecord>> ResolverDnsSource::mx(std::string name) {
    co_return co_await resolver_.mx(std::move(name));
}

asio::awaitable<DnsAnswer<std::string>> ResolverDnsSource::ptr(asio::ip::address address) {
    co_return co_await resolver_.ptr(address);
}

}  // namespace sov::mailauth
