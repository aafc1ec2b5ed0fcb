#include "dns/rdata.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "dns/errors.hpp"

namespace sov::dns {
namespace {

constexpr std::array<std::pair<RrType, std::string_view>, 13> kTypeNames{{
    {RrType::A, "A"},
    {RrType::NS, "NS"},
    {RrType::CNAME, "CNAME"},
    {RrType::SOA, "SOA"},
    {RrType::PTR, "PTR"},
    {RrType::MX, "MX"},
    {RrType::TXT, "TXT"},
    {RrType::AAAA, "AAAA"},
    {RrType::SRV, "SRV"},
    {RrType::DS, "DS"},
    {RrType::DNSKEY, "DNSKEY"},
    {RrType::TLSA, "TLSA"},
    {RrType::CAA, "CAA"},
}};

std::error_code malformed() {
    return make_error_code(Errc::Malformed);
}

std::uint8_t byte_at(std::string_view s, std::size_t i) {
    return static_cast<std::uint8_t>(s[i]);
}

std::uint16_t u16_at(std::string_view s, std::size_t i) {
    return static_cast<std::uint16_t>((byte_at(s, i) << 8U) | byte_at(s, i + 1));
}

// RFC 1035 §5.1: a label byte that is not printable, or is special in zone files, is escaped.
void append_label_byte(std::string& out, std::uint8_t c) {
    if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' || c == '@' ||
        c == '$') {
        out += '\\';
        out += static_cast<char>(c);
    } else if (c <= 0x20 || c >= 0x7f) {
        out += fmt::format("\\{:03d}", c);
    } else {
        out += static_cast<char>(c);
    }
}

// A <character-string> (RFC 1035 §3.3) in zone-file quotes.
std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<std::uint8_t>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c >= 0x7f) {
            out += fmt::format("\\{:03d}", c);
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

std::string hex_of(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        out += fmt::format("{:02x}", static_cast<std::uint8_t>(c));
    }
    return out;
}

}  // namespace

std::string_view to_string(RrType type) noexcept {
    for (const auto& [t, name] : kTypeNames) {
        if (t == type) {
            return name;
        }
    }
    return "TYPE?";
}

std::optional<RrType> rr_type_from_string(std::string_view name) noexcept {
    for (const auto& [t, n] : kTypeNames) {
        if (std::equal(n.begin(), n.end(), name.begin(), name.end(), [](char a, char b) {
                return a == (b >= 'a' && b <= 'z' ? static_cast<char>(b - 32) : b);
            })) {
            return t;
        }
    }
    return std::nullopt;
}

Result<std::string> read_name(std::string_view wire, std::size_t& pos) {
    std::string out;
    std::size_t total = 0;  // wire length, RFC 1035 §2.3.4: at most 255 octets
    while (true) {
        if (pos >= wire.size()) {
            return malformed();
        }
        const std::uint8_t len = byte_at(wire, pos);
        if (len > 63) {
            return malformed();  // 0xC0 compression pointers and the reserved 0x40/0x80 types
        }
        total += 1U + len;
        if (total > 255 || pos + 1 + len > wire.size()) {
            return malformed();
        }
        ++pos;
        if (len == 0) {
            break;
        }
        if (!out.empty()) {
            out += '.';
        }
        for (std::size_t i = 0; i < len; ++i) {
            append_label_byte(out, byte_at(wire, pos + i));
        }
        pos += len;
    }
    return out.empty() ? std::string(".") : out;
}

Result<boost::asio::ip::address_v4> parse_a(std::string_view rdata) noexcept {
    if (rdata.size() != 4) {
        return malformed();
    }
    boost::asio::ip::address_v4::bytes_type bytes{};
    std::copy(rdata.begin(), rdata.end(), bytes.begin());
    return boost::asio::ip::address_v4(bytes);
}

Result<boost::asio::ip::address_v6> parse_aaaa(std::string_view rdata) noexcept {
    if (rdata.size() != 16) {
        return malformed();
    }
    boost::asio::ip::address_v6::bytes_type bytes{};
    std::copy(rdata.begin(), rdata.end(), bytes.begin());
    return boost::asio::ip::address_v6(bytes);
}

Result<MxRecord> parse_mx(std::string_view rdata) {
    if (rdata.size() < 3) {
        return malformed();
    }
    MxRecord mx;
    mx.preference = u16_at(rdata, 0);
    std::size_t pos = 2;
    auto name = read_name(rdata, pos);
    if (!name || pos != rdata.size()) {
        return malformed();
    }
    mx.exchange = std::move(*name);
    return mx;
}

Result<std::string> parse_txt(std::string_view rdata) {
    if (rdata.empty()) {
        return malformed();  // RFC 1035 §3.3.14: one or more <character-string>s
    }
    std::string out;
    std::size_t pos = 0;
    while (pos < rdata.size()) {
        const std::size_t len = byte_at(rdata, pos);
        if (pos + 1 + len > rdata.size()) {
            return malformed();
        }
        out.append(rdata.substr(pos + 1, len));
        pos += 1 + len;
    }
    return out;
}

Result<TlsaRecord> parse_tlsa(std::string_view rdata) {
    if (rdata.size() < 4) {
        return malformed();  // RFC 6698 §2.1: three octets and at least some association data
    }
    TlsaRecord r;
    r.usage = byte_at(rdata, 0);
    r.selector = byte_at(rdata, 1);
    r.matching_type = byte_at(rdata, 2);
    r.data.assign(rdata.begin() + 3, rdata.end());
    return r;
}

Result<SrvRecord> parse_srv(std::string_view rdata) {
    if (rdata.size() < 7) {
        return malformed();
    }
    SrvRecord r;
    r.priority = u16_at(rdata, 0);
    r.weight = u16_at(rdata, 2);
    r.port = u16_at(rdata, 4);
    std::size_t pos = 6;
    auto name = read_name(rdata, pos);
    if (!name || pos != rdata.size()) {
        return malformed();
    }
    r.target = std::move(*name);
    return r;
}

Result<CaaRecord> parse_caa(std::string_view rdata) {
    if (rdata.size() < 2) {
        return malformed();
    }
    CaaRecord r;
    r.flags = byte_at(rdata, 0);
    const std::size_t tag_len = byte_at(rdata, 1);
    if (tag_len == 0 || 2 + tag_len > rdata.size()) {
        return malformed();  // RFC 8659 §4.1: the tag is at least one character
    }
    r.tag.assign(rdata.substr(2, tag_len));
    r.value.assign(rdata.substr(2 + tag_len));
    return r;
}

Result<std::string> parse_name_rdata(std::string_view rdata) {
    std::size_t pos = 0;
    auto name = read_name(rdata, pos);
    if (!name || pos != rdata.size()) {
        return malformed();
    }
    return name;
}

std::string to_hex(const std::vector<std::uint8_t>& bytes) {
    return hex_of(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string to_presentation(RrType type, std::string_view rdata) {
    const auto unknown = [&] { return fmt::format("\\# {} {}", rdata.size(), hex_of(rdata)); };
    const auto fqdn = [](const std::string& name) { return name == "." ? name : name + "."; };
    switch (type) {
        case RrType::A:
            if (auto a = parse_a(rdata)) {
                return a->to_string();
            }
            break;
        case RrType::AAAA:
            if (auto a = parse_aaaa(rdata)) {
                return a->to_string();
            }
            break;
        case RrType::NS:
        case RrType::CNAME:
        case RrType::PTR:
            if (auto n = parse_name_rdata(rdata)) {
                return fqdn(*n);
            }
            break;
        case RrType::MX:
            if (auto mx = parse_mx(rdata)) {
                return fmt::format("{} {}", mx->preference, fqdn(mx->exchange));
            }
            break;
        case RrType::TXT: {
            // Each <character-string> quoted separately, as the zone shows it.
            std::string out;
            std::size_t pos = 0;
            while (pos < rdata.size()) {
                const std::size_t len = byte_at(rdata, pos);
                if (pos + 1 + len > rdata.size()) {
                    return unknown();
                }
                out += out.empty() ? "" : " ";
                out += quoted(rdata.substr(pos + 1, len));
                pos += 1 + len;
            }
            return out.empty() ? unknown() : out;
        }
        case RrType::TLSA:
            if (auto t = parse_tlsa(rdata)) {
                return fmt::format(
                    "{} {} {} {}", t->usage, t->selector, t->matching_type, to_hex(t->data)
                );
            }
            break;
        case RrType::SRV:
            if (auto s = parse_srv(rdata)) {
                return fmt::format("{} {} {} {}", s->priority, s->weight, s->port, fqdn(s->target));
            }
            break;
        case RrType::CAA:
            if (auto c = parse_caa(rdata)) {
                return fmt::format("{} {} {}", c->flags, c->tag, quoted(c->value));
            }
            break;
        case RrType::SOA:
        case RrType::DS:
        case RrType::DNSKEY:
            break;
    }
    return unknown();
}

}  // namespace sov::dns
