#include "exchange/errors.hpp"

namespace sov::exchange {
namespace {
class ExchangeCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "sov.exchange"; }
    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
            case Errc::Ok:
                return "ok";
            case Errc::NotFound:
                return "no such file or directory";
            case Errc::NotMaildir:
                return "not a Maildir (no cur/ or new/)";
            case Errc::Io:
                return "i/o error";
            case Errc::TooBig:
                return "message too big";
            case Errc::Invalid:
                return "invalid argument";
            case Errc::TargetInUse:
                return "target directory exists and is not empty";
            case Errc::Store:
                return "message store error";
        }
        return "unknown error";
    }
};
}  // namespace

const std::error_category& exchange_category() noexcept {
    static const ExchangeCategory kCategory;
    return kCategory;
}

}  // namespace sov::exchange
