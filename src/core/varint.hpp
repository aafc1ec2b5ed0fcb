#pragma once
// LEB128 varints (7 bits a byte, low bits first, high bit = more follows), as the MIME
// structure blob and the full-text index's posting lists store numbers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sov::core {

inline void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80U) {
        out.push_back(static_cast<char>((v & 0x7fU) | 0x80U));
        v >>= 7U;
    }
    out.push_back(static_cast<char>(v));
}

/// Reads the varint at `pos` (advanced past it) into `v`; false if the input ends inside it or
/// it runs longer than `max_bytes` (10 hold any 64-bit value).
[[nodiscard]] inline bool get_varint(
    std::string_view in, std::size_t& pos, std::uint64_t& v, std::size_t max_bytes = 10
) {
    v = 0;
    for (std::size_t n = 0; n < max_bytes; ++n) {
        if (pos == in.size()) {
            return false;
        }
        const auto byte = static_cast<unsigned char>(in[pos++]);
        v |= static_cast<std::uint64_t>(byte & 0x7fU) << (7 * n);
        if ((byte & 0x80U) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace sov::core
