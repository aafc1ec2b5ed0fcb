#include "smtp/queue/transaction.hpp"

#include <exception>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "smtp/wire/server_engine.hpp"

namespace sov::smtp::queue {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// ---- dot_stuff (RFC 5321 §4.5.2) ----

TEST(DotStuff, PlainMessage) {
    EXPECT_EQ(dot_stuff("Subject: x\r\n\r\nhello\r\n"), "Subject: x\r\n\r\nhello\r\n.\r\n");
}

TEST(DotStuff, LeadingDotsDoubledAtEveryLineStart) {
    EXPECT_EQ(dot_stuff(".first\r\n"), "..first\r\n.\r\n");
    EXPECT_EQ(dot_stuff("a\r\n.b\r\n..c\r\nd.e\r\n"), "a\r\n..b\r\n...c\r\nd.e\r\n.\r\n");
    EXPECT_EQ(dot_stuff("x\r\n.\r\ny\r\n"), "x\r\n..\r\ny\r\n.\r\n");  // a lone "." line
    EXPECT_EQ(dot_stuff(".\r\n"), "..\r\n.\r\n");
    EXPECT_EQ(dot_stuff("..\r\n"), "...\r\n.\r\n");
    EXPECT_EQ(dot_stuff("a\r\n\r\n.\r\n"), "a\r\n\r\n..\r\n.\r\n");
}

TEST(DotStuff, DotsInsideLinesUntouched) {
    EXPECT_EQ(dot_stuff("a.b. .c\r\n"), "a.b. .c\r\n.\r\n");
    EXPECT_EQ(dot_stuff(" .x\r\n"), " .x\r\n.\r\n");
}

TEST(DotStuff, FinalLineEndAdded) {
    EXPECT_EQ(dot_stuff("no end"), "no end\r\n.\r\n");
    EXPECT_EQ(dot_stuff("a\r\n.last"), "a\r\n..last\r\n.\r\n");
    EXPECT_EQ(dot_stuff("."), "..\r\n.\r\n");
}

TEST(DotStuff, EmptyContentIsJustTheTerminator) {
    EXPECT_EQ(dot_stuff(""), ".\r\n");
}

TEST(DotStuff, NoTerminatorSequenceInsideTheData) {
    // Whatever the content, CRLF "." CRLF appears only at the very end.
    for (std::string_view content :
         {"\r\n.\r\n", ".\r\n.\r\n.", "a\r\n.\r\n.\r\nb", "\r\n.\r\n\r\n.\r\n", "..\r\n."}) {
        const auto out = dot_stuff(content);
        const auto framed = "\r\n" + out;  // the DATA line's CRLF precedes the data
        EXPECT_EQ(framed.find("\r\n.\r\n"), framed.size() - 5) << testing::PrintToString(content);
    }
}

TEST(DotStuff, RoundTripsThroughUnstuffing) {
    const std::string content = ".a\r\n..b\r\nc\r\n.\r\n\r\n.d\r\n";
    const auto out = dot_stuff(content);
    // Undo (RFC 5321 §4.5.2, receiver side): drop the terminator, strip one leading dot per line.
    std::string back;
    std::size_t pos = 0;
    const auto body = out.substr(0, out.size() - 3);
    while (pos < body.size()) {
        const auto eol = body.find("\r\n", pos);
        auto line = body.substr(pos, eol + 2 - pos);
        if (line.starts_with('.')) {
            line.erase(0, 1);
        }
        back += line;
        pos = eol + 2;
    }
    EXPECT_EQ(back, content);
}

// ---- send_message against a scripted loopback server ----

struct FakeServer {
    std::vector<std::string> extensions;  // EHLO keywords offered
    std::string mail_reply = "250 2.1.0 Ok";
    std::map<std::string, std::string> rcpt_reply;  // by address; default 250
    std::string data_reply = "250 2.0.0 Queued as X";

    // What the client sent.
    std::vector<std::string> commands;
    std::string data;  // the bytes after 354, terminator included
};

asio::awaitable<void> write_text(tcp::socket& s, std::string text) {
    co_await asio::async_write(s, asio::buffer(text), asio::use_awaitable);
}

asio::awaitable<void> serve(tcp::acceptor& acceptor, FakeServer& f) {
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    std::string buffer;
    co_await write_text(socket, "220 fake.example ESMTP\r\n");
    bool mail_ok = false;
    int accepted = 0;
    for (;;) {
        auto [ec, n] = co_await asio::async_read_until(
            socket, asio::dynamic_buffer(buffer), "\r\n", asio::as_tuple(asio::use_awaitable)
        );
        if (ec) {
            co_return;
        }
        const std::string line = buffer.substr(0, n - 2);
        buffer.erase(0, n);
        f.commands.push_back(line);
        if (line.starts_with("EHLO ")) {
            std::string reply =
                f.extensions.empty() ? "250 fake.example\r\n" : "250-fake.example\r\n";
            for (std::size_t i = 0; i < f.extensions.size(); ++i) {
                reply +=
                    (i + 1 == f.extensions.size() ? "250 " : "250-") + f.extensions[i] + "\r\n";
            }
            co_await write_text(socket, reply);
        } else if (line.starts_with("MAIL FROM:")) {
            mail_ok = f.mail_reply.starts_with('2');
            accepted = 0;
            co_await write_text(socket, f.mail_reply + "\r\n");
        } else if (line.starts_with("RCPT TO:<")) {
            if (!mail_ok) {
                co_await write_text(socket, "503 5.5.1 MAIL first\r\n");
                continue;
            }
            const auto address = line.substr(9, line.find('>') - 9);
            const auto it = f.rcpt_reply.find(address);
            const auto reply = it == f.rcpt_reply.end() ? "250 2.1.5 Ok" : it->second;
            accepted += reply.starts_with('2') ? 1 : 0;
            co_await write_text(socket, reply + "\r\n");
        } else if (line == "DATA") {
            if (!mail_ok || accepted == 0) {
                co_await write_text(socket, "554 5.5.1 No valid recipients\r\n");
                continue;
            }
            co_await write_text(socket, "354 Go ahead\r\n");
            auto [ec2, m] = co_await asio::async_read_until(
                socket,
                asio::dynamic_buffer(buffer),
                "\r\n.\r\n",
                asio::as_tuple(asio::use_awaitable)
            );
            if (ec2) {
                co_return;
            }
            f.data = buffer.substr(0, m);
            buffer.erase(0, m);
            mail_ok = false;
            co_await write_text(socket, f.data_reply + "\r\n");
        } else if (line == "RSET") {
            mail_ok = false;
            co_await write_text(socket, "250 2.0.0 Ok\r\n");
        } else if (line == "QUIT") {
            co_await write_text(socket, "221 2.0.0 Bye\r\n");
            co_return;
        } else {
            co_await write_text(socket, "500 5.5.2 What?\r\n");
        }
    }
}

struct Run {
    TransactionOutcome outcome;
    bool ehlo_ok = false;
};

Run run(
    FakeServer& server,
    const QueuedMessage& message,
    std::string_view content,
    bool tls_authenticated = false
) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    const auto endpoint = acceptor.local_endpoint();
    Run result;
    auto rethrow = [](std::exception_ptr e) {
        if (e) {
            std::rethrow_exception(e);
        }
    };
    asio::co_spawn(io, serve(acceptor, server), rethrow);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto executor = co_await asio::this_coro::executor;
            auto c = co_await client::Connection::connect(executor, endpoint, client::Timeouts{});
            if (!c) {
                ADD_FAILURE() << "connect: " << c.error().message();
                co_return;
            }
            auto& conn = **c;
            auto greeting = co_await conn.read_reply();
            EXPECT_TRUE(greeting && greeting->code == 220);
            auto ehlo = co_await conn.ehlo("client.example");
            result.ehlo_ok = ehlo && ehlo->code == 250;
            TransactionInput input;
            input.message = &message;
            for (const auto& r : message.recipients) {
                input.recipients.push_back(&r);
            }
            input.content = content;
            input.tls_authenticated = tls_authenticated;
            result.outcome = co_await send_message(conn, std::move(input));
            (void)co_await conn.command("QUIT");
        },
        rethrow
    );
    io.run_for(std::chrono::seconds{20});
    return result;
}

QueuedMessage make_message(std::vector<std::string> addresses) {
    QueuedMessage m;
    m.id = "abcdefghij0123456789";
    m.envelope.sender = "alice@example.org";
    std::int64_t id = 1;
    for (auto& a : addresses) {
        QueuedRecipient r;
        r.id = id++;
        r.address = std::move(a);
        r.domain = "example.com";
        m.recipients.push_back(std::move(r));
    }
    return m;
}

const std::string kContent = "Subject: t\r\n\r\n.leading dot\r\nend\r\n";

TEST(SendMessage, WithoutPipelining) {
    FakeServer server;
    server.extensions = {"SIZE 100000", "8BITMIME"};
    server.rcpt_reply["nobody@example.com"] = "550 5.1.1 No such user";
    const auto message = make_message({"bob@example.com", "nobody@example.com"});
    const auto r = run(server, message, kContent);
    ASSERT_TRUE(r.ehlo_ok);
    ASSERT_EQ(r.outcome.recipients.size(), 2u);
    EXPECT_EQ(r.outcome.recipients[0].code, 250);
    EXPECT_EQ(r.outcome.recipients[0].reply, "250 2.0.0 Queued as X");
    EXPECT_FALSE(r.outcome.recipients[0].local);
    EXPECT_EQ(r.outcome.recipients[1].code, 550);
    EXPECT_EQ(r.outcome.recipients[1].reply, "550 5.1.1 No such user");
    EXPECT_TRUE(r.outcome.connection_usable);

    ASSERT_GE(server.commands.size(), 5u);
    EXPECT_EQ(
        server.commands[1], "MAIL FROM:<alice@example.org> SIZE=" + std::to_string(kContent.size())
    );
    EXPECT_EQ(server.commands[2], "RCPT TO:<bob@example.com>");
    EXPECT_EQ(server.commands[3], "RCPT TO:<nobody@example.com>");
    EXPECT_EQ(server.commands[4], "DATA");
    EXPECT_EQ(server.data, dot_stuff(kContent));
    EXPECT_EQ(server.commands.back(), "QUIT");
}

TEST(SendMessage, PipeliningWithDsnParameters) {
    FakeServer server;
    server.extensions = {"PIPELINING", "DSN"};
    server.rcpt_reply["later@example.com"] = "450 4.2.1 Try later";
    auto message = make_message({"bob@example.com", "later@example.com"});
    message.envelope.envid = "QQ+1";
    message.envelope.ret_headers = true;
    message.recipients[0].notify = wire::kNotifyFailure | wire::kNotifyDelay;
    message.recipients[0].orcpt = "rfc822;bob@example.com";
    message.recipients[1].notify = wire::kNotifyNever;
    const auto r = run(server, message, kContent);
    ASSERT_EQ(r.outcome.recipients.size(), 2u);
    EXPECT_EQ(r.outcome.recipients[0].code, 250);
    EXPECT_EQ(r.outcome.recipients[1].code, 450);
    EXPECT_EQ(r.outcome.recipients[1].reply, "450 4.2.1 Try later");

    ASSERT_GE(server.commands.size(), 5u);
    EXPECT_EQ(server.commands[1], "MAIL FROM:<alice@example.org> RET=HDRS ENVID=QQ+2B1");
    EXPECT_EQ(
        server.commands[2],
        "RCPT TO:<bob@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@example.com"
    );
    EXPECT_EQ(server.commands[3], "RCPT TO:<later@example.com> NOTIFY=NEVER");
    EXPECT_EQ(server.commands[4], "DATA");
    EXPECT_EQ(server.data, dot_stuff(kContent));
}

// RFC 3461 §5.2.2 / §5.2.3: whether the peer took the DSN request decides who answers
// NOTIFY=SUCCESS — the peer (it offers DSN) or we, with a "relayed" DSN (it does not).
TEST(SendMessage, SuccessRequestPassedOnOnlyToADsnPeer) {
    auto message = make_message({"bob@example.com"});
    message.recipients[0].notify = wire::kNotifySuccess;
    message.recipients[0].orcpt = "rfc822;bob@example.com";
    {
        FakeServer server;
        server.extensions = {"DSN"};
        const auto r = run(server, message, kContent);
        ASSERT_EQ(r.outcome.recipients.size(), 1u);
        EXPECT_EQ(r.outcome.recipients[0].code, 250);
        EXPECT_TRUE(r.outcome.recipients[0].dsn_passed_on);
        ASSERT_GE(server.commands.size(), 3u);
        EXPECT_EQ(server.commands[1], "MAIL FROM:<alice@example.org> RET=FULL");
        EXPECT_EQ(
            server.commands[2],
            "RCPT TO:<bob@example.com> NOTIFY=SUCCESS ORCPT=rfc822;bob@example.com"
        );
    }
    {
        FakeServer server;  // no DSN: nothing of it on the wire, and we owe the notice
        const auto r = run(server, message, kContent);
        ASSERT_EQ(r.outcome.recipients.size(), 1u);
        EXPECT_EQ(r.outcome.recipients[0].code, 250);
        EXPECT_FALSE(r.outcome.recipients[0].dsn_passed_on);
        ASSERT_GE(server.commands.size(), 3u);
        EXPECT_EQ(server.commands[1], "MAIL FROM:<alice@example.org>");
        EXPECT_EQ(server.commands[2], "RCPT TO:<bob@example.com>");
    }
    {
        FakeServer server;  // refused at DATA end: not passed on either
        server.extensions = {"DSN"};
        server.data_reply = "554 5.6.0 Rejected";
        const auto r = run(server, message, kContent);
        ASSERT_EQ(r.outcome.recipients.size(), 1u);
        EXPECT_EQ(r.outcome.recipients[0].code, 554);
        EXPECT_FALSE(r.outcome.recipients[0].dsn_passed_on);
    }
}

TEST(SendMessage, MailRefusedFailsEveryone) {
    FakeServer server;
    server.extensions = {"PIPELINING"};
    server.mail_reply = "550 5.7.1 Sender refused";
    const auto message = make_message({"bob@example.com", "carol@example.com"});
    const auto r = run(server, message, kContent);
    ASSERT_EQ(r.outcome.recipients.size(), 2u);
    for (const auto& o : r.outcome.recipients) {
        EXPECT_EQ(o.code, 550);
        EXPECT_EQ(o.reply, "550 5.7.1 Sender refused");
    }
    EXPECT_TRUE(server.data.empty());
    // The session is left in step: RSET then QUIT get their own replies.
    ASSERT_GE(server.commands.size(), 2u);
    EXPECT_EQ(server.commands[server.commands.size() - 2], "RSET");
    EXPECT_EQ(server.commands.back(), "QUIT");
}

TEST(SendMessage, AllRecipientsRefusedSendsNoData) {
    FakeServer server;  // no PIPELINING
    server.rcpt_reply["bob@example.com"] = "550 5.1.1 No";
    const auto message = make_message({"bob@example.com"});
    const auto r = run(server, message, kContent);
    ASSERT_EQ(r.outcome.recipients.size(), 1u);
    EXPECT_EQ(r.outcome.recipients[0].code, 550);
    EXPECT_TRUE(server.data.empty());
    for (const auto& c : server.commands) {
        EXPECT_NE(c, "DATA");
    }
}

TEST(SendMessage, OverSizeLimitFailsLocallyWithoutSending) {
    FakeServer server;
    server.extensions = {"SIZE 10"};
    const auto message = make_message({"bob@example.com"});
    const auto r = run(server, message, kContent);
    ASSERT_EQ(r.outcome.recipients.size(), 1u);
    EXPECT_EQ(r.outcome.recipients[0].code, 552);
    EXPECT_TRUE(r.outcome.recipients[0].local);
    EXPECT_TRUE(r.outcome.connection_usable);
    for (const auto& c : server.commands) {
        EXPECT_FALSE(c.starts_with("MAIL")) << c;
    }
}

TEST(SendMessage, SmtpUtf8RequiredButNotOffered) {
    FakeServer server;
    server.extensions = {"8BITMIME"};
    auto message = make_message({"bob@example.com"});
    message.envelope.smtputf8 = true;
    const auto r = run(server, message, kContent);
    ASSERT_EQ(r.outcome.recipients.size(), 1u);
    EXPECT_EQ(r.outcome.recipients[0].code, 553);
    EXPECT_TRUE(r.outcome.recipients[0].local);
    for (const auto& c : server.commands) {
        EXPECT_FALSE(c.starts_with("MAIL")) << c;
    }
}

TEST(SendMessage, DataRefusedAfterContent) {
    FakeServer server;
    server.extensions = {"PIPELINING"};
    server.data_reply = "554 5.6.0 Content rejected";
    const auto message = make_message({"bob@example.com", "carol@example.com"});
    const auto r = run(server, message, kContent);
    ASSERT_EQ(r.outcome.recipients.size(), 2u);
    for (const auto& o : r.outcome.recipients) {
        EXPECT_EQ(o.code, 554);
        EXPECT_EQ(o.reply, "554 5.6.0 Content rejected");
    }
}

// ---- REQUIRETLS (RFC 8689) ----

std::string mail_command(const FakeServer& server) {
    for (const auto& c : server.commands) {
        if (c.starts_with("MAIL FROM:")) {
            return c;
        }
    }
    return {};
}

TEST(SendMessage, RequireTlsSentToAnAuthenticatedPeerThatOffersIt) {
    FakeServer server;
    server.extensions = {"REQUIRETLS"};
    auto message = make_message({"bob@example.com"});
    message.envelope.requiretls = true;
    const auto r = run(server, message, kContent, /*tls_authenticated=*/true);
    ASSERT_EQ(r.outcome.recipients.size(), 1u);
    EXPECT_EQ(r.outcome.recipients[0].code, 250);
    EXPECT_FALSE(r.outcome.requiretls_waived);
    EXPECT_EQ(mail_command(server), "MAIL FROM:<alice@example.org> REQUIRETLS");
}

TEST(SendMessage, RequireTlsRefusedWhenThePeerIsNotAuthenticatedOrLacksIt) {
    for (const bool authenticated : {false, true}) {
        FakeServer server;
        server.extensions = authenticated ? std::vector<std::string>{"PIPELINING"}
                                          : std::vector<std::string>{"REQUIRETLS"};
        auto message = make_message({"bob@example.com"});
        message.envelope.requiretls = true;
        const auto r = run(server, message, kContent, authenticated);
        ASSERT_EQ(r.outcome.recipients.size(), 1u);
        EXPECT_EQ(r.outcome.recipients[0].code, 550);
        EXPECT_TRUE(r.outcome.recipients[0].reply.starts_with("550 5.7.30")) << authenticated;
        EXPECT_TRUE(r.outcome.recipients[0].local);
        EXPECT_EQ(mail_command(server), "") << authenticated;
    }
}

TEST(SendMessage, RequireTlsBounceKeepsTheOptionWhereTheHopHonoursIt) {
    // RFC 8689 §5: the DSN of a REQUIRETLS message is sent with REQUIRETLS.
    FakeServer server;
    server.extensions = {"REQUIRETLS", "DSN"};
    auto message = make_message({"alice@example.com"});
    message.envelope.sender = "";
    message.envelope.requiretls = true;
    const auto r = run(server, message, kContent, /*tls_authenticated=*/true);
    ASSERT_EQ(r.outcome.recipients.size(), 1u);
    EXPECT_EQ(r.outcome.recipients[0].code, 250);
    EXPECT_FALSE(r.outcome.requiretls_waived);
    EXPECT_EQ(mail_command(server), "MAIL FROM:<> REQUIRETLS RET=FULL");
}

TEST(SendMessage, RequireTlsBounceIsNotDiscardedAtAHopWithoutIt) {
    // RFC 8689 §5: the option "SHOULD NOT cause a bounce message to be discarded".
    for (const bool authenticated : {false, true}) {
        FakeServer server;
        server.extensions = authenticated ? std::vector<std::string>{"PIPELINING"}
                                          : std::vector<std::string>{"REQUIRETLS"};
        auto message = make_message({"alice@example.com"});
        message.envelope.sender = "";
        message.envelope.requiretls = true;
        const auto r = run(server, message, kContent, authenticated);
        ASSERT_EQ(r.outcome.recipients.size(), 1u);
        EXPECT_EQ(r.outcome.recipients[0].code, 250) << authenticated;
        EXPECT_TRUE(r.outcome.requiretls_waived);
        EXPECT_EQ(mail_command(server), "MAIL FROM:<>") << authenticated;
    }
}

}  // namespace
}  // namespace sov::smtp::queue
