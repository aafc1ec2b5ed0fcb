#include "imap/wire/literal.hpp"

namespace sov::imap::wire {

std::optional<LiteralMarker> find_literal_marker(std::string_view line) noexcept {
    if (line.size() < 3 || line.back() != '}') {
        return std::nullopt;
    }
    LiteralMarker m;
    std::size_t end = line.size() - 1;  // index of "}"
    if (line[end - 1] == '+') {
        m.sync = false;
        --end;
    }
    std::size_t start = end;
    while (start > 0 && line[start - 1] >= '0' && line[start - 1] <= '9') {
        --start;
    }
    if (start == end || start == 0 || line[start - 1] != '{') {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (std::size_t i = start; i < end; ++i) {
        const auto d = static_cast<std::uint64_t>(line[i] - '0');
        if (v > (0x7FFFFFFFFFFFFFFFULL - d) / 10) {
            m.overflow = true;
            break;
        }
        v = v * 10 + d;
    }
    m.size = m.overflow ? UINT64_MAX : v;
    std::size_t open = start - 1;
    if (open > 0 && line[open - 1] == '~') {
        m.binary = true;
        --open;
    }
    m.length = line.size() - open;
    return m;
}

}  // namespace sov::imap::wire
