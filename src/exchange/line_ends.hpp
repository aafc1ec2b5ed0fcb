#pragma once
// Line ends. The store keeps messages as received on the wire, with CRLF (RFC 5322 §2.1); Maildir
// and mbox files written by Dovecot, mutt and most tools use LF. Import converts bare LF to CRLF,
// export converts CRLF to LF, so a message read from Dovecot comes back with the same bytes.
#include <cstdint>
#include <string>
#include <string_view>

namespace sov::exchange {

/// Bare LF → CRLF, in any chunking (a CR at the end of one chunk pairs with an LF starting the
/// next). CRLF and lone CR are kept.
class CrlfWriter {
public:
    /// Appends the converted `chunk` to `out`.
    void convert(std::string_view chunk, std::string& out);

private:
    bool last_was_cr_ = false;
};

/// CRLF → LF (lone CR and bare LF are kept).
std::string to_lf(std::string_view message);

/// Number of '\n' bytes (for Dovecot's W= virtual size).
std::uint64_t count_lf(std::string_view text) noexcept;

}  // namespace sov::exchange
