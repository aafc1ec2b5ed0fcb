#include "smtp/client/smarthost.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <system_error>

#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include "smtp/client/errors.hpp"
#include "tls/client_context.hpp"
#include "tls/mta_sts_fetch.hpp"

namespace sov::smtp::client {

namespace asio = boost::asio;

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(a[i])) !=
            std::toupper(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

std::string reply_text(const Result<wire::ServerReply>& reply) {
    return reply ? reply->summary() : reply.error().message();
}

// Ends the session politely where one exists; the connection is dropped afterwards anyway.
asio::awaitable<void> quit(Connection& c) {
    (void)co_await c.command("QUIT");
}

// RFC 4954 §4: AUTH with the mechanism the relay offers; 235 means accepted.
asio::awaitable<bool> authenticate(
    Connection& c, const SmarthostOptions& options, SmarthostProbe& probe
) {
    const auto mechanism = choose_mechanism(c.offered_parameter("AUTH"));
    const auto& user = options.settings.username;
    Result<wire::ServerReply> reply = make_error_code(Errc::Protocol);
    switch (mechanism) {
        case SaslChoice::None:
            probe.detail = c.offers("AUTH") ? "relay offers neither AUTH PLAIN nor AUTH LOGIN"
                                            : "relay does not offer AUTH (RFC 4954)";
            co_return false;
        case SaslChoice::Plain:
            // RFC 4954 §4: the initial response saves a round trip.
            reply = co_await c.command("AUTH PLAIN " + sasl_plain_response(user, options.password));
            break;
        case SaslChoice::Login:
            reply = co_await c.command("AUTH LOGIN");
            if (reply && reply->code == 334) {
                reply = co_await c.command(base64_encode(user));
            }
            if (reply && reply->code == 334) {
                reply = co_await c.command(base64_encode(options.password));
            }
            break;
    }
    if (reply && reply->code == 235) {
        co_return true;
    }
    if (reply && reply->code == 334) {
        (void)co_await c.command("*");  // RFC 4954 §4: cancel an exchange we cannot continue
    }
    probe.auth_failed = reply.has_value();
    probe.detail = "authentication failed: " + reply_text(reply);
    co_return false;
}

}  // namespace

SaslChoice choose_mechanism(std::string_view offered) noexcept {
    bool login = false;
    while (!offered.empty()) {
        const auto space = offered.find(' ');
        const auto word = offered.substr(0, space);
        offered = space == std::string_view::npos ? std::string_view() : offered.substr(space + 1);
        if (iequals(word, "PLAIN")) {
            return SaslChoice::Plain;
        }
        login = login || iequals(word, "LOGIN");
    }
    return login ? SaslChoice::Login : SaslChoice::None;
}

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(bytes.data()),
        static_cast<int>(bytes.size())
    );
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
}

std::string sasl_plain_response(std::string_view user, std::string_view password) {
    std::string message;
    message += '\0';  // RFC 4616 §2: empty authzid, act as the authenticated user
    message += user;
    message += '\0';
    message += password;
    return base64_encode(message);
}

Result<std::string> read_password_file(const std::filesystem::path& path, std::string& warning) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) {
        return std::error_code(errno, std::generic_category());
    }
    if ((st.st_mode & S_IROTH) != 0) {
        warning = "the password file is readable by every user (chmod 600 or 640 it)";
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::make_error_code(std::errc::permission_denied);
    }
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    if (line.empty()) {
        return std::make_error_code(std::errc::invalid_argument);
    }
    return line;
}

asio::awaitable<std::unique_ptr<Connection>> establish_smarthost(
    const SmarthostOptions& options,
    net::SslContextPtr tls_context,
    const asio::ip::address& address,
    SmarthostProbe& probe
) {
    const auto& settings = options.settings;
    auto executor = co_await asio::this_coro::executor;
    auto connection = co_await Connection::connect(
        executor, asio::ip::tcp::endpoint(address, settings.port), options.timeouts
    );
    if (!connection) {
        probe.detail = "connect: " + connection.error().message();
        co_return nullptr;
    }
    auto& c = **connection;
    const std::string host = settings.host;
    // RFC 6125 via RFC 8314 §4.1 / RFC 3207 §4.1: the certificate must name the configured host.
    // Verification is read after the handshake so that the log can say why it failed.
    const auto prepare = [&host](SSL* ssl) {
        if (!tls::prepare_pkix(ssl, host)) {
            return false;
        }
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
        return true;
    };
    const auto verified = [&]() {
        probe.tls = tls::describe(c.stream().ssl());
        const auto pkix = tls::pkix_verification(c.stream().ssl());
        if (!pkix.valid) {
            probe.detail =
                fmt::format("certificate not valid for {} (PKIX): {}", host, pkix.detail);
        }
        return pkix.valid;
    };
    if (settings.implicit_tls) {
        if (auto st = co_await c.tls_handshake(tls_context, prepare); !st) {
            probe.detail = "TLS: " + st.error().message();
            co_return nullptr;
        }
        if (!verified()) {
            co_return nullptr;  // nothing said yet; no greeting read from an unverified peer
        }
    }
    auto greeting = co_await c.read_reply();
    if (!greeting || greeting->code != 220) {
        probe.detail = "greeting: " + reply_text(greeting);
        co_return nullptr;
    }
    auto ehlo = co_await c.ehlo(options.helo);
    if (!ehlo || ehlo->code != 250) {
        probe.detail = "EHLO: " + reply_text(ehlo);
        co_return nullptr;
    }
    if (!settings.implicit_tls) {
        if (!c.offers("STARTTLS")) {
            probe.detail = make_error_code(Errc::NoStartTls).message();
            co_await quit(c);
            co_return nullptr;
        }
        if (auto st = co_await c.starttls(tls_context, prepare); !st) {
            probe.detail = "STARTTLS: " + st.error().message();
            co_return nullptr;
        }
        if (!verified()) {
            co_await quit(c);
            co_return nullptr;
        }
        ehlo = co_await c.ehlo(options.helo);  // RFC 3207 §4.2
        if (!ehlo || ehlo->code != 250) {
            probe.detail = "EHLO after STARTTLS: " + reply_text(ehlo);
            co_return nullptr;
        }
    }
    if (!settings.username.empty()) {
        if (!co_await authenticate(c, options, probe)) {
            co_await quit(c);
            co_return nullptr;
        }
        // RFC 4954 §4: the EHLO keywords stay valid after AUTH; no new EHLO is needed.
    }
    co_return std::move(*connection);
}

}  // namespace sov::smtp::client
