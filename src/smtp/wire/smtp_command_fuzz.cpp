// Fuzzes command framing and verb/argument splitting (smtp/wire/command_parser.hpp).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smtp/wire/command_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    sov::smtp::wire::CommandLimits limits;
    limits.max_line = 8 + (data[0] & 0x7FU);  // small limits reach LineTooLong often
    limits.allow_bare_lf = (data[0] & 0x80U) != 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    bool skipping = false;
    while (!in.empty()) {
        if (skipping) {
            const auto sk = sov::smtp::wire::skip_to_line_end(in);
            in.remove_prefix(sk.consumed);
            skipping = !sk.found_end;
            continue;
        }
        const auto r = sov::smtp::wire::parse_command_line(in, limits);
        if (r.consumed > in.size()) {
            std::abort();
        }
        if (r.status == sov::smtp::wire::ParseStatus::NeedMore) {
            if (r.consumed != 0 || in.size() >= limits.max_line) {
                std::abort();
            }
            break;
        }
        if (r.consumed == 0) {
            std::abort();  // every other status must make progress
        }
        if (r.status == sov::smtp::wire::ParseStatus::Complete) {
            if (r.line.size() + 1 > limits.max_line ||
                r.line.find('\n') != std::string_view::npos) {
                std::abort();
            }
            const auto cmd = sov::smtp::wire::parse_command(r.line);
            if (cmd.verb == sov::smtp::wire::Verb::Bdat) {
                (void)sov::smtp::wire::parse_bdat_args(cmd.args);
            }
        }
        if (r.status == sov::smtp::wire::ParseStatus::LineTooLong) {
            skipping = !r.terminated;
        }
        in.remove_prefix(r.consumed);
    }
    return 0;
}
