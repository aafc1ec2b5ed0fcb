#include "mime/errors.hpp"

#include <string>

namespace sov::mime {
namespace {

class Category final : public std::error_category {
public:
    const char* name() const noexcept override { return "mime"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
            case Errc::Ok:
                return "ok";
            case Errc::Truncated:
                return "serialised message structure is truncated";
            case Errc::BadVersion:
                return "unknown message structure format version";
            case Errc::Corrupt:
                return "serialised message structure is corrupt";
        }
        return "unknown mime error";
    }
};

}  // namespace

const std::error_category& mime_category() noexcept {
    static const Category category;
    return category;
}

}  // namespace sov::mime
