#pragma once
// A minimal driver for tests and fuzzers (not used by the server): feeds chunks like a socket
// would, keeps unconsumed bytes, plays the engine's part (accepts or rejects APPEND literals,
// asks for raw lines after IDLE/AUTHENTICATE) and records every event as a line of text, so
// that two runs can be compared whatever the chunking.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "imap/wire/command_writer.hpp"
#include "imap/wire/parser.hpp"

namespace sov::imap::wire::detail {

struct DriverPolicy {
    bool reject_appends = false;
    std::size_t max_steps = 1000000;  ///< guard: a parser that never progresses fails here
};

class TestDriver {
public:
    explicit TestDriver(ParserLimits limits = {}, ParserOptions options = {}, DriverPolicy p = {})
        : parser_(limits, options), policy_(p) {}

    /// Adds input and runs the parser until it needs more. Returns false if the step guard
    /// tripped or an invariant broke (consumed beyond input).
    bool push(std::string_view chunk) {
        buf_.append(chunk);
        for (std::size_t steps = 0; steps < policy_.max_steps; ++steps) {
            const Step s = parser_.feed(buf_);
            if (s.consumed > buf_.size()) {
                return false;
            }
            record(s);
            buf_.erase(0, s.consumed);
            if (s.status == ParseStatus::NeedMore || s.status == ParseStatus::Fatal) {
                return true;
            }
        }
        return false;
    }

    [[nodiscard]] const std::vector<std::string>& events() const noexcept { return events_; }
    [[nodiscard]] std::string joined() const {
        std::string out;
        for (const auto& e : events_) {
            out += e;
            out += '\n';
        }
        return out;
    }
    [[nodiscard]] std::size_t buffered() const noexcept { return buf_.size(); }
    CommandParser& parser() noexcept { return parser_; }

private:
    void record(const Step& s) {
        switch (s.status) {
            case ParseStatus::NeedMore:
                return;
            case ParseStatus::Continue:
                events_.emplace_back("+");
                return;
            case ParseStatus::Command: {
                const auto& c = parser_.command();
                events_.push_back("C " + format_command(c, parser_.options().utf8));
                const bool sasl = c.name == CommandName::Authenticate &&
                                  !std::get<AuthenticateArgs>(c.args).initial_response;
                if (c.name == CommandName::Idle || sasl) {
                    parser_.expect_line();
                }
                return;
            }
            case ParseStatus::Line:
                events_.push_back("L " + std::string(s.data));
                return;
            case ParseStatus::AppendLiteral: {
                const auto& a = parser_.pending_append();
                events_.push_back(
                    "A " + a.tag + " " + a.mailbox + " #" + std::to_string(a.index) + " " +
                    std::to_string(a.size) + (a.sync ? "" : "+") + (a.binary ? " bin" : "") +
                    (a.catenate_text ? " text" : "") +
                    " flags=" + std::to_string(a.message.flags.size())
                );
                if (policy_.reject_appends) {
                    parser_.reject_literal();
                } else {
                    parser_.accept_literal();
                }
                return;
            }
            case ParseStatus::LiteralData:
                data_.append(s.data);
                if (s.last) {
                    events_.push_back("D " + data_);
                    data_.clear();
                }
                return;
            case ParseStatus::Error:
            case ParseStatus::Fatal: {
                const auto& e = parser_.error();
                std::string line = s.status == ParseStatus::Fatal ? "F " : "E ";
                line += e.tag.empty() ? "*" : e.tag;
                line += e.kind == ParseError::Kind::No ? " NO" : " BAD";
                if (!e.code.empty()) {
                    line += " [" + e.code + "]";
                }
                line += " " + e.text;
                events_.push_back(line);
                return;
            }
        }
    }

    CommandParser parser_;
    DriverPolicy policy_;
    std::string buf_;
    std::string data_;
    std::vector<std::string> events_;
};

}  // namespace sov::imap::wire::detail
