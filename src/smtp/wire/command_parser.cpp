#include "smtp/wire/command_parser.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "smtp/wire/address.hpp"

namespace sov::smtp::wire {

ParseResult parse_command_line(std::string_view input, const CommandLimits& limits) noexcept {
    ParseResult r;
    // RFC 5321 §2.3.8: a line ends in CRLF. We look for LF and check what precedes it.
    const std::size_t scan = std::min(input.size(), limits.max_line);
    const auto lf = input.substr(0, scan).find('\n');
    if (lf == std::string_view::npos) {
        if (input.size() < limits.max_line) {
            return r;  // NeedMore
        }
        // §4.5.3.1.4: over the limit without a line end. The line end may sit right after
        // the limit; report it so the caller needs no skip phase.
        r.status = ParseStatus::LineTooLong;
        const auto end = input.find('\n', scan);
        r.terminated = end != std::string_view::npos;
        r.consumed = r.terminated ? end + 1 : input.size();
        return r;
    }
    r.consumed = lf + 1;
    std::size_t len = lf;
    if (len > 0 && input[len - 1] == '\r') {
        --len;
    } else {
        r.bare_lf = true;
    }
    r.line = input.substr(0, len);
    if (r.bare_lf && !limits.allow_bare_lf) {
        r.status = ParseStatus::BadBytes;
        return r;
    }
    // NUL is never valid in SMTP commands, and a bare CR inside a line is how CRLF-confused
    // peers (and smuggling probes) show up: refuse both rather than guess.
    if (r.line.find('\0') != std::string_view::npos ||
        r.line.find('\r') != std::string_view::npos) {
        r.status = ParseStatus::BadBytes;
        return r;
    }
    r.status = ParseStatus::Complete;
    return r;
}

SkipResult skip_to_line_end(std::string_view input) noexcept {
    const auto lf = input.find('\n');
    if (lf == std::string_view::npos) {
        return {input.size(), false};
    }
    return {lf + 1, true};
}

Command parse_command(std::string_view line) noexcept {
    struct Entry {
        std::string_view name;
        Verb verb;
    };
    static constexpr std::array<Entry, 15> kVerbs{{
        {"HELO", Verb::Helo},
        {"EHLO", Verb::Ehlo},
        {"LHLO", Verb::Lhlo},
        {"MAIL", Verb::Mail},
        {"RCPT", Verb::Rcpt},
        {"DATA", Verb::Data},
        {"BDAT", Verb::Bdat},
        {"RSET", Verb::Rset},
        {"NOOP", Verb::Noop},
        {"QUIT", Verb::Quit},
        {"VRFY", Verb::Vrfy},
        {"EXPN", Verb::Expn},
        {"HELP", Verb::Help},
        {"STARTTLS", Verb::Starttls},
        {"AUTH", Verb::Auth},
    }};
    Command cmd;
    const auto sp = line.find(' ');
    cmd.verb_text = line.substr(0, sp);
    if (sp != std::string_view::npos) {
        auto args = line.substr(sp);
        while (!args.empty() && args.front() == ' ') {
            args.remove_prefix(1);
        }
        cmd.args = args;
        cmd.has_args = !args.empty();
    }
    for (const auto& e : kVerbs) {
        if (iequals(cmd.verb_text, e.name)) {
            cmd.verb = e.verb;
            break;
        }
    }
    return cmd;
}

BdatArgs parse_bdat_args(std::string_view args) noexcept {
    // RFC 3030 §2: bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF
    //              chunk-size ::= 1*DIGIT ; end-marker ::= "LAST"
    BdatArgs r;
    std::size_t i = 0;
    std::uint64_t size = 0;
    while (i < args.size() && args[i] >= '0' && args[i] <= '9') {
        const auto digit = static_cast<std::uint64_t>(args[i] - '0');
        if (size > (UINT64_MAX - digit) / 10) {
            return r;  // overflow: a syntax error, not a huge allocation
        }
        size = size * 10 + digit;
        ++i;
    }
    if (i == 0 || i > 20) {
        return r;
    }
    auto rest = args.substr(i);
    if (!rest.empty()) {
        if (rest.front() != ' ') {
            return r;
        }
        while (!rest.empty() && rest.front() == ' ') {
            rest.remove_prefix(1);
        }
        while (!rest.empty() && rest.back() == ' ') {
            rest.remove_suffix(1);
        }
        if (!rest.empty()) {
            if (!iequals(rest, "LAST")) {
                return r;
            }
            r.last = true;
        }
    }
    if (size > SIZE_MAX) {
        return r;
    }
    r.size = static_cast<std::size_t>(size);
    r.ok = true;
    return r;
}

}  // namespace sov::smtp::wire
