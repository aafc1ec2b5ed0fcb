#include "smtp/server/session.hpp"

#include <array>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <openssl/rand.h>

#include "accounts/directory.hpp"
#include "accounts/login_throttle.hpp"
#include "accounts/sasl.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "net/stream.hpp"
#include "smtp/wire/trace_headers.hpp"

namespace sov::smtp::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using wire::Event;
using wire::Reply;

std::string new_session_id() {
    static constexpr std::string_view kAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::array<unsigned char, 12> random{};
    RAND_bytes(random.data(), static_cast<int>(random.size()));
    std::string id;
    for (const unsigned char byte : random) {
        id.push_back(kAlphabet[byte % kAlphabet.size()]);
    }
    return id;
}

namespace {

// SASL data (passwords, in PLAIN or LOGIN) must not linger in buffers (STYLE.md §3.6). Volatile
// stores are not elided.
void wipe(char* data, std::size_t size) noexcept {
    volatile char* p = data;
    for (std::size_t i = 0; i < size; ++i) {
        p[i] = 0;
    }
}

/// Shared between the session and its shutdown callback; touched only on the session's strand.
struct StopState {
    bool requested = false;
    net::Stream* stream = nullptr;             // null once the session has ended
    asio::steady_timer* auth_delay = nullptr;  // a throttled AUTH failure being held back
};

class Session {
public:
    Session(
        beast::tcp_stream socket, std::string id, SessionSettings settings, SessionServices services
    )
        : stream_(std::move(socket)),
          id_(std::move(id)),
          settings_(std::move(settings)),
          services_(services),
          engine_(settings_.engine) {
        info_.id = id_;
        info_.client_ip = stream_.remote_ip();
        info_.protocol = settings_.engine.protocol;
    }

    asio::awaitable<void> run();

    std::shared_ptr<StopState> stop_state() { return stop_; }

private:
    asio::awaitable<bool> flush();
    asio::awaitable<bool> read_more();
    asio::awaitable<bool> start_tls();
    asio::awaitable<void> deliver();
    /// Event::Authenticate / Event::AuthResponse: one SASL step, then the engine's answer.
    asio::awaitable<void> authenticate(bool first);
    /// Runs `work` on the worker pool (SQLite reads, Argon2id).
    template <class F>
    asio::awaitable<std::invoke_result_t<F&>> blocking(F work) {
        co_return co_await core::offload(services_.pool->get_executor(), std::move(work));
    }
    void begin_message();
    void log_close();
    /// Session id plus the transaction number: names one message in every log line.
    std::string message_id() const {
        return id_ + "." + std::to_string(engine_.transactions() + 1);
    }

    net::Stream stream_;
    std::string id_;
    SessionSettings settings_;
    SessionServices services_;
    wire::ServerEngine engine_;
    SessionInfo info_;
    std::shared_ptr<StopState> stop_ = std::make_shared<StopState>();

    // Unconsumed input lives in input_[input_start_, input_.size()); consumed bytes are dropped
    // lazily so a pipelined burst is not memmoved once per command.
    std::string input_;
    std::size_t input_start_ = 0;
    bool in_body_ = false;
    std::optional<store::Incoming> incoming_;
    std::string incoming_error_;  // spool failure: the body is drained, then refused with 451
    std::string close_reason_ = "quit";
    std::unique_ptr<accounts::SaslServer> sasl_;  // AUTH exchange in progress
};

asio::awaitable<bool> Session::flush() {
    if (!engine_.has_output()) {
        co_return true;
    }
    const auto ec = co_await stream_.write_all(engine_.take_output(), settings_.timeouts.command);
    if (ec) {
        close_reason_ = ec == beast::error::timeout ? "write-timeout" : "write-error";
        co_return false;
    }
    co_return true;
}

// Returns false when the connection is gone (EOF, error). A timeout or shutdown request queues a
// 421 in the engine, which then reports Close, so the client hears why (RFC 5321 §4.5.3.2).
asio::awaitable<bool> Session::read_more() {
    if (input_start_ > 0 && input_start_ * 2 >= input_.size()) {
        input_.erase(0, input_start_);
        input_start_ = 0;
    }
    if (input_.size() - input_start_ > settings_.max_buffered_input) {
        engine_.close_with(Reply{500, "5.5.6", "Too much input without a line end"});
        close_reason_ = "input-overflow";
        co_return true;
    }
    if (stop_->requested) {
        engine_.close_with(Reply{421, "4.3.2", "Service shutting down, try again later"});
        close_reason_ = "shutdown";
        co_return true;
    }
    constexpr std::size_t kReadChunk = 64 * 1024;
    const std::size_t old_size = input_.size();
    input_.resize(old_size + kReadChunk);
    const auto timeout = in_body_ ? settings_.timeouts.data_block : settings_.timeouts.command;
    auto [ec, n] =
        co_await stream_.read_some(asio::buffer(input_.data() + old_size, kReadChunk), timeout);
    input_.resize(old_size + n);
    if (!ec) {
        co_return true;
    }
    if (ec == beast::error::timeout) {
        close_reason_ = "timeout";
        // The socket is already closed by the timer; nothing more can be said to the peer.
        co_return false;
    }
    if (ec == asio::error::operation_aborted && stop_->requested) {
        engine_.close_with(Reply{421, "4.3.2", "Service shutting down, try again later"});
        close_reason_ = "shutdown";
        co_return true;
    }
    close_reason_ = ec == asio::error::eof ? "eof" : "read-error";
    co_return false;
}

asio::awaitable<bool> Session::start_tls() {
    if (!co_await flush()) {
        co_return false;
    }
    auto context = services_.tls != nullptr ? services_.tls->current() : nullptr;
    if (!context) {
        close_reason_ = "tls-unavailable";
        co_return false;
    }
    const auto ec = co_await stream_.handshake_server(context, settings_.timeouts.tls_handshake);
    if (ec) {
        log::info("smtp.tls.failed", {{"session", id_}, {"error", ec.message()}});
        close_reason_ = "tls-handshake";
        co_return false;
    }
    info_.tls = true;
    log::info("smtp.tls", {{"session", id_}, {"cipher", stream_.tls_description()}});
    co_return true;
}

void Session::begin_message() {
    in_body_ = true;
    incoming_error_.clear();
    auto incoming = services_.handler->begin_message();
    if (!incoming) {
        incoming_error_ = incoming.error().message();
        log::error("smtp.spool.failed", {{"session", id_}, {"error", incoming_error_}});
        return;
    }
    incoming_.emplace(std::move(*incoming));
    const auto& envelope = engine_.envelope();
    const auto reverse_path = envelope.reverse_path.to_string();
    const std::string for_rcpt =
        envelope.recipients.size() == 1 ? envelope.recipients.front().path.to_string() : "";
    const auto tls = stream_.tls_description();
    const auto trace_id = message_id();
    wire::TraceFields trace{
        .return_path = true,
        .reverse_path = reverse_path,
        .helo = engine_.helo_name(),
        .client_rdns = "",
        .client_ip = info_.client_ip,
        .by_host = settings_.engine.hostname,
        .with = engine_.with_keyword(),
        .tls = tls,
        .id = trace_id,
        .for_rcpt = for_rcpt,
        .unix_time = core::unix_seconds(core::now()),
        .utc_offset_minutes = 0,
    };
    if (auto status = incoming_->append(wire::format_trace_headers(trace)); !status) {
        incoming_error_ = status.error().message();
    }
}

asio::awaitable<void> Session::deliver() {
    in_body_ = false;
    const auto& envelope = engine_.envelope();
    std::vector<Reply> replies;
    if (!incoming_ || !incoming_error_.empty()) {
        // RFC 5321 §4.2.5: a failure after the data is received must be reported, not hidden.
        replies.push_back(Reply{451, "4.3.0", "Temporary failure storing the message, try again"});
        log::error(
            "smtp.deliver.failed",
            {{"session", id_}, {"msg", message_id()}, {"error", incoming_error_}}
        );
    } else {
        const auto size = incoming_->size();
        info_.helo = engine_.helo_name();
        replies = co_await services_.handler->deliver(info_, envelope, std::move(*incoming_));
        std::string summary;
        for (const auto& reply : replies) {
            if (!summary.empty()) {
                summary += ",";
            }
            summary += std::to_string(reply.code);
        }
        log::info(
            "smtp.message",
            {{"session", id_},
             {"msg", message_id()},
             {"from", envelope.reverse_path.to_string()},
             {"rcpts", envelope.recipients.size()},
             {"size", size},
             {"replies", summary}}
        );
    }
    incoming_.reset();
    if (settings_.engine.protocol == wire::Protocol::Smtp && replies.size() > 1) {
        // SMTP has one reply for the whole transaction. Report success if every recipient got the
        // message; otherwise the first failure (temporary failures make the client retry all).
        const Reply* failure = nullptr;
        for (const auto& reply : replies) {
            if (!reply.positive() &&
                (failure == nullptr || (reply.transient() && failure->permanent()))) {
                failure = &reply;
            }
        }
        replies = {failure != nullptr ? *failure : replies.front()};
    }
    engine_.answer_delivery(replies);
}

asio::awaitable<void> Session::authenticate(bool first) {
    using accounts::SaslServer;
    using Status = SaslServer::Status;
    using Failure = SaslServer::Failure;
    if (services_.directory == nullptr || services_.pool == nullptr) {
        sasl_.reset();
        engine_.auth_failure(wire::AuthFailure::Temporary);
        co_return;
    }
    // The engine owns the decoded bytes until it is answered; copy them for the worker thread
    // and wipe the copy afterwards.
    const auto data = engine_.auth_data();
    std::string message = data ? std::string(*data) : std::string();
    const bool has_data = data.has_value();
    if (first) {
        const auto mechanism = accounts::find_sasl_mechanism(engine_.auth_mechanism());
        if (!mechanism) {  // the engine only passes what settings advertise; be safe anyway
            engine_.auth_failure(wire::AuthFailure::InvalidCredentials);
            co_return;
        }
        auto* directory = services_.directory;
        sasl_ = std::make_unique<SaslServer>(*mechanism, [directory](std::string_view user) {
            return directory->scram_credentials(user);
        });
    }
    if (!sasl_) {
        engine_.auth_failure(wire::AuthFailure::Temporary);
        co_return;
    }
    // SCRAM's credential lookup reads SQLite: every step runs on the pool.
    auto step_job = [this, first, has_data, &message] {
        return first ? sasl_->start(
                           has_data ? std::optional<std::string_view>(message) : std::nullopt
                       )
                     : sasl_->respond(message);
    };
    auto step = co_await blocking(std::move(step_job));
    wipe(message.data(), message.size());
    if (step.status == Status::NeedPasswordCheck) {
        // Argon2id: tens of milliseconds by design, never on the I/O threads.
        auto check_job = [this] {
            return services_.directory->authenticate(sasl_->authcid(), sasl_->password());
        };
        const auto checked = co_await blocking(std::move(check_job));
        step = sasl_->password_checked(checked);
    }
    const auto mechanism = std::string(accounts::sasl_mechanism_name(sasl_->mechanism()));
    switch (step.status) {
        case Status::Challenge:
            engine_.auth_challenge(step.challenge);
            co_return;
        case Status::Success: {
            const auto& account = *sasl_->account();
            if (services_.throttle != nullptr) {
                services_.throttle->record_success(account.address);
            }
            log::info(
                "smtp.auth",
                {{"session", id_},
                 {"ip", info_.client_ip},
                 {"user", account.address},
                 {"mechanism", mechanism}}
            );
            info_.auth_identity = account.address;
            engine_.auth_success(account.address);
            sasl_.reset();
            co_return;
        }
        case Status::NeedPasswordCheck:  // answered above; cannot repeat
        case Status::Failure:
            break;
    }
    const std::string user = sasl_->authcid();
    sasl_.reset();
    if (step.failure == Failure::Temporary) {
        log::warn(
            "smtp.auth.error",
            {{"session", id_}, {"ip", info_.client_ip}, {"user", user}, {"error", step.error}}
        );
        engine_.auth_failure(wire::AuthFailure::Temporary);
        co_return;
    }
    log::info(
        "smtp.auth.failed",
        {{"session", id_},
         {"ip", info_.client_ip},
         {"user", user},
         {"mechanism", mechanism},
         {"reason", step.error}}
    );
    // A failed attempt is answered late (accounts/login_throttle.hpp), so a guesser gets one
    // try per delay; a right password is never slowed down (nor is a refused authzid, which
    // came with the right password).
    const auto delay = services_.throttle != nullptr && step.failure != Failure::Authorization
                           ? services_.throttle->record_failure(info_.client_ip, user)
                           : std::chrono::milliseconds{0};
    if (delay.count() > 0 && !stop_->requested) {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_after(delay);
        stop_->auth_delay = &timer;
        net::ErrorCode ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        stop_->auth_delay = nullptr;
    }
    engine_.auth_failure(wire::AuthFailure::InvalidCredentials);
}

void Session::log_close() {
    log::info("smtp.disconnect", {{"session", id_}, {"reason", close_reason_}});
}

asio::awaitable<void> Session::run() {
    stop_->stream = &stream_;
    log::info(
        "smtp.connect",
        {{"session", id_},
         {"client", info_.client_ip},
         {"port", stream_.local_port()},
         {"protocol", settings_.engine.protocol == wire::Protocol::Lmtp ? "lmtp" : "smtp"}}
    );
    if (settings_.implicit_tls && !co_await start_tls()) {
        log_close();
        co_return;
    }
    engine_.greet();
    for (;;) {
        const std::string_view pending{input_.data() + input_start_, input_.size() - input_start_};
        const auto step = engine_.step(pending);
        switch (step.event) {
            case Event::NeedInput:
                if (!co_await flush() || !co_await read_more()) {
                    incoming_.reset();  // a half-received message leaves no trace
                    log_close();
                    co_return;
                }
                break;
            case Event::VerifySender: {
                info_.helo = engine_.helo_name();
                auto verdict = co_await services_.handler->check_sender(info_, engine_.envelope());
                engine_.answer_sender(std::move(verdict));
                break;
            }
            case Event::VerifyRecipient: {
                info_.helo = engine_.helo_name();
                auto verdict = co_await services_.handler->check_recipient(
                    info_, engine_.envelope(), engine_.pending_recipient()
                );
                if (!verdict.positive()) {
                    log::info(
                        "smtp.rcpt.rejected",
                        {{"session", id_},
                         {"rcpt", engine_.pending_recipient().path.to_string()},
                         {"reply", std::to_string(verdict.code) + " " + verdict.enhanced}}
                    );
                }
                engine_.answer_recipient(std::move(verdict));
                break;
            }
            case Event::MessageBegin:
                begin_message();
                break;
            case Event::BodyChunk:
                if (incoming_ && incoming_error_.empty()) {
                    if (auto status = incoming_->append(step.data); !status) {
                        incoming_error_ = status.error().message();
                    }
                }
                break;
            case Event::MessageAborted:
                in_body_ = false;
                incoming_.reset();
                break;
            case Event::DeliverMessage:
                co_await deliver();
                break;
            case Event::StartTls:
                if (!co_await start_tls()) {
                    log_close();
                    co_return;
                }
                engine_.tls_started();
                // RFC 3207 §4.2 / RFC 4954 §4: authentication does not survive the restart.
                info_.auth_identity.clear();
                sasl_.reset();
                // Nothing read before the handshake may count after it (RFC 3207 §4.2; the
                // engine already refused STARTTLS if bytes followed it, CVE-2011-0411).
                input_.clear();
                input_start_ = 0;
                continue;
            case Event::Close:
                co_await flush();
                stream_.close();
                log_close();
                co_return;
            case Event::Authenticate:
            case Event::AuthResponse:
                // Replies so far go out first: the SASL step may wait on the pool or the
                // throttle.
                if (!co_await flush()) {
                    log_close();
                    co_return;
                }
                co_await authenticate(step.event == Event::Authenticate);
                // AUTH data is wiped from the input buffer once used (STYLE.md §3.6).
                wipe(input_.data() + input_start_, step.consumed);
                break;
            case Event::AuthAborted:
                sasl_.reset();
                log::info("smtp.auth.aborted", {{"session", id_}, {"ip", info_.client_ip}});
                break;
        }
        input_start_ += step.consumed;
    }
}

}  // namespace

asio::awaitable<void> run_session(
    beast::tcp_stream socket,
    std::string session_id,
    SessionSettings settings,
    SessionServices services
) {
    Session session{std::move(socket), std::move(session_id), std::move(settings), services};
    auto stop = session.stop_state();
    const auto executor = co_await asio::this_coro::executor;
    const auto registration = services.registry->add([stop, executor] {
        asio::post(executor, [stop] {
            stop->requested = true;
            if (stop->stream != nullptr) {
                stop->stream->cancel();
            }
            if (stop->auth_delay != nullptr) {
                stop->auth_delay->cancel();
            }
        });
    });
    struct Deregister {
        net::SessionRegistry* registry;
        std::uint64_t id;
        std::shared_ptr<StopState> stop;
        ~Deregister() {
            stop->stream = nullptr;
            registry->remove(id);
        }
    } deregister{services.registry, registration, stop};
    co_await session.run();
}

}  // namespace sov::smtp::server
