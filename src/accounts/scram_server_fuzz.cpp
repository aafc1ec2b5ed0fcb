// Fuzzes the SCRAM-SHA-256 server exchange (RFC 5802) with arbitrary client messages: the input
// is split at the first NUL into client-first and client-final. Properties: no crash, and a
// made-up proof never succeeds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "accounts/scram.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using sov::accounts::ScramServer;
    static const auto credentials =
        sov::accounts::make_scram_credentials("pencil", "0123456789abcdef", 4096);
    if (!credentials) {
        std::abort();
    }
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto split = input.find('\0');
    const auto first = input.substr(0, split);
    const auto final =
        split == std::string_view::npos ? std::string_view{} : input.substr(split + 1);
    ScramServer server([](std::string_view user) -> std::optional<sov::accounts::ScramCredentials> {
        if (user == "user") {
            return *credentials;
        }
        return std::nullopt;
    });
    server.set_server_nonce_for_test("fixednonce");
    const auto step1 = server.client_first(first);
    if (step1.status != ScramServer::Status::Continue) {
        return 0;
    }
    const auto step2 = server.client_final(final);
    // Guessing a valid proof from fuzz input would mean HMAC-SHA-256 is broken.
    if (step2.status == ScramServer::Status::Success) {
        std::abort();
    }
    return 0;
}
