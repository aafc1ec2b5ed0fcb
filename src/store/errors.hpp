#pragma once
// Error codes of the message store. Temporary versus permanent lives in the value
// (STYLE.md §3.4): QuotaExceeded and TempFail are temporary, the rest are not.
#include <string>
#include <system_error>

namespace sov::store {

enum class Errc {
    Ok = 0,
    QuotaExceeded,  // temporary: the account is over quota (452 4.2.2 / IMAP [OVERQUOTA])
    NotFound,       // account, mailbox or message does not exist
    Exists,         // mailbox name already taken
    Io,             // an OS call failed; the errno is logged where it happened
    Corrupt,        // the index or the files disagree in a way we cannot repair
    Invalid,        // a name, flag or argument is not acceptable
    TempFail,       // try again later (SQLite busy, store shutting down)
    NoSuchMailbox,  // the target mailbox of COPY/MOVE does not exist (IMAP [TRYCREATE])
};

const std::error_category& store_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), store_category()};
}

}  // namespace sov::store

template <>
struct std::is_error_code_enum<sov::store::Errc> : std::true_type {};
