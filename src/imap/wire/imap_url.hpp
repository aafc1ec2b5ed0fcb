#pragma once
// The IMAP URLs a CATENATE part may name (RFC 4469 §3): a message, or a part of one, in a
// mailbox of the session's own user, as a relative IMAP URL (RFC 5092 §5-§6):
//
//   /Archive/2026;UIDVALIDITY=385759045/;UID=20/;SECTION=1.2.MIME/;PARTIAL=0.1024
//   ;UID=20/;SECTION=HEADER          (relative to the selected mailbox)
//
// Anything else is refused: absolute URLs (`imap://...`, another server or user, RFC 4469
// §3 leaves them out), message lists, URLAUTH (RFC 4467), bad syntax or percent-encoding.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "imap/wire/ast.hpp"

namespace sov::imap::wire {

struct MessagePartUrl {
    /// UTF-8 (RFC 5092 §9: modified UTF-7 is not used in URLs), percent-decoded; nullopt for
    /// a URL relative to the selected mailbox.
    std::optional<std::string> mailbox;
    std::optional<std::uint32_t> uid_validity;
    std::uint32_t uid = 0;
    Section section;  ///< empty: the whole message
    /// RFC 5092 partial-range: offset, and length if given (else to the end).
    std::optional<Partial> partial;
    bool operator==(const MessagePartUrl&) const = default;
};

/// Longest URL accepted: more than any mailbox name plus the message part specifiers.
inline constexpr std::size_t kMaxImapUrl = 4096;

[[nodiscard]] std::optional<MessagePartUrl> parse_message_part_url(std::string_view url);

}  // namespace sov::imap::wire
