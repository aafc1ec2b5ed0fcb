#include "smtp/queue/dsn.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sov::smtp::queue {
namespace {

using std::chrono::seconds;

const core::WallTime kArrival{seconds{1'750'000'000}};

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto eol = text.find("\r\n", pos);
        if (eol == std::string_view::npos) {
            out.emplace_back(text.substr(pos));
            break;
        }
        out.emplace_back(text.substr(pos, eol - pos));
        pos = eol + 2;
    }
    return out;
}

bool has_line(std::string_view text, std::string_view line) {
    for (const auto& l : lines_of(text)) {
        if (l == line) {
            return true;
        }
    }
    return false;
}

// The boundary given in the top-level Content-Type.
std::string boundary_of(std::string_view dsn) {
    const auto key = dsn.find("boundary=\"");
    if (key == std::string_view::npos) {
        return {};
    }
    const auto start = key + 10;
    return std::string(dsn.substr(start, dsn.find('"', start) - start));
}

// The body parts between the boundary delimiters (each still with its own header).
std::vector<std::string> parts_of(std::string_view dsn) {
    const auto b = boundary_of(dsn);
    std::vector<std::string> parts;
    const std::string delimiter = "\r\n--" + b;
    auto pos = dsn.find(delimiter);
    while (pos != std::string_view::npos) {
        auto after = pos + delimiter.size();
        if (dsn.substr(after, 2) == "--") {
            break;  // close delimiter
        }
        after += 2;  // CRLF after the delimiter
        const auto next = dsn.find(delimiter, after);
        if (next == std::string_view::npos) {
            parts.emplace_back(dsn.substr(after));
            break;
        }
        parts.emplace_back(dsn.substr(after, next - after));
        pos = next;
    }
    return parts;
}

const char* kOriginal =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.com\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "The body line.\r\n";

DsnInput failed_input() {
    DsnInput in;
    in.reporting_mta = "mail.example.org";
    in.sender = "alice@example.org";
    in.arrival = kArrival;
    in.now = kArrival + seconds{3600};
    in.original = kOriginal;
    in.message_id = "<dsn1@mail.example.org>";
    DsnRecipient r;
    r.final_recipient = "bob@example.com";
    r.original_recipient = "rfc822;bob@example.com";
    r.action = DsnAction::Failed;
    r.remote_mta = "mx.example.com";
    r.diagnostic = "550 5.1.1 No such user";
    r.last_attempt = kArrival + seconds{60};
    in.recipients.push_back(r);
    return in;
}

TEST(StatusOf, EnhancedCodeAfterReplyCode) {
    EXPECT_EQ(status_of("550 5.1.1 x"), "5.1.1");
    EXPECT_EQ(status_of("550-5.1.1 x"), "5.1.1");
    EXPECT_EQ(status_of("550-5.1.1"), "5.1.1");
    EXPECT_EQ(status_of("452 4.2.2 Mailbox full"), "4.2.2");
    EXPECT_EQ(status_of("554 5.7.123 policy"), "5.7.123");
    EXPECT_EQ(status_of("250 2.0.0 Ok"), "2.0.0");
}

TEST(StatusOf, DerivedFromClassWhenMissingOrWrong) {
    EXPECT_EQ(status_of("451 no code"), "4.0.0");
    EXPECT_EQ(status_of("550 no code"), "5.0.0");
    EXPECT_EQ(status_of("550"), "5.0.0");
    EXPECT_EQ(status_of("550 4.1.1 mismatched class"), "5.0.0");
    EXPECT_EQ(status_of("450 5.1.1 mismatched class"), "4.0.0");
    EXPECT_EQ(status_of("550 5.1 too short"), "5.0.0");
    EXPECT_EQ(status_of("550 5.1.1234 detail too long"), "5.0.0");
    EXPECT_EQ(status_of("550 5..1 empty subject"), "5.0.0");
    EXPECT_EQ(status_of("550 5.1.1.1 extra"), "5.0.0");
    EXPECT_EQ(status_of("550 3.1.1 bad class"), "5.0.0");
}

TEST(StatusOf, Garbage) {
    EXPECT_EQ(status_of(""), "4.0.0");
    EXPECT_EQ(status_of("connect: refused"), "4.0.0");
    EXPECT_EQ(status_of("\r\n"), "4.0.0");
    EXPECT_EQ(status_of("abc 5.1.1"), "4.0.0");
    EXPECT_EQ(status_of(std::string_view("5\0\0\0", 4)), "5.0.0");
    EXPECT_EQ(status_of("55"), "5.0.0");
}

TEST(BuildDsn, Structure) {
    const auto dsn = build_dsn(failed_input());
    const auto boundary = boundary_of(dsn);
    ASSERT_FALSE(boundary.empty());

    // Top-level header (RFC 3464 §2, RFC 6522).
    const auto header_end = dsn.find("\r\n\r\n");
    ASSERT_NE(header_end, std::string::npos);
    const auto header = dsn.substr(0, header_end + 2);
    EXPECT_NE(header.find("To: <alice@example.org>\r\n"), std::string::npos);
    EXPECT_NE(
        header.find("From: Mail Delivery System <MAILER-DAEMON@mail.example.org>\r\n"),
        std::string::npos
    );
    EXPECT_NE(header.find("Message-ID: <dsn1@mail.example.org>\r\n"), std::string::npos);
    EXPECT_NE(header.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
    EXPECT_NE(header.find("MIME-Version: 1.0\r\n"), std::string::npos);
    EXPECT_NE(header.find("Date: "), std::string::npos);
    EXPECT_NE(
        header.find("Content-Type: multipart/report; report-type=delivery-status;"),
        std::string::npos
    );
    EXPECT_TRUE(dsn.ends_with("--" + boundary + "--\r\n"));

    const auto parts = parts_of(dsn);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(parts[0].starts_with("Content-Type: text/plain"));
    EXPECT_NE(parts[0].find("bob@example.com"), std::string::npos);
    EXPECT_TRUE(parts[1].starts_with("Content-Type: message/delivery-status\r\n\r\n"));
    EXPECT_TRUE(parts[2].starts_with("Content-Type: message/rfc822\r\n\r\n"));

    // Per-message then per-recipient fields (RFC 3464 §2.2, §2.3).
    const auto& status = parts[1];
    EXPECT_TRUE(has_line(status, "Reporting-MTA: dns; mail.example.org"));
    EXPECT_NE(status.find("Arrival-Date: "), std::string::npos);
    EXPECT_FALSE(has_line(status, "Original-Envelope-Id: "));
    EXPECT_EQ(status.find("Original-Envelope-Id:"), std::string::npos);
    EXPECT_TRUE(has_line(status, "Original-Recipient: rfc822;bob@example.com"));
    EXPECT_TRUE(has_line(status, "Final-Recipient: rfc822; bob@example.com"));
    EXPECT_TRUE(has_line(status, "Action: failed"));
    EXPECT_TRUE(has_line(status, "Status: 5.1.1"));
    EXPECT_TRUE(has_line(status, "Remote-MTA: dns; mx.example.com"));
    EXPECT_TRUE(has_line(status, "Diagnostic-Code: smtp; 550 5.1.1 No such user"));
    EXPECT_NE(status.find("Last-Attempt-Date: "), std::string::npos);
    EXPECT_EQ(status.find("Will-Retry-Until:"), std::string::npos);
    // The per-recipient block is separated from the per-message one by an empty line.
    EXPECT_NE(status.find("\r\n\r\nOriginal-Recipient: "), std::string::npos);

    // The whole original is returned (its final CRLF belongs to the delimiter, RFC 2046 §5.1.1).
    const std::string original(kOriginal);
    EXPECT_EQ(parts[2] + "\r\n", "Content-Type: message/rfc822\r\n\r\n" + original);
}

TEST(BuildDsn, EveryLineEndsWithCrlf) {
    auto in = failed_input();
    in.recipients[0].diagnostic = "550 5.1.1 bad\nthing\rhere";
    in.envid = "id\r\nwith-lf";
    for (bool headers_only : {false, true}) {
        in.headers_only = headers_only;
        const auto dsn = build_dsn(in);
        ASSERT_TRUE(dsn.ends_with("\r\n"));
        for (std::size_t i = 0; i < dsn.size(); ++i) {
            if (dsn[i] == '\n') {
                ASSERT_TRUE(i > 0 && dsn[i - 1] == '\r') << "bare LF at " << i;
            }
            if (dsn[i] == '\r') {
                ASSERT_TRUE(i + 1 < dsn.size() && dsn[i + 1] == '\n') << "bare CR at " << i;
            }
        }
    }
}

TEST(BuildDsn, EnvelopeIdWhenGiven) {
    auto in = failed_input();
    in.envid = "QQ314159";
    const auto parts = parts_of(build_dsn(in));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has_line(parts[1], "Original-Envelope-Id: QQ314159"));
}

TEST(BuildDsn, HeadersOnlyReturnsOnlyTheHeader) {
    auto in = failed_input();
    in.headers_only = true;
    const auto dsn = build_dsn(in);
    const auto parts = parts_of(dsn);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(parts[2].starts_with("Content-Type: text/rfc822-headers\r\n\r\n"));
    EXPECT_EQ(dsn.find("The body line."), std::string::npos);
    EXPECT_NE(parts[2].find("Subject: hello\r\n"), std::string::npos);
    EXPECT_EQ(parts[2].find("message/rfc822"), std::string::npos);
}

TEST(BuildDsn, HeadersOnlyOfMessageWithoutBody) {
    // No empty line and no final CRLF: the closing delimiter must still start a line.
    auto in = failed_input();
    in.headers_only = true;
    in.original = "Subject: only a header";
    const auto dsn = build_dsn(in);
    const auto boundary = boundary_of(dsn);
    EXPECT_TRUE(dsn.ends_with("\r\n--" + boundary + "--\r\n")) << dsn;
    EXPECT_EQ(parts_of(dsn).size(), 3u);
}

TEST(BuildDsn, OriginalWithoutFinalCrlf) {
    auto in = failed_input();
    in.original = "Subject: x\r\n\r\nno final line end";
    const auto dsn = build_dsn(in);
    const auto boundary = boundary_of(dsn);
    EXPECT_TRUE(dsn.ends_with("no final line end\r\n--" + boundary + "--\r\n")) << dsn;
}

TEST(BuildDsn, LineBreaksInValuesCannotInjectFields) {
    auto in = failed_input();
    in.sender = "alice@example.org>\r\nBcc: victim@example.net";
    in.envid = "E\r\nX-Injected-Envid: 1";
    in.recipients[0].final_recipient = "bob@example.com\r\nX-Injected-Rcpt: 1";
    in.recipients[0].original_recipient = "rfc822;bob\nX-Injected-Orcpt: 1";
    in.recipients[0].remote_mta = "mx\rX-Injected-Mta: 1";
    in.recipients[0].diagnostic = "550 5.1.1 no\r\nX-Injected-Diag: 1\r\n\r\nBody: 1";
    in.recipients.push_back(DsnRecipient{
        .final_recipient = "carol@example.com",
        .original_recipient = "",
        .action = DsnAction::Failed,
        .status = "",
        .remote_mta = "",
        .diagnostic = "connect: refused\nX-Injected-Local: 1",
        .diagnostic_is_smtp = false,
        .last_attempt = {},
        .will_retry_until = {},
    });
    const auto dsn = build_dsn(in);
    for (const auto& line : lines_of(dsn)) {
        EXPECT_FALSE(line.starts_with("Bcc:")) << line;
        EXPECT_FALSE(line.starts_with("X-Injected")) << line;
        EXPECT_FALSE(line.starts_with("Body:")) << line;
        EXPECT_EQ(line.find('\r'), std::string::npos);
        EXPECT_EQ(line.find('\n'), std::string::npos);
    }
    const auto parts = parts_of(dsn);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(
        has_line(parts[1], "Diagnostic-Code: smtp; 550 5.1.1 no  X-Injected-Diag: 1    Body: 1")
    );
    EXPECT_TRUE(
        has_line(parts[1], "Diagnostic-Code: X-Sovereign; connect: refused X-Injected-Local: 1")
    );
    EXPECT_TRUE(has_line(parts[1], "Status: 4.0.0"));  // "connect: refused" has no code
}

TEST(BuildDsn, LongValuesAreCut) {
    auto in = failed_input();
    in.recipients[0].diagnostic = "550 5.1.1 " + std::string(5000, 'x');
    for (const auto& line : lines_of(build_dsn(in))) {
        EXPECT_LE(line.size(), 998u);
    }
}

TEST(BuildDsn, TwoRecipientsTwoBlocks) {
    auto in = failed_input();
    auto second = in.recipients[0];
    second.final_recipient = "carol@example.com";
    second.original_recipient.clear();
    second.diagnostic = "552 5.2.2 Mailbox full";
    second.status = "5.2.2";
    in.recipients.push_back(second);
    const auto parts = parts_of(build_dsn(in));
    ASSERT_EQ(parts.size(), 3u);
    const auto& s = parts[1];
    const auto first_block = s.find("Final-Recipient: rfc822; bob@example.com");
    const auto second_block = s.find("\r\n\r\nFinal-Recipient: rfc822; carol@example.com");
    ASSERT_NE(first_block, std::string::npos);
    ASSERT_NE(second_block, std::string::npos);
    EXPECT_LT(first_block, second_block);
    EXPECT_TRUE(has_line(s, "Status: 5.2.2"));
}

TEST(BuildDsn, DelayedAndRelayed) {
    auto in = failed_input();
    in.recipients[0].action = DsnAction::Delayed;
    in.recipients[0].diagnostic = "550 5.1.1 still trying";  // a delayed status is 4.x.x
    in.recipients[0].will_retry_until = kArrival + seconds{5 * 86400};
    auto dsn = build_dsn(in);
    auto parts = parts_of(dsn);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has_line(parts[1], "Action: delayed"));
    EXPECT_TRUE(has_line(parts[1], "Status: 4.1.1"));
    EXPECT_NE(parts[1].find("Will-Retry-Until: "), std::string::npos);
    EXPECT_NE(dsn.find("Subject: Delayed Mail"), std::string::npos);

    in.recipients[0].action = DsnAction::Relayed;
    in.recipients[0].diagnostic = "250 2.0.0 ok";
    parts = parts_of(build_dsn(in));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has_line(parts[1], "Action: relayed"));
    EXPECT_TRUE(has_line(parts[1], "Status: 2.0.0"));
    EXPECT_EQ(parts[1].find("Will-Retry-Until:"), std::string::npos);
}

TEST(BuildDsn, DeliveredNoticeReturnsTheHeader) {
    // RFC 3461 §5.2.2: "delivered" for a local mailbox; §4.3: only the header comes back.
    auto in = failed_input();
    in.headers_only = true;
    in.recipients[0].action = DsnAction::Delivered;
    in.recipients[0].remote_mta.clear();
    in.recipients[0].diagnostic = "250 2.0.0 <bob@example.com> delivered";
    const auto dsn = build_dsn(in);
    const auto parts = parts_of(dsn);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has_line(parts[1], "Action: delivered"));
    EXPECT_TRUE(has_line(parts[1], "Status: 2.0.0"));
    EXPECT_EQ(parts[1].find("Remote-MTA:"), std::string::npos);
    EXPECT_NE(dsn.find("Subject: Successful Mail Delivery Report"), std::string::npos);
    EXPECT_NE(parts[0].find("was delivered to the mailbox"), std::string::npos);
    EXPECT_TRUE(parts[2].starts_with("Content-Type: text/rfc822-headers\r\n\r\n"));
    EXPECT_EQ(parts[2].find("The body line."), std::string::npos);
}

TEST(BuildDsn, RelayedNoticeSaysNoMoreWillCome) {
    auto in = failed_input();
    in.recipients[0].action = DsnAction::Relayed;
    in.recipients[0].diagnostic = "250 2.0.0 Ok: queued as 1234";
    const auto parts = parts_of(build_dsn(in));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_NE(parts[0].find("does not send delivery"), std::string::npos);
    EXPECT_TRUE(has_line(parts[1], "Action: relayed"));
    EXPECT_TRUE(has_line(parts[1], "Remote-MTA: dns; mx.example.com"));
    EXPECT_TRUE(has_line(parts[1], "Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 1234"));
}

// ---- RFC 6533: internationalised DSNs ----

const char* kUtf8Original =
    "From: J\xc3\xb6rg <j\xc3\xb6rg@example.org>\r\n"
    "To: \xe7\x94\xa8\xe6\x88\xb7@example.com\r\n"
    "Subject: gr\xc3\xbc\xc3\x9f\r\n"
    "\r\n"
    "Body.\r\n";

DsnInput utf8_input() {
    auto in = failed_input();
    in.utf8 = true;
    in.sender = "j\xc3\xb6rg@example.org";
    in.original = kUtf8Original;
    in.recipients[0].final_recipient = "\xe7\x94\xa8\xe6\x88\xb7@example.com";
    in.recipients[0].original_recipient = "utf-8;\\x{7528}\\x{6237}@example.com";
    return in;
}

TEST(BuildDsn, GlobalDeliveryStatusForSmtpUtf8) {
    const auto dsn = build_dsn(utf8_input());
    EXPECT_NE(
        dsn.find("Content-Type: multipart/report; report-type=global-delivery-status;"),
        std::string::npos
    );
    const auto parts = parts_of(dsn);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(parts[1].starts_with(
        "Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ));
    // §3: the utf-8 address type, in its utf-8-address form, for a non-ASCII address; the
    // ORCPT's unitext escapes up-converted (§3, §4.1).
    EXPECT_TRUE(has_line(parts[1], "Final-Recipient: utf-8; \xe7\x94\xa8\xe6\x88\xb7@example.com"));
    EXPECT_TRUE(
        has_line(parts[1], "Original-Recipient: utf-8; \xe7\x94\xa8\xe6\x88\xb7@example.com")
    );
    EXPECT_TRUE(has_line(parts[1], "Action: failed"));
    // §4.2: the original as message/global, its UTF-8 header intact.
    EXPECT_TRUE(parts[2].starts_with(
        "Content-Type: message/global\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ));
    EXPECT_NE(parts[2].find("Subject: gr\xc3\xbc\xc3\x9f"), std::string::npos);
    EXPECT_NE(dsn.find("To: <j\xc3\xb6rg@example.org>"), std::string::npos);
}

TEST(BuildDsn, GlobalHeadersForHeadersOnly) {
    auto in = utf8_input();
    in.headers_only = true;
    const auto parts = parts_of(build_dsn(in));
    ASSERT_EQ(parts.size(), 3u);
    // §4.3: message/global-headers, only the header.
    EXPECT_TRUE(parts[2].starts_with(
        "Content-Type: message/global-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ));
    EXPECT_EQ(parts[2].find("Body."), std::string::npos);
}

TEST(BuildDsn, GlobalReportKeepsAsciiAddressesAsRfc822) {
    auto in = utf8_input();
    in.recipients[0].final_recipient = "bob@example.com";
    in.recipients[0].original_recipient = "rfc822;bob@example.com";
    const auto parts = parts_of(build_dsn(in));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has_line(parts[1], "Final-Recipient: rfc822; bob@example.com"));
    EXPECT_TRUE(has_line(parts[1], "Original-Recipient: rfc822; bob@example.com"));
}

TEST(DsnAddressField, Forms) {
    EXPECT_EQ(dsn_address_field("rfc822", "a@example.com", false), "rfc822; a@example.com");
    EXPECT_EQ(dsn_address_field("rfc822", "a@example.com", true), "rfc822; a@example.com");
    EXPECT_EQ(
        dsn_address_field("rfc822", "\xc3\xa9@example.com", true), "utf-8; \xc3\xa9@example.com"
    );
    EXPECT_EQ(
        dsn_address_field("UTF-8", "\\x{E9}@example.com", true), "utf-8; \xc3\xa9@example.com"
    );
    EXPECT_EQ(
        dsn_address_field("utf-8", "\\x{1F600}x@example.com", true),
        "utf-8; \xf0\x9f\x98\x80x@example.com"
    );
    // Not well formed: copied unchanged (RFC 6533 §3).
    EXPECT_EQ(
        dsn_address_field("utf-8", "\\x{ZZ}@example.com", true), "utf-8; \\x{ZZ}@example.com"
    );
    EXPECT_EQ(
        dsn_address_field("utf-8", "\\x{D800}@example.com", true), "utf-8; \\x{D800}@example.com"
    );
    EXPECT_EQ(dsn_address_field("utf-8", "\\x{E9@example.com", true), "utf-8; \\x{E9@example.com");
    // Line breaks never reach the field.
    EXPECT_EQ(dsn_address_field("rfc822", "a\r\nX: y", false), "rfc822; a  X: y");
}

TEST(BuildDsn, BoundaryIsFresh) {
    const auto a = boundary_of(build_dsn(failed_input()));
    const auto b = boundary_of(build_dsn(failed_input()));
    EXPECT_NE(a, b);
    // It must not occur in the original message either; a random one is that safeguard.
    EXPECT_EQ(std::string_view(kOriginal).find(a), std::string_view::npos);
}

}  // namespace
}  // namespace sov::smtp::queue
