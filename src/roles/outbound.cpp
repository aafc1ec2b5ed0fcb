#include "roles/outbound.hpp"

#include <algorithm>

#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/durable_file.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "mailauth/arc_seal.hpp"
#include "mime/address.hpp"
#include "smtp/wire/trace_headers.hpp"

namespace sov::roles {

namespace asio = boost::asio;
using smtp::wire::Reply;

namespace {

bool starts_with_field(std::string_view line, std::string_view name) {
    // RFC 5322 §4.5: the obsolete syntax allows WSP between the name and the colon ("Date :");
    // such a field still counts, or the message would end up with two.
    auto colon = name.size();
    while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) {
        ++colon;
    }
    if (colon >= line.size() || line[colon] != ':') {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(line[i])) !=
            std::tolower(static_cast<unsigned char>(name[i]))) {
            return false;
        }
    }
    return true;
}

// Walks the header section line by line (continuation lines included) until the empty line.
// Returns the offset of the empty line, or npos when the message has none.
template <class Visit>
std::size_t scan_header(std::string_view message, Visit visit) {
    std::size_t pos = 0;
    while (pos < message.size()) {
        const auto eol = message.find('\n', pos);
        const auto line =
            message.substr(pos, (eol == std::string_view::npos ? message.size() : eol) - pos);
        if (line.empty() || line == "\r") {
            return pos;
        }
        visit(line);
        if (eol == std::string_view::npos) {
            break;
        }
        pos = eol + 1;
    }
    return std::string_view::npos;
}

}  // namespace

std::optional<std::string> header_field(std::string_view message, std::string_view name) {
    std::optional<std::string> value;
    bool in_field = false;
    scan_header(message, [&](std::string_view line) {
        if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            if (in_field) {
                *value += line;  // RFC 5322 §2.2.3 unfolding: the CRLF goes, the WSP stays
                if (value->ends_with('\r')) {
                    value->pop_back();
                }
            }
            return;
        }
        in_field = !value && starts_with_field(line, name);
        if (in_field) {
            value = std::string(line.substr(name.size() + 1));
            if (value->ends_with('\r')) {
                value->pop_back();
            }
        }
    });
    return value;
}

std::size_t received_count(std::string_view message) {
    std::size_t count = 0;
    scan_header(message, [&](std::string_view line) {
        count += starts_with_field(line, "received") ? 1 : 0;
    });
    return count;
}

std::string seal_forwarded(
    const ArcSealer& sealer, const ForwardSeal& seal, std::string_view message, std::string_view id
) {
    const auto unsealed = [&](std::string_view reason) {
        log::info(
            "arc.unsealed",
            {{"message", std::string(id)}, {"domain", seal.domain}, {"reason", std::string(reason)}}
        );
        return std::string{};
    };
    if (!sealer) {
        return unsealed("no keys");
    }
    // RFC 8617 §5.1 step 4.A: the AAR carries this hop's Authentication-Results.
    const auto aar = mailauth::merge_authentication_results(message, seal.authserv_id);
    if (aar.empty()) {
        return unsealed("no Authentication-Results of ours");
    }
    auto set = sealer(seal.domain, message, aar, seal.chain);
    if (!set) {
        log::warn(
            "arc.seal_failed",
            {{"message", std::string(id)}, {"domain", seal.domain}, {"error", set.error().message()}
            }
        );
        return {};
    }
    if (!*set) {
        return unsealed("no key for the domain");
    }
    if ((*set)->empty()) {
        return unsealed("chain closed (cv=fail or 50 sets)");
    }
    return std::move(**set);
}

std::string author_domain(std::string_view message) {
    const auto from = header_field(message, "from");
    if (!from) {
        return {};
    }
    for (const auto& address : mime::parse_address_list(*from)) {
        if (address.kind == mime::Address::Kind::Mailbox && !address.host.empty()) {
            std::string domain = address.host;
            std::transform(domain.begin(), domain.end(), domain.begin(), [](unsigned char c) {
                return static_cast<char>(std::tolower(c));
            });
            return domain;
        }
    }
    return {};
}

std::string add_missing_fields(std::string message, std::string_view hostname, std::int64_t now) {
    bool has_date = false;
    bool has_id = false;
    const auto header_end = scan_header(message, [&](std::string_view line) {
        has_date = has_date || starts_with_field(line, "date");
        has_id = has_id || starts_with_field(line, "message-id");
    });
    std::string fields;
    if (!has_date) {
        fields += "Date: " + smtp::wire::format_rfc5322_date(now, 0) + "\r\n";
    }
    if (!has_id) {
        fields += fmt::format("Message-ID: <{}@{}>\r\n", core::random_id(24), hostname);
    }
    if (fields.empty()) {
        return message;
    }
    if (header_end == std::string::npos) {
        // No empty line: the whole message is header (or it ends without CRLF).
        if (!message.empty() && !message.ends_with("\n")) {
            message += "\r\n";
        }
        message += fields;
        return message;
    }
    message.insert(header_end, fields);
    return message;
}

namespace {

// The queue's copy of an SMTP envelope, for submitted and forwarded messages alike.
smtp::queue::MessageEnvelope queued_envelope(
    const smtp::server::SessionInfo& session, const smtp::wire::Envelope& envelope
) {
    return {
        .sender = envelope.reverse_path.to_string(),  // "<>" stays "" (the null path)
        .envid = envelope.envid,
        .ret_headers = envelope.ret == smtp::wire::DsnRet::Hdrs,
        .smtputf8 = envelope.smtputf8,
        .eight_bit = envelope.body == smtp::wire::BodyType::EightBitMime,
        .requiretls = envelope.requiretls,  // RFC 8689 §4.1: the tag travels with the message
        .auth = session.auth_identity,
    };
}

}  // namespace

asio::awaitable<std::vector<Reply>> Outbound::submit(
    const smtp::server::SessionInfo& session,
    const smtp::wire::Envelope& envelope,
    std::vector<smtp::wire::Recipient> recipients,
    store::Incoming& message
) {
    auto queued = queued_envelope(session, envelope);
    std::vector<smtp::queue::NewRecipient> targets;
    for (const auto& r : recipients) {
        targets.push_back(smtp::queue::NewRecipient{
            .address = r.path.to_string(),
            .orcpt = r.orcpt_type.empty() ? std::string() : r.orcpt_type + ";" + r.orcpt_value,
            .notify = r.notify,
        });
    }
    auto work = [this, &message, queued = std::move(queued), targets = std::move(targets)](
                ) -> Result<std::string> {
        auto content = message.contents();
        if (!content) {
            return content.error();
        }
        const auto now = core::now();
        auto fixed = add_missing_fields(std::move(*content), hostname_, core::unix_seconds(now));
        if (signer_) {
            // DKIM (RFC 6376) by the author's domain, once, before queuing (issue 5).
            fixed.insert(0, signer_(author_domain(fixed), fixed));
        }
        return queue_.enqueue(queued, targets, fixed, now);
    };
    auto id = co_await core::offload(pool_.get_executor(), std::move(work));
    std::vector<Reply> replies;
    if (!id) {
        log::error(
            "queue.enqueue_failed", {{"session", session.id}, {"error", id.error().message()}}
        );
        for (const auto& r : recipients) {
            replies.push_back(Reply{
                451, "4.3.0", "<" + r.path.to_string() + "> temporary failure queueing the message"
            });
        }
        co_return replies;
    }
    log::info(
        "queue.accepted",
        {{"session", session.id},
         {"message", *id},
         {"from", envelope.reverse_path.to_string()},
         {"recipients", recipients.size()},
         {"auth", session.auth_identity}}
    );
    runner_.wake();
    for (const auto& r : recipients) {
        replies.push_back(Reply{250, "2.0.0", "<" + r.path.to_string() + "> queued as " + *id});
    }
    co_return replies;
}

asio::awaitable<Result<Forwarded>> Outbound::forward(
    const smtp::server::SessionInfo& session,
    const smtp::wire::Envelope& envelope,
    std::vector<smtp::queue::NewRecipient> targets,
    store::Incoming& message,
    std::optional<ForwardSeal> seal
) {
    auto queued = queued_envelope(session, envelope);
    const auto count = targets.size();
    auto work = [this,
                 &message,
                 queued = std::move(queued),
                 targets = std::move(targets),
                 seal = std::move(seal),
                 submitted = !session.auth_identity.empty(),
                 id = session.id]() -> Result<Forwarded> {
        auto content = message.contents();
        if (!content) {
            return content.error();
        }
        if (received_count(*content) > kMaxReceived) {
            return Forwarded{.id = {}, .looping = true};
        }
        if (submitted) {
            // Our own user's message, reaching the outside through an alias: the same
            // fix-ups and DKIM signature as any submission (issue 5).
            const auto now = core::now();
            *content = add_missing_fields(std::move(*content), hostname_, core::unix_seconds(now));
            if (signer_) {
                content->insert(0, signer_(author_domain(*content), *content));
            }
        } else if (seal) {
            // The header is otherwise forwarded unchanged (RFC 5321 §3.9.1); the ARC set goes
            // on top, as a new trace block (RFC 8617 §5.1).
            content->insert(0, seal_forwarded(sealer_, *seal, *content, id));
        }
        auto queued_id = queue_.enqueue(queued, targets, *content, core::now());
        if (!queued_id) {
            return queued_id.error();
        }
        return Forwarded{.id = std::move(*queued_id), .looping = false};
    };
    auto done = co_await core::offload(pool_.get_executor(), std::move(work));
    if (!done) {
        log::error(
            "queue.forward_failed", {{"session", session.id}, {"error", done.error().message()}}
        );
        co_return done;
    }
    if (done->looping) {
        log::warn("queue.forward_loop", {{"session", session.id}, {"limit", kMaxReceived}});
        co_return done;
    }
    log::info(
        "queue.forwarded",
        {{"session", session.id},
         {"message", done->id},
         {"from", envelope.reverse_path.to_string()},
         {"recipients", count}}
    );
    runner_.wake();
    co_return done;
}

asio::awaitable<Result<std::string>> Outbound::enqueue_generated(
    std::string sender, std::vector<std::string> recipients, std::string message
) {
    auto work = [this,
                 sender = std::move(sender),
                 recipients = std::move(recipients),
                 message = std::move(message)]() -> Result<std::string> {
        const auto now = core::now();
        auto fixed = add_missing_fields(message, hostname_, core::unix_seconds(now));
        if (signer_) {
            fixed.insert(0, signer_(author_domain(fixed), fixed));
        }
        std::vector<smtp::queue::NewRecipient> targets;
        for (const auto& r : recipients) {
            targets.push_back({.address = r, .orcpt = {}, .notify = 0});
        }
        smtp::queue::MessageEnvelope envelope;
        envelope.sender = sender;
        return queue_.enqueue(envelope, targets, fixed, now);
    };
    auto id = co_await core::offload(pool_.get_executor(), std::move(work));
    if (id) {
        runner_.wake();
    }
    co_return id;
}

asio::awaitable<Result<std::string>> Outbound::notify_delivered(
    const smtp::wire::Envelope& envelope,
    std::vector<smtp::queue::DsnRecipient> recipients,
    std::string original
) {
    if (envelope.reverse_path.null || recipients.empty()) {
        co_return std::string();  // RFC 3461 §6.2: never a notice to the null sender
    }
    const auto sender = envelope.reverse_path.to_string();
    auto work = [this,
                 sender,
                 envid = envelope.envid,
                 utf8 = envelope.smtputf8,
                 queued = queued_envelope({}, envelope),
                 recipients = std::move(recipients),
                 original = std::move(original)]() mutable -> Result<std::string> {
        const auto now = core::now();
        smtp::queue::DsnInput input{
            .reporting_mta = hostname_,
            .sender = sender,
            .envid = envid,
            .arrival = now,
            .headers_only = true,  // RFC 3461 §4.3: no failure, only the header
            .original = original,
            .recipients = std::move(recipients),
            .now = now,
            .message_id = "<" + core::random_id(20) + "@" + hostname_ + ">",
            .utf8 = utf8,
        };
        const auto dsn = smtp::queue::build_dsn(input);
        return queue_.enqueue(
            smtp::queue::dsn_envelope(queued),
            {smtp::queue::NewRecipient{
                .address = sender, .orcpt = "", .notify = smtp::wire::kNotifyNever
            }},
            dsn,
            now
        );
    };
    auto id = co_await core::offload(pool_.get_executor(), std::move(work));
    if (!id) {
        log::error("queue.dsn_failed", {{"to", sender}, {"error", id.error().message()}});
        co_return id;
    }
    log::info("queue.dsn", {{"dsn", *id}, {"to", sender}, {"action", "delivered"}});
    runner_.wake();
    co_return id;
}

}  // namespace sov::roles
