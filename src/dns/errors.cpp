#include "dns/errors.hpp"

#include <string>

namespace sov::dns {
namespace {
class DnsCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "sov.dns"; }
    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
            case Errc::Ok:
                return "ok";
            case Errc::BadName:
                return "not a valid domain name";
            case Errc::Timeout:
                return "DNS lookup timed out";
            case Errc::ServFail:
                return "DNS servers failed to answer";
            case Errc::Bogus:
                return "DNSSEC validation failed (bogus answer)";
            case Errc::Malformed:
                return "malformed DNS record";
            case Errc::Setup:
                return "DNS resolver configuration failed";
        }
        return "unknown error";
    }
};
}  // namespace

const std::error_category& dns_category() noexcept {
    static const DnsCategory kCategory;
    return kCategory;
}

}  // namespace sov::dns
