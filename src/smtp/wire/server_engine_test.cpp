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

// --- AUTH (RFC 4954)
// ------------------------------------------------------------------------------

ServerConfig submission_config(bool tls_active = true) {
    ServerConfig c = mx_config();
    c.tls_available = true;
    c.tls_active = tls_active;
    c.auth_available = true;
    c.require_auth = true;
    return c;
}

// Server lines after `prefix` was fed (greeting and EHLO skipped).
std::vector<std::string> after_ehlo(SessionHarness& h, std::string_view input) {
    const auto before = lines_of(h.output()).size();
    h.feed(input);
    auto v = lines_of(h.output());
    return {v.begin() + static_cast<std::ptrdiff_t>(before), v.end()};
}

TEST(ServerEngineAuth, AdvertisedOnlyOverTls) {
    SessionHarness plain(submission_config(false));
    plain.feed(kEhlo);
    EXPECT_EQ(plain.output().find("AUTH"), std::string::npos);
    EXPECT_EQ(
        after_ehlo(plain, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
        std::vector<std::string>{"530 5.7.0 Must issue a STARTTLS command first"}
    );
    EXPECT_EQ(
        after_ehlo(plain, "MAIL FROM:<a@b.example>\r\n"),
        std::vector<std::string>{"530 5.7.0 Authentication required"}
    );
    plain.feed("STARTTLS\r\n");  // the harness completes the handshake at once
    plain.feed(kEhlo);
    EXPECT_NE(plain.output().find("250 AUTH PLAIN LOGIN SCRAM-SHA-256\r\n"), std::string::npos);

    SessionHarness tls(submission_config(true));
    tls.feed(kEhlo);
    EXPECT_NE(tls.output().find("250 AUTH PLAIN LOGIN SCRAM-SHA-256\r\n"), std::string::npos);

    auto no_tls_needed = submission_config(false);
    no_tls_needed.require_tls_for_auth = false;
    SessionHarness test(no_tls_needed);
    test.feed(kEhlo);
    EXPECT_NE(test.output().find("AUTH PLAIN"), std::string::npos);
}

TEST(ServerEngineAuth, NotOfferedOnMxOrLmtp) {
    SessionHarness mx(mx_config());
    mx.feed(kEhlo);
    EXPECT_EQ(mx.output().find("AUTH"), std::string::npos);
    EXPECT_EQ(
        after_ehlo(mx, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
        std::vector<std::string>{"502 5.5.1 Command not implemented"}
    );
    auto lmtp = submission_config();
    lmtp.protocol = Protocol::Lmtp;
    SessionHarness l(lmtp);
    l.feed("LHLO client.example\r\n");
    EXPECT_EQ(l.output().find("AUTH"), std::string::npos);
    EXPECT_EQ(
        after_ehlo(l, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
        std::vector<std::string>{"502 5.5.1 Command not implemented"}
    );
}

TEST(ServerEngineAuth, PlainWithInitialResponse) {
    SessionHarness h(submission_config());
    h.feed(kEhlo);
    EXPECT_EQ(
        after_ehlo(h, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
        std::vector<std::string>{"235 2.7.0 Authentication successful"}
    );
    EXPECT_TRUE(h.engine().authenticated());
    EXPECT_EQ(h.engine().auth_identity(), "user@example.org");
    EXPECT_EQ(h.engine().with_keyword(), "ESMTPSA");
    EXPECT_EQ(
        after_ehlo(h, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
        std::vector<std::string>{"503 5.5.1 Already authenticated"}
    );
    EXPECT_EQ(
        after_ehlo(h, "MAIL FROM:<user@example.org>\r\n"), std::vector<std::string>{"250 2.1.0 Ok"}
    );
    EXPECT_EQ(h.events(), (std::vector<std::string>{"auth"}));
}

TEST(ServerEngineAuth, PlainWithEmptyChallenge) {
    SessionHarness h(submission_config());
    h.feed(kEhlo);
    EXPECT_EQ(after_ehlo(h, "AUTH plain\r\n"), std::vector<std::string>{"334 "});
    EXPECT_EQ(
        after_ehlo(h, "AHVzZXIAc2VjcmV0\r\n"),
        std::vector<std::string>{"235 2.7.0 Authentication successful"}
    );
    EXPECT_EQ(h.events(), (std::vector<std::string>{"auth", "auth-response"}));
}

TEST(ServerEngineAuth, LoginChallengesAreTheUsualBase64Strings) {
    SessionHarness h(submission_config());
    h.feed(kEhlo);
    EXPECT_EQ(after_ehlo(h, "AUTH LOGIN\r\n"), std::vector<std::string>{"334 VXNlcm5hbWU6"});
    EXPECT_EQ(after_ehlo(h, "dXNlcg==\r\n"), std::vector<std::string>{"334 UGFzc3dvcmQ6"});
    EXPECT_EQ(
        after_ehlo(h, "c2VjcmV0\r\n"),
        std::vector<std::string>{"235 2.7.0 Authentication successful"}
    );
}

TEST(ServerEngineAuth, FailuresAndTheirCodes) {
    SessionHarness h(submission_config());
    h.feed(kEhlo);
    EXPECT_EQ(
        after_ehlo(h, "AUTH PLAIN AHVzZXIAd3Jvbmc=\r\n"),
        std::vector<std::string>{"535 5.7.8 Authentication credentials invalid"}
    );
    EXPECT_EQ(
        after_ehlo(h, "AUTH PLAIN AHVzZXIAdGVtcGZhaWw=\r\n"),
        std::vector<std::string>{"454 4.7.0 Temporary authentication failure"}
    );
    EXPECT_EQ(
        after_ehlo(h, "AUTH CRAM-MD5\r\n"),
        std::vector<std::string>{"504 5.5.4 Unrecognized authentication mechanism"}
    );
    EXPECT_EQ(
        after_ehlo(h, "AUTH PLAIN not*base64\r\n"),
        std::vector<std::string>{"501 5.5.2 Cannot decode base64 initial response"}
    );
    for (const auto* bad :
         {"AUTH\r\n", "AUTH PLAIN a b\r\n", "AUTH PL@IN\r\n", "AUTH ABCDEFGHIJKLMNOPQRSTU\r\n"}) {
        EXPECT_EQ(
            after_ehlo(h, bad),
            std::vector<std::string>{"501 5.5.4 Syntax: AUTH mechanism [initial-response]"}
        ) << bad;
    }
    EXPECT_FALSE(h.engine().authenticated());
    // Still usable: the right password works afterwards.
    EXPECT_EQ(
        after_ehlo(h, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
        std::vector<std::string>{"235 2.7.0 Authentication successful"}
    );
}

TEST(ServerEngineAuth, StrictBase64InResponses) {
    // RFC 4954 §4: characters outside the alphabet and misplaced padding are errors.
    for (const auto* bad : {"=AAA", "AAA=BBBB", "AA=A", "AAAAA", "AA AA", "A===", "QUJD\t"}) {
        SessionHarness h(submission_config());
        h.feed(kEhlo);
        ASSERT_EQ(after_ehlo(h, "AUTH PLAIN\r\n"), std::vector<std::string>{"334 "});
        EXPECT_EQ(
            after_ehlo(h, std::string(bad) + "\r\n"),
            std::vector<std::string>{"501 5.5.2 Cannot decode base64 response"}
        ) << bad;
        EXPECT_EQ(h.events().back(), "auth-aborted");
    }
}

TEST(ServerEngineAuth, EmptyInitialResponseIsEquals) {
    SessionHarness h(submission_config());
    h.feed(kEhlo);
    std::vector<std::vector<std::string>> seen;
    h.auth_script = [&](std::string_view, const std::vector<std::string>& msgs) {
        seen.push_back(msgs);
        return SessionHarness::AuthAnswer{};
    };
    h.feed("AUTH PLAIN =\r\n");
    h.feed("AUTH PLAIN\r\n");
    ASSERT_EQ(seen.size(), 2U);
    EXPECT_EQ(seen[0], std::vector<std::string>{""});  // present, zero length
    EXPECT_TRUE(seen[1].empty());                      // absent
}

TEST(ServerEngineAuth, CancelWithStar) {
    SessionHarness h(submission_config());
    h.feed(kEhlo);
    ASSERT_EQ(after_ehlo(h, "AUTH LOGIN\r\n"), std::vector<std::string>{"334 VXNlcm5hbWU6"});
    EXPECT_EQ(
        after_ehlo(h, "*\r\n"), std::vector<std::string>{"501 5.0.0 Authentication cancelled"}
    );
    EXPECT_EQ(h.events().back(), "auth-aborted");
    EXPECT_EQ(after_ehlo(h, "NOOP\r\n"), std::vector<std::string>{"250 2.0.0 Ok"});
}

TEST(ServerEngineAuth, ResponseLinesHaveTheirOwnLimit) {
    auto c = submission_config();
    c.limits.command.max_line = 64;
    c.limits.max_auth_line = 200;
    SessionHarness h(c);
    h.feed(kEhlo);
    ASSERT_EQ(after_ehlo(h, "AUTH PLAIN\r\n"), std::vector<std::string>{"334 "});
    // Longer than a command line may be, within the AUTH limit: a response, not an error.
    const std::string long_ok(196, 'A');
    EXPECT_EQ(
        after_ehlo(h, long_ok + "\r\n"),
        std::vector<std::string>{"535 5.7.8 Authentication credentials invalid"}
    );
    ASSERT_EQ(after_ehlo(h, "AUTH PLAIN\r\n"), std::vector<std::string>{"334 "});
    // Over it, sent in pieces: 500 5.5.6 once, the rest of the line is skipped.
    h.feed(std::string(150, 'A'));
    h.feed(std::string(150, 'A'));
    EXPECT_EQ(h.events().back(), "auth-aborted");
    EXPECT_EQ(
        after_ehlo(h, std::string(300, 'A') + "\r\nNOOP\r\n"),
        std::vector<std::string>{"250 2.0.0 Ok"}
    );
    EXPECT_NE(
        h.output().find("500 5.5.6 Authentication exchange line is too long\r\n"), std::string::npos
    );
}

TEST(ServerEngineAuth, NotDuringATransactionNorBeforeEhlo) {
    auto c = submission_config();
    c.require_auth = false;
    SessionHarness h(c);
    h.feed("HELO client.example\r\n");
    EXPECT_EQ(
        after_ehlo(h, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
        std::vector<std::string>{"503 5.5.1 Send EHLO first"}
    );
    h.feed(kEhlo);
    h.feed("MAIL FROM:<a@b.example>\r\n");
    EXPECT_EQ(
        after_ehlo(h, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"),
        std::vector<std::string>{"503 5.5.1 AUTH not permitted during a mail transaction"}
    );
}

TEST(ServerEngineAuth, PipelinedInputWaitsForTheVerdict) {
    // The harness answers at once; check the raw engine contract by hand.
    ServerEngine raw(submission_config());
    raw.greet();
    const std::string input =
        "EHLO c\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\nMAIL FROM:<a@b.example>\r\n";
    auto s = raw.step(input);
    ASSERT_EQ(s.event, Event::Authenticate);
    EXPECT_EQ(s.consumed, input.find("MAIL"));
    EXPECT_EQ(raw.auth_mechanism(), "PLAIN");
    ASSERT_TRUE(raw.auth_data());
    EXPECT_EQ(*raw.auth_data(), std::string_view("\0user\0secret", 12));
    const auto rest = std::string_view(input).substr(s.consumed);
    auto again = raw.step(rest);
    EXPECT_EQ(again.event, Event::Authenticate);
    EXPECT_EQ(again.consumed, 0U);
    raw.auth_success("user@example.org");
    EXPECT_FALSE(raw.auth_data()) << "SASL data is gone once answered";
    auto next = raw.step(rest);
    EXPECT_EQ(next.event, Event::NeedInput);
    const auto out = raw.take_output();
    EXPECT_NE(
        out.find("235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n"), std::string::npos
    );
    // Answers out of turn are ignored.
    raw.auth_failure(AuthFailure::InvalidCredentials);
    raw.auth_challenge("x");
    EXPECT_EQ(raw.take_output(), "");
}

TEST(ServerEngineAuth, TlsRestartForgetsAuthentication) {
    auto c = submission_config(false);
    c.require_tls_for_auth = false;
    SessionHarness before_tls(c);
    before_tls.feed(kEhlo);
    before_tls.feed("AUTH PLAIN AHVzZXIAc2VjcmV0\r\n");
    ASSERT_TRUE(before_tls.engine().authenticated());
    before_tls.feed("STARTTLS\r\n");
    EXPECT_FALSE(before_tls.engine().authenticated());
    EXPECT_EQ(before_tls.engine().auth_identity(), "");
    before_tls.feed(kEhlo);
    EXPECT_EQ(
        after_ehlo(before_tls, "MAIL FROM:<a@b.example>\r\n"),
        std::vector<std::string>{"530 5.7.0 Authentication required"}
    );
}

TEST(ServerEngineAuth, ScramRoundTripsThroughChallenges) {
    SessionHarness h(submission_config());
    h.feed(kEhlo);
    // "n,,n=user,r=abc" as an initial response; the scripted server answers a server-first.
    EXPECT_EQ(
        after_ehlo(h, "AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9YWJj\r\n"),
        std::vector<std::string>{"334 cj1ub25jZSxzPWMyRnNkQT09LGk9NDA5Ng=="}
    );
    EXPECT_EQ(
        after_ehlo(h, "Yz1iaXdzLHI9bm9uY2UscD1BQUFB\r\n"),
        std::vector<std::string>{"535 5.7.8 Authentication credentials invalid"}
    );
}

TEST(ServerEngineAuth, FailuresCountTowardsTheErrorLimit) {
    auto c = submission_config();
    c.limits.max_errors = 3;
    SessionHarness h(c);
    h.feed(kEhlo);
    for (int i = 0; i < 3; ++i) {
        h.feed("AUTH PLAIN AHVzZXIAd3Jvbmc=\r\n");
    }
    h.feed("NOOP\r\n");
    EXPECT_TRUE(h.closed());
    EXPECT_NE(h.output().find("421 4.7.0"), std::string::npos);
}

// --- REQUIRETLS (RFC 8689)
// ------------------------------------------------------------------------------

TEST(ServerEngineRequireTls, AdvertisedOnlyAfterStartTls) {
    SessionHarness h(mx_config());
    h.feed(kEhlo);
    EXPECT_EQ(h.output().find("REQUIRETLS"), std::string::npos);
    h.feed("STARTTLS\r\n");
    const auto before = h.output().size();
    h.feed(kEhlo);
    EXPECT_NE(h.output().find("250 REQUIRETLS\r\n", before), std::string::npos);

    auto off = mx_config();
    off.requiretls = false;
    off.tls_active = true;
    SessionHarness disabled(off);
    disabled.feed(kEhlo);
    EXPECT_EQ(disabled.output().find("REQUIRETLS"), std::string::npos);
}

TEST(ServerEngineRequireTls, RefusedWithoutTls) {
    SessionHarness h(mx_config());
    h.feed(kEhlo);
    EXPECT_EQ(
        after_ehlo(h, "MAIL FROM:<a@b.example> REQUIRETLS\r\n"),
        std::vector<std::string>{"530 5.7.10 REQUIRETLS needs a TLS session"}
    );
    // The transaction did not start: a plain MAIL is still accepted.
    EXPECT_EQ(
        after_ehlo(h, "MAIL FROM:<a@b.example>\r\n"), std::vector<std::string>{"250 2.1.0 Ok"}
    );
}

TEST(ServerEngineRequireTls, TaggedInTheEnvelopeOverTls) {
    SessionHarness h(mx_config());
    h.feed(kEhlo);
    h.feed("STARTTLS\r\n");
    h.feed(kEhlo);
    EXPECT_EQ(
        after_ehlo(h, "MAIL FROM:<a@b.example> REQUIRETLS=yes\r\n"),
        std::vector<std::string>{"501 5.5.4 Bad REQUIRETLS parameter"}
    );
    EXPECT_EQ(
        after_ehlo(h, "MAIL FROM:<a@b.example> REQUIRETLS REQUIRETLS\r\n"),
        std::vector<std::string>{"501 5.5.4 Bad REQUIRETLS parameter"}
    );
    h.feed(
        "MAIL FROM:<a@b.example> requiretls BODY=8BITMIME\r\nRCPT TO:<c@d.example>\r\n"
        "DATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n"
    );
    ASSERT_EQ(h.delivered().size(), 1U);
    EXPECT_TRUE(h.delivered()[0].envelope.requiretls);
    // The tag belongs to one transaction only.
    h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\n");
    ASSERT_EQ(h.delivered().size(), 2U);
    EXPECT_FALSE(h.delivered()[1].envelope.requiretls);
}

TEST(ServerEngineRequireTls, ImplicitTlsSession) {
    auto c = mx_config();
    c.tls_active = true;
    SessionHarness h(c);
    h.feed(kEhlo);
    EXPECT_NE(h.output().find("250 REQUIRETLS\r\n"), std::string::npos);
    EXPECT_EQ(
        after_ehlo(h, "MAIL FROM:<a@b.example> REQUIRETLS\r\n"),
        std::vector<std::string>{"250 2.1.0 Ok"}
    );
}

}  // namespace
}  // namespace sov::smtp::wire
