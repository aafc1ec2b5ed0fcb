#include "imap/server/connection.hpp"

#include <atomic>
#include <memory>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include "core/log.hpp"
#include "core/offload.hpp"
#include "imap/wire/parser.hpp"
#include "net/deflate.hpp"
#include "net/stream.hpp"

namespace sov::imap::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using wire::ParseStatus;

namespace {

/// Shared with callbacks from other threads (shutdown, store changes); touched only on the
/// connection's strand.
struct Signals {
    explicit Signals(asio::any_io_executor ex) : wake(ex) {}
    bool stop = false;
    bool changed = false;
    net::Stream* stream = nullptr;  // null once the connection has ended
    asio::steady_timer wake;        // cancelled to wake the IDLE wait
};

class Connection {
public:
    Connection(
        beast::tcp_stream socket,
        std::string id,
        ConnectionSettings settings,
        ConnectionServices services
    )
        : stream_(std::move(socket)),
          id_(std::move(id)),
          settings_(std::move(settings)),
          services_(services),
          session_(services_.engine, settings_.session, stream_.remote_ip()),
          parser_(settings_.limits, session_.parser_options()) {}

    asio::awaitable<void> run(std::shared_ptr<Signals> signals);

private:
    asio::awaitable<bool> flush();
    asio::awaitable<bool> read_more();
    asio::awaitable<bool> start_tls();
    asio::awaitable<bool> idle();
    template <class F>
    auto blocking(F work) -> asio::awaitable<std::invoke_result_t<F&>> {
        co_return co_await core::offload(services_.pool->get_executor(), std::move(work));
    }
    void watch_account();
    /// On the strand: responses a command running on a worker thread handed over
    /// (Session::set_spill) go out now, by a writer coroutine, while it goes on.
    void take_spill(std::string responses);
    /// After such a command: until everything it handed over has been written.
    asio::awaitable<bool> drain_spills();
    /// Appends bytes read from the socket to the input, decompressing under COMPRESS=DEFLATE.
    bool take_input(std::string_view raw);
    std::chrono::seconds read_timeout() const {
        return session_.logged_in() ? settings_.idle_timeout : settings_.login_timeout;
    }

    net::Stream stream_;
    std::string id_;
    ConnectionSettings settings_;
    ConnectionServices services_;
    Session session_;
    wire::CommandParser parser_;
    std::shared_ptr<Signals> signals_;
    std::string input_;
    std::size_t input_start_ = 0;
    std::string out_;
    std::unique_ptr<net::DeflateCodec> codec_;  // COMPRESS=DEFLATE (RFC 4978)
    std::string close_reason_ = "logout";
    unsigned errors_ = 0;
    struct ReadResult {
        bool done = false;
        net::ErrorCode ec;
        std::string data;
    };
    /// The IDLE reader, while one is outstanding: the connection must outlive it.
    std::shared_ptr<ReadResult> reader_;
    // Session::set_spill: counted on the worker thread when handed over, on the strand when
    // taken; the writer coroutine runs while writer_active_.
    std::atomic<std::uint64_t> spills_posted_{0};
    std::uint64_t spills_taken_ = 0;
    bool writer_active_ = false;
    bool write_failed_ = false;
    std::uint64_t hub_id_ = 0;
    std::string watched_account_;
    enum class LineFor {
        Nothing,
        Idle,
        Sasl
    } line_for_ = LineFor::Nothing;
};

asio::awaitable<bool> Connection::flush() {
    if (out_.empty()) {
        co_return true;
    }
    std::string data;
    if (codec_) {
        if (!codec_->compress(out_, data)) {
            close_reason_ = "deflate-error";
            co_return false;
        }
        out_.clear();
    } else {
        data.swap(out_);
    }
    const auto ec = co_await stream_.write_all(std::move(data), settings_.write_timeout);
    if (ec) {
        close_reason_ = ec == beast::error::timeout ? "write-timeout" : "write-error";
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> Connection::read_more() {
    if (input_start_ > 0) {
        input_.erase(0, input_start_);
        input_start_ = 0;
    }
    if (signals_->stop) {
        close_reason_ = "shutdown";
        co_return false;
    }
    // The parser copies partial commands into its own buffer (NeedMore consumes everything),
    // so a small read chunk is enough and keeps idle connections light.
    constexpr std::size_t kReadChunk = 16 * 1024;
    const std::size_t old = input_.size();
    input_.resize(old + kReadChunk);
    auto [ec, n] =
        co_await stream_.read_some(asio::buffer(input_.data() + old, kReadChunk), read_timeout());
    input_.resize(old + n);
    if (!ec) {
        if (codec_) {
            const std::string raw = input_.substr(old);
            input_.resize(old);
            co_return take_input(raw);
        }
        co_return true;
    }
    if (ec == beast::error::timeout) {
        close_reason_ = "timeout";
    } else if (ec == asio::error::operation_aborted && signals_->stop) {
        close_reason_ = "shutdown";
    } else {
        close_reason_ = ec == asio::error::eof ? "eof" : "read-error";
    }
    co_return false;
}

asio::awaitable<bool> Connection::start_tls() {
    if (!co_await flush()) {
        co_return false;
    }
    auto context = services_.tls != nullptr ? services_.tls->current() : nullptr;
    if (!context) {
        close_reason_ = "tls-unavailable";
        co_return false;
    }
    if (const auto ec =
            co_await stream_.handshake_server(context, settings_.tls_handshake_timeout)) {
        log::info("imap.tls.failed", {{"session", id_}, {"error", ec.message()}});
        close_reason_ = "tls-handshake";
        co_return false;
    }
    log::info("imap.tls", {{"session", id_}, {"cipher", stream_.tls_description()}});
    co_return true;
}

void Connection::watch_account() {
    if (services_.hub == nullptr || session_.account() == watched_account_) {
        return;
    }
    if (hub_id_ != 0) {
        services_.hub->remove(hub_id_);
        hub_id_ = 0;
    }
    watched_account_ = session_.account();
    if (watched_account_.empty()) {
        return;
    }
    auto executor = signals_->wake.get_executor();
    hub_id_ = services_.hub->add(
        watched_account_,
        [weak = std::weak_ptr<Signals>(signals_), executor](const std::string&) {
            asio::post(executor, [weak] {
                if (auto s = weak.lock()) {
                    s->changed = true;
                    s->wake.cancel();
                }
            });
        }
    );
}

void Connection::take_spill(std::string responses) {
    ++spills_taken_;
    if (out_.empty()) {
        out_.swap(responses);
    } else {
        out_ += responses;  // after what earlier commands left unsent
    }
    if (!writer_active_) {
        writer_active_ = true;
        auto writer = [this]() -> asio::awaitable<void> {
            while (!out_.empty() && !write_failed_) {
                write_failed_ = !co_await flush();
            }
            writer_active_ = false;
            signals_->wake.cancel();
        };
        asio::co_spawn(signals_->wake.get_executor(), std::move(writer), asio::detached);
    }
    signals_->wake.cancel();
}

asio::awaitable<bool> Connection::drain_spills() {
    while (writer_active_ || spills_taken_ != spills_posted_.load()) {
        signals_->wake.expires_after(settings_.write_timeout + std::chrono::seconds{5});
        net::ErrorCode ec;
        co_await signals_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return !write_failed_;
}

// IDLE (RFC 2177): wait for the client's DONE line while reporting store changes as they
// happen. A separate reader coroutine waits for input so the wait can be woken by either.
asio::awaitable<bool> Connection::idle() {
    if (!co_await flush()) {
        co_return false;
    }
    auto result = std::make_shared<ReadResult>();
    if (input_start_ >= input_.size()) {
        // An idle connection keeps no buffers: thousands of them wait in IDLE at once.
        input_.clear();
        input_.shrink_to_fit();
        input_start_ = 0;
        out_.shrink_to_fit();
        reader_ = result;
        auto signals = signals_;
        auto reader = [this, result, signals]() -> asio::awaitable<void> {
            std::string buf(256, '\0');
            auto [ec, n] = co_await stream_.read_some(asio::buffer(buf), settings_.idle_timeout);
            buf.resize(n);
            result->ec = ec;
            result->data = std::move(buf);
            result->done = true;
            signals->wake.cancel();
        };
        asio::co_spawn(signals_->wake.get_executor(), std::move(reader), asio::detached);
    } else {
        result->done = true;  // "DONE" arrived with the IDLE command
    }
    while (!result->done) {
        if (signals_->changed) {
            signals_->changed = false;
            auto poll = [this] {
                std::string out;
                session_.idle_poll(out);
                return out;
            };
            out_ += co_await blocking(std::move(poll));
            if (!co_await flush()) {
                co_return false;
            }
            if (session_.must_close()) {
                close_reason_ = "mailbox-deleted";
                co_return false;
            }
            continue;
        }
        if (signals_->stop) {
            out_ += "* BYE Server shutting down\r\n";
            co_await flush();
            close_reason_ = "shutdown";
            co_return false;
        }
        signals_->wake.expires_after(settings_.idle_timeout + std::chrono::seconds{5});
        net::ErrorCode ec;
        co_await signals_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    reader_.reset();
    if (result->ec) {
        close_reason_ = result->ec == beast::error::timeout ? "idle-timeout" : "eof";
        co_return false;
    }
    input_.erase(0, input_start_);
    input_start_ = 0;
    co_return take_input(result->data);
}

bool Connection::take_input(std::string_view raw) {
    if (!codec_) {
        input_.append(raw);
        return true;
    }
    // A compressed chunk may expand a lot; more than a parser's worth at once is abuse.
    if (!codec_->decompress(raw, input_, settings_.limits.max_command + (1U << 20))) {
        close_reason_ = "inflate-error";
        return false;
    }
    return true;
}

asio::awaitable<void> Connection::run(std::shared_ptr<Signals> signals) {
    signals_ = std::move(signals);
    signals_->stream = &stream_;
    log::info("imap.connect", {{"session", id_}, {"ip", stream_.remote_ip()}});
    if (settings_.implicit_tls) {
        if (!co_await start_tls()) {
            co_return;
        }
    }
    session_.greeting(out_);
    session_.set_spill([this, executor = signals_->wake.get_executor()](std::string&& responses) {
        ++spills_posted_;
        asio::post(executor, [this, r = std::move(responses)]() mutable {
            take_spill(std::move(r));
        });
    });
    bool open = true;
    while (open) {
        const auto step = parser_.feed(std::string_view(input_).substr(input_start_));
        input_start_ += step.consumed;
        switch (step.status) {
            case ParseStatus::NeedMore:
                if (!co_await flush() || !co_await read_more()) {
                    open = false;
                }
                break;
            case ParseStatus::Continue:
                out_ += "+ Ready\r\n";  // RFC 9051 §7.5
                if (!co_await flush()) {
                    open = false;
                }
                break;
            case ParseStatus::Line: {
                const std::string line(step.data);
                if (line_for_ == LineFor::Sasl) {
                    auto job = [this, line] {
                        std::string out;
                        const After after = session_.sasl_response(line, out);
                        return std::make_pair(after, std::move(out));
                    };
                    auto [after, out] = co_await blocking(std::move(job));
                    out_ += out;
                    line_for_ = LineFor::Nothing;
                    if (after == After::SaslContinue) {
                        parser_.expect_line();
                        line_for_ = LineFor::Sasl;
                    }
                } else {
                    auto job = [this, line] {
                        std::string out;
                        session_.idle_done(line, out);
                        return out;
                    };
                    out_ += co_await blocking(std::move(job));
                    line_for_ = LineFor::Nothing;
                }
                if (session_.must_close()) {  // the selected mailbox was deleted: BYE written
                    co_await flush();
                    close_reason_ = "mailbox-deleted";
                    open = false;
                    break;
                }
                if (const auto delay = session_.take_delay(); delay.count() > 0) {
                    signals_->wake.expires_after(delay);
                    net::ErrorCode ec;
                    co_await signals_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec)
                    );
                }
                watch_account();
                break;
            }
            case ParseStatus::Command: {
                // A command that reads little (a FETCH of a few messages, NOOP) runs right
                // here: the hop to a worker thread and back would cost more (Session::handle).
                std::pair<After, std::string> result;
                result.first = session_.handle(parser_.command(), result.second, true);
                if (result.first == After::Offload) {
                    auto job = [this] {
                        std::string out;
                        const After after = session_.handle(parser_.command(), out);
                        return std::make_pair(after, std::move(out));
                    };
                    result = co_await blocking(std::move(job));
                    if (!co_await drain_spills()) {
                        open = false;
                        break;
                    }
                }
                auto& [after, out] = result;
                if (const auto delay = session_.take_delay(); delay.count() > 0) {
                    // A failed login answers late (accounts/login_throttle.hpp).
                    signals_->wake.expires_after(delay);
                    net::ErrorCode ec;
                    co_await signals_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec)
                    );
                }
                if (out_.empty()) {
                    out_.swap(out);  // a FETCH answer can be megabytes: no copy
                } else {
                    out_ += out;
                }
                parser_.set_options(session_.parser_options());
                watch_account();
                switch (after) {
                    case After::Continue:
                        break;
                    case After::Compress: {
                        if (!co_await flush()) {
                            open = false;
                            break;
                        }
                        codec_ = std::make_unique<net::DeflateCodec>();
                        // Whatever the client pipelined after COMPRESS is already compressed.
                        const std::string rest = input_.substr(input_start_);
                        input_.clear();
                        input_start_ = 0;
                        if (!take_input(rest)) {
                            open = false;
                        }
                        break;
                    }
                    case After::Logout:
                        co_await flush();
                        close_reason_ = "logout";
                        open = false;
                        break;
                    case After::StartTls:
                        if (!co_await start_tls()) {
                            open = false;
                            break;
                        }
                        session_.tls_started();
                        // Nothing sent before the handshake may count after it (RFC 9051
                        // §6.2.1; the STARTTLS command injection attack, CVE-2011-0411).
                        input_.clear();
                        input_start_ = 0;
                        parser_ = wire::CommandParser(settings_.limits, session_.parser_options());
                        break;
                    case After::Idle:
                        parser_.expect_line();
                        line_for_ = LineFor::Idle;
                        if (!co_await idle()) {
                            open = false;
                        }
                        break;
                    case After::SaslContinue:
                        parser_.expect_line();
                        line_for_ = LineFor::Sasl;
                        break;
                    case After::Offload:
                        break;  // handle() without `quick` never answers this
                }
                break;
            }
            case ParseStatus::AppendLiteral: {
                auto job = [this] {
                    std::string out;
                    const bool ok = session_.append_begin(parser_.pending_append(), out);
                    return std::make_pair(ok, std::move(out));
                };
                auto [ok, out] = co_await blocking(std::move(job));
                out_ += out;
                if (ok) {
                    parser_.accept_literal();
                } else {
                    parser_.reject_literal();
                }
                break;
            }
            case ParseStatus::LiteralData:
                session_.append_data(step.data);
                break;
            case ParseStatus::Error:
                session_.append_abort();
                session_.parse_error(parser_.error(), false, out_);
                if (++errors_ >= settings_.max_errors) {
                    out_ += "* BYE Too many errors\r\n";
                    co_await flush();
                    close_reason_ = "errors";
                    open = false;
                }
                break;
            case ParseStatus::Fatal:
                session_.append_abort();
                session_.parse_error(parser_.error(), true, out_);
                co_await flush();
                close_reason_ = "fatal";
                open = false;
                break;
        }
        if (open && signals_->stop) {
            out_ += "* BYE Server shutting down\r\n";
            co_await flush();
            close_reason_ = "shutdown";
            open = false;
        }
    }
    if (hub_id_ != 0) {
        services_.hub->remove(hub_id_);
    }
    stream_.close();
    // An IDLE reader still waiting on the socket finishes now (the close aborts it); wait for
    // it, since it refers to this connection's stream.
    while (reader_ && !reader_->done) {
        signals_->wake.expires_after(std::chrono::seconds{5});
        net::ErrorCode ec;
        co_await signals_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    log::info("imap.close", {{"session", id_}, {"reason", close_reason_}});
}

}  // namespace

asio::awaitable<void> run_connection(
    beast::tcp_stream socket,
    std::string session_id,
    ConnectionSettings settings,
    ConnectionServices services
) {
    const auto executor = co_await asio::this_coro::executor;
    auto signals = std::make_shared<Signals>(executor);
    auto connection =
        std::make_unique<Connection>(std::move(socket), session_id, std::move(settings), services);
    const auto registration = services.registry->add([signals, executor] {
        asio::post(executor, [signals] {
            signals->stop = true;
            signals->wake.cancel();
            if (signals->stream != nullptr) {
                signals->stream->cancel();
            }
        });
    });
    struct Deregister {
        net::SessionRegistry* registry;
        std::uint64_t id;
        std::shared_ptr<Signals> signals;
        ~Deregister() {
            signals->stream = nullptr;
            registry->remove(id);
        }
    } deregister{services.registry, registration, signals};
    co_await connection->run(signals);
}

}  // namespace sov::imap::server
