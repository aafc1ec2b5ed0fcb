#pragma once
// The DKIM tag=value list (RFC 6376 §3.2), used by the DKIM-Signature field (§3.5) and by the key
// record in DNS (§3.6.1). Sans-I/O, noexcept, no allocation: tags are views into the input.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sov::mailauth {

struct Tag {
    std::string_view name;
    std::string_view value;  // leading and trailing FWS removed; inner FWS kept as written
};

struct TagLimits {
    // A signature with a long h= list and a 4096-bit b= stays under 4 KiB; key records are at
    // most a few hundred octets. Anything far larger is hostile.
    std::size_t max_octets = 16384;
};

/// At most this many tags: RFC 6376 defines 15 for signatures; this leaves room for extensions.
inline constexpr std::size_t kMaxTags = 32;

class TagList {
public:
    enum class Status {
        Ok,
        Syntax,        // not a tag-list (bad name, missing '=', bad value character, ...)
        DuplicateTag,  // §3.2: "the entire tag-list is invalid"
        TooManyTags,
        TooLong,
    };

    /// Parses `input`; the views in the result point into it, so it must outlive the result.
    [[nodiscard]] static TagList parse(
        std::string_view input, const TagLimits& limits = {}
    ) noexcept;

    [[nodiscard]] Status status() const noexcept { return status_; }
    [[nodiscard]] bool ok() const noexcept { return status_ == Status::Ok; }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] const Tag& operator[](std::size_t i) const noexcept { return tags_[i]; }
    /// Tag names are case-sensitive (§3.2).
    [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const noexcept;

private:
    std::array<Tag, kMaxTags> tags_{};
    std::size_t count_ = 0;
    Status status_ = Status::Syntax;
};

[[nodiscard]] std::string_view to_string(TagList::Status status) noexcept;

/// The value with every FWS character (SP, HTAB, CR, LF) removed: how base64 values such as b=,
/// bh= and p= are read (§3.5: "Whitespace is ignored in this value").
[[nodiscard]] std::string strip_fws(std::string_view value);

}  // namespace sov::mailauth
