#include "core/errors.hpp"

#include <cerrno>

namespace sov::core {
namespace {
class CoreCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "sov.core"; }
    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
            case Errc::Ok:
                return "ok";
            case Errc::Io:
                return "i/o error";
            case Errc::Corrupt:
                return "data is corrupt";
            case Errc::Invalid:
                return "invalid value";
            case Errc::NotFound:
                return "not found";
            case Errc::Exists:
                return "already exists";
            case Errc::TempFail:
                return "temporary failure";
        }
        return "unknown error";
    }
};
}  // namespace

const std::error_category& core_category() noexcept {
    static const CoreCategory kCategory;
    return kCategory;
}

std::error_code last_os_error() noexcept {
    return {errno, std::system_category()};
}

}  // namespace sov::core
