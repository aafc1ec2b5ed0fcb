// Fuzz target: parse any bytes, then the cached form must round-trip exactly, and deserialising
// the raw input (as a corrupt cache) must not crash. The PREVIEW text of the parse must be what
// RFC 8970 §3.3 allows: UTF-8, at most 200 characters, one line with single spaces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/utf8.hpp"
#include "mime/preview.hpp"
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

    const std::string preview = sov::mime::preview_text(bytes, s);
    if (!sov::core::is_valid_utf8(preview) || preview.starts_with(' ') || preview.ends_with(' ') ||
        preview.find("  ") != std::string::npos) {
        std::abort();
    }
    std::size_t chars = 0;
    for (const char c : preview) {
        if (static_cast<unsigned char>(c) < 0x20) {
            std::abort();
        }
        chars += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
    }
    if (chars > sov::mime::kPreviewChars) {
        std::abort();
    }
    return 0;
}
