#pragma once
// Generic error codes for core operations (file system, configuration).
#include <string>
#include <system_error>

namespace sov::core {

enum class Errc {
    Ok = 0,
    Io,       // an OS call failed; the errno is logged where it happened
    Corrupt,  // on-disk data does not parse
    Invalid,  // a value given by a caller or a file is not acceptable
    NotFound,
    Exists,
    TempFail,  // try again later
};

const std::error_category& core_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), core_category()};
}

/// The current errno as a std::error_code in the system category.
std::error_code last_os_error() noexcept;

}  // namespace sov::core

template <>
struct std::is_error_code_enum<sov::core::Errc> : std::true_type {};
