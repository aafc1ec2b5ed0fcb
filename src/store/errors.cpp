#include "store/errors.hpp"

namespace sov::store {
namespace {
class StoreCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "sov.store"; }
    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
            case Errc::Ok:
                return "ok";
            case Errc::QuotaExceeded:
                return "quota exceeded";
            case Errc::NotFound:
                return "not found";
            case Errc::Exists:
                return "already exists";
            case Errc::Io:
                return "i/o error";
            case Errc::Corrupt:
                return "store is corrupt";
            case Errc::Invalid:
                return "invalid argument";
            case Errc::TempFail:
                return "temporary failure";
            case Errc::NoSuchMailbox:
                return "no such target mailbox";
        }
        return "unknown error";
    }
};
}  // namespace

const std::error_category& store_category() noexcept {
    static const StoreCategory kCategory;
    return kCategory;
}

}  // namespace sov::store
