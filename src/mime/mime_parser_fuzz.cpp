// Fuzz target: parse any bytes, then the cached form must round-trip exactly, and deserialising
// the raw input (as a corrupt cache) must not crash. The PREVIEW text of the parse must be what
// RFC 8970 §3.3 allows: UTF-8, at most 200 characters, one line with single spaces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/utf8.hpp"
#include "fuzz_check.hpp"
#include "mime/preview.hpp"
#include "mime/serialize.hpp"
#include "mime/structure.hpp"

using sov::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const sov::mime::MessageStructure s = sov::mime::parse_message(bytes);
    for (const auto& p : s.parts) {
        check(
            p.header_offset <= p.body_offset && p.body_offset <= p.end_offset &&
            p.end_offset <= size
        );
    }
    const auto back = sov::mime::deserialize(sov::mime::serialize(s));
    check(back.has_value() && *back == s);
    (void)sov::mime::deserialize(bytes);

    const std::string preview = sov::mime::preview_text(bytes, s);
    check(
        sov::core::is_valid_utf8(preview) && !preview.starts_with(' ') && !preview.ends_with(' ') &&
        preview.find("  ") == std::string::npos
    );
    std::size_t chars = 0;
    for (const char c : preview) {
        check(static_cast<unsigned char>(c) >= 0x20);
        chars += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
    }
    check(chars <= sov::mime::kPreviewChars);
    return 0;
}
