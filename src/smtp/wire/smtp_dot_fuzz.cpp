// Differential fuzzing of the DATA dot-unstuffing decoder against the line-based reference
// (detail/dot_reference.hpp). Byte 0 picks the policy and the feed size; the rest is the body,
// to which "\r\n.\r\n" is appended so both must find an end.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/wire/detail/dot_reference.hpp"
#include "smtp/wire/dot_decoder.hpp"

using sov::smtp::wire::BareLineEnding;
using sov::smtp::wire::DotDecoder;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const auto policy = (data[0] & 1U) != 0 ? BareLineEnding::Reject : BareLineEnding::Normalize;
    const std::size_t feed = 1 + ((data[0] >> 1U) & 0x1FU);
    std::string wire(reinterpret_cast<const char*>(data) + 1, size - 1);
    wire += "\r\n.\r\n";
    const auto ref = sov::smtp::wire::detail::dot_reference(wire, policy);
    if (!ref.done) {
        std::abort();
    }
    DotDecoder dec(policy);
    std::string buffer;
    std::string body;
    std::size_t fed = 0;
    std::size_t used = 0;
    bool done = false;
    while (!done) {
        const auto s = dec.decode(buffer);
        if (s.consumed > buffer.size()) {
            std::abort();
        }
        body.append(s.data);
        buffer.erase(0, s.consumed);
        used += s.consumed;
        done = s.done;
        if (s.consumed == 0 && !done) {
            if (fed == wire.size() || buffer.size() > 3) {
                std::abort();  // stuck, or holding back more than the documented 3 bytes
            }
            const auto n = std::min(feed, wire.size() - fed);
            buffer.append(wire, fed, n);
            fed += n;
        }
    }
    if (body != ref.body || used != ref.end || dec.bad_line_ending() != ref.bad) {
        std::abort();
    }
    return 0;
}
