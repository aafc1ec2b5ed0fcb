#include "smtp/client/errors.hpp"

#include <string>

namespace sov::smtp::client {
namespace {
class ClientCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "sov.smtp.client"; }
    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
            case Errc::Ok:
                return "ok";
            case Errc::Protocol:
                return "SMTP protocol violation by the server";
            case Errc::Rejected:
                return "command rejected by the server";
            case Errc::NoStartTls:
                return "TLS required but the server does not offer STARTTLS";
            case Errc::TlsFailed:
                return "TLS handshake failed";
            case Errc::NotAuthenticated:
                return "server not authenticated (DANE/PKIX)";
            case Errc::Timeout:
                return "timed out";
        }
        return "unknown error";
    }
};
}  // namespace

const std::error_category& client_category() noexcept {
    static const ClientCategory kCategory;
    return kCategory;
}

}  // namespace sov::smtp::client
