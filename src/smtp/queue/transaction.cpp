#include "smtp/queue/transaction.hpp"

#include <charconv>

#include <fmt/format.h>

#include "smtp/wire/server_engine.hpp"

namespace sov::smtp::queue {

namespace {

RecipientOutcome outcome_of(const wire::ServerReply& reply) {
    return RecipientOutcome{.code = reply.code, .reply = reply.summary(), .local = false};
}

RecipientOutcome local(int code, std::string text) {
    return RecipientOutcome{.code = code, .reply = std::move(text), .local = true};
}

TransactionOutcome everyone(std::size_t n, RecipientOutcome outcome, bool usable) {
    return TransactionOutcome{
        .recipients = std::vector<RecipientOutcome>(n, outcome), .connection_usable = usable
    };
}

std::string notify_parameter(unsigned notify) {
    if (notify == 0) {
        return {};
    }
    if ((notify & wire::kNotifyNever) != 0) {
        return " NOTIFY=NEVER";
    }
    std::string out;
    for (const auto& [flag, name] : {
             std::pair{wire::kNotifySuccess, "SUCCESS"},
             std::pair{wire::kNotifyFailure, "FAILURE"},
             std::pair{wire::kNotifyDelay, "DELAY"},
         }) {
        if ((notify & flag) != 0) {
            out += out.empty() ? " NOTIFY=" : ",";
            out += name;
        }
    }
    return out;
}

std::string orcpt_parameter(std::string_view orcpt) {
    // Stored as "type;value" with the value decoded (RFC 3461 §4.2).
    const auto semi = orcpt.find(';');
    if (semi == std::string_view::npos) {
        return {};
    }
    return fmt::format(
        " ORCPT={};{}", orcpt.substr(0, semi), wire::xtext_encode(orcpt.substr(semi + 1))
    );
}

std::uint64_t size_limit(const client::Connection& c) {
    const auto parameter = c.offered_parameter("SIZE");
    std::uint64_t limit = 0;
    std::from_chars(parameter.data(), parameter.data() + parameter.size(), limit);
    return limit;  // 0: none announced
}

}  // namespace

std::string dot_stuff(std::string_view content) {
    std::string out;
    out.reserve(content.size() + content.size() / 64 + 8);
    bool line_start = true;
    for (std::size_t i = 0; i < content.size(); ++i) {
        const char c = content[i];
        if (line_start && c == '.') {
            out += '.';
        }
        out += c;
        line_start = c == '\n';
    }
    if (!out.empty() && !out.ends_with("\r\n")) {
        out += "\r\n";
    }
    out += ".\r\n";
    return out;
}

boost::asio::awaitable<TransactionOutcome> send_message(
    client::Connection& c, TransactionInput input
) {
    const auto& m = *input.message;
    const auto& env = m.envelope;
    const auto n = input.recipients.size();

    // Refusals decided before anything is sent.
    if (env.smtputf8 && !c.offers("SMTPUTF8")) {
        co_return everyone(
            n, local(553, "553 5.6.7 The next hop does not support SMTPUTF8 (RFC 6531 §3.2)"), true
        );
    }
    if (env.eight_bit && !c.offers("8BITMIME")) {
        co_return everyone(
            n, local(554, "554 5.6.3 The next hop does not accept 8-bit content (RFC 6152)"), true
        );
    }
    // RFC 8689 §4.2.1: a REQUIRETLS message goes only to an authenticated peer that offers
    // REQUIRETLS. §5: a bounce of one (null reverse-path) carries REQUIRETLS too, but the option
    // "SHOULD NOT cause a bounce message to be discarded" — and a failed bounce is discarded (it
    // gets no DSN of its own) — so where the hop cannot honour it the bounce (headers only, §5)
    // goes without it.
    const bool requiretls_met = input.tls_authenticated && c.offers("REQUIRETLS");
    const bool requiretls = env.requiretls && (requiretls_met || !env.sender.empty());
    if (requiretls && !requiretls_met) {
        co_return everyone(
            n,
            local(
                550,
                "550 5.7.30 REQUIRETLS: the next hop is not authenticated or does not support it"
            ),
            true
        );
    }
    if (const auto limit = size_limit(c); limit > 0 && input.content.size() > limit) {
        co_return everyone(
            n,
            local(
                552,
                fmt::format(
                    "552 5.3.4 Message size {} exceeds the next hop's limit {}",
                    input.content.size(),
                    limit
                )
            ),
            true
        );
    }

    std::string mail = fmt::format("MAIL FROM:<{}>", env.sender);
    if (c.offers("SIZE")) {
        mail += fmt::format(" SIZE={}", input.content.size());
    }
    if (env.eight_bit) {
        mail += " BODY=8BITMIME";
    }
    if (env.smtputf8) {
        mail += " SMTPUTF8";
    }
    if (requiretls) {
        mail += " REQUIRETLS";
    }
    const bool dsn = c.offers("DSN");
    if (dsn) {
        mail += env.ret_headers ? " RET=HDRS" : " RET=FULL";
        if (!env.envid.empty()) {
            mail += " ENVID=" + wire::xtext_encode(env.envid);
        }
    }
    std::vector<std::string> rcpts;
    for (const auto* r : input.recipients) {
        std::string line = fmt::format("RCPT TO:<{}>", r->address);
        if (dsn) {
            line += notify_parameter(r->notify) + orcpt_parameter(r->orcpt);
        }
        rcpts.push_back(std::move(line));
    }

    const bool pipelining = c.offers("PIPELINING");
    TransactionOutcome out;
    out.recipients.resize(n);
    out.requiretls_waived = env.requiretls && !requiretls;
    // A network failure: recipients already refused keep their reply; the others are retried.
    const auto lost = [&out](const std::error_code& why) {
        for (auto& r : out.recipients) {
            if (r.code == 0 || (r.code >= 200 && r.code < 300)) {
                r = local(451, "451 4.4.2 Connection lost: " + why.message());
            }
        }
        out.connection_usable = false;
        return out;
    };

    if (pipelining) {
        // RFC 2920 §3.1: MAIL, the RCPTs and DATA in one group; replies are read in order.
        std::string group = mail + "\r\n";
        for (const auto& line : rcpts) {
            group += line + "\r\n";
        }
        group += "DATA\r\n";
        if (auto st = co_await c.send(std::move(group)); !st) {
            co_return lost(st.error());
        }
    } else if (auto st = co_await c.send(mail + "\r\n"); !st) {
        co_return lost(st.error());
    }
    auto mail_reply = co_await c.read_reply();
    if (!mail_reply) {
        co_return lost(mail_reply.error());
    }
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!pipelining) {
            if (!mail_reply->positive()) {
                break;
            }
            if (auto st = co_await c.send(rcpts[i] + "\r\n"); !st) {
                co_return lost(st.error());
            }
        }
        auto reply = co_await c.read_reply();
        if (!reply) {
            co_return lost(reply.error());
        }
        out.recipients[i] = outcome_of(*reply);
        accepted += reply->positive() ? 1 : 0;
    }
    if (!mail_reply->positive()) {
        // The whole transaction failed at MAIL; with pipelining the RCPT and DATA replies were
        // read above (and are errors too), so the session stays in step.
        if (pipelining) {
            (void)co_await c.read_reply();  // DATA's (503)
        }
        (void)co_await c.command("RSET");
        co_return everyone(n, outcome_of(*mail_reply), true);
    }
    if (!pipelining && accepted > 0) {
        if (auto st = co_await c.send("DATA\r\n"); !st) {
            co_return lost(st.error());
        }
    }
    if (!pipelining && accepted == 0) {
        (void)co_await c.command("RSET");
        co_return out;
    }
    auto data_reply = co_await c.read_reply();
    if (!data_reply) {
        co_return lost(data_reply.error());
    }
    if (data_reply->code != 354) {
        // No recipient accepted (RFC 2920 §3.1: the server refuses DATA), or DATA refused.
        if (accepted > 0) {
            for (std::size_t i = 0; i < n; ++i) {
                if (out.recipients[i].code >= 200 && out.recipients[i].code < 300) {
                    out.recipients[i] = outcome_of(*data_reply);
                }
            }
        }
        (void)co_await c.command("RSET");
        co_return out;
    }
    if (auto st = co_await c.send(dot_stuff(input.content)); !st) {
        co_return lost(st.error());
    }
    auto final_reply = co_await c.read_reply();
    if (!final_reply) {
        // RFC 5321 §4.5.4.1 ... the message may or may not have been delivered; retrying is the
        // only safe course (the duplicate SMTP cannot rule out).
        co_return lost(final_reply.error());
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (out.recipients[i].code >= 200 && out.recipients[i].code < 300) {
            out.recipients[i] = outcome_of(*final_reply);
            out.recipients[i].dsn_passed_on = dsn && final_reply->positive();
        }
    }
    co_return out;
}

}  // namespace sov::smtp::queue
