#include "roles/server.hpp"

#include <signal.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "accounts/directory.hpp"
#include "accounts/login_throttle.hpp"
#include "accounts/sasl.hpp"
#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "imap/server/change_hub.hpp"
#include "net/accept_loop.hpp"
#include "net/privileges.hpp"
#include "net/session_registry.hpp"
#include "net/tls_context.hpp"
#include "roles/dmarc_reporting.hpp"
#include "roles/imap_listener.hpp"
#include "roles/inbound_auth.hpp"
#include "roles/local_delivery.hpp"
#include "roles/outbound_setup.hpp"
#include "roles/session_support.hpp"
#include "roles/store_setup.hpp"
#include "roles/tlsrpt_reporting.hpp"
#include "roles/web_listener.hpp"
#include "smtp/server/session.hpp"
#include "store/store.hpp"
#include "tls/client_context.hpp"

namespace sov::roles {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

const char* protocol_name(core::Protocol protocol) {
    switch (protocol) {
        case core::Protocol::Mx:
            return "mx";
        case core::Protocol::Lmtp:
            return "lmtp";
        case core::Protocol::Submission:
            return "submission";
        case core::Protocol::Imap:
            return "imap";
        case core::Protocol::Http:
            return "http";
    }
    return "?";
}

accounts::SenderPolicy sender_policy(core::SenderPolicy policy) {
    switch (policy) {
        case core::SenderPolicy::Own:
            return accounts::SenderPolicy::Own;
        case core::SenderPolicy::Domain:
            return accounts::SenderPolicy::Domain;
        case core::SenderPolicy::Any:
            return accounts::SenderPolicy::Any;
    }
    return accounts::SenderPolicy::Own;
}

constexpr std::string_view kHttpBusyReply =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

smtp::server::SessionSettings smtp_settings(
    const core::Config& config, const core::Listener& listener, bool tls_available
) {
    smtp::server::SessionSettings settings;
    auto& engine = settings.engine;
    engine.protocol = listener.protocol == core::Protocol::Lmtp ? smtp::wire::Protocol::Lmtp
                                                                : smtp::wire::Protocol::Smtp;
    engine.hostname = config.hostname;
    engine.limits.command.max_line = config.smtp.max_command_line;
    engine.limits.max_message_bytes = config.smtp.max_message_bytes;
    engine.limits.max_recipients = config.smtp.max_recipients;
    engine.limits.max_errors = config.smtp.max_errors;
    engine.tls_available = tls_available && listener.tls == core::TlsMode::StartTls;
    engine.tls_active = listener.tls == core::TlsMode::Implicit;
    settings.implicit_tls = listener.tls == core::TlsMode::Implicit;
    settings.timeouts = config.smtp_timeouts;
    if (listener.protocol == core::Protocol::Submission) {
        // RFC 6409 §4.3 / RFC 4954: users authenticate before they may send (MAIL before AUTH
        // → 530 5.7.0), and only over TLS (RFC 8314 §3; STARTTLS first on port 587).
        engine.auth_available = true;
        engine.require_auth = true;
        engine.verify_sender = true;  // sender policy and rate limits (LocalDelivery)
        engine.require_tls_for_auth = true;
        engine.auth_mechanisms = std::string(accounts::kSaslMechanismList);
    }
    return settings;
}

void start_listener(
    asio::io_context& ioc,
    const core::Listener& listener,
    tcp::acceptor acceptor,
    net::AcceptOptions accept_options,
    net::StartSession start
) {
    log::info(
        "listener.ready",
        {{"listener", listener.name},
         {"protocol", protocol_name(listener.protocol)},
         {"address", listener.address},
         {"port", acceptor.local_endpoint().port()}}
    );
    auto loop = net::accept_loop(std::move(acceptor), std::move(accept_options), std::move(start));
    asio::co_spawn(ioc, std::move(loop), [name = listener.name](const std::exception_ptr& error) {
        if (error) {
            log::error("listener.failed", {{"listener", name}});
        }
    });
}

}  // namespace

int serve(core::Config config, const ServeOptions& options) {
    log::configure(config.log.level, config.log.format);
    if (!config.log.file.empty()) {
        log::set_output_file(config.log.file.string());
    }
    if (options.role != "all" && options.role != "mailbox") {
        std::cerr << "sovereign serve: role '" << options.role << "' is not available yet\n";
        return 2;
    }

    // Everything sessions point to is declared before the io_context, so it outlives the
    // coroutine frames that ~io_context destroys after a shutdown with sessions still open.
    net::TlsContextHolder tls{config.tls.certificate, config.tls.private_key};
    net::SessionRegistry registry;
    net::ConnectionLimiter limiter{config.connections.max_total, config.connections.max_per_ip};
    std::unique_ptr<accounts::Directory> directory;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<LocalDelivery> delivery;
    std::unique_ptr<imap::server::ChangeHub> imap_hub;
    accounts::LoginThrottle login_throttle;
    DkimKeys dkim_keys{config.keys_dir() / "dkim"};
    accounts::SendLimiter send_limiter{accounts::SendLimiter::Options{
        .limits =
            {.messages_per_hour = config.submission.max_messages_per_hour,
             .recipients_per_hour = config.submission.max_recipients_per_hour},
        .max_accounts = 10000,
    }};
    // Blocking work of the IMAP sessions and SMTP AUTH (SQLite, file reads, Argon2id).
    asio::thread_pool workers{config.worker_threads};
    // Client sessions (SMTP, IMAP, HTTP): one io_context per thread (net/session_threads.hpp).
    // Declared before `ioc`, so it outlives it: handlers of `ioc` destroyed at the end may post
    // to a session's context.
    net::SessionThreads session_threads{
        config.io_threads, std::chrono::microseconds{config.busy_poll_us}
    };
    // Accept loops, signals, the outbound queue, the resolver, report senders.
    asio::io_context ioc{static_cast<int>(config.io_threads)};

    std::string tls_error;
    const bool tls_loaded = tls.reload(tls_error);
    if (!tls_loaded) {
        log::warn("tls.unavailable", {{"error", tls_error}});
    }

    // Bind first (low ports need root), then drop privileges before touching any data.
    struct Bound {
        core::Listener listener;
        tcp::acceptor acceptor;
    };
    std::vector<Bound> bound;
    for (const auto& listener : config.listeners) {
        try {
            bound.push_back(
                {listener, net::bind_listener(ioc.get_executor(), listener.address, listener.port)}
            );
        } catch (const std::exception& e) {
            log::error("listener.bind_failed", {{"listener", listener.name}, {"error", e.what()}});
            return 1;
        }
    }
    std::string privilege_error;
    if (!net::drop_privileges(config.run_as_user, privilege_error)) {
        log::error("privileges.drop_failed", {{"error", privilege_error}});
        return 1;
    }

    auto opened_directory = accounts::Directory::open(config.accounts_db());
    if (!opened_directory) {
        log::error(
            "accounts.open_failed",
            {{"path", config.accounts_db().string()}, {"error", opened_directory.error().message()}}
        );
        return 1;
    }
    directory = std::move(*opened_directory);
    auto opened_store = store::Store::open(make_store_options(config));
    if (!opened_store) {
        log::error(
            "store.open_failed",
            {{"path", config.data_dir.string()}, {"error", opened_store.error().message()}}
        );
        return 1;
    }
    store = std::move(*opened_store);
    // recover() logs what it repaired (store.recovered).
    if (auto report = store->recover(); !report) {
        log::error("store.recover_failed", {{"error", report.error().message()}});
        return 1;
    }

    // The domain that completes a bare <postmaster>: the first hosted domain, else our hostname.
    std::string postmaster_domain = config.hostname;
    if (auto domains = directory->list_domains(); domains && !domains->empty()) {
        postmaster_domain = domains->front().name;
    }
    delivery = std::make_unique<LocalDelivery>(*directory, *store, postmaster_domain);
    delivery->set_submission_policy(sender_policy(config.submission.sender_policy), &send_limiter);
    // After the io_context (the resolver and the queue runner live on it), destroyed before it.
    std::unique_ptr<OutboundPath> outbound;
    dkim_keys.reload();
    if (auto started = start_outbound(
            config, ioc, workers, *delivery, dkim_keys.signer(), dkim_keys.arc_sealer()
        )) {
        outbound = std::move(*started);
    } else {
        log::warn(
            "outbound.disabled",
            {{"error", started.error().message()},
             {"effect", "mail for other domains is refused with 451 until this is fixed"}}
        );
    }
    // Authentication of inbound mail needs the resolver the outbound path owns.
    std::unique_ptr<mailauth::ResolverDnsSource> auth_dns;
    std::unique_ptr<InboundAuthenticator> authenticator;
    if (config.mailauth.verify && outbound) {
        auth_dns = std::make_unique<mailauth::ResolverDnsSource>(*outbound->resolver);
        authenticator = std::make_unique<InboundAuthenticator>(
            *auth_dns,
            InboundAuthSettings{
                .authserv_id = config.authserv_id(),
                .hostname = config.hostname,
                .dmarc_enforcement = config.mailauth.dmarc_enforcement,
                .pool = &workers,
            }
        );
        delivery->set_authenticator(authenticator.get());
    } else if (config.mailauth.verify) {
        log::warn(
            "mailauth.disabled",
            {{"reason", "no resolver"}, {"effect", "inbound mail is not authenticated"}}
        );
    }
    // DMARC aggregate reports (RFC 9990): the MX records evaluations with a rua into
    // <data>/reports/dmarc.db; the sender mails each ended day's reports through the queue.
    std::unique_ptr<DmarcReportStore> dmarc_reports;
    std::unique_ptr<DmarcReportRecorder> dmarc_recorder;
    std::unique_ptr<DmarcReportSender> dmarc_sender;
    if (authenticator) {
        if (auto opened = DmarcReportStore::open(config.data_dir / "reports")) {
            dmarc_reports = std::move(*opened);
            dmarc_recorder = std::make_unique<DmarcReportRecorder>(*dmarc_reports, workers);
            authenticator->set_recorder(dmarc_recorder.get());
            auto* queue = outbound->outbound.get();
            dmarc_sender = std::make_unique<DmarcReportSender>(
                *dmarc_reports,
                *auth_dns,
                workers,
                dmarc_report_settings(config, postmaster_domain),
                [queue](std::string sender, std::vector<std::string> to, std::string message) {
                    return queue->enqueue_generated(
                        std::move(sender), std::move(to), std::move(message)
                    );
                }
            );
            dmarc_sender->start(ioc);
        } else {
            log::warn(
                "dmarc_report.disabled",
                {{"error", opened.error().message()}, {"effect", "no aggregate reports are sent"}}
            );
        }
    }
    // SMTP TLS Reporting (RFC 8460): the runner counts every TLS session into
    // <data>/reports/tlsrpt.db; the sender mails each ended day's reports through the queue.
    std::unique_ptr<mailauth::ResolverDnsSource> tlsrpt_dns;
    std::unique_ptr<TlsReportStore> tls_reports;
    std::unique_ptr<TlsReportRecorder> tls_recorder;
    std::unique_ptr<TlsReportSender> tls_sender;
    if (config.tlsrpt.enabled && outbound) {
        if (auto opened = TlsReportStore::open(config.data_dir / "reports")) {
            tls_reports = std::move(*opened);
            tls_recorder = std::make_unique<TlsReportRecorder>(*tls_reports, workers);
            outbound->runner->set_tls_recorder(tls_recorder.get());
            tlsrpt_dns = std::make_unique<mailauth::ResolverDnsSource>(*outbound->resolver);
            auto* queue = outbound->outbound.get();
            tls_sender = std::make_unique<TlsReportSender>(
                *tls_reports,
                *tlsrpt_dns,
                workers,
                tls_report_settings(config, postmaster_domain),
                [queue](std::string sender, std::vector<std::string> to, std::string message) {
                    return queue->enqueue_generated(
                        std::move(sender), std::move(to), std::move(message)
                    );
                }
            );
            // RFC 8460 §5.4: https: rua get the report by POST, PKIX-checked like MTA-STS.
            std::string https_error;
            if (auto context = tls::make_client_context(config.tls.trusted_cas, https_error)) {
                tls_sender->set_upload(
                    https_report_upload(*outbound->resolver, *context, std::chrono::seconds(60))
                );
            } else {
                log::warn("tlsrpt.https_unavailable", {{"error", https_error}});
            }
            tls_sender->start(ioc);
        } else {
            log::warn(
                "tlsrpt.disabled",
                {{"error", opened.error().message()}, {"effect", "no TLS reports are sent"}}
            );
        }
    }
    imap_hub = std::make_unique<imap::server::ChangeHub>(*store);
    const imap::server::ConnectionServices imap_services{
        .engine = {.store = store.get(), .directory = directory.get(), .throttle = &login_throttle},
        .tls = &tls,
        .registry = &registry,
        .pool = &workers,
        .hub = imap_hub.get(),
    };
    std::vector<std::pair<core::Listener, std::shared_ptr<ImapSettingsSlot>>> imap_slots;
    const web::server::ConnectionServices web_services{
        .tls = &tls, .registry = &registry, .pool = &workers, .directory = directory.get()
    };
    std::vector<std::pair<core::Listener, std::shared_ptr<WebSettingsSlot>>> web_slots;

    std::vector<
        std::pair<core::Listener, std::shared_ptr<SettingsSlot<smtp::server::SessionSettings>>>>
        slots;
    for (auto& entry : bound) {
        if (entry.listener.protocol == core::Protocol::Imap) {
            auto slot =
                std::make_shared<ImapSettingsSlot>(imap_settings(config, entry.listener, tls_loaded)
                );
            imap_slots.emplace_back(entry.listener, slot);
            start_listener(
                ioc,
                entry.listener,
                std::move(entry.acceptor),
                net::AcceptOptions{
                    .listener_name = entry.listener.name,
                    .busy_reply = "* BYE Too many connections, try later\r\n",
                    .limiter = &limiter,
                    .threads = &session_threads,
                },
                imap_start(slot, imap_services)
            );
            continue;
        }
        if (entry.listener.protocol == core::Protocol::Http) {
            auto slot = std::make_shared<WebSettingsSlot>(web_settings(config, entry.listener));
            web_slots.emplace_back(entry.listener, slot);
            start_listener(
                ioc,
                entry.listener,
                std::move(entry.acceptor),
                net::AcceptOptions{
                    .listener_name = entry.listener.name,
                    // Plain HTTP can say "try later"; under implicit TLS, plaintext would be
                    // noise to the client's handshake, so the connection just closes.
                    .busy_reply = entry.listener.tls == core::TlsMode::Implicit
                                      ? std::string{}
                                      : std::string{kHttpBusyReply},
                    .limiter = &limiter,
                    .threads = &session_threads,
                },
                web_start(slot, web_services)
            );
            continue;
        }
        auto settings = std::make_shared<SettingsSlot<smtp::server::SessionSettings>>(
            smtp_settings(config, entry.listener, tls_loaded)
        );
        slots.emplace_back(entry.listener, settings);
        const smtp::server::SessionServices services{
            .handler = delivery.get(),
            .tls = &tls,
            .registry = &registry,
            .directory = directory.get(),
            .throttle = &login_throttle,
            .pool = &workers,
        };
        net::AcceptOptions accept_options{
            .listener_name = entry.listener.name,
            .busy_reply = "421 4.7.0 " + config.hostname + " Too many connections, try later\r\n",
            .limiter = &limiter,
            .threads = &session_threads,
        };
        auto start = start_sessions(settings, services, &smtp::server::run_session);
        start_listener(
            ioc,
            entry.listener,
            std::move(entry.acceptor),
            std::move(accept_options),
            std::move(start)
        );
    }
    // The accept loops own their acceptors; shutdown ends them by stopping the io_context once
    // the sessions have drained (new connections meanwhile are told 421 by stop_all()).

    asio::signal_set signals{ioc, SIGTERM, SIGINT, SIGHUP};
    std::atomic<bool> stopping{false};
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [&](const boost::system::error_code& ec, int signal_number) {
        if (ec) {
            return;
        }
        if (signal_number == SIGHUP) {
            std::string error;
            auto reloaded = core::load_config(config.source);
            if (!reloaded.ok()) {
                log::error(
                    "config.reload_failed", {{"error", reloaded.diagnostics.front().to_string()}}
                );
            } else {
                log::configure(reloaded.config.log.level, reloaded.config.log.format);
                // Limits, timeouts and the hostname apply to new sessions; addresses, ports and
                // paths are bound at startup and change only with a restart.
                for (auto& [listener, slot] : slots) {
                    slot->set(smtp_settings(reloaded.config, listener, tls.current() != nullptr));
                }
                for (auto& [listener, slot] : imap_slots) {
                    slot->set(imap_settings(reloaded.config, listener, tls.current() != nullptr));
                }
                for (auto& [listener, slot] : web_slots) {
                    slot->set(web_settings(reloaded.config, listener));
                }
                // What the checks of inbound mail write and refuse, from the next message on.
                // Turning them on or off changes what runs, which only a restart sets up.
                if (authenticator) {
                    authenticator->reload({
                        .authserv_id = reloaded.config.authserv_id(),
                        .hostname = reloaded.config.hostname,
                        .dmarc_enforcement = reloaded.config.mailauth.dmarc_enforcement,
                        .pool = nullptr,
                    });
                }
                // The report senders' contact and organization, from their next report on.
                if (dmarc_sender) {
                    dmarc_sender->reload(dmarc_report_settings(reloaded.config, postmaster_domain));
                }
                if (tls_sender) {
                    tls_sender->reload(tls_report_settings(reloaded.config, postmaster_domain));
                }
                const auto restart_needed = [](std::string_view setting) {
                    log::warn(
                        "config.restart_needed",
                        {{"setting", setting}, {"effect", "the running value stays until a restart"}
                        }
                    );
                };
                if (reloaded.config.mailauth.verify != config.mailauth.verify) {
                    restart_needed("mailauth.verify");
                }
                if (reloaded.config.tlsrpt.enabled != config.tlsrpt.enabled) {
                    restart_needed("tlsrpt.enabled");
                }
                log::info(
                    "config.reloaded",
                    {{"note", "listener addresses and paths apply after a restart"}}
                );
            }
            dkim_keys.reload();
            if (tls.reload(error)) {
                log::info("tls.reloaded", {});
            } else {
                log::error("tls.reload_failed", {{"error", error}});
            }
            signals.async_wait(on_signal);
            return;
        }
        if (stopping.exchange(true)) {
            return;
        }
        log::info("server.stopping", {{"signal", signal_number}, {"sessions", registry.size()}});
        registry.stop_all();
        // Drain: poll the registry until empty or the grace period is over.
        auto deadline = std::chrono::steady_clock::now() + config.shutdown_grace;
        auto timer = std::make_shared<asio::steady_timer>(ioc);
        auto check = std::make_shared<std::function<void(const boost::system::error_code&)>>();
        *check = [&, timer, check, deadline](const boost::system::error_code&) {
            if (registry.size() == 0 || std::chrono::steady_clock::now() >= deadline) {
                ioc.stop();
                return;
            }
            timer->expires_after(std::chrono::milliseconds(20));
            timer->async_wait(*check);
        };
        (*check)({});
    };
    signals.async_wait(on_signal);

    log::info("server.ready", {{"hostname", config.hostname}, {"data", config.data_dir.string()}});
    session_threads.start();
    std::vector<std::thread> threads;
    for (std::uint32_t i = 1; i < config.io_threads; ++i) {
        threads.emplace_back([&ioc] {
            core::set_thread_name("sov-io");
            ioc.run();
        });
    }
    ioc.run();
    for (auto& thread : threads) {
        thread.join();
    }
    session_threads.stop();
    workers.join();
    imap_hub.reset();
    // Finish queued deliveries while the io_context can still take their completions.
    store.reset();
    log::info("server.stopped", {{"sessions_left", registry.size()}});
    return 0;
}

}  // namespace sov::roles
