#include "web/server/connection.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/error.hpp>

#include "accounts/address.hpp"
#include "accounts/directory.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "net/stream.hpp"
#include "web/router.hpp"

namespace sov::web::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

namespace {

/// Log values come from the client: keep each one short.
constexpr std::size_t kMaxLoggedValue = 200;
/// What a lingering close reads and drops at most.
constexpr std::size_t kMaxLingerBytes = 64 * 1024;
constexpr std::size_t kReadChunk = 4096;

std::string_view clip(std::string_view value) {
    return value.substr(0, std::min(value.size(), kMaxLoggedValue));
}

/// Whether `domain` is a hosted domain or domain alias. Directory::is_local_domain() answers
/// false on a database error too; list_domains() tells the two apart, so that an unreadable
/// directory is answered 503 (router.hpp), not 404.
Result<bool> is_hosted(accounts::Directory* directory, std::string_view domain) {
    if (directory == nullptr) {
        return false;
    }
    if (directory->is_local_domain(domain)) {
        return true;
    }
    auto name = accounts::normalize_domain(domain);
    if (!name) {
        return false;  // not a domain name at all: certainly not ours
    }
    auto domains = directory->list_domains();
    if (!domains) {
        log::error("http.directory_failed", {{"error", domains.error().message()}});
        // error_code converts to bool too: the error is spelled out.
        return {boost::system::in_place_error, domains.error()};
    }
    return std::any_of(domains->begin(), domains->end(), [&name](const accounts::Domain& d) {
        return d.name == name->ascii;
    });
}

/// Shared with the shutdown callback (another thread); touched only on the connection's strand.
struct Signals {
    bool stop = false;
    net::Stream* stream = nullptr;  // null once the connection has ended
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
          reader_(settings_.limits) {
        site_.mta_sts_policy = settings_.mta_sts_policy;
        site_.is_hosted_domain = [directory = services_.directory](std::string_view domain) {
            return is_hosted(directory, domain);
        };
    }

    asio::awaitable<void> run(std::shared_ptr<Signals> signals);

private:
    struct Head {
        enum class Kind {
            Step,      // `step` is Complete or Error
            TimedOut,  // a head was started and not finished in time; the socket is closed
            Closed,    // EOF, idle timeout, read error or shutdown before a head started
        } kind = Kind::Closed;
        ReadStep step;
    };

    asio::awaitable<bool> handshake();
    asio::awaitable<Head> read_head();
    asio::awaitable<Response> respond();
    asio::awaitable<bool> send(const Response& response, bool head_only);
    asio::awaitable<void> linger();
    void log_request(std::string_view method, const Location& location, unsigned status) const;

    net::Stream stream_;
    std::string id_;
    std::string ip_;
    ConnectionSettings settings_;
    ConnectionServices services_;
    Site site_;
    RequestReader reader_;
    std::shared_ptr<Signals> signals_;
    std::string input_;  // received, not yet consumed by the reader
    std::array<char, kReadChunk> chunk_{};
};

asio::awaitable<bool> Connection::handshake() {
    auto context = services_.tls != nullptr ? services_.tls->current() : nullptr;
    if (!context) {
        log::warn("http.tls.unavailable", {{"session", id_}, {"ip", ip_}});
        co_return false;
    }
    if (const auto ec = co_await stream_.handshake_server(
            std::move(context), settings_.tls_handshake_timeout
        )) {
        log::info("http.tls.failed", {{"session", id_}, {"ip", ip_}, {"error", ec.message()}});
        co_return false;
    }
    co_return true;
}

asio::awaitable<Connection::Head> Connection::read_head() {
    bool started = false;
    Clock::time_point deadline;
    while (true) {
        if (!started) {
            // RFC 9112 §2.2: "a server that is expecting to receive and parse a request-line
            // SHOULD ignore at least one empty line (CRLF) received prior to the request-line".
            const auto text = input_.find_first_not_of("\r\n");
            input_.erase(0, text == std::string::npos ? input_.size() : text);
        }
        if (!input_.empty() && !started) {
            started = true;
            deadline = Clock::now() + settings_.header_timeout;
        }
        if (started) {
            const ReadStep step = reader_.feed(input_);
            input_.erase(0, step.consumed);
            if (step.status != ReadStatus::NeedMore) {
                co_return Head{.kind = Head::Kind::Step, .step = step};
            }
        }
        if (signals_->stop) {
            co_return Head{};
        }
        auto timeout = started
                           ? std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now())
                           : settings_.idle_timeout;
        if (timeout.count() <= 0) {
            co_return Head{.kind = Head::Kind::TimedOut, .step = {}};
        }
        auto [ec, n] = co_await stream_.read_some(asio::buffer(chunk_), timeout);
        if (ec) {
            if (ec == beast::error::timeout && started) {
                co_return Head{.kind = Head::Kind::TimedOut, .step = {}};
            }
            co_return Head{};  // EOF, idle timeout, reset, shutdown: nothing to answer
        }
        input_.append(chunk_.data(), n);
    }
}

asio::awaitable<Response> Connection::respond() {
    if (services_.pool == nullptr) {
        co_return route(reader_.request(), site_);
    }
    // The hosted-domain lookup is SQLite (accounts::Directory): off the I/O threads.
    auto job = [this] { return route(reader_.request(), site_); };
    co_return co_await core::offload(services_.pool->get_executor(), std::move(job));
}

asio::awaitable<bool> Connection::send(const Response& response, bool head_only) {
    const auto ec = co_await stream_.write_all(
        serialize(response, head_only, core::now()), settings_.write_timeout
    );
    co_return !ec;
}

asio::awaitable<void> Connection::linger() {
    const auto deadline = Clock::now() + settings_.linger_timeout;
    // Our close_notify and FIN first: a client waiting for more of the response sees the end now
    // and closes its side, which ends the drain below instead of its deadline.
    if (co_await stream_.shutdown_send(settings_.linger_timeout)) {
        co_return;
    }
    std::size_t dropped = 0;
    while (dropped < kMaxLingerBytes && !signals_->stop) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            break;
        }
        auto [ec, n] = co_await stream_.read_some(asio::buffer(chunk_), left);
        if (ec) {
            break;
        }
        dropped += n;
    }
}

void Connection::log_request(std::string_view method, const Location& location, unsigned status)
    const {
    log::info(
        "http.request",
        {{"session", id_},
         {"ip", ip_},
         {"method", clip(method)},
         {"host", clip(location.host)},
         {"path", clip(location.path)},
         {"status", status}}
    );
}

asio::awaitable<void> Connection::run(std::shared_ptr<Signals> signals) {
    signals_ = std::move(signals);
    signals_->stream = &stream_;
    ip_ = stream_.remote_ip();
    if (settings_.implicit_tls && !co_await handshake()) {
        stream_.close();
        co_return;
    }
    std::uint32_t served = 0;
    while (true) {
        reader_.reset();
        const Head head = co_await read_head();
        if (head.kind == Head::Kind::Closed) {
            break;
        }
        if (head.kind == Head::Kind::TimedOut) {
            // The expired deadline has closed the socket (beast::tcp_stream), so no 408 can be
            // sent (RFC 9110 §15.5.9 makes it optional anyway); the timeout is logged instead.
            log::info("http.timeout", {{"session", id_}, {"ip", ip_}, {"waiting_for", "head"}});
            break;
        }
        if (head.step.status == ReadStatus::Error) {
            log_request({}, {}, head.step.error_status);
            if (co_await send(error_response(head.step.error_status), false)) {
                co_await linger();
            }
            break;
        }
        const Request& request = reader_.request();
        Response response = co_await respond();
        ++served;
        if (!request.keep_alive || served >= settings_.max_requests || signals_->stop) {
            response.close = true;
        }
        log_request(request.method, locate(request), response.status);
        if (!co_await send(response, request.method == "HEAD")) {
            break;
        }
        if (response.close) {
            // Unread input (a refused body, pipelined requests) would make our close a reset.
            if (request.has_body || !input_.empty()) {
                co_await linger();
            }
            break;
        }
    }
    stream_.close();
}

}  // namespace

asio::awaitable<void> run_connection(
    beast::tcp_stream socket,
    std::string session_id,
    ConnectionSettings settings,
    ConnectionServices services
) {
    const auto executor = co_await asio::this_coro::executor;
    auto signals = std::make_shared<Signals>();
    auto connection = std::make_unique<Connection>(
        std::move(socket), std::move(session_id), std::move(settings), services
    );
    const auto registration = services.registry->add([signals, executor] {
        asio::post(executor, [signals] {
            signals->stop = true;
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

}  // namespace sov::web::server
