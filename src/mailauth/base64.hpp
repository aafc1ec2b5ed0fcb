#pragma once
// Base64 (RFC 4648 §4) for DKIM's b=, bh= and p= values.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sov::mailauth {

[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> data);
[[nodiscard]] std::string base64_encode(std::string_view data);

/// Strict decoding of canonical base64 (padding required, no whitespace: strip FWS first);
/// nullopt for anything else.
[[nodiscard]] std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace sov::mailauth
