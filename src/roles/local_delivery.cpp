#include "roles/local_delivery.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "roles/inbound_auth.hpp"
#include "roles/outbound.hpp"

namespace sov::roles {

namespace asio = boost::asio;
using smtp::wire::Reply;
using Kind = accounts::RecipientResolution::Kind;

namespace {

// Bridges the store's completion callback (on its committer thread) back to the session's strand.
template <class Token>
auto async_deliver(
    store::Store& store, store::Incoming message, store::DeliveryRequest request, Token&& token
) {
    using Signature = void(std::vector<store::DeliveryOutcome>);
    return asio::async_initiate<Token, Signature>(
        [&store](auto handler, store::Incoming msg, store::DeliveryRequest req) {
            auto executor = asio::get_associated_executor(handler);
            auto work = asio::make_work_guard(executor);
            // std::function needs a copyable callable; the awaitable handler is move-only.
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            store.deliver_async(
                std::move(msg),
                std::move(req),
                [shared,
                 work = std::move(work)](std::vector<store::DeliveryOutcome> outcomes) mutable {
                    auto ex = work.get_executor();
                    asio::post(ex, [shared, outcomes = std::move(outcomes)]() mutable {
                        (*shared)(std::move(outcomes));
                    });
                    work.reset();
                }
            );
        },
        token,
        std::move(message),
        std::move(request)
    );
}

// One line a person can read and the outbound queue can parse back: the values are xtext
// (RFC 3461 §4), as they travel in SMTP.
std::string describe_envelope(
    const smtp::wire::Envelope& envelope, const smtp::wire::Recipient& rcpt
) {
    using smtp::wire::xtext_encode;
    std::string text =
        "from=<" + envelope.reverse_path.to_string() + "> rcpt=<" + rcpt.path.to_string() + ">";
    if (envelope.ret != smtp::wire::DsnRet::Unspecified) {
        text += envelope.ret == smtp::wire::DsnRet::Full ? " ret=FULL" : " ret=HDRS";
    }
    if (!envelope.envid.empty()) {
        text += " envid=" + xtext_encode(envelope.envid);
    }
    if (rcpt.notify != 0) {
        std::string notify;
        for (const auto& [bit, name] :
             {std::pair{smtp::wire::kNotifyNever, "NEVER"},
              std::pair{smtp::wire::kNotifySuccess, "SUCCESS"},
              std::pair{smtp::wire::kNotifyFailure, "FAILURE"},
              std::pair{smtp::wire::kNotifyDelay, "DELAY"}}) {
            if ((rcpt.notify & bit) != 0) {
                notify += notify.empty() ? name : std::string{","} + name;
            }
        }
        text += " notify=" + notify;
    }
    if (!rcpt.orcpt_type.empty()) {
        text += " orcpt=" + rcpt.orcpt_type + ";" + xtext_encode(rcpt.orcpt_value);
    }
    return text;
}

// Of two outcomes for one RCPT, the one the client hears: a failure beats success, and a
// temporary failure beats a permanent one so that the sender retries.
Reply worse(Reply current, Reply other) {
    if (!other.positive() && (current.positive() || (other.transient() && current.permanent()))) {
        return other;
    }
    return current;
}

// The chain status verify_arc found, as the verdict's "arc" result records it.
mailauth::ArcCv arc_chain(const AuthVerdict& verdict) {
    for (const auto& result : verdict.results) {
        if (result.method == "arc") {
            if (result.result == "pass") {
                return mailauth::ArcCv::Pass;
            }
            if (result.result == "fail") {
                return mailauth::ArcCv::Fail;
            }
        }
    }
    return mailauth::ArcCv::None;
}

std::string domain_of(std::string_view address) {
    const auto at = address.rfind('@');
    std::string domain(at == std::string_view::npos ? std::string_view{} : address.substr(at + 1));
    std::transform(domain.begin(), domain.end(), domain.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return domain;
}

}  // namespace

DeliveryPlan plan_delivery(
    const std::vector<std::string>& addresses,
    const std::vector<accounts::RecipientResolution>& resolutions,
    bool queue,
    bool relay
) {
    DeliveryPlan plan;
    std::map<std::string, std::size_t, std::less<>> forward_of;  // target -> index in forwards
    for (std::size_t i = 0; i < resolutions.size() && i < addresses.size(); ++i) {
        const auto& r = resolutions[i];
        if (r.kind == Kind::NotLocal && relay && queue) {
            plan.relayed.push_back(i);
            continue;
        }
        if (r.kind != Kind::Local || (r.accounts.empty() && r.external.empty()) ||
            (!r.external.empty() && !queue)) {
            plan.deferred.push_back(i);
            continue;
        }
        if (!r.accounts.empty()) {
            plan.stored.push_back(i);
        }
        for (const auto& target : r.external) {
            auto [it, inserted] = forward_of.emplace(target, 0);
            if (inserted) {
                // One queue entry per alias domain: each is sealed with that domain's key.
                const auto domain = domain_of(addresses[i]);
                auto f = std::find_if(plan.forwards.begin(), plan.forwards.end(), [&](auto& x) {
                    return x.domain == domain;
                });
                if (f == plan.forwards.end()) {
                    DeliveryPlan::Forward entry;
                    entry.domain = domain;
                    f = plan.forwards.insert(plan.forwards.end(), std::move(entry));
                }
                f->targets.push_back(target);
                f->sources.push_back(i);
                it->second = static_cast<std::size_t>(f - plan.forwards.begin());
            }
            auto& rcpts = plan.forwards[it->second].rcpts;
            if (rcpts.empty() || rcpts.back() != i) {
                rcpts.push_back(i);
            }
        }
    }
    return plan;
}

Reply reply_for(const store::DeliveryOutcome& outcome, const std::string& rcpt) {
    switch (outcome.status) {
        case store::DeliveryStatus::Delivered:
            return Reply{250, "2.0.0", "<" + rcpt + "> delivered"};
        case store::DeliveryStatus::QuotaExceeded:
            return Reply{452, "4.2.2", "<" + rcpt + "> mailbox is full"};
        case store::DeliveryStatus::MessageTooBigForQuota:
            return Reply{552, "5.2.2", "<" + rcpt + "> message exceeds the mailbox quota"};
        case store::DeliveryStatus::MailboxMissing:
            return Reply{550, "5.2.0", "<" + rcpt + "> mailbox unavailable"};
        case store::DeliveryStatus::TempFail:
            break;
    }
    return Reply{451, "4.3.0", "<" + rcpt + "> temporary failure storing the message"};
}

std::string LocalDelivery::address_of(const smtp::wire::Recipient& recipient) const {
    if (recipient.path.postmaster) {
        return "postmaster@" + postmaster_domain_;
    }
    return recipient.path.to_string();
}

namespace {

std::string minutes_text(accounts::SendLimiter::Clock::duration d) {
    const auto minutes = std::chrono::ceil<std::chrono::minutes>(d).count();
    return std::to_string(minutes < 1 ? 1 : minutes) + " min";
}

}  // namespace

asio::awaitable<Reply> LocalDelivery::check_sender(
    smtp::server::SessionInfo session, smtp::wire::Envelope envelope
) {
    if (session.auth_identity.empty()) {
        co_return Reply{250, "2.1.0", "Sender OK"};
    }
    const auto from = envelope.reverse_path.to_string();
    // RFC 6409 §6.1: the submission server may check that the sender is authorised.
    auto allowed = directory_.may_send_as(session.auth_identity, from, sender_policy_);
    if (!allowed) {
        co_return Reply{451, "4.3.0", "Temporary failure checking the sender, try again"};
    }
    if (!*allowed) {
        log::info(
            "smtp.sender.refused",
            {{"session", session.id}, {"auth", session.auth_identity}, {"from", from}}
        );
        co_return Reply{
            550, "5.7.1", "<" + from + "> is not an address " + session.auth_identity + " may use"
        };
    }
    if (limiter_ != nullptr) {
        const auto verdict = limiter_->check_message(session.auth_identity);
        if (!verdict.allowed()) {
            log::info(
                "smtp.rate_limited", {{"session", session.id}, {"auth", session.auth_identity}}
            );
            co_return Reply{
                451,
                "4.7.1",
                "Hourly sending limit reached, try again in " + minutes_text(verdict.retry_after)
            };
        }
    }
    co_return Reply{250, "2.1.0", "Sender OK"};
}

asio::awaitable<Reply> LocalDelivery::check_recipient(
    smtp::server::SessionInfo session,
    smtp::wire::Envelope envelope,
    smtp::wire::Recipient recipient
) {
    if (limiter_ != nullptr && !session.auth_identity.empty()) {
        const auto verdict =
            limiter_->check_recipient(session.auth_identity, envelope.recipients.size());
        if (!verdict.allowed()) {
            // RFC 5321 §4.5.3.1.10: the client sends the remaining recipients later.
            co_return Reply{
                452,
                "4.5.3",
                "Hourly recipient limit reached, try again in " + minutes_text(verdict.retry_after)
            };
        }
    }
    // A single indexed SQLite read; cheaper inline than a hop to the worker pool.
    const auto resolution = directory_.resolve_recipient(address_of(recipient));
    switch (resolution.kind) {
        case Kind::Local:
            if (!resolution.external.empty() && outbound_ == nullptr) {
                // External targets need the outbound queue; accepting only the local ones
                // would lose the other copies silently.
                co_return Reply{451, "4.3.0", "Forwarding is not available, try later"};
            }
            if (resolution.accounts.empty()) {
                co_return Reply{250, "2.1.5", "Recipient OK, will be forwarded"};
            }
            co_return Reply{250, "2.1.5", "Recipient OK"};
        case Kind::UnknownUser:
            co_return Reply{550, "5.1.1", "No such user here"};
        case Kind::NotLocal:
            // RFC 5321 §3.6.2, RFC 5068: no relaying for unauthenticated clients.
            if (session.auth_identity.empty()) {
                co_return Reply{550, "5.7.1", "Relaying denied"};
            }
            if (outbound_ == nullptr) {
                co_return Reply{451, "4.3.0", "Outbound delivery is not available"};
            }
            co_return Reply{250, "2.1.5", "Recipient OK, will be relayed"};
        case Kind::Invalid:
            co_return Reply{501, "5.1.3", "Bad recipient address syntax"};
        case Kind::Failed:
            break;
    }
    log::error(
        "smtp.rcpt.resolve_failed",
        {{"session", session.id},
         {"rcpt", address_of(recipient)},
         {"error", resolution.error.message()}}
    );
    co_return Reply{451, "4.3.0", "Temporary failure looking up the recipient"};
}

Result<store::Incoming> LocalDelivery::begin_message() {
    return store_.begin_message();
}

asio::awaitable<std::variant<LocalDelivery::Authenticated, std::vector<Reply>>>
LocalDelivery::authenticate(
    const smtp::server::SessionInfo& session,
    const smtp::wire::Envelope& envelope,
    store::Incoming message
) {
    const auto failed = [&](std::string_view what, const std::error_code& error) {
        log::error(
            "mailauth.spool_failed",
            {{"session", session.id}, {"step", what}, {"error", error.message()}}
        );
        return std::vector<Reply>(
            envelope.recipients.size(), Reply{451, "4.3.0", "Temporary failure storing the message"}
        );
    };
    auto content = message.contents();
    if (!content) {
        co_return failed("read", content.error());
    }
    auto verdict = co_await authenticator_->evaluate(session, envelope, *content);
    if (verdict.refusal) {
        co_return std::vector<Reply>(envelope.recipients.size(), *verdict.refusal);
    }
    // The header goes below this hop's trace fields, so the spool is written again; the old
    // one is discarded when `message` goes out of scope.
    auto rebuilt = store_.begin_message();
    if (!rebuilt) {
        co_return failed("spool", rebuilt.error());
    }
    const auto with_results =
        with_authentication_results(*content, verdict.header, verdict.authserv_id);
    if (auto st = rebuilt->append(with_results); !st) {
        co_return failed("write", st.error());
    }
    co_return Authenticated{
        .message = std::move(*rebuilt),
        .authserv_id = verdict.authserv_id,
        .chain = arc_chain(verdict),
    };
}

asio::awaitable<std::vector<Reply>> LocalDelivery::deliver(
    smtp::server::SessionInfo session, smtp::wire::Envelope envelope, store::Incoming message
) {
    // Mail from the outside (an MX session: SMTP, not authenticated) is authenticated first.
    std::optional<mailauth::ArcCv> arc;
    std::string authserv_id;  // of the Authentication-Results added, for an ARC seal
    if (authenticator_ != nullptr && session.auth_identity.empty() &&
        session.protocol == smtp::wire::Protocol::Smtp && !session.client_ip.empty()) {
        auto checked = co_await authenticate(session, envelope, std::move(message));
        if (auto* refusal = std::get_if<std::vector<Reply>>(&checked)) {
            co_return std::move(*refusal);
        }
        auto& authenticated = std::get<Authenticated>(checked);
        message = std::move(authenticated.message);
        arc = authenticated.chain;
        authserv_id = std::move(authenticated.authserv_id);
    }
    if (limiter_ != nullptr && !session.auth_identity.empty()) {
        const auto verdict =
            limiter_->check_and_record(session.auth_identity, envelope.recipients.size());
        if (!verdict.allowed()) {
            // Parallel sessions of the same account used the room meanwhile.
            co_return std::vector<Reply>(
                envelope.recipients.size(),
                Reply{451, "4.7.1", "Hourly sending limit reached, try again later"}
            );
        }
    }
    const auto n = envelope.recipients.size();
    std::vector<std::string> addresses;
    std::vector<accounts::RecipientResolution> resolutions;
    for (const auto& rcpt : envelope.recipients) {
        addresses.push_back(address_of(rcpt));
        resolutions.push_back(directory_.resolve_recipient(addresses.back()));
    }
    // Authenticated submissions for other domains and the external targets of aliases go to
    // the outbound queue, local accounts to the store (RCPT already limited unauthenticated
    // clients to our domains). Replies are merged back in RCPT order.
    const auto plan =
        plan_delivery(addresses, resolutions, outbound_ != nullptr, !session.auth_identity.empty());
    std::vector<std::optional<Reply>> replies(n);
    const auto merge = [&](std::size_t i, Reply reply) {
        replies[i] =
            replies[i] ? worse(std::move(*replies[i]), std::move(reply)) : std::move(reply);
    };
    for (const auto i : plan.deferred) {
        merge(i, Reply{451, "4.3.0", "Recipient changed during the transaction, try again"});
    }

    // Forwarded copies first: an RCPT whose copy could not be queued is not stored either, so
    // the client's retry does not deliver the local copy twice.
    std::vector<bool> unstored(n, false);
    for (const auto& forward : plan.forwards) {
        std::vector<smtp::queue::NewRecipient> targets;
        for (std::size_t t = 0; t < forward.targets.size(); ++t) {
            const auto& source = envelope.recipients[forward.sources[t]];
            // RFC 3461 §4.2: the copy's DSNs name the address the sender used.
            targets.push_back({
                .address = forward.targets[t],
                .orcpt = source.orcpt_type.empty() ? "rfc822;" + addresses[forward.sources[t]]
                                                   : source.orcpt_type + ";" + source.orcpt_value,
                .notify = source.notify,
            });
        }
        std::optional<ForwardSeal> seal;
        if (arc) {
            seal = ForwardSeal{
                .domain = forward.domain,
                .authserv_id = authserv_id,
                .chain = *arc,
            };
        }
        auto done = co_await outbound_->forward(
            session, envelope, std::move(targets), message, std::move(seal)
        );
        for (const auto i : forward.rcpts) {
            const auto rcpt = "<" + addresses[i] + ">";
            if (!done) {
                unstored[i] = true;
                merge(
                    i, Reply{451, "4.3.0", rcpt + " temporary failure queueing the forwarded copy"}
                );
            } else if (done->looping) {
                // RFC 5321 §6.3; RFC 3463 X.4.6 "routing loop detected".
                unstored[i] = true;
                merge(
                    i,
                    Reply{554, "5.4.6", rcpt + " routing loop detected, too many Received fields"}
                );
            } else {
                merge(i, Reply{250, "2.0.0", rcpt + " forwarded as " + done->id});
            }
        }
    }

    if (!plan.relayed.empty()) {
        std::vector<smtp::wire::Recipient> remote_rcpts;
        for (const auto i : plan.relayed) {
            remote_rcpts.push_back(envelope.recipients[i]);
        }
        auto queued = co_await outbound_->submit(session, envelope, remote_rcpts, message);
        for (std::size_t k = 0; k < plan.relayed.size() && k < queued.size(); ++k) {
            merge(plan.relayed[k], queued[k]);
        }
    }

    smtp::wire::Envelope local_envelope = envelope;
    local_envelope.recipients.clear();
    std::vector<std::size_t> local;
    for (const auto i : plan.stored) {
        if (!unstored[i]) {
            local.push_back(i);
            local_envelope.recipients.push_back(envelope.recipients[i]);
        }
    }
    if (!local.empty()) {
        // RFC 3461 §5.2.2: a recipient that asked NOTIFY=SUCCESS and is stored here (final
        // delivery) gets a "delivered" DSN. The header is read before the spool is handed over.
        const bool success_asked =
            outbound_ != nullptr && !envelope.reverse_path.null &&
            std::any_of(local.begin(), local.end(), [&](std::size_t i) {
                return (envelope.recipients[i].notify & smtp::wire::kNotifySuccess) != 0;
            });
        std::optional<std::string> original;
        if (success_asked) {
            if (auto content = message.contents(); content) {
                original = std::move(*content);
            }
        }
        auto here = co_await deliver_here(session, std::move(local_envelope), std::move(message));
        std::vector<smtp::queue::DsnRecipient> delivered;
        for (std::size_t k = 0; k < local.size() && k < here.size(); ++k) {
            const auto& rcpt = envelope.recipients[local[k]];
            if (original && here[k].positive() && (rcpt.notify & smtp::wire::kNotifySuccess) != 0) {
                delivered.push_back(smtp::queue::DsnRecipient{
                    .final_recipient = addresses[local[k]],
                    .original_recipient = rcpt.orcpt_type.empty()
                                              ? std::string()
                                              : rcpt.orcpt_type + ";" + rcpt.orcpt_value,
                    .action = smtp::queue::DsnAction::Delivered,
                    .status = here[k].enhanced,
                    .remote_mta = {},
                    .diagnostic =
                        fmt::format("{} {} {}", here[k].code, here[k].enhanced, here[k].text),
                    .diagnostic_is_smtp = true,
                    .last_attempt = core::now(),
                    .will_retry_until = {},
                });
            }
            merge(local[k], here[k]);
        }
        if (!delivered.empty()) {
            // A notice that cannot be queued is logged; the delivery itself stands.
            (void)co_await outbound_->notify_delivered(
                envelope, std::move(delivered), std::move(*original)
            );
        }
    }
    std::vector<Reply> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(replies[i].value_or(Reply{451, "4.3.0", "<" + addresses[i] + "> not stored"})
        );
    }
    co_return out;
}

bool LocalDelivery::is_local_domain(std::string_view domain) {
    return directory_.is_local_domain(domain);
}

asio::awaitable<std::vector<smtp::queue::RecipientOutcome>> LocalDelivery::deliver_local(
    const smtp::queue::QueuedMessage& message,
    std::vector<const smtp::queue::QueuedRecipient*> recipients,
    std::string content
) {
    std::vector<smtp::queue::RecipientOutcome> out;
    smtp::server::SessionInfo session{
        .id = message.id,
        .client_ip = "",
        .helo = "",
        .tls = false,
        .auth_identity = "",
        .protocol = smtp::wire::Protocol::Smtp,
    };
    smtp::wire::Envelope envelope;
    if (!message.envelope.sender.empty()) {
        auto sender = smtp::wire::parse_path(
            "<" + message.envelope.sender + ">", smtp::wire::PathKind::Reverse, true
        );
        envelope.reverse_path = sender.path;
    } else {
        envelope.reverse_path.null = true;
    }
    envelope.envid = message.envelope.envid;
    for (const auto* r : recipients) {
        auto parsed =
            smtp::wire::parse_path("<" + r->address + ">", smtp::wire::PathKind::Forward, true);
        smtp::wire::Recipient rcpt;
        rcpt.path = parsed.path;
        rcpt.notify = r->notify;
        envelope.recipients.push_back(std::move(rcpt));
    }
    auto incoming = store_.begin_message();
    if (!incoming) {
        for (std::size_t i = 0; i < recipients.size(); ++i) {
            out.push_back({.code = 451, .reply = "451 4.3.0 store unavailable", .local = true});
        }
        co_return out;
    }
    // RFC 5321 §4.4: final delivery records the reverse-path ("<>" for a DSN).
    const std::string return_path = "Return-Path: <" + message.envelope.sender + ">\r\n";
    if (auto st = incoming->append(return_path); !st || !incoming->append(content)) {
        for (std::size_t i = 0; i < recipients.size(); ++i) {
            out.push_back({.code = 451, .reply = "451 4.3.0 spool write failed", .local = true});
        }
        co_return out;
    }
    auto replies = co_await deliver_here(session, std::move(envelope), std::move(*incoming));
    for (const auto& reply : replies) {
        out.push_back(
            {.code = reply.code,
             .reply = fmt::format("{} {} {}", reply.code, reply.enhanced, reply.text),
             .local = false}
        );
    }
    co_return out;
}

asio::awaitable<std::vector<Reply>> LocalDelivery::deliver_here(
    smtp::server::SessionInfo session, smtp::wire::Envelope envelope, store::Incoming message
) {
    // Map each envelope recipient to store recipients; an account reached through several
    // addresses (aliases, RCPTs) gets the message once and every such RCPT shares its outcome.
    store::DeliveryRequest request;
    request.trace_id = session.id;
    std::map<std::string, std::size_t> account_index;
    std::vector<std::vector<std::size_t>> targets(envelope.recipients.size());
    std::vector<std::optional<Reply>> early(envelope.recipients.size());
    for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
        const auto resolution = directory_.resolve_recipient(address_of(envelope.recipients[i]));
        if (resolution.kind != Kind::Local || resolution.accounts.empty()) {
            // Changed since RCPT (account deleted meanwhile): defer rather than lose it.
            early[i] = Reply{451, "4.3.0", "Recipient changed during the transaction, try again"};
            continue;
        }
        for (const auto& account : resolution.accounts) {
            auto [it, inserted] = account_index.emplace(account.address, request.recipients.size());
            if (inserted) {
                store::Recipient target;
                target.account = account.address;
                target.envelope = describe_envelope(envelope, envelope.recipients[i]);
                target.quota = store::Quota{
                    .max_bytes = account.quota.bytes, .max_messages = account.quota.messages
                };
                request.recipients.push_back(std::move(target));
            }
            targets[i].push_back(it->second);
        }
    }

    std::vector<store::DeliveryOutcome> outcomes;
    if (!request.recipients.empty()) {
        outcomes = co_await async_deliver(
            store_, std::move(message), std::move(request), asio::use_awaitable
        );
    }

    std::vector<Reply> replies;
    replies.reserve(envelope.recipients.size());
    for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
        if (early[i]) {
            replies.push_back(*early[i]);
            continue;
        }
        const auto rcpt = address_of(envelope.recipients[i]);
        // One RCPT may fan out to several accounts: it succeeded only if all of them did, and a
        // temporary failure wins over a permanent one so the sender retries.
        std::optional<Reply> worst;
        for (const auto index : targets[i]) {
            auto reply = index < outcomes.size() ? reply_for(outcomes[index], rcpt)
                                                 : Reply{451, "4.3.0", "<" + rcpt + "> not stored"};
            if (!worst || (!reply.positive() &&
                           (worst->positive() || (reply.transient() && worst->permanent())))) {
                worst = std::move(reply);
            }
        }
        replies.push_back(worst.value_or(Reply{451, "4.3.0", "<" + rcpt + "> not stored"}));
    }
    co_return replies;
}

}  // namespace sov::roles
