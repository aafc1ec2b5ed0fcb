#pragma once
// Error codes of the MIME module (only deserialisation of a cached structure can fail: parsing a
// message never fails, it yields a best-effort tree with problem flags).
#include <system_error>

namespace sov::mime {

enum class Errc {
    Ok = 0,
    Truncated,   // the serialised structure ends early
    BadVersion,  // unknown format version byte
    Corrupt,     // an index, length or enum value is out of range
};

const std::error_category& mime_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), mime_category()};
}

}  // namespace sov::mime

template <>
struct std::is_error_code_enum<sov::mime::Errc> : std::true_type {};
