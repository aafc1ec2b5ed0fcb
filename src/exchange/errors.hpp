#pragma once
// Error codes of Maildir/mbox import and export. All are permanent for the run that hit them: the
// operator fixes the input (or the target directory) and runs again.
#include <string>
#include <system_error>

namespace sov::exchange {

enum class Errc {
    Ok = 0,
    NotFound,     // the source path (or a required part of it, e.g. cur/) does not exist
    NotMaildir,   // the source directory has neither cur/ nor new/
    Io,           // an OS call failed; the errno is in the diagnostic
    TooBig,       // a message exceeds the configured limit
    Invalid,      // a name or argument is not acceptable
    TargetInUse,  // the export directory exists and is not empty
    Store,        // the message store refused an operation
};

const std::error_category& exchange_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), exchange_category()};
}

}  // namespace sov::exchange

template <>
struct std::is_error_code_enum<sov::exchange::Errc> : std::true_type {};
