#pragma once
// A small JSON reader for conformance data in tests (no JSON library is installed).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sov::test {

class Json {
public:
    enum class Type {
        Null,
        Bool,
        Number,
        String,
        Array,
        Object
    };

    [[nodiscard]] Type type() const noexcept { return type_; }
    [[nodiscard]] bool is_null() const noexcept { return type_ == Type::Null; }
    [[nodiscard]] bool is_string() const noexcept { return type_ == Type::String; }
    [[nodiscard]] bool is_array() const noexcept { return type_ == Type::Array; }
    [[nodiscard]] bool is_object() const noexcept { return type_ == Type::Object; }
    [[nodiscard]] bool as_bool() const noexcept { return bool_; }
    [[nodiscard]] std::int64_t as_int() const noexcept {
        return static_cast<std::int64_t>(number_);
    }
    [[nodiscard]] double as_double() const noexcept { return number_; }
    [[nodiscard]] const std::string& as_string() const noexcept { return string_; }
    [[nodiscard]] const std::vector<Json>& items() const noexcept { return items_; }
    [[nodiscard]] const std::vector<std::pair<std::string, Json>>& members() const noexcept {
        return members_;
    }
    /// Member `key` of an object, or nullptr.
    [[nodiscard]] const Json* find(std::string_view key) const noexcept;
    /// Member `key`; a static null value if absent.
    [[nodiscard]] const Json& operator[](std::string_view key) const noexcept;
    [[nodiscard]] const Json& operator[](std::size_t i) const noexcept { return items_.at(i); }
    [[nodiscard]] std::size_t size() const noexcept {
        return type_ == Type::Array ? items_.size() : members_.size();
    }

    /// Parses a whole document; nullopt on a syntax error.
    [[nodiscard]] static std::optional<Json> parse(std::string_view text);

private:
    friend class JsonParser;
    Type type_ = Type::Null;
    bool bool_ = false;
    double number_ = 0;
    std::string string_;
    std::vector<Json> items_;
    std::vector<std::pair<std::string, Json>> members_;
};

/// Reads a whole file into a string (binary); nullopt if it cannot be read.
[[nodiscard]] std::optional<std::string> read_file(const std::string& path);

}  // namespace sov::test
