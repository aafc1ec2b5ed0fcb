#include "mailauth/static_dns.hpp"

#include "dns/errors.hpp"
#include "mime/header.hpp"

namespace sov::mailauth {

namespace asio = boost::asio;

namespace {

std::string key_of(std::string_view name) {
    if (!name.empty() && name.back() == '.') {
        name.remove_suffix(1);
    }
    return mime::to_lower(name);
}

}  // namespace

StaticDns::Node& StaticDns::node(std::string_view name) {
    return nodes_[key_of(name)];
}

void StaticDns::add_txt(std::string_view name, std::string value) {
    node(name).txt.push_back(std::move(value));
}

void StaticDns::add_a(std::string_view name, const asio::ip::address& address) {
    node(name).a.push_back(address);
}

void StaticDns::add_aaaa(std::string_view name, const asio::ip::address& address) {
    node(name).aaaa.push_back(address);
}

void StaticDns::add_address(std::string_view name, const asio::ip::address& address) {
    if (address.is_v4()) {
        add_a(name, address);
    } else {
        add_aaaa(name, address);
    }
}

void StaticDns::add_mx(std::string_view name, std::uint16_t preference, std::string_view host) {
    node(name).mx.push_back(dns::MxRecord{preference, key_of(host)});
}

void StaticDns::add_ptr(const asio::ip::address& address, std::string_view host) {
    node(dns::reverse_name(address)).ptr.push_back(key_of(host));
}

void StaticDns::add_name(std::string_view name) {
    (void)node(name);
}

void StaticDns::fail(std::string_view name, dns::RrType type) {
    node(name).failing.insert(type);
}

template <class T>
DnsAnswer<T> StaticDns::answer(
    std::string_view name, dns::RrType type, std::vector<T> Node::* field
) {
    ++queries_;
    dns::Records<T> out;
    out.security = security_;
    out.ttl = 300;
    const auto it = nodes_.find(key_of(name));
    if (it == nodes_.end()) {
        out.nxdomain = true;
        return out;
    }
    if (it->second.failing.contains(type)) {
        return make_error_code(dns::Errc::Timeout);
    }
    out.records = it->second.*field;
    return out;
}

asio::awaitable<DnsAnswer<std::string>> StaticDns::txt(std::string name) {
    co_return answer(name, dns::RrType::TXT, &Node::txt);
}

asio::awaitable<DnsAnswer<asio::ip::address>> StaticDns::a(std::string name) {
    co_return answer(name, dns::RrType::A, &Node::a);
}

asio::awaitable<DnsAnswer<asio::ip::address>> StaticDns::aaaa(std::string name) {
    co_return answer(name, dns::RrType::AAAA, &Node::aaaa);
}

asio::awaitable<DnsAnswer<dns::MxRecord>> StaticDns::mx(std::string name) {
    co_return answer(name, dns::RrType::MX, &Node::mx);
}

asio::awaitable<DnsAnswer<std::string>> StaticDns::ptr(asio::ip::address address) {
    co_return answer(dns::reverse_name(address), dns::RrType::PTR, &Node::ptr);
}

}  // namespace sov::mailauth
