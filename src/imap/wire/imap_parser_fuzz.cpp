// Fuzzes the IMAP command parser (imap/wire/parser.hpp) as a driver would run it: the input is
// split into reads at fuzzer-chosen points, the engine's decisions (accept or reject APPEND
// literals, raw lines after IDLE/AUTHENTICATE, UTF-8 mode) come from the first byte.
// Invariants: consumed never exceeds the input; every step consumes or changes state (at most
// a few zero-consumption events in a row); a parsed command formats to canonical text that
// parses again to the same command.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "imap/wire/command_writer.hpp"
#include "imap/wire/parser.hpp"

namespace {

using sov::imap::wire::CommandName;
using sov::imap::wire::CommandParser;
using sov::imap::wire::ParseStatus;

void check_round_trip(const CommandParser& p) {
    const auto& cmd = p.command();
    if (cmd.name == CommandName::Append) {
        return;  // streamed literals have no data to print
    }
    if (cmd.bad_mailbox_encoding) {
        return;  // a name kept as sent has no canonical modified UTF-7 form
    }
    // Default limits: the canonical form may be longer than what was accepted (CRLF for a bare
    // LF, quotes around an atom), so an input at the small limits' edge would not fit them.
    CommandParser again(sov::imap::wire::ParserLimits{}, p.options());
    const std::string text = sov::imap::wire::format_command(cmd, p.options().utf8) + "\r\n";
    std::string_view in(text);
    for (int i = 0; i < 1000 && !in.empty(); ++i) {
        const auto s = again.feed(in);
        in.remove_prefix(s.consumed);
        if (s.status == ParseStatus::Command) {
            if (!(again.command() == cmd)) {
                std::abort();
            }
            return;
        }
        if (s.status == ParseStatus::Error || s.status == ParseStatus::Fatal) {
            std::abort();  // the canonical form of a valid command must be valid
        }
    }
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    const std::size_t chunk = 1 + data[1];  // read size
    sov::imap::wire::ParserLimits limits;
    if ((flags & 0x01U) != 0) {  // small limits reach every refusal path
        limits.max_line = 128;
        limits.max_literal = 32;
        limits.max_command = 256;
        limits.max_append = 64;
        limits.max_discard = 96;
        limits.max_depth = 4;
        limits.max_args = 16;
    }
    sov::imap::wire::ParserOptions options;
    options.utf8 = (flags & 0x02U) != 0;
    options.literal_minus = (flags & 0x04U) != 0;
    const bool reject = (flags & 0x08U) != 0;
    CommandParser parser(limits, options);

    const std::string_view all(reinterpret_cast<const char*>(data) + 2, size - 2);
    std::string buf;
    std::size_t offset = 0;
    int idle_steps = 0;
    while (true) {
        if (offset < all.size()) {
            const std::size_t n = std::min(chunk, all.size() - offset);
            buf.append(all.substr(offset, n));
            offset += n;
        }
        const auto s = parser.feed(buf);
        if (s.consumed > buf.size()) {
            std::abort();
        }
        buf.erase(0, s.consumed);
        if (s.status == ParseStatus::NeedMore) {
            if (!buf.empty()) {
                std::abort();  // NeedMore takes everything it was given
            }
            if (offset >= all.size()) {
                break;
            }
            idle_steps = 0;
            continue;
        }
        if (s.status == ParseStatus::Fatal) {
            break;
        }
        idle_steps = s.consumed == 0 ? idle_steps + 1 : 0;
        if (idle_steps > 3) {
            std::abort();  // no progress
        }
        switch (s.status) {
            case ParseStatus::AppendLiteral:
                if (reject) {
                    parser.reject_literal();
                } else {
                    parser.accept_literal();
                }
                break;
            case ParseStatus::Command:
                check_round_trip(parser);
                if (parser.command().name == CommandName::Idle ||
                    parser.command().name == CommandName::Authenticate) {
                    parser.expect_line();
                }
                break;
            default:
                break;
        }
    }
    return 0;
}
