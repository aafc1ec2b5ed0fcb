#pragma once
// Operational failures are values (STYLE.md §3.4): Result<T> is boost::system::result<T> marked
// [[nodiscard]] so a dropped error warns. Each module defines its own `enum class Errc` with an
// error category; temporary versus permanent lives in the value.
#include <system_error>

#include <boost/system/result.hpp>

namespace sov {

template <class T>
class [[nodiscard]] Result : public boost::system::result<T, std::error_code> {
public:
    using boost::system::result<T, std::error_code>::result;
};

/// Result of an operation that yields nothing but can fail.
using Status = Result<void>;

}  // namespace sov
