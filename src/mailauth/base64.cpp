#include "mailauth/base64.hpp"

#include <openssl/evp.h>

namespace sov::mailauth {

namespace {

bool is_base64_char(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> data) {
    std::string out(4 * ((data.size() + 2) / 3), '\0');
    if (!data.empty()) {
        const int n = EVP_EncodeBlock(
            reinterpret_cast<unsigned char*>(out.data()), data.data(), static_cast<int>(data.size())
        );
        out.resize(static_cast<std::size_t>(n));
    }
    return out;
}

std::string base64_encode(std::string_view data) {
    return base64_encode(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(data.data()), data.size()
    ));
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    if (text.ends_with("==")) {
        padding = 2;
    } else if (text.ends_with('=')) {
        padding = 1;
    }
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        if (!is_base64_char(text[i])) {
            return std::nullopt;
        }
    }
    std::vector<std::uint8_t> out(text.size() / 4 * 3);
    if (text.empty()) {
        return out;
    }
    // EVP_DecodeBlock keeps the zero bytes that padding stands for; cut them off.
    const int n = EVP_DecodeBlock(
        out.data(),
        reinterpret_cast<const unsigned char*>(text.data()),
        static_cast<int>(text.size())
    );
    if (n < 0 || static_cast<std::size_t>(n) < padding) {
        return std::nullopt;
    }
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

}  // namespace sov::mailauth
