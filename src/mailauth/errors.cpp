#include "mailauth/errors.hpp"

#include <string>

namespace sov::mailauth {
namespace {
class MailauthCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "sov.mailauth"; }
    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
            case Errc::Ok:
                return "ok";
            case Errc::Crypto:
                return "cryptographic operation failed";
            case Errc::BadKey:
                return "not a usable key";
            case Errc::UnsupportedKey:
                return "unsupported key algorithm or size";
            case Errc::BadDomain:
                return "not a canonical domain name";
            case Errc::BadSelector:
                return "not a valid selector";
            case Errc::KeysExist:
                return "the domain already has DKIM keys (use rotate)";
            case Errc::NoKeys:
                return "the domain has no DKIM keys (use keygen)";
            case Errc::RotationPending:
                return "a rotation is already pending";
            case Errc::NoFromField:
                return "the message has no From header field";
            case Errc::BadMessage:
                return "malformed message";
            case Errc::CorruptState:
                return "the DKIM selector state file is corrupt";
        }
        return "unknown error";
    }
};
}  // namespace

const std::error_category& mailauth_category() noexcept {
    static const MailauthCategory kCategory;
    return kCategory;
}

}  // namespace sov::mailauth
