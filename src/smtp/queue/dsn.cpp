#include "smtp/queue/dsn.hpp"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "core/ascii.hpp"
#include "core/durable_file.hpp"
#include "core/utf8.hpp"
#include "smtp/wire/trace_headers.hpp"

namespace sov::smtp::queue {

namespace {

std::string date(core::WallTime t) {
    return wire::format_rfc5322_date(core::unix_seconds(t), 0);
}

bool is_status_code(std::string_view s) {
    // class "." subject "." detail (RFC 3463 §2): [245].1*3digit.1*3digit
    if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') {
        return false;
    }
    int dots = 0;
    std::size_t digits = 0;
    for (std::size_t i = 2; i < s.size(); ++i) {
        if (s[i] == '.') {
            if (digits == 0 || ++dots > 1) {
                return false;
            }
            digits = 0;
        } else if (s[i] >= '0' && s[i] <= '9') {
            if (++digits > 3) {
                return false;
            }
        } else {
            return false;
        }
    }
    return dots == 1 && digits > 0;
}

std::string_view action_name(DsnAction action) {
    switch (action) {
        case DsnAction::Failed:
            return "failed";
        case DsnAction::Delayed:
            return "delayed";
        case DsnAction::Relayed:
            return "relayed";
        case DsnAction::Delivered:
            return "delivered";
    }
    return "failed";
}

// Header field values we write come from the envelope and replies: keep them on one line and
// within the 998-octet limit (RFC 5322 §2.1.1).
std::string one_line(std::string_view text, std::size_t max = 900) {
    std::string out;
    for (const char c : text) {
        if (out.size() >= max) {
            break;
        }
        out += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
    }
    return out;
}

// The header of a message: everything up to and including the empty line.
std::string_view header_of(std::string_view message) {
    const auto end = message.find("\r\n\r\n");
    return end == std::string_view::npos ? message : message.substr(0, end + 4);
}

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x80;
    });
}

// RFC 6533 §3: EmbeddedUnicodeChar = %x5C.78 "{" HEXPOINT "}" — "\x{E9}" is U+00E9. The
// utf-8-addr-xtext and -unitext forms are up-converted to utf-8-address by decoding them; a
// value that is not well formed is copied unchanged ("MUST be copied ... without alteration").
std::string decode_unitext(std::string_view value) {
    std::string out;
    for (std::size_t i = 0; i < value.size();) {
        if (value.substr(i, 3) != "\\x{") {
            out += value[i++];
            continue;
        }
        const auto close = value.find('}', i + 3);
        if (close == std::string_view::npos || close == i + 3 || close - (i + 3) > 6) {
            return std::string(value);
        }
        std::uint32_t cp = 0;
        for (std::size_t k = i + 3; k < close; ++k) {
            const char c = value[k];
            const int digit = c >= '0' && c <= '9'   ? c - '0'
                              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                     : -1;
            if (digit < 0) {
                return std::string(value);
            }
            cp = cp * 16 + static_cast<std::uint32_t>(digit);
        }
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return std::string(value);
        }
        core::append_utf8(out, cp);
        i = close + 1;
    }
    return out;
}

}  // namespace

std::string dsn_address_field(std::string_view type, std::string_view address, bool utf8) {
    if (utf8 && core::ascii_iequals(type, "utf-8")) {
        return "utf-8; " + one_line(decode_unitext(address));
    }
    if (utf8 && !is_ascii(address)) {
        // RFC 6533 §3, §4.1: SHOULD use the utf-8-address form for every non-ASCII address.
        return "utf-8; " + one_line(address);
    }
    return fmt::format("{}; {}", one_line(type), one_line(address));
}

std::string status_of(std::string_view reply) {
    // "550 5.1.1 text" or "550-5.1.1 text"
    if (reply.size() >= 4 && (reply[3] == ' ' || reply[3] == '-')) {
        auto rest = reply.substr(4);
        const auto space = rest.find(' ');
        const auto code = rest.substr(0, space);
        if (is_status_code(code) && code[0] == reply[0]) {
            return std::string(code);
        }
    }
    if (!reply.empty() && (reply[0] == '4' || reply[0] == '5')) {
        return std::string(1, reply[0]) + ".0.0";
    }
    return "4.0.0";
}

std::string build_dsn(const DsnInput& in) {
    const bool any_failed = std::any_of(in.recipients.begin(), in.recipients.end(), [](auto& r) {
        return r.action == DsnAction::Failed;
    });
    const bool any_delayed = std::any_of(in.recipients.begin(), in.recipients.end(), [](auto& r) {
        return r.action == DsnAction::Delayed;
    });
    const bool any_relayed = std::any_of(in.recipients.begin(), in.recipients.end(), [](auto& r) {
        return r.action == DsnAction::Relayed;
    });
    // RFC 6533 §4.4, §6: the internationalised report for a message that needed SMTPUTF8.
    const std::string_view report_type = in.utf8 ? "global-delivery-status" : "delivery-status";
    const std::string boundary = "=_sovereign_dsn_" + core::random_id(16);
    std::string out;
    out += fmt::format("From: Mail Delivery System <MAILER-DAEMON@{}>\r\n", in.reporting_mta);
    out += fmt::format("To: <{}>\r\n", one_line(in.sender));
    out += fmt::format(
        "Subject: {}\r\n",
        any_failed    ? "Undelivered Mail Returned to Sender"
        : any_delayed ? "Delayed Mail (still being retried)"
                      : "Successful Mail Delivery Report"
    );
    out += "Date: " + date(in.now) + "\r\n";
    out += "Message-ID: " + in.message_id + "\r\n";
    out += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 §5
    out += "MIME-Version: 1.0\r\n";
    out += fmt::format(
        "Content-Type: multipart/report; report-type={};\r\n boundary=\"{}\"\r\n",
        report_type,
        boundary
    );
    out += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

    // 1. The human-readable part (RFC 3464 §2: first part of the multipart/report).
    out += "--" + boundary + "\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Transfer-Encoding: 8bit\r\n\r\n";
    out += fmt::format("This is the mail system at {}.\r\n\r\n", in.reporting_mta);
    if (any_failed) {
        out += "Your message could not be delivered to one or more recipients.\r\n";
        out += "It is attached below.\r\n\r\n";
    } else if (any_delayed) {
        out += "Your message has not been delivered yet to one or more recipients.\r\n";
        out += "Delivery will be retried; you do not need to send it again.\r\n\r\n";
    } else if (any_relayed) {
        out += "Your message was passed on to a system that does not send delivery\r\n";
        out += "notifications; no further notice will come from there.\r\n\r\n";
    } else {
        out += "Your message was delivered to the mailbox of the recipients below.\r\n\r\n";
    }
    for (const auto& r : in.recipients) {
        out += fmt::format("<{}>: {}\r\n", one_line(r.final_recipient), one_line(r.diagnostic));
        if (!r.remote_mta.empty()) {
            out += fmt::format("    (reported by {})\r\n", one_line(r.remote_mta));
        }
    }
    out += "\r\n";

    // 2. message/delivery-status (RFC 3464 §2.2, §2.3), or message/global-delivery-status
    // (RFC 6533 §4.1: the same fields, UTF-8 allowed, 8bit encoding).
    out += "--" + boundary + "\r\n";
    out += fmt::format("Content-Type: message/{}\r\n", report_type);
    out += in.utf8 ? "Content-Transfer-Encoding: 8bit\r\n\r\n" : "\r\n";
    out += fmt::format("Reporting-MTA: dns; {}\r\n", in.reporting_mta);
    if (!in.envid.empty()) {
        out += fmt::format("Original-Envelope-Id: {}\r\n", one_line(in.envid));
    }
    out += "Arrival-Date: " + date(in.arrival) + "\r\n";
    for (const auto& r : in.recipients) {
        out += "\r\n";
        if (const auto semi = r.original_recipient.find(';');
            in.utf8 && semi != std::string::npos) {
            // Stored "type;value" with the value xtext-decoded (RFC 3461 §4.2).
            std::string_view type(r.original_recipient);
            type = type.substr(0, semi);
            while (!type.empty() && type.back() == ' ') {
                type.remove_suffix(1);
            }
            auto value = std::string_view(r.original_recipient).substr(semi + 1);
            while (!value.empty() && value.front() == ' ') {
                value.remove_prefix(1);
            }
            out += "Original-Recipient: " + dsn_address_field(type, value, in.utf8) + "\r\n";
        } else if (!r.original_recipient.empty()) {
            out += fmt::format("Original-Recipient: {}\r\n", one_line(r.original_recipient));
        }
        out +=
            "Final-Recipient: " + dsn_address_field("rfc822", r.final_recipient, in.utf8) + "\r\n";
        out += fmt::format("Action: {}\r\n", action_name(r.action));
        out += fmt::format(
            "Status: {}\r\n",
            !r.status.empty() ? r.status
            : r.action == DsnAction::Relayed || r.action == DsnAction::Delivered
                ? std::string("2.0.0")
            : r.action == DsnAction::Delayed ? "4" + status_of(r.diagnostic).substr(1)
                                             : status_of(r.diagnostic)
        );
        if (!r.remote_mta.empty()) {
            out += fmt::format("Remote-MTA: dns; {}\r\n", one_line(r.remote_mta));
        }
        if (!r.diagnostic.empty()) {
            if (r.diagnostic_is_smtp) {
                out += fmt::format("Diagnostic-Code: smtp; {}\r\n", one_line(r.diagnostic));
            } else {
                out += fmt::format("Diagnostic-Code: X-Sovereign; {}\r\n", one_line(r.diagnostic));
            }
        }
        if (r.last_attempt != core::WallTime{}) {
            out += "Last-Attempt-Date: " + date(r.last_attempt) + "\r\n";
        }
        if (r.action == DsnAction::Delayed && r.will_retry_until != core::WallTime{}) {
            out += "Will-Retry-Until: " + date(r.will_retry_until) + "\r\n";
        }
    }
    out += "\r\n";

    // 3. The original (RFC 3464 §2: message/rfc822, or text/rfc822-headers for RET=HDRS).
    out += "--" + boundary + "\r\n";
    const std::string_view returned = in.headers_only ? header_of(in.original) : in.original;
    // RFC 6533 §4.2, §4.3: message/global and message/global-headers carry a UTF-8 header.
    if (in.utf8) {
        out += in.headers_only ? "Content-Type: message/global-headers\r\n"
                               : "Content-Type: message/global\r\n";
        out += "Content-Transfer-Encoding: 8bit\r\n\r\n";
    } else {
        out += in.headers_only ? "Content-Type: text/rfc822-headers\r\n\r\n"
                               : "Content-Type: message/rfc822\r\n\r\n";
    }
    out += returned;
    // The closing delimiter must start a line (RFC 2046 §5.1.1), also after a header without
    // its empty line or final CRLF.
    if (!returned.empty() && !returned.ends_with("\r\n")) {
        out += "\r\n";
    }
    out += "--" + boundary + "--\r\n";
    return out;
}

}  // namespace sov::smtp::queue
