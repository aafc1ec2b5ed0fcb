#include "smtp/queue/runner.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "core/durable_file.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "smtp/client/host_session.hpp"
#include "smtp/queue/dsn.hpp"
#include "smtp/wire/server_engine.hpp"
#include "tls/mta_sts_policy.hpp"

namespace sov::smtp::queue {

namespace asio = boost::asio;

namespace {

std::string batch_key(const DueBatch& batch) {
    return batch.message_id + " " + batch.domain;
}

RecipientOutcome local_outcome(int code, std::string text) {
    return RecipientOutcome{.code = code, .reply = std::move(text), .local = true};
}

std::vector<const QueuedRecipient*> select(
    const QueuedMessage& message, const std::vector<std::int64_t>& ids
) {
    std::vector<const QueuedRecipient*> out;
    for (const auto& r : message.recipients) {
        if (r.state == RecipientState::Pending &&
            std::find(ids.begin(), ids.end(), r.id) != ids.end()) {
            out.push_back(&r);
        }
    }
    return out;
}

// RFC 3461 §4.1: NOTIFY absent means failure (and maybe delay) notices; NEVER means none.
bool wants(unsigned notify, unsigned flag) {
    if ((notify & wire::kNotifyNever) != 0) {
        return false;
    }
    return notify == 0 ? flag != wire::kNotifySuccess : (notify & flag) != 0;
}

}  // namespace

std::string next_hop_key(
    std::string_view domain, bool local, const client::SmarthostSettings& smarthost
) {
    if (!local && smarthost.enabled()) {
        return std::string(kSmarthostKey);
    }
    return std::string(domain);
}

bool tls_required_no(std::string_view message) noexcept {
    // RFC 8689 §3: requiretls-field = "TLS-Required:" [FWS] "No" CRLF; the name is
    // case-insensitive (RFC 5322 §1.2.2), the value compared case-insensitively as well.
    constexpr std::string_view kName = "tls-required:";
    std::size_t pos = 0;
    while (pos < message.size()) {
        auto eol = message.find('\n', pos);
        if (eol == std::string_view::npos) {
            eol = message.size();
        }
        auto line = message.substr(pos, eol - pos);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            return false;  // end of the header section
        }
        if (line.size() >= kName.size() &&
            std::equal(kName.begin(), kName.end(), line.begin(), [](char a, char b) {
                return a == std::tolower(static_cast<unsigned char>(b));
            })) {
            std::string_view value = line.substr(kName.size());
            // Folded values: the continuation lines are part of the value.
            std::string joined(value);
            auto next = eol + 1;
            while (next < message.size() && (message[next] == ' ' || message[next] == '\t')) {
                auto end = message.find('\n', next);
                if (end == std::string_view::npos) {
                    end = message.size();
                }
                joined.append(message.substr(next, end - next));
                next = end + 1;
            }
            std::string word;
            for (const char c : joined) {
                if (c != ' ' && c != '\t' && c != '\r') {
                    word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                }
            }
            return word == "no";
        }
        pos = eol + 1;
    }
    return false;
}

MessageEnvelope dsn_envelope(const MessageEnvelope& original) {
    return MessageEnvelope{
        .sender = "",  // RFC 5321 §4.5.5, RFC 3461 §6.2: a DSN never causes another one
        .envid = "",
        .ret_headers = false,
        .smtputf8 = original.smtputf8,
        .eight_bit = original.eight_bit,
        // RFC 8689 §5: "All non-delivery messages resulting from messages with the REQUIRETLS
        // SMTP option ... MUST also specify the REQUIRETLS SMTP option" (sent so by
        // send_message, which lets a bounce through a hop that cannot honour it).
        .requiretls = original.requiretls,
        .auth = "",
    };
}

bool owes_success_notice(
    const MessageEnvelope& envelope, unsigned notify, const RecipientOutcome& outcome
) {
    // RFC 3461 §5.2.2, §5.2.3: NOTIFY=SUCCESS is answered by us when the mail reached a local
    // mailbox ("delivered") or a peer that did not take the DSN request ("relayed"); a
    // DSN-capable peer got NOTIFY and ORCPT and answers itself. Mail from the null sender never
    // gets one (RFC 3461 §6.2).
    return outcome.code >= 200 && outcome.code < 300 && !envelope.sender.empty() &&
           wants(notify, wire::kNotifySuccess) && !outcome.dsn_passed_on;
}

NoticePlan plan_notices(
    const QueuedMessage& message, core::WallTime now, const RetryPolicy& retry
) {
    NoticePlan plan;
    const bool can_notify = !message.envelope.sender.empty();  // never answer a bounce
    for (const auto& r : message.recipients) {
        DsnRecipient d{
            .final_recipient = r.address,
            .original_recipient = r.orcpt,
            .action = DsnAction::Failed,
            .status = {},
            .remote_mta = r.last_host == kLocalHost ? std::string() : r.last_host,
            .diagnostic = r.last_reply,
            .diagnostic_is_smtp = true,
            .last_attempt = now,
            .will_retry_until = message.created + retry.max_age,
        };
        if (r.state == RecipientState::Failed && !r.dsn_done) {
            plan.settled.push_back(r.id);
            if (can_notify && wants(r.notify, wire::kNotifyFailure)) {
                plan.failed.push_back(std::move(d));
            }
        } else if (r.state == RecipientState::Delivered && r.success_notice && !r.dsn_done) {
            plan.settled.push_back(r.id);
            if (can_notify) {
                d.action = r.last_host == kLocalHost ? DsnAction::Delivered : DsnAction::Relayed;
                plan.succeeded.push_back(std::move(d));
            }
        } else if (r.state == RecipientState::Pending && !r.delay_notified &&
                   retry.delay_warning.count() > 0 &&
                   now - message.created >= retry.delay_warning) {
            plan.warned.push_back(r.id);
            if (can_notify && wants(r.notify, wire::kNotifyDelay)) {
                d.action = DsnAction::Delayed;
                plan.delayed.push_back(std::move(d));
            }
        }
    }
    return plan;
}

Runner::Runner(
    asio::any_io_executor io,
    asio::thread_pool::executor_type pool,
    QueueStore& store,
    dns::Resolver& resolver,
    net::SslContextPtr tls_context,
    tls::StsResolver* sts,
    LocalSink* local,
    RunnerSettings settings
)
    : strand_(asio::make_strand(io)),
      pool_(pool),
      store_(store),
      resolver_(resolver),
      tls_context_(std::move(tls_context)),
      sts_(sts),
      local_(local),
      settings_(std::move(settings)),
      timer_(strand_) {}

void Runner::start() {
    if (const auto& relay = settings_.smarthost; relay.enabled()) {
        log::info(
            "queue.smarthost",
            {{"host", relay.host},
             {"port", relay.port},
             {"tls", relay.implicit_tls ? "implicit" : "starttls"},
             {"auth", !relay.username.empty()}}
        );
        if (!relay.username.empty()) {
            // Checked once at start for the operator's benefit; read again at each connection.
            std::string warning;
            if (auto password = client::read_password_file(relay.password_file, warning);
                !password) {
                log::error(
                    "queue.smarthost_password_failed",
                    {{"path", relay.password_file.string()}, {"error", password.error().message()}}
                );
            }
            if (!warning.empty()) {
                log::warn(
                    "queue.smarthost_password_readable",
                    {{"path", relay.password_file.string()}, {"warning", warning}}
                );
            }
        }
    }
    asio::co_spawn(strand_, loop(), [](const std::exception_ptr& error) {
        if (error) {
            log::error("queue.runner_failed", {});
        }
    });
}

void Runner::set_tls_recorder(TlsAttemptRecorder* recorder) {
    asio::post(strand_, [this, recorder] { tls_recorder_ = recorder; });
}

void Runner::report_tls(
    const std::string& domain,
    const client::HostProbe& probe,
    const tls::DanePolicy& dane,
    const tls::ActivePolicy* sts
) {
    if (tls_recorder_ == nullptr || !probe.tls_outcome) {
        return;
    }
    const auto& outcome = *probe.tls_outcome;
    TlsAttempt attempt{
        .policy_domain = domain,
        .policy_type = outcome.policy,
        .policy_strings = {},
        .mx_patterns = {},
        .mx_host = probe.host,
        .receiving_ip = probe.address,
        .sending_ip = probe.local_address,
        .failure = outcome.failure,
        .failure_reason = outcome.reason,
    };
    // RFC 8460 §4.5: the TLSA records in presentation format, or the MTA-STS policy's lines.
    if (outcome.policy == tls::PolicyType::Tlsa) {
        for (const auto& r : dane.usable) {
            std::string hex;
            for (const auto byte : r.data) {
                hex += fmt::format("{:02x}", byte);
            }
            attempt.policy_strings.push_back(
                fmt::format("{} {} {} {}", r.usage, r.selector, r.matching_type, hex)
            );
        }
    } else if (outcome.policy == tls::PolicyType::Sts && sts != nullptr) {
        attempt.policy_strings = tls::to_lines(sts->policy);
        attempt.mx_patterns = sts->policy.mx;
    }
    tls_recorder_->record(std::move(attempt));
}

void Runner::wake() {
    asio::post(strand_, [this] {
        wake_pending_ = true;
        timer_.cancel();
    });
}

asio::awaitable<void> Runner::loop() {
    for (;;) {
        wake_pending_ = false;
        const auto now = core::now();
        auto find_due = [this, now] { return store_.due(now, 1000); };
        auto due = co_await core::offload(pool_, std::move(find_due));
        if (!due) {
            log::error("queue.scan_failed", {{"error", due.error().message()}});
        } else {
            // Keyed by next hop: a domain, or kSmarthostKey for all remote domains.
            std::map<std::string, std::vector<DueBatch>> by_domain;
            for (auto& batch : *due) {
                if (!busy_.contains(batch_key(batch))) {
                    const bool local = local_ != nullptr && local_->is_local_domain(batch.domain);
                    by_domain[next_hop_key(batch.domain, local, settings_.smarthost)].push_back(
                        std::move(batch)
                    );
                }
            }
            for (auto& entry : by_domain) {
                // Not a structured binding: lambdas below capture it (clang 14 refuses those).
                const std::string& domain = entry.first;
                auto& batches = entry.second;
                const auto in_flight = per_domain_[domain];
                const auto slots = std::min(
                    {settings_.max_per_domain > in_flight ? settings_.max_per_domain - in_flight
                                                          : std::size_t{0},
                     settings_.max_connections > active_ ? settings_.max_connections - active_
                                                         : std::size_t{0},
                     batches.size()}
                );
                if (slots == 0) {
                    continue;
                }
                // Share the domain's messages among `slots` connections.
                std::vector<std::vector<DueBatch>> jobs(slots);
                for (std::size_t i = 0; i < batches.size(); ++i) {
                    jobs[i % slots].push_back(std::move(batches[i]));
                }
                for (auto& job : jobs) {
                    std::vector<std::string> keys;
                    for (const auto& batch : job) {
                        keys.push_back(batch_key(batch));
                        busy_.insert(keys.back());
                    }
                    ++per_domain_[domain];
                    ++active_;
                    auto done = [this, domain, keys = std::move(keys)](const std::exception_ptr& e
                                ) {
                        if (e) {
                            log::error("queue.delivery_failed", {{"domain", domain}});
                        }
                        for (const auto& key : keys) {
                            busy_.erase(key);
                        }
                        if (--per_domain_[domain] == 0) {
                            per_domain_.erase(domain);
                        }
                        --active_;
                        wake_pending_ = true;
                        timer_.cancel();
                    };
                    asio::co_spawn(
                        strand_, deliver_domain(domain, std::move(job)), std::move(done)
                    );
                }
            }
        }
        auto find_next = [this] { return store_.next_due(); };
        auto next = co_await core::offload(pool_, std::move(find_next));
        std::chrono::steady_clock::duration wait = settings_.poll;
        const auto after = core::now();
        if (next && *next && **next > after) {
            wait = std::min<std::chrono::steady_clock::duration>(
                wait,
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(**next - after) +
                    std::chrono::milliseconds{10}
            );
        }
        if (!wake_pending_) {
            timer_.expires_after(wait);
            (void)co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }
}

asio::awaitable<void> Runner::deliver_domain(std::string domain, std::vector<DueBatch> batches) {
    if (domain == kSmarthostKey) {
        co_await deliver_smarthost(batches);
    } else if (local_ != nullptr && local_->is_local_domain(domain)) {
        co_await deliver_local(batches);
    } else {
        co_await deliver_remote(domain, batches);
    }
}

asio::awaitable<void> Runner::deliver_local(std::vector<DueBatch>& batches) {
    for (const auto& batch : batches) {
        auto load = [this, id = batch.message_id] { return store_.message(id); };
        auto message = co_await core::offload(pool_, std::move(load));
        auto read = [this, id = batch.message_id] { return store_.content(id); };
        auto content = co_await core::offload(pool_, std::move(read));
        if (!message || !content) {
            log::error("queue.load_failed", {{"message", batch.message_id}});
            continue;
        }
        auto recipients = select(*message, batch.recipient_ids);
        if (recipients.empty()) {
            continue;
        }
        auto outcomes = co_await local_->deliver_local(*message, recipients, std::move(*content));
        const std::string host(kLocalHost);
        co_await apply(batch, *message, outcomes, host);
    }
}

asio::awaitable<void> Runner::deliver_remote(
    const std::string& domain, std::vector<DueBatch>& batches
) {
    auto mx = co_await resolver_.mx(domain);
    if (!mx) {
        // Bogus, SERVFAIL, timeout: retry later (RFC 5321 §5.1: a temporary DNS error defers).
        auto failure = local_outcome(451, "451 4.4.3 MX lookup failed: " + mx.error().message());
        co_await apply_all(batches, std::move(failure));
        co_return;
    }
    if (mx->nxdomain) {
        auto failure = local_outcome(550, "550 5.1.2 The recipient domain does not exist");
        co_await apply_all(batches, std::move(failure));
        co_return;
    }
    auto hosts = mx->records;
    if (hosts.empty()) {
        hosts.push_back(dns::MxRecord{0, domain});  // RFC 5321 §5.1: the implicit MX
    }
    if (std::any_of(hosts.begin(), hosts.end(), [](const auto& h) { return h.exchange == "."; })) {
        // RFC 7505 §4.2
        auto failure =
            local_outcome(556, "556 5.1.10 The recipient domain accepts no mail (null MX)");
        co_await apply_all(batches, std::move(failure));
        co_return;
    }
    std::stable_sort(hosts.begin(), hosts.end(), [](const auto& a, const auto& b) {
        return a.preference < b.preference;
    });
    std::optional<tls::ActivePolicy> sts_policy;
    std::optional<tls::StsFailure> sts_failure;  // a published policy we could not fetch
    if (sts_ != nullptr) {
        // RFC 8461 §5.1: the policy is settled before any host is tried. Without a TXT answer
        // and no cached policy there is none to apply.
        if (auto lookup = co_await sts_->current_policy(domain); lookup && lookup->policy) {
            sts_policy = std::move(lookup->policy);
        } else if (lookup) {
            sts_failure = std::move(lookup->failure);  // TLS-RPT counts it (RFC 8460 §4.3.2.2)
        }
    }
    const tls::ActivePolicy* policy = sts_policy ? &*sts_policy : nullptr;
    client::ProbeOptions options{
        .port = settings_.port, .helo = settings_.hostname, .timeouts = settings_.timeouts
    };

    std::size_t next = 0;  // first batch not yet attempted
    std::string last_error = "no MX host could be reached";
    bool policy_failed = false;  // a DANE or MTA-STS check stopped a host (RFC 8689 §4.2.2)
    const auto tls_failure = [](const client::HostProbe& probe) {
        return probe.tls_outcome && probe.tls_outcome->failure && !probe.ok;
    };
    for (const auto& host : hosts) {
        if (next == batches.size()) {
            break;
        }
        client::HostProbe probe;
        probe.host = host.exchange;
        probe.sts_unavailable = sts_failure;
        auto resolved = co_await client::resolve_host(resolver_, policy, host, options.port, probe);
        if (!resolved) {
            report_tls(domain, probe, tls::DanePolicy{}, policy);
            policy_failed = policy_failed || tls_failure(probe);
            last_error = host.exchange + ": " + probe.detail;
            continue;
        }
        for (const auto& address : resolved->addresses) {
            if (next == batches.size()) {
                break;
            }
            probe.detail.clear();
            probe.ok = false;
            auto connection =
                co_await client::establish(probe, resolved->policy, tls_context_, address, options);
            report_tls(domain, probe, resolved->policy.dane, resolved->policy.sts);
            if (!connection) {
                policy_failed = policy_failed || tls_failure(probe);
                last_error =
                    fmt::format("{}[{}]: {}", host.exchange, address.to_string(), probe.detail);
                log::info(
                    "queue.host_failed",
                    {{"domain", domain}, {"host", host.exchange}, {"detail", probe.detail}}
                );
                continue;
            }
            const Hop hop{
                .host = host.exchange,
                .tls = probe.tls,
                .authenticated = resolved->policy.dane.status == tls::DaneStatus::Authenticate ||
                                 probe.sts == client::StsCheck::Valid,
            };
            co_await send_over(*connection, hop, batches, next);
        }
    }
    if (policy_failed && next < batches.size()) {
        co_await deliver_tls_optional(domain, hosts, options, batches, next, last_error);
    }
    co_await defer_rest(batches, next, last_error);
}

asio::awaitable<void> Runner::deliver_tls_optional(
    const std::string& domain,
    const std::vector<dns::MxRecord>& hosts,
    const client::ProbeOptions& options,
    std::vector<DueBatch>& batches,
    std::size_t& next,
    const std::string& last_error
) {
    // RFC 8689 §4.2.2, §8.4: a message tagged "TLS-Required: No" (and not REQUIRETLS, §4.1) goes
    // "as if [we do] not support DANE or MTA-STS": STARTTLS is still attempted, opportunistically,
    // but a failed DANE or MTA-STS check no longer stops it. The failure was reported to TLS-RPT
    // by the first pass; this one is not a policy session and is not reported.
    std::vector<DueBatch> optional;
    std::vector<DueBatch> strict;
    for (std::size_t i = next; i < batches.size(); ++i) {
        // Unreadable: not tagged, deferred with the rest (send_over would fail it anyway).
        auto load = [this, id = batches[i].message_id]() -> bool {
            auto message = store_.message(id);
            if (!message || message->envelope.requiretls) {
                return false;  // §4.1: with REQUIRETLS the header field is ignored
            }
            auto content = store_.content(id);
            return content && tls_required_no(*content);
        };
        const bool tagged = co_await core::offload(pool_, std::move(load));
        (tagged ? optional : strict).push_back(std::move(batches[i]));
    }
    // The strict ones stay at [next, ...) for defer_rest; the tagged ones are tried here.
    batches.resize(next);
    const auto first_strict = batches.size();
    for (auto& b : strict) {
        batches.push_back(std::move(b));
    }
    if (optional.empty()) {
        co_return;
    }
    for (const auto& batch : optional) {
        log::info(
            "queue.tls_required_no",
            {{"message", batch.message_id}, {"domain", domain}, {"policy", "relaxed"}}
        );
    }
    std::size_t sent = 0;
    for (const auto& host : hosts) {
        if (sent == optional.size()) {
            break;
        }
        // No DANE, no MTA-STS: RFC 7435 opportunistic TLS, with the host name as SNI.
        client::HostPolicy opportunistic;
        opportunistic.dane.host = host.exchange;
        auto v4 = co_await resolver_.a(host.exchange);
        auto v6 = co_await resolver_.aaaa(host.exchange);
        std::vector<asio::ip::address> addresses;
        for (const auto* answer : {&v4, &v6}) {
            if (*answer) {
                for (const auto& address : (*answer)->records) {
                    addresses.push_back(address);
                }
            }
        }
        for (const auto& address : addresses) {
            if (sent == optional.size()) {
                break;
            }
            client::HostProbe probe;
            probe.host = host.exchange;
            auto connection =
                co_await client::establish(probe, opportunistic, tls_context_, address, options);
            if (!connection) {
                log::info(
                    "queue.host_failed",
                    {{"domain", domain},
                     {"host", host.exchange},
                     {"detail", probe.detail},
                     {"policy", "relaxed"}}
                );
                continue;
            }
            const Hop hop{.host = host.exchange, .tls = probe.tls, .authenticated = false};
            co_await send_over(*connection, hop, optional, sent);
        }
    }
    if (sent < optional.size()) {
        std::vector<DueBatch> rest(
            optional.begin() + static_cast<std::ptrdiff_t>(sent), optional.end()
        );
        co_await defer_rest(rest, 0, last_error);
    }
    next = first_strict;
}

asio::awaitable<void> Runner::send_over(
    client::Connection& connection,
    const Hop& hop,
    std::vector<DueBatch>& batches,
    std::size_t& next
) {
    const std::string& host = hop.host;
    const std::string& tls = hop.tls;
    bool usable = true;
    while (usable && next < batches.size()) {
        const auto& batch = batches[next];
        auto load = [this, id = batch.message_id] { return store_.message(id); };
        auto message = co_await core::offload(pool_, std::move(load));
        auto read = [this, id = batch.message_id] { return store_.content(id); };
        auto content = co_await core::offload(pool_, std::move(read));
        ++next;
        if (!message || !content) {
            log::error("queue.load_failed", {{"message", batch.message_id}});
            continue;
        }
        auto recipients = select(*message, batch.recipient_ids);
        if (recipients.empty()) {
            continue;
        }
        TransactionInput input{
            .message = &*message,
            .recipients = recipients,
            .content = *content,
            .tls_authenticated = hop.authenticated,
        };
        auto outcome = co_await send_message(connection, std::move(input));
        usable = outcome.connection_usable;
        if (outcome.requiretls_waived) {
            log::warn(
                "queue.requiretls_waived",
                {{"message", batch.message_id}, {"host", host}, {"reason", "null-sender bounce"}}
            );
        }
        log::info(
            "queue.attempt",
            {{"message", batch.message_id},
             {"domain", batch.domain},
             {"host", host},
             {"tls", tls.empty() ? std::string("none") : tls},
             {"reply", outcome.recipients.empty() ? std::string() : outcome.recipients.front().reply
             }}
        );
        co_await apply(batch, *message, outcome.recipients, host);
    }
    if (usable) {
        (void)co_await connection.command("QUIT");
    }
}

asio::awaitable<void> Runner::defer_rest(
    std::vector<DueBatch>& batches, std::size_t next, const std::string& reason
) {
    if (next >= batches.size()) {
        co_return;
    }
    std::vector<DueBatch> rest(batches.begin() + static_cast<std::ptrdiff_t>(next), batches.end());
    auto failure = local_outcome(451, "451 4.4.1 " + reason);
    co_await apply_all(rest, std::move(failure));
}

asio::awaitable<void> Runner::deliver_smarthost(std::vector<DueBatch>& batches) {
    const auto& relay = settings_.smarthost;
    client::SmarthostOptions options{
        .settings = relay,
        .password = {},
        .helo = settings_.hostname,
        .timeouts = settings_.timeouts,
    };
    if (!relay.username.empty()) {
        // Read at every connection: a changed file (and SIGHUP) takes effect without a restart.
        auto read = [path = relay.password_file] {
            std::string warning;
            return client::read_password_file(path, warning);
        };
        auto password = co_await core::offload(pool_, std::move(read));
        if (!password) {
            log::error(
                "queue.smarthost_password_failed",
                {{"path", relay.password_file.string()}, {"error", password.error().message()}}
            );
            auto failure = local_outcome(
                451, "451 4.3.5 smarthost password file unreadable: " + password.error().message()
            );
            co_await apply_all(batches, std::move(failure));
            co_return;
        }
        options.password = std::move(*password);
    }
    std::vector<asio::ip::address> addresses;
    boost::system::error_code literal_error;
    const auto literal = asio::ip::make_address(relay.host, literal_error);
    std::string last_error = "smarthost " + relay.host + " could not be reached";
    if (!literal_error) {
        addresses.push_back(literal);
    } else {
        // Through the validating resolver like any other lookup; both families, IPv4 first.
        auto v4 = co_await resolver_.a(relay.host);
        auto v6 = co_await resolver_.aaaa(relay.host);
        for (const auto* answer : {&v4, &v6}) {
            if (*answer) {
                for (const auto& address : (*answer)->records) {
                    addresses.push_back(address);
                }
            } else {
                last_error = "smarthost " + relay.host +
                             ": address lookup failed: " + answer->error().message();
            }
        }
        if (addresses.empty() && v4 && v6) {
            last_error = "smarthost " + relay.host + " has no address records";
        }
    }
    std::size_t next = 0;
    for (const auto& address : addresses) {
        if (next == batches.size()) {
            break;
        }
        client::SmarthostProbe probe;
        auto connection =
            co_await client::establish_smarthost(options, tls_context_, address, probe);
        if (!connection) {
            last_error =
                fmt::format("smarthost {}[{}]: {}", relay.host, address.to_string(), probe.detail);
            log::warn(
                "queue.smarthost_failed",
                {{"host", relay.host},
                 {"address", address.to_string()},
                 {"auth_failed", probe.auth_failed},
                 {"detail", probe.detail}}
            );
            if (probe.auth_failed) {
                break;  // the same account on another address fails the same way
            }
            continue;
        }
        // establish_smarthost insists on a verified certificate (smarthost.hpp).
        const Hop hop{.host = relay.host, .tls = probe.tls, .authenticated = true};
        co_await send_over(*connection, hop, batches, next);
    }
    // Never a fallback to MX delivery, never a bounce for a relay problem: retry later.
    co_await defer_rest(batches, next, last_error);
}

asio::awaitable<void> Runner::apply_all(std::vector<DueBatch>& batches, RecipientOutcome outcome) {
    for (const auto& batch : batches) {
        auto load = [this, id = batch.message_id] { return store_.message(id); };
        auto message = co_await core::offload(pool_, std::move(load));
        if (!message) {
            continue;
        }
        // Named, not temporaries in the co_await expression (GCC 12 destroys those twice).
        const std::vector<RecipientOutcome> outcomes(
            select(*message, batch.recipient_ids).size(), outcome
        );
        const std::string host;
        co_await apply(batch, *message, outcomes, host);
    }
}

asio::awaitable<void> Runner::apply(
    const DueBatch& batch,
    const QueuedMessage& message,
    const std::vector<RecipientOutcome>& outcomes,
    const std::string& host
) {
    const auto recipients = select(message, batch.recipient_ids);
    const auto now = core::now();
    const bool expired = settings_.retry.expired(message.created, now);
    struct Change {
        std::int64_t id;
        RecipientState state;
        std::string reply;
        core::WallTime next;
        bool success_notice = false;
    };
    std::vector<Change> changes;
    for (std::size_t i = 0; i < recipients.size() && i < outcomes.size(); ++i) {
        const auto& o = outcomes[i];
        const auto* r = recipients[i];
        if (o.code >= 200 && o.code < 300) {
            const bool notice = owes_success_notice(message.envelope, r->notify, o);
            changes.push_back({r->id, RecipientState::Delivered, o.reply, {}, notice});
        } else if (o.code >= 500) {
            changes.push_back({r->id, RecipientState::Failed, o.reply, {}});
        } else if (expired) {
            changes.push_back(
                {r->id,
                 RecipientState::Failed,
                 fmt::format(
                     "{} (4.4.7 gave up after {} hours in the queue)",
                     o.reply,
                     std::chrono::duration_cast<std::chrono::hours>(settings_.retry.max_age).count()
                 ),
                 {}}
            );
        } else {
            changes.push_back(
                {r->id,
                 RecipientState::Pending,
                 o.reply,
                 now + settings_.retry.interval(r->attempts + 1)}
            );
        }
        log::info(
            "queue.result",
            {{"message", message.id},
             {"rcpt", r->address},
             {"state",
              changes.back().state == RecipientState::Delivered ? "delivered"
              : changes.back().state == RecipientState::Failed  ? "failed"
                                                                : "deferred"},
             {"reply", changes.back().reply}}
        );
    }
    auto record = [this, changes = std::move(changes), host]() -> Status {
        for (const auto& c : changes) {
            Status st;
            switch (c.state) {
                case RecipientState::Delivered:
                    st = store_.record_delivered({c.id}, c.reply, host, c.success_notice);
                    break;
                case RecipientState::Failed:
                    st = store_.record_failed({c.id}, c.reply, host);
                    break;
                case RecipientState::Pending:
                    st = store_.record_deferred({c.id}, c.reply, host, c.next);
                    break;
            }
            if (!st) {
                return st;
            }
        }
        return {};
    };
    if (auto st = co_await core::offload(pool_, std::move(record)); !st) {
        log::error(
            "queue.record_failed", {{"message", message.id}, {"error", st.error().message()}}
        );
    }
    co_await send_notices(message.id);
}

asio::awaitable<void> Runner::send_notices(std::string message_id) {
    auto load = [this, id = message_id] { return store_.message(id); };
    auto message = co_await core::offload(pool_, std::move(load));
    if (!message) {
        co_return;
    }
    const auto now = core::now();
    auto plan = plan_notices(*message, now, settings_.retry);
    auto& failed = plan.failed;
    auto& delayed = plan.delayed;
    auto& succeeded = plan.succeeded;
    for (auto* notice : {&failed, &delayed, &succeeded}) {
        if (notice->empty()) {
            continue;
        }
        auto read = [this, id = message_id] { return store_.content(id); };
        auto content = co_await core::offload(pool_, std::move(read));
        if (!content) {
            co_return;  // retried at the next attempt's notices
        }
        DsnInput input{
            .reporting_mta = settings_.hostname,
            .sender = message->envelope.sender,
            .envid = message->envelope.envid,
            .arrival = message->created,
            // RFC 8689 §5: a REQUIRETLS message is returned as if RET=HDRS was given; RFC 3461
            // §4.3: a DSN without a failure returns only the header.
            .headers_only =
                message->envelope.ret_headers || message->envelope.requiretls || notice != &failed,
            .original = *content,
            .recipients = std::move(*notice),
            .now = now,
            .message_id = "<" + core::random_id(20) + "@" + settings_.hostname + ">",
            // RFC 6533: a message that needed SMTPUTF8 gets the internationalised report.
            .utf8 = message->envelope.smtputf8,
        };
        auto dsn = build_dsn(input);
        const MessageEnvelope envelope = dsn_envelope(message->envelope);
        auto enqueue = [this, envelope, dsn = std::move(dsn), to = message->envelope.sender, now] {
            return store_.enqueue(
                envelope,
                {NewRecipient{.address = to, .orcpt = "", .notify = wire::kNotifyNever}},
                dsn,
                now
            );
        };
        auto queued = co_await core::offload(pool_, std::move(enqueue));
        if (!queued) {
            log::error(
                "queue.dsn_failed", {{"message", message_id}, {"error", queued.error().message()}}
            );
            co_return;
        }
        log::info(
            "queue.dsn",
            {{"message", message_id},
             {"dsn", *queued},
             {"to", message->envelope.sender},
             {"action",
              notice == &failed    ? "failed"
              : notice == &delayed ? "delayed"
                                   : "success"}}
        );
        wake();
    }
    auto finish = [this,
                   settled = std::move(plan.settled),
                   warned = std::move(plan.warned),
                   id = message_id]() -> Result<std::size_t> {
        if (!settled.empty()) {
            if (auto st = store_.mark_dsn_done(settled); !st) {
                return st.error();
            }
        }
        if (!warned.empty()) {
            if (auto st = store_.mark_delay_notified(warned); !st) {
                return st.error();
            }
        }
        return store_.finish_if_done(id);
    };
    auto finished = co_await core::offload(pool_, std::move(finish));
    if (finished && *finished == 1) {
        log::info("queue.done", {{"message", message_id}});
    }
}

}  // namespace sov::smtp::queue
