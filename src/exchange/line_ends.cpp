#include "exchange/line_ends.hpp"

#include <algorithm>

namespace sov::exchange {

void CrlfWriter::convert(std::string_view chunk, std::string& out) {
    out.reserve(out.size() + chunk.size() + chunk.size() / 32);
    for (char c : chunk) {
        if (c == '\n' && !last_was_cr_) {
            out += '\r';
        }
        out += c;
        last_was_cr_ = c == '\r';
    }
}

std::string to_lf(std::string_view message) {
    std::string out;
    out.reserve(message.size());
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n') {
            continue;
        }
        out += message[i];
    }
    return out;
}

std::uint64_t count_lf(std::string_view text) noexcept {
    return static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace sov::exchange
