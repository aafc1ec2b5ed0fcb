#pragma once
// Compact, versioned binary form of a MessageStructure, stored by the message store beside the
// message. Format: a version byte, then LEB128 varints and length-prefixed strings.
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "mime/structure.hpp"

namespace sov::mime {

/// Version 2 added Part::header_bare_lf and Address::raw_name; version 1 blobs (stored by
/// earlier builds) still load, with those fields zero / empty.
inline constexpr unsigned char kStructureFormatVersion = 2;

[[nodiscard]] std::string serialize(const MessageStructure& s);

/// Bounds-checked: corrupt input yields Errc::Truncated / BadVersion / Corrupt, never a crash.
/// A successful result is a well-formed tree (indices in range, pre-order links, ordered offsets).
[[nodiscard]] Result<MessageStructure> deserialize(std::string_view data);

}  // namespace sov::mime
