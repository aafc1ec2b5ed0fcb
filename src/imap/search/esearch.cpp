// ESEARCH (RFC 4731) result helpers.
#include <string>

#include "imap/search/search.hpp"

namespace sov::imap::search {

std::string compress_set(const std::vector<std::uint32_t>& ascending) {
    std::string out;
    std::size_t i = 0;
    while (i < ascending.size()) {
        std::size_t j = i;
        while (j + 1 < ascending.size() && ascending[j + 1] == ascending[j] + 1) {
            ++j;  // extend the run while numbers are consecutive
        }
        if (!out.empty()) {
            out.push_back(',');
        }
        out += std::to_string(ascending[i]);
        if (j > i) {
            out.push_back(':');
            out += std::to_string(ascending[j]);
        }
        i = j + 1;
    }
    return out;
}

}  // namespace sov::imap::search
