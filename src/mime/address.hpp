#pragma once
// RFC 5322 §3.4 address lists (with §4.4 obsolete syntax), in the shape IMAP ENVELOPE needs
// (RFC 3501 §7.4.2: name, adl, mailbox, host, plus group start/end markers).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sov::mime {

struct Address {
    enum class Kind : std::uint8_t {
        Mailbox,     // an ordinary address
        GroupStart,  // `name` holds the group's display name (IMAP: mailbox slot, host NIL)
        GroupEnd,    // end of the group (IMAP: all NIL)
    };
    Kind kind = Kind::Mailbox;
    std::string name;  // display name, unquoted, RFC 2047-decoded to UTF-8; empty if none
    /// The display name as written (unquoted, comments dropped, encoded-words kept): what IMAP
    /// ENVELOPE sends (RFC 9051 §7.5.2 sends header values undecoded).
    std::string raw_name;
    std::string adl;      // obsolete source route "@a,@b" without the ':' (RFC 5322 §4.4)
    std::string mailbox;  // local part (quotes removed); never empty for Kind::Mailbox
    std::string host;     // domain; empty when the address had no '@' ("To: Someone")
    bool operator==(const Address&) const = default;
};

/// Parses an address-list / mailbox-list field value (raw, possibly folded). Never fails:
/// unparsable items are skipped. If there is no display name, a comment after the address
/// ("joe@x (Joe)") is used as the name, as Dovecot does.
[[nodiscard]] std::vector<Address> parse_address_list(std::string_view raw);

/// The display form of an address list, as IMAP SEARCH FROM/TO/CC/BCC match it and as the
/// full-text index keeps it: "Name <mailbox@host>, mailbox@host, Group: a@b;" (names decoded).
void append_address_display(std::string& out, const std::vector<Address>& list);

}  // namespace sov::mime
