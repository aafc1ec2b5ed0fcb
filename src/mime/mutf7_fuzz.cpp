// Fuzzes modified UTF-7 (RFC 3501 §5.1.3). Properties checked:
// - decode: its output is UTF-8 without NUL; encoding it (with or without shifting '.') gives
//   printable ASCII that decodes to the same UTF-8, and the encoding is a fixed point of
//   encode ∘ decode (it is canonical);
// - encode: on UTF-8 input, the output is printable ASCII that decodes back to the input, and it
//   never contains a character of `also_encode` (other than inside a shifted run's base64, which
//   cannot hold '.', '/' or ' ').
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "mime/mutf7.hpp"

namespace {

namespace mime = sov::mime;
constexpr auto kLenient = mime::Mutf7Decode::Lenient;

using sov::fuzz::check;

bool printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

void check_encoding_of(std::string_view utf8, std::string_view also_encode) {
    const auto encoded = mime::mutf7_encode(utf8, also_encode);
    check(encoded.has_value());
    check(printable_ascii(*encoded));
    for (char c : also_encode) {
        check(encoded->find(c) == std::string::npos);
    }
    const auto decoded = mime::mutf7_decode(*encoded, kLenient);
    check(decoded && *decoded == utf8);
    if (also_encode.empty()) {
        const auto canonical = mime::mutf7_encode(*decoded);
        check(canonical && *canonical == *encoded);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    if (const auto decoded = mime::mutf7_decode(input, kLenient)) {
        check(decoded->find('\0') == std::string::npos);
        check(mime::mutf7_encode(*decoded).has_value());  // valid UTF-8
        check_encoding_of(*decoded, {});
        check_encoding_of(*decoded, ".");
        check(decoded->size() <= input.size() * 2);  // 8 base64 chars carry ≤ 6 UTF-8 bytes
    }

    // Strict decoding accepts a subset of what lenient decoding does, with the same result.
    if (const auto strict = mime::mutf7_decode(input, mime::Mutf7Decode::Strict)) {
        const auto lenient = mime::mutf7_decode(input, kLenient);
        check(lenient.has_value() && *lenient == *strict);
    }

    if (mime::mutf7_encode(input)) {
        check_encoding_of(input, {});
        check_encoding_of(input, "./ ");
    }
    return 0;
}
