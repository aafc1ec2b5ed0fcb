#include "accounts/errors.hpp"

#include <string>

namespace sov::accounts {
namespace {
class AccountsCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "sov.accounts"; }
    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
            case Errc::Ok:
                return "ok";
            case Errc::NotFound:
                return "not found";
            case Errc::Exists:
                return "already exists";
            case Errc::Invalid:
                return "invalid argument";
            case Errc::InvalidDomain:
                return "invalid domain name";
            case Errc::InvalidAddress:
                return "invalid address or unsafe local part (allowed: ASCII letters, digits, "
                       "'.', '_', '+', '-'; at most 64 octets; no leading '.' or '-', no '..')";
            case Errc::InvalidPassword:
                return "invalid password (empty or too long)";
            case Errc::NotLocalDomain:
                return "domain is not hosted here";
            case Errc::InUse:
                return "domain still has users";
            case Errc::AuthFailed:
                return "authentication failed";
            case Errc::AliasLoop:
                return "alias loop";
            case Errc::AliasTooDeep:
                return "alias nesting too deep";
            case Errc::Storage:
                return "accounts database error";
            case Errc::SchemaTooNew:
                return "accounts database schema is newer than this program";
            case Errc::Crypto:
                return "password hashing failed";
        }
        return "unknown error";
    }
};
}  // namespace

const std::error_category& accounts_category() noexcept {
    static const AccountsCategory kCategory;
    return kCategory;
}

}  // namespace sov::accounts
