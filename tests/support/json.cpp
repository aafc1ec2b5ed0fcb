#include "support/json.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sov::test {

class JsonParser {
public:
    explicit JsonParser(std::string_view s) : s_(s) {}

    bool document(Json& out) {
        if (!value(out, 0)) {
            return false;
        }
        ws();
        return i_ == s_.size();
    }

private:
    void ws() {
        while (i_ < s_.size() &&
               (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
            ++i_;
        }
    }
    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) {
            return false;
        }
        i_ += word.size();
        return true;
    }
    static void put_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }
    bool hex4(std::uint32_t& v) {
        if (i_ + 4 > s_.size()) {
            return false;
        }
        v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') {
                v |= static_cast<std::uint32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                v |= static_cast<std::uint32_t>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                v |= static_cast<std::uint32_t>(c - 'A' + 10);
            } else {
                return false;
            }
        }
        return true;
    }
    bool string(std::string& out) {
        ++i_;  // opening quote
        while (i_ < s_.size()) {
            const char c = s_[i_++];
            if (c == '"') {
                return true;
            }
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (i_ >= s_.size()) {
                return false;
            }
            const char e = s_[i_++];
            switch (e) {
                case '"':
                case '\\':
                case '/':
                    out.push_back(e);
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                case 'n':
                    out.push_back('\n');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!hex4(cp)) {
                        return false;
                    }
                    if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(i_, 2) == "\\u") {
                        i_ += 2;
                        std::uint32_t lo = 0;
                        if (!hex4(lo)) {
                            return false;
                        }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    put_utf8(out, cp);
                    break;
                }
                default:
                    return false;
            }
        }
        return false;
    }
    bool value(Json& out, int depth) {
        if (depth > 200) {
            return false;
        }
        ws();
        if (i_ >= s_.size()) {
            return false;
        }
        const char c = s_[i_];
        if (c == '{') {
            out.type_ = Json::Type::Object;
            ++i_;
            ws();
            if (i_ < s_.size() && s_[i_] == '}') {
                ++i_;
                return true;
            }
            for (;;) {
                ws();
                if (i_ >= s_.size() || s_[i_] != '"') {
                    return false;
                }
                std::string key;
                if (!string(key)) {
                    return false;
                }
                ws();
                if (i_ >= s_.size() || s_[i_++] != ':') {
                    return false;
                }
                Json v;
                if (!value(v, depth + 1)) {
                    return false;
                }
                out.members_.emplace_back(std::move(key), std::move(v));
                ws();
                if (i_ < s_.size() && s_[i_] == ',') {
                    ++i_;
                    continue;
                }
                if (i_ < s_.size() && s_[i_] == '}') {
                    ++i_;
                    return true;
                }
                return false;
            }
        }
        if (c == '[') {
            out.type_ = Json::Type::Array;
            ++i_;
            ws();
            if (i_ < s_.size() && s_[i_] == ']') {
                ++i_;
                return true;
            }
            for (;;) {
                Json v;
                if (!value(v, depth + 1)) {
                    return false;
                }
                out.items_.push_back(std::move(v));
                ws();
                if (i_ < s_.size() && s_[i_] == ',') {
                    ++i_;
                    continue;
                }
                if (i_ < s_.size() && s_[i_] == ']') {
                    ++i_;
                    return true;
                }
                return false;
            }
        }
        if (c == '"') {
            out.type_ = Json::Type::String;
            return string(out.string_);
        }
        if (literal("null")) {
            out.type_ = Json::Type::Null;
            return true;
        }
        if (literal("true")) {
            out.type_ = Json::Type::Bool;
            out.bool_ = true;
            return true;
        }
        if (literal("false")) {
            out.type_ = Json::Type::Bool;
            return true;
        }
        const std::size_t b = i_;
        while (i_ < s_.size() &&
               (std::string_view("+-.eE0123456789").find(s_[i_]) != std::string_view::npos)) {
            ++i_;
        }
        if (i_ == b) {
            return false;
        }
        out.type_ = Json::Type::Number;
        out.number_ = std::strtod(std::string(s_.substr(b, i_ - b)).c_str(), nullptr);
        return true;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

const Json* Json::find(std::string_view key) const noexcept {
    for (const auto& [k, v] : members_) {
        if (k == key) {
            return &v;
        }
    }
    return nullptr;
}

const Json& Json::operator[](std::string_view key) const noexcept {
    static const Json kNull;
    const Json* v = find(key);
    return v == nullptr ? kNull : *v;
}

std::optional<Json> Json::parse(std::string_view text) {
    Json out;
    JsonParser p(text);
    if (!p.document(out)) {
        return std::nullopt;
    }
    return out;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace sov::test
