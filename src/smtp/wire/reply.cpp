#include "smtp/wire/reply.hpp"

#include <string>

namespace sov::smtp::wire {
namespace {

void append_line(const Reply& reply, std::string_view line, bool last, std::string& out) {
    const int code = (reply.code >= 200 && reply.code <= 599) ? reply.code : 451;
    out += std::to_string(code);
    // RFC 5321 §4.2.1: "250-" on every line but the last, which uses "250 ".
    out += last ? ' ' : '-';
    if (!reply.enhanced.empty()) {
        // RFC 2034 §4: the enhanced code prefixes the text of every line.
        out += reply.enhanced;
        out += ' ';
    }
    for (const char c : line) {
        // A reply text must not contain CR/LF (it would start a new reply line) or NUL.
        out += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
    }
    out += "\r\n";
}

}  // namespace

void append_reply(const Reply& reply, std::string& out) {
    std::string_view text = reply.text;
    for (;;) {
        const auto nl = text.find('\n');
        if (nl == std::string_view::npos) {
            append_line(reply, text, true, out);
            return;
        }
        append_line(reply, text.substr(0, nl), false, out);
        text.remove_prefix(nl + 1);
    }
}

std::string to_wire(const Reply& reply) {
    std::string out;
    append_reply(reply, out);
    return out;
}

}  // namespace sov::smtp::wire
