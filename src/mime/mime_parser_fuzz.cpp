// Fuzz target: parse any bytes, then the cached form must round-trip exactly, and deserialising
// the raw input (as a corrupt cache) must not crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mime/serialize.hpp"
#include "mime/structure.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const sov::mime::MessageStructure s = sov::mime::parse_message(bytes);
    for (const auto& p : s.parts) {
        if (p.header_offset > p.body_offset || p.body_offset > p.end_offset ||
            p.end_offset > size) {
            std::abort();
        }
    }
    const auto back = sov::mime::deserialize(sov::mime::serialize(s));
    if (!back.has_value() || !(*back == s)) {
        std::abort();
    }
    (void)sov::mime::deserialize(bytes);
    return 0;
}
