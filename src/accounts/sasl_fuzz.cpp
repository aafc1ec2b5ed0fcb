// Fuzzes the shared SASL server exchange (sasl.hpp) with arbitrary client responses.
// Input: byte 0 picks the mechanism (mod 3), byte 1 holds flags (bit 0: the first response is an
// initial response; bit 1: the directory fails instead of answering), the rest is split at '\n'
// into client responses. Properties: no crash; PLAIN/LOGIN succeed only with the one right
// user and password; SCRAM never succeeds (a made-up proof would mean HMAC-SHA-256 is broken);
// a finished exchange stays finished.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "accounts/errors.hpp"
#include "accounts/sasl.hpp"

namespace {

using sov::accounts::Account;
using sov::accounts::Errc;
using sov::accounts::SaslMechanism;
using sov::accounts::SaslServer;

constexpr std::string_view kUser = "user@example.test";
constexpr std::string_view kPassword = "secret";

sov::Result<Account> check(const SaslServer& server, bool fail_directory) {
    if (fail_directory) {
        return make_error_code(Errc::Storage);
    }
    if (server.authcid() == kUser && server.password() == kPassword) {
        return Account{1, std::string(kUser), std::string(kUser), {}};
    }
    return make_error_code(Errc::AuthFailed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    static const auto credentials =
        sov::accounts::make_scram_credentials(kPassword, "0123456789abcdef", 4096);
    if (!credentials) {
        std::abort();
    }
    const auto mechanism = static_cast<SaslMechanism>(data[0] % 3);
    const bool initial = (data[1] & 1U) != 0;
    const bool fail_directory = (data[1] & 2U) != 0;
    std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);

    SaslServer server(
        mechanism,
        [fail_directory](std::string_view user) -> sov::Result<sov::accounts::ScramAccount> {
            if (fail_directory) {
                return make_error_code(Errc::Storage);
            }
            if (user != kUser) {
                return make_error_code(Errc::NotFound);
            }
            return sov::accounts::ScramAccount{
                Account{1, std::string(kUser), std::string(kUser), {}}, *credentials
            };
        }
    );
    const auto next = [&rest]() {
        const auto nl = rest.find('\n');
        const auto line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        return line;
    };
    auto step = server.start(initial ? std::optional<std::string_view>(next()) : std::nullopt);
    for (int rounds = 0; rounds < 16; ++rounds) {
        if (step.status == SaslServer::Status::NeedPasswordCheck) {
            step = server.password_checked(check(server, fail_directory));
            continue;
        }
        if (step.status != SaslServer::Status::Challenge) {
            break;
        }
        step = server.respond(next());
    }
    if (step.status == SaslServer::Status::Success) {
        const bool right = mechanism != SaslMechanism::ScramSha256 && !fail_directory &&
                           server.account() && server.account()->address == kUser;
        if (!right) {
            std::abort();
        }
    }
    if (server.finished() && server.respond("x").status != SaslServer::Status::Failure) {
        std::abort();
    }
    return 0;
}
