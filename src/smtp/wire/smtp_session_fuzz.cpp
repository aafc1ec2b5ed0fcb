// Fuzzes a whole server session with small limits. Byte 0 picks the configuration, byte 1 the
// read size; recipient and delivery verdicts are derived from the input deterministically.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/wire/detail/session_harness.hpp"

using namespace sov::smtp::wire;  // NOLINT(google-build-using-namespace): fuzz target only

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const unsigned cfg = data[0];
    ServerConfig c;
    c.hostname = "mx.example.org";
    c.protocol = (cfg & 1U) != 0 ? Protocol::Lmtp : Protocol::Smtp;
    c.tls_available = (cfg & 2U) != 0;
    c.bare_line_ending = (cfg & 4U) != 0 ? BareLineEnding::Reject : BareLineEnding::Normalize;
    c.verify_sender = (cfg & 8U) != 0;
    c.binarymime = (cfg & 16U) != 0;
    // Submission: AUTH (RFC 4954) without TLS, scripted by the harness.
    c.auth_available = (cfg & 32U) != 0;
    c.require_auth = (cfg & 64U) != 0;
    c.require_tls_for_auth = false;
    c.limits.max_message_bytes = 64;
    c.limits.max_recipients = 3;
    c.limits.max_errors = 8;
    c.limits.command.max_line = 128;
    c.limits.max_auth_line = 160;
    const std::size_t read = 1 + data[1] % 64;
    const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

    detail::SessionHarness h(c);
    h.rcpt_verdict = [](const Recipient& r) {
        const auto n = r.path.to_string().size();
        static const Reply kVerdicts[] = {
            {250, "2.1.5", "Ok"},
            {550, "5.1.1", "No such user"},
            {550, "5.7.1", "Relaying denied"},
            {451, "4.3.0", "Try later"},
        };
        return kVerdicts[n % 4];
    };
    h.delivery_verdict = [](const Envelope& env, std::string_view body) {
        std::vector<Reply> out;
        for (std::size_t i = 0; i < env.recipients.size(); ++i) {
            out.push_back(
                ((body.size() + i) % 3) == 0 ? Reply{452, "4.2.2", "Full"}
                                             : Reply{250, "2.0.0", "Ok"}
            );
        }
        return out;
    };
    for (std::size_t pos = 0; pos < input.size() && !h.closed(); pos += read) {
        h.feed(input.substr(pos, read));
    }
    for (const auto& e : h.events()) {
        if (e.rfind("BUG", 0) == 0) {
            std::abort();
        }
    }
    for (const auto& m : h.delivered()) {
        if (m.body.size() > c.limits.max_message_bytes || m.envelope.recipients.empty() ||
            m.envelope.recipients.size() > c.limits.max_recipients) {
            std::abort();
        }
    }
    // Every output line is a well-formed reply line.
    const auto& out = h.output();
    std::size_t pos = 0;
    while (pos < out.size()) {
        const auto e = out.find("\r\n", pos);
        if (e == std::string::npos || e - pos < 4 || out[pos] < '2' || out[pos] > '5' ||
            (out[pos + 3] != ' ' && out[pos + 3] != '-')) {
            std::abort();
        }
        pos = e + 2;
    }
    return 0;
}
