#pragma once
// Delivery status notifications (RFC 3464, RFC 3461 §6): a multipart/report with a human part, a
// message/delivery-status part (one per-recipient block each) and the original message or its
// header (RET=HDRS). Built by the queue for failures, expiry, delay warnings and the success
// notices NOTIFY=SUCCESS asks for ("relayed", "delivered"); sent from the null reverse-path so that
// a DSN never causes another one (RFC 3461 §6.2, RFC 5321 §4.5.5). About a message that needed
// SMTPUTF8 the report is the internationalised one of RFC 6533 (message/global-delivery-status).
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace sov::smtp::queue {

enum class DsnAction {
    Failed,     // permanent failure or expiry
    Delayed,    // still being retried
    Relayed,    // handed to a peer that does not do DSN (NOTIFY=SUCCESS asked)
    Delivered,  // stored in a local mailbox (NOTIFY=SUCCESS asked, RFC 3461 §5.2.2)
};

struct DsnRecipient {
    std::string final_recipient;     // the address tried
    std::string original_recipient;  // ORCPT "type;value", "" if not given
    DsnAction action = DsnAction::Failed;
    std::string status;              // "5.1.1"; derived from `diagnostic` when empty
    std::string remote_mta;          // host that answered, "" if none
    std::string diagnostic;          // "550 5.1.1 No such user" (SMTP reply) or a local reason
    bool diagnostic_is_smtp = true;  // Diagnostic-Code type smtp, else the text goes in a comment
    core::WallTime last_attempt{};
    core::WallTime will_retry_until{};  // Delayed only
};

struct DsnInput {
    std::string reporting_mta;  // our host name
    std::string sender;         // the original reverse-path: the DSN's recipient
    std::string envid;          // ORIGINAL-ENVELOPE-ID, "" if none
    core::WallTime arrival{};
    bool headers_only = false;  // RET=HDRS: return only the header
    std::string_view original;  // the message as queued
    std::vector<DsnRecipient> recipients;
    core::WallTime now{};
    std::string message_id;  // "<id@host>" for the DSN itself
    /// The original was sent with SMTPUTF8: RFC 6533 report (global-delivery-status, utf-8
    /// addresses, message/global or message/global-headers for the original).
    bool utf8 = false;
};

/// The enhanced status code (RFC 3463) of an SMTP reply text ("550 5.1.1 ..." → "5.1.1"), or one
/// derived from its class ("5.0.0", "4.0.0") when it has none.
std::string status_of(std::string_view reply);

/// The address field value of a Final-Recipient or Original-Recipient ("rfc822; a@b"). In a
/// global report (RFC 6533 §3) a non-ASCII address is written as "utf-8; addr", and a utf-8
/// ORCPT's \x{HEX} escapes are decoded (up-converted to utf-8-address).
std::string dsn_address_field(std::string_view type, std::string_view address, bool utf8);

/// The complete DSN message, CRLF line ends.
std::string build_dsn(const DsnInput& input);

}  // namespace sov::smtp::queue
