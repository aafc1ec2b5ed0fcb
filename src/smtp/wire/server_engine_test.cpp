#include "smtp/wire/server_engine.hpp"

#include <string>

#include <gtest/gtest.h>

#include "smtp/wire/detail/session_harness.hpp"
#include "smtp/wire/trace_headers.hpp"

namespace sov::smtp::wire {
namespace {

using detail::SessionHarness;

ServerConfig mx_config() {
    ServerConfig c;
    c.hostname = "mx.example.org";
    c.tls_available = true;
    c.limits.max_message_bytes = 1000;
    c.limits.max_recipients = 3;
    return c;
}

// Lines of server output after the greeting, without CRLF.
std::vector<std::string> lines_of(const std::string& out) {
    std::vector<std::string> v;
    std::size_t pos = 0;
    while (pos < out.size()) {
        const auto e = out.find("\r\n", pos);
        v.push_back(out.substr(pos, e - pos));
        pos = e + 2;
    }
    return v;
}

std::vector<std::string> run(const ServerConfig& c, std::string_view input) {
    SessionHarness h(c);
    h.feed(input);
    auto v = lines_of(h.output());
    v.erase(v.begin());  // greeting
    return v;
}

const std::string kEhlo = "EHLO client.example\r\n";
constexpr std::size_t kEhloLines = 9;  // hostname + 8 extensions with mx_config()

TEST(ServerEngine, GreetingAndEhlo) {
    SessionHarness h(mx_config());
    h.feed(kEhlo);
    EXPECT_EQ(
        h.output(),
        "220 mx.example.org ESMTP Sovereign\r\n"
        "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
        "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-CHUNKING\r\n"
        "250 DSN\r\n"
    );
    EXPECT_EQ(h.engine().with_keyword(), "ESMTP");
}

TEST(ServerEngine, Rfc2920PipeliningExample) {
    // RFC 2920 §3.1 example: MAIL, 3 RCPT and DATA in one write; replies come back together.
    SessionHarness h(mx_config());
    h.feed(kEhlo);
    h.feed(
        "MAIL FROM:<mrose@dbc.mtview.ca.us>\r\nRCPT TO:<ned@innosoft.com>\r\n"
        "RCPT TO:<dan@innosoft.com>\r\nRCPT TO:<kvc@innosoft.com>\r\nDATA\r\n"
    );
    auto v = lines_of(h.output());
    ASSERT_EQ(v.size(), 1 + kEhloLines + 5);
    EXPECT_EQ(v[kEhloLines + 1], "250 2.1.0 Ok");
    EXPECT_EQ(v[kEhloLines + 4], "250 2.1.5 Ok");
    EXPECT_EQ(v[kEhloLines + 5], "354 End data with <CR><LF>.<CR><LF>");
    h.feed("Subject: t\r\n\r\n..hi\r\n.\r\nQUIT\r\n");
    ASSERT_EQ(h.delivered().size(), 1U);
    EXPECT_EQ(h.delivered()[0].body, "Subject: t\r\n\r\n.hi\r\n");
    EXPECT_EQ(h.delivered()[0].envelope.recipients.size(), 3U);
    EXPECT_TRUE(h.closed());
    EXPECT_TRUE(h.buffer().empty());
}

TEST(ServerEngine, SplitAtEveryOffsetIsIdentical) {
    const std::string session =
        kEhlo +
        "MAIL FROM:<a@b.example> SIZE=20 RET=HDRS ENVID=x+2By\r\n"
        "RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+40d.example\r\n"
        "RCPT TO:<unknown@d.example>\r\nDATA\r\nline\r\n..dot\r\n.\r\n"
        "MAIL FROM:<>\r\nRCPT TO:<c@d.example>\r\nBDAT 5\r\nhelloBDAT 0 LAST\r\n"
        "NOOP\r\nBOGUS\r\nQUIT\r\n";
    const auto verdict = [](const Recipient& r) {
        return r.path.mailbox.local_part == "unknown" ? Reply{550, "5.1.1", "No such user"}
                                                      : Reply{250, "2.1.5", "Ok"};
    };
    SessionHarness whole(mx_config());
    whole.rcpt_verdict = verdict;
    whole.feed(session);
    ASSERT_TRUE(whole.closed());
    ASSERT_EQ(whole.delivered().size(), 2U);
    EXPECT_EQ(whole.delivered()[0].body, "line\r\n.dot\r\n");
    EXPECT_EQ(whole.delivered()[1].body, "hello");
    const auto& env = whole.delivered()[0].envelope;
    EXPECT_EQ(env.envid, "x+y");
    EXPECT_EQ(env.ret, DsnRet::Hdrs);
    ASSERT_EQ(env.recipients.size(), 1U);
    EXPECT_EQ(env.recipients[0].notify, kNotifySuccess | kNotifyFailure);
    EXPECT_EQ(env.recipients[0].orcpt_type, "rfc822");
    EXPECT_EQ(env.recipients[0].orcpt_value, "c@d.example");
    for (std::size_t split = 1; split < session.size(); ++split) {
        SessionHarness h(mx_config());
        h.rcpt_verdict = verdict;
        h.feed(session.substr(0, split));
        h.feed(session.substr(split));
        ASSERT_EQ(h.output(), whole.output()) << "split at " << split;
        ASSERT_EQ(h.events(), whole.events()) << "split at " << split;
        ASSERT_EQ(h.delivered().size(), 2U) << "split at " << split;
        EXPECT_EQ(h.delivered()[0].body, whole.delivered()[0].body) << "split at " << split;
        EXPECT_EQ(h.delivered()[1].body, whole.delivered()[1].body) << "split at " << split;
    }
    // Byte by byte, too.
    SessionHarness h(mx_config());
    h.rcpt_verdict = verdict;
    for (const char c : session) {
        h.feed(std::string_view(&c, 1));
    }
    EXPECT_EQ(h.output(), whole.output());
}

TEST(ServerEngine, OverlongLineIsRecoverable) {
    const auto v = run(mx_config(), "NOOP " + std::string(100 * 1024, 'x') + "\r\nNOOP\r\n");
    ASSERT_EQ(v.size(), 2U);
    EXPECT_EQ(v[0], "500 5.5.2 Line too long");
    EXPECT_EQ(v[1], "250 2.0.0 Ok");
    // Split so the skip phase is used.
    SessionHarness h(mx_config());
    h.feed("NOOP " + std::string(3000, 'x'));
    h.feed(std::string(3000, 'y'));
    h.feed("\r\nNOOP\r\n");
    EXPECT_EQ(lines_of(h.output()).back(), "250 2.0.0 Ok");
    EXPECT_EQ(lines_of(h.output()).size(), 3U);
}

TEST(ServerEngine, NulInCommand) {
    const auto v = run(mx_config(), std::string("NO\0OP\r\nNOOP\r\n", 13));
    ASSERT_EQ(v.size(), 2U);
    EXPECT_EQ(v[0].substr(0, 9), "500 5.5.2");
    EXPECT_EQ(v[1], "250 2.0.0 Ok");
}

TEST(ServerEngine, TooManyErrorsCloses) {
    std::string garbage;
    for (int i = 0; i < 200; ++i) {
        garbage += "GARBAGE " + std::to_string(i) + "\r\n";
    }
    SessionHarness h(mx_config());
    h.feed(garbage);
    auto v = lines_of(h.output());
    ASSERT_EQ(v.size(), 1 + 20 + 1);
    EXPECT_EQ(v[20], "500 5.5.2 Command unrecognized");
    EXPECT_EQ(v[21], "421 4.7.0 mx.example.org Too many errors, closing connection");
    EXPECT_TRUE(h.closed());
    // Nothing past the 20th command was consumed: the driver closes with it unread.
    EXPECT_EQ(h.buffer().substr(0, 11), "GARBAGE 20\r");
}

TEST(ServerEngine, TooManyRecipients) {
    const auto v =
        run(mx_config(),
            kEhlo +
                "MAIL FROM:<a@b>\r\nRCPT TO:<1@x>\r\nRCPT TO:<2@x>\r\nRCPT TO:<3@x>\r\n"
                "RCPT TO:<4@x>\r\n");
    EXPECT_EQ(v.back(), "452 4.5.3 Too many recipients");
}

TEST(ServerEngine, OversizeViaSizeParameter) {
    const auto v =
        run(mx_config(), kEhlo + "MAIL FROM:<a@b> SIZE=1001\r\nMAIL FROM:<a@b> SIZE=1000\r\n");
    EXPECT_EQ(v[kEhloLines], "552 5.3.4 Message size exceeds fixed maximum message size");
    EXPECT_EQ(v[kEhloLines + 1], "250 2.1.0 Ok");
}

TEST(ServerEngine, OversizeViaData) {
    SessionHarness h(mx_config());
    h.feed(kEhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    for (int i = 0; i < 50; ++i) {
        h.feed(std::string(98, 'x') + "\r\n");
    }
    h.feed(".\r\nNOOP\r\n");
    const auto v = lines_of(h.output());
    EXPECT_EQ(v[v.size() - 2], "552 5.3.4 Message size exceeds fixed maximum message size");
    EXPECT_EQ(v.back(), "250 2.0.0 Ok");
    EXPECT_TRUE(h.delivered().empty());
    EXPECT_EQ(h.events(), (std::vector<std::string>{"rcpt", "begin", "aborted"}));
}

TEST(ServerEngine, DataWithoutRecipients) {
    auto v = run(mx_config(), kEhlo + "DATA\r\nMAIL FROM:<a@b>\r\nDATA\r\n");
    EXPECT_EQ(v[kEhloLines], "503 5.5.1 Need MAIL command");
    EXPECT_EQ(v[kEhloLines + 2], "554 5.5.1 No valid recipients");
    auto lmtp = mx_config();
    lmtp.protocol = Protocol::Lmtp;
    v = run(lmtp, "LHLO x\r\nMAIL FROM:<a@b>\r\nDATA\r\n");
    EXPECT_EQ(v.back(), "503 5.5.1 No valid recipients");  // RFC 2033 §4.2
}

TEST(ServerEngine, BdatChunks) {
    SessionHarness h(mx_config());
    h.feed(kEhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 3\r\nabcBDAT 0\r\nBDAT 2 LAST\r\nde");
    ASSERT_EQ(h.delivered().size(), 1U);
    EXPECT_EQ(h.delivered()[0].body, "abcde");
    const auto v = lines_of(h.output());
    EXPECT_EQ(v[v.size() - 3], "250 2.0.0 3 octets received");
    EXPECT_EQ(v[v.size() - 2], "250 2.0.0 0 octets received");
    EXPECT_EQ(v.back(), "250 2.0.0 Ok");
    // BDAT 0 LAST alone delivers an empty message.
    SessionHarness e(mx_config());
    e.feed(kEhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 0 LAST\r\n");
    ASSERT_EQ(e.delivered().size(), 1U);
    EXPECT_EQ(e.delivered()[0].body, "");
}

TEST(ServerEngine, BdatWithoutTransactionDrainsChunk) {
    const auto v = run(mx_config(), kEhlo + "BDAT 6\r\nNOOP\r\nNOOP\r\n");
    ASSERT_EQ(v.size(), kEhloLines + 2);
    EXPECT_EQ(v[kEhloLines], "503 5.5.1 Need MAIL command");
    EXPECT_EQ(v[kEhloLines + 1], "250 2.0.0 Ok");  // only one NOOP ran: the first was data
}

TEST(ServerEngine, BdatOversizeFailsTransaction) {
    SessionHarness h(mx_config());
    h.feed(kEhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 10\r\n0123456789BDAT 2000\r\n");
    h.feed(std::string(2000, 'z') + "BDAT 1 LAST\r\nx");
    const auto v = lines_of(h.output());
    EXPECT_EQ(v[v.size() - 2], "552 5.3.4 Message size exceeds fixed maximum message size");
    EXPECT_EQ(v.back(), "503 5.5.1 Need MAIL command");
    EXPECT_TRUE(h.delivered().empty());
    EXPECT_EQ(h.events(), (std::vector<std::string>{"rcpt", "begin", "aborted"}));
}

TEST(ServerEngine, StartTlsWithTrailingBytesCloses) {
    SessionHarness h(mx_config());
    h.feed(kEhlo + "STARTTLS\r\nMAIL FROM:<evil@x>\r\n");
    EXPECT_EQ(
        lines_of(h.output()).back(), "421 4.7.0 Pipelined data after STARTTLS, closing connection"
    );
    EXPECT_TRUE(h.closed());
    EXPECT_EQ(h.events(), (std::vector<std::string>{"close"}));
}

TEST(ServerEngine, StartTlsResetsSession) {
    SessionHarness h(mx_config());
    h.feed(kEhlo);
    h.feed("STARTTLS\r\n");
    EXPECT_EQ(lines_of(h.output()).back(), "220 2.0.0 Ready to start TLS");
    EXPECT_TRUE(h.engine().tls_active());
    h.feed("MAIL FROM:<a@b>\r\n");
    EXPECT_EQ(lines_of(h.output()).back(), "503 5.5.1 Send HELO/EHLO first");
    h.feed(kEhlo);
    const auto out = h.output();
    EXPECT_EQ(out.rfind("STARTTLS"), out.find("STARTTLS"));  // not offered again
    h.feed("STARTTLS\r\n");
    EXPECT_EQ(lines_of(h.output()).back(), "503 5.5.1 TLS already active");
    h.feed("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    EXPECT_EQ(h.engine().with_keyword(), "ESMTPS");
}

TEST(ServerEngine, LmtpPerRecipientReplies) {
    auto c = mx_config();
    c.protocol = Protocol::Lmtp;
    SessionHarness h(c);
    h.rcpt_verdict = [](const Recipient& r) {
        return r.path.mailbox.local_part == "nobody" ? Reply{550, "5.1.1", "No such user"}
                                                     : Reply{250, "2.1.5", "Ok"};
    };
    h.delivery_verdict = [](const Envelope& env, std::string_view) {
        std::vector<Reply> out;
        for (const auto& r : env.recipients) {
            out.push_back(
                r.path.mailbox.local_part == "full" ? Reply{452, "4.2.2", "Mailbox full"}
                                                    : Reply{250, "2.0.0", "Delivered"}
            );
        }
        return out;
    };
    h.feed(
        "LHLO gw\r\nMAIL FROM:<a@b>\r\nRCPT TO:<one@x>\r\nRCPT TO:<nobody@x>\r\n"
        "RCPT TO:<full@x>\r\nDATA\r\n"
    );
    h.feed("hi\r\n.\r\n");
    const auto v = lines_of(h.output());
    ASSERT_GE(v.size(), 2U);
    EXPECT_EQ(v[v.size() - 2], "250 2.0.0 Delivered");
    EXPECT_EQ(v.back(), "452 4.2.2 Mailbox full");
    EXPECT_EQ(h.engine().with_keyword(), "LMTP");
    // HELO/EHLO are refused in LMTP.
    EXPECT_EQ(run(c, "EHLO x\r\n").back(), "500 5.5.1 Use LHLO in LMTP");
}

TEST(ServerEngine, MailParameterErrors) {
    const auto v = run(
        mx_config(),
        kEhlo +
            "MAIL FROM:<a@b> FOO=1\r\nMAIL FROM:<a@b> SIZE=x\r\nMAIL FROM:<a@b> RET=ALL\r\n"
            "MAIL FROM:<bad>\r\nMAIL FROM:<j\xC3\xB6rg@x>\r\nMAIL FROM:<j\xC3\xB6rg@x> SMTPUTF8\r\n"
            "RCPT TO:<a@b> NOTIFY=NEVER,DELAY\r\nRCPT TO:<@x>\r\n"
    );
    EXPECT_EQ(v[kEhloLines + 0], "555 5.5.4 Unsupported MAIL parameter");
    EXPECT_EQ(v[kEhloLines + 1], "501 5.5.4 Bad SIZE parameter");
    EXPECT_EQ(v[kEhloLines + 2], "501 5.5.4 Bad RET parameter");
    EXPECT_EQ(v[kEhloLines + 3], "501 5.1.7 Bad sender address syntax");
    EXPECT_EQ(v[kEhloLines + 4], "553 5.6.7 Non-ASCII sender address requires SMTPUTF8");
    EXPECT_EQ(v[kEhloLines + 5], "250 2.1.0 Ok");
    EXPECT_EQ(v[kEhloLines + 6], "501 5.5.4 Bad NOTIFY parameter");
    EXPECT_EQ(v[kEhloLines + 7], "501 5.1.3 Bad recipient address syntax");
}

TEST(ServerEngine, BareLfInDataIsNormalized) {
    SessionHarness h(mx_config());
    h.feed(kEhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\na\n.\nb\r\n.\r\n");
    ASSERT_EQ(h.delivered().size(), 1U);
    EXPECT_EQ(h.delivered()[0].body, "a\r\n.\r\nb\r\n");
    auto c = mx_config();
    c.bare_line_ending = BareLineEnding::Reject;
    SessionHarness r(c);
    r.feed(kEhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\na\nb\r\n.\r\n");
    EXPECT_TRUE(r.delivered().empty());
    EXPECT_EQ(lines_of(r.output()).back(), "550 5.6.0 Bare CR or LF in message not allowed");
}

TEST(ServerEngine, AwaitsDriverAnswer) {
    ServerEngine e(mx_config());
    e.greet();
    const std::string in = kEhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nNOOP\r\n";
    auto s = e.step(in);
    EXPECT_EQ(s.event, Event::VerifyRecipient);
    const auto rest = std::string_view(in).substr(s.consumed);
    EXPECT_EQ(rest, "NOOP\r\n");
    EXPECT_EQ(e.pending_recipient().path.to_string(), "c@d");
    const auto again = e.step(rest);  // nothing is consumed until the answer
    EXPECT_EQ(again.event, Event::VerifyRecipient);
    EXPECT_EQ(again.consumed, 0U);
    e.answer_recipient({451, "4.3.0", "Try later"});
    s = e.step(rest);
    EXPECT_EQ(s.event, Event::NeedInput);
    EXPECT_EQ(s.consumed, rest.size());
    const auto out = e.take_output();
    EXPECT_NE(out.find("451 4.3.0 Try later\r\n250 2.0.0 Ok\r\n"), std::string::npos);
}

TEST(TraceHeaders, ReceivedAndReturnPath) {
    TraceFields f;
    f.return_path = true;
    f.reverse_path = "a@b.example";
    f.helo = "client (evil)\r\nX: y";
    f.client_rdns = "client.example";
    f.client_ip = "2001:db8::1";
    f.by_host = "mx.example.org";
    f.with = "ESMTPS";
    f.id = "abc123";
    f.for_rcpt = "c@d.example";
    f.unix_time = 1751371200;  // 2025-07-01 12:00:00 UTC
    EXPECT_EQ(
        format_trace_headers(f),
        "Return-Path: <a@b.example>\r\n"
        "Received: from client_(evil)__X:_y (client.example [IPv6:2001:db8::1])\r\n"
        "\tby mx.example.org with ESMTPS\r\n\tid abc123\r\n\tfor <c@d.example>;\r\n"
        "\tTue, 01 Jul 2025 12:00:00 +0000\r\n"
    );
    EXPECT_EQ(format_rfc5322_date(0, -90), "Wed, 31 Dec 1969 22:30:00 -0130");
}

}  // namespace
}  // namespace sov::smtp::wire
