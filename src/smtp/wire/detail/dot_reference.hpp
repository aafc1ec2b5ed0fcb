#pragma once
// A deliberately simple, whole-buffer, line-based model of DotDecoder used as the oracle in
// dot_decoder_test and smtp_dot_fuzz. Different algorithm, same policy (dot_decoder.hpp).
#include <cstddef>
#include <string>
#include <string_view>

#include "smtp/wire/dot_decoder.hpp"

namespace sov::smtp::wire::detail {

struct DotReference {
    bool done = false;
    std::size_t end = 0;  // bytes up to and including the terminator
    std::string body;
    bool bad = false;
};

inline DotReference dot_reference(std::string_view in, BareLineEnding policy) {
    DotReference r;
    std::size_t pos = 0;
    bool crlf_before = true;
    for (;;) {
        const auto lf = in.find('\n', pos);
        if (lf == std::string_view::npos) {
            return r;
        }
        const bool real = lf > pos && in[lf - 1] == '\r';
        auto content = in.substr(pos, (real ? lf - 1 : lf) - pos);
        if (content == "." && real && crlf_before) {
            r.done = true;
            r.end = lf + 1;
            return r;
        }
        if (content.size() > 1 && content.front() == '.') {
            content.remove_prefix(1);
        }
        if (content.find('\r') != std::string_view::npos) {
            r.bad = true;
        }
        r.body += content;
        if (real || policy == BareLineEnding::Normalize) {
            r.body += "\r\n";
        } else {
            r.body += "\n";
            r.bad = true;
        }
        crlf_before = real;
        pos = lf + 1;
    }
}

}  // namespace sov::smtp::wire::detail
