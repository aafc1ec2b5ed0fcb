#pragma once
// Compact, versioned binary form of a MessageStructure, stored by the message store beside the
// message. Format: a version byte, then LEB128 varints and length-prefixed strings.
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "mime/structure.hpp"

namespace sov::mime {

inline constexpr unsigned char kStructureFormatVersion = 1;

[[nodiscard]] std::string serialize(const MessageStructure& s);

/// Bounds-checked: corrupt input yields Errc::Truncated / BadVersion / Corrupt, never a crash.
/// A successful result is a well-formed tree (indices in range, pre-order links, ordered offsets).
[[nodiscard]] Result<MessageStructure> deserialize(std::string_view data);

}  // namespace sov::mime
