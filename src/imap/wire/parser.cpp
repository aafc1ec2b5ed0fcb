#include "imap/wire/parser.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "imap/wire/chars.hpp"
#include "imap/wire/detail/grammar.hpp"
#include "imap/wire/literal.hpp"

namespace sov::imap::wire {
namespace {

// Bytes of a skipped line kept to recognise a literal marker at its end. A marker longer than
// this (absurd leading zeros) cannot be read, so such a line is treated as Fatal.
constexpr std::size_t kSkipTail = 64;

void wipe(std::string& s) noexcept {
    // Commands carry passwords (LOGIN) and SASL data; don't leave them in freed memory
    // (STYLE.md §3.6 "AUTH data is wiped from buffers after use").
    std::fill(s.begin(), s.end(), '\0');
    s.clear();
}

std::string_view strip_line_end(std::string_view line) noexcept {
    if (!line.empty() && line.back() == '\n') {
        line.remove_suffix(1);
    }
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    return line;
}

std::string tag_of(std::string_view text) {
    std::size_t n = 0;
    while (n < text.size() && is_tag_char(text[n])) {
        ++n;
    }
    if (n == 0 || n >= text.size() || text[n] != ' ') {
        return {};
    }
    return std::string(text.substr(0, n));
}

void keep_tail(std::string& tail, std::string_view more) {
    tail.append(more.substr(more.size() > kSkipTail ? more.size() - kSkipTail : 0));
    if (tail.size() > kSkipTail) {
        tail.erase(0, tail.size() - kSkipTail);
    }
}

}  // namespace

CommandParser::CommandParser(ParserLimits limits, ParserOptions options)
    : limits_(limits), options_(options) {}

void CommandParser::start_command() {
    wipe(buf_);
    literals_.clear();
    segment_start_ = 0;
    text_bytes_ = 0;
    fresh_ = false;
}

std::string CommandParser::current_tag() const {
    return tag_of(buf_);
}

Step CommandParser::fail(
    std::size_t consumed, ParseError::Kind kind, std::string code, std::string text
) {
    error_ = ParseError{kind, current_tag(), std::move(code), std::move(text)};
    state_ = State::Line;
    fresh_ = true;
    return Step{ParseStatus::Error, consumed, {}, false};
}

Step CommandParser::fatal(std::size_t consumed, std::string text) {
    error_ = ParseError{ParseError::Kind::Bad, {}, "TOOBIG", std::move(text)};
    state_ = State::Closed;
    return Step{ParseStatus::Fatal, consumed, {}, false};
}

// A command fails at a line that announces a literal. A synchronising literal will not be sent
// (the client waits for "+" and gets our tagged reply instead, RFC 9051 §7.5); a
// non-synchronising one is on its way and must be read and dropped to stay in sync.
Step CommandParser::fail_literal(
    std::size_t consumed, ParseError::Kind kind, bool sync, std::uint64_t size, std::string text
) {
    Step s = fail(consumed, kind, "TOOBIG", std::move(text));
    if (sync) {
        return s;
    }
    if (size > limits_.max_discard) {
        // RFC 7888 §4 choice 2: BYE [TOOBIG] rather than reading gigabytes.
        return fatal(consumed, error_.text);
    }
    state_ = State::Discard;
    remaining_ = size;
    fresh_ = false;
    return s;
}

// End of a line being skipped: another non-synchronising literal means more to drop.
Step CommandParser::finish_skip_line(std::size_t consumed, std::string_view tail) {
    const std::string_view line = strip_line_end(tail);
    const auto marker = find_literal_marker(line);
    if (marker && !marker->sync) {
        if (marker->overflow || marker->size > limits_.max_discard) {
            return fatal(consumed, "Literal too large");
        }
        state_ = State::Discard;
        remaining_ = marker->size;
        return Step{ParseStatus::NeedMore, consumed, {}, false};  // caller goes on
    }
    if (!marker && line.size() >= 2 && line.substr(line.size() - 2) == "+}") {
        return fatal(consumed, "Unreadable literal");  // see kSkipTail
    }
    state_ = State::Line;
    fresh_ = true;
    return Step{ParseStatus::NeedMore, consumed, {}, false};
}

std::optional<Step> CommandParser::on_line_end(std::size_t consumed) {
    const std::size_t full = buf_.size();
    const std::string_view seg = std::string_view(buf_).substr(segment_start_);
    const std::string_view line = strip_line_end(seg);
    const std::size_t line_end_len = seg.size() - line.size();
    const auto marker = find_literal_marker(line);

    // NUL is not CHAR (RFC 9051 §9): nothing outside literal8 may carry it.
    if (line.find('\0') != std::string_view::npos) {
        if (marker) {
            return fail_literal(
                consumed, ParseError::Kind::Bad, marker->sync, marker->size, "NUL byte in command"
            );
        }
        return fail(consumed, ParseError::Kind::Bad, {}, "NUL byte in command");
    }
    if (!marker) {
        buf_.resize(full - line_end_len);
        auto r = detail::parse_command_text(buf_, literals_, limits_, options_);
        fresh_ = true;
        if (!r.ok) {
            error_ = ParseError{
                ParseError::Kind::Bad,
                std::move(r.command.tag),
                std::move(r.error_code),
                std::move(r.error_text)
            };
            return Step{ParseStatus::Error, consumed, {}, false};
        }
        command_ = std::move(r.command);
        return Step{ParseStatus::Command, consumed, {}, false};
    }

    const std::size_t marker_end = full - line_end_len;
    // The cursor expects CRLF after a marker; a bare LF from a lenient client is normalised.
    buf_.resize(marker_end);
    buf_ += "\r\n";
    const bool minus_refused =
        options_.literal_minus && !marker->sync && marker->size > kLiteralMinusMax;  // RFC 7888 §5
    auto probe = detail::probe_append(
        std::string_view(buf_).substr(0, marker_end), literals_, limits_, options_
    );
    if (probe.role != detail::LiteralRole::Collected) {
        if (marker->overflow || marker->size > limits_.max_append) {
            // RFC 7889 §4 / RFC 4469 §4: NO [TOOBIG] for a synchronising APPEND literal;
            // RFC 7888 §5: BAD [TOOBIG] when the data is already on its way.
            return fail_literal(
                consumed,
                marker->sync ? ParseError::Kind::No : ParseError::Kind::Bad,
                marker->sync,
                marker->size,
                "Message too large"
            );
        }
        if (minus_refused) {
            return fail_literal(
                consumed,
                ParseError::Kind::Bad,
                false,
                marker->size,
                "Non-synchronizing literal over 4096 octets (LITERAL-)"
            );
        }
        append_ = PendingAppend{
            std::move(probe.tag),
            std::move(probe.mailbox),
            std::move(probe.message),
            probe.index,
            marker->size,
            marker->binary,
            marker->sync,
            probe.role == detail::LiteralRole::CatenateText
        };
        literals_.push_back(detail::LiteralInfo{buf_.size(), marker->size, true, marker->binary});
        segment_start_ = buf_.size();
        state_ = State::AwaitDecision;
        return Step{ParseStatus::AppendLiteral, consumed, {}, false};
    }
    if (marker->overflow || marker->size > limits_.max_literal ||
        buf_.size() + marker->size > limits_.max_command || minus_refused) {
        return fail_literal(
            consumed, ParseError::Kind::Bad, marker->sync, marker->size, "Literal too large"
        );
    }
    literals_.push_back(detail::LiteralInfo{buf_.size(), marker->size, false, marker->binary});
    remaining_ = marker->size;
    state_ = State::Literal;
    if (marker->sync) {
        return Step{ParseStatus::Continue, consumed, {}, false};
    }
    return std::nullopt;
}

Step CommandParser::feed(std::string_view input) {
    if (pending_continue_) {
        pending_continue_ = false;
        return Step{ParseStatus::Continue, 0, {}, false};
    }
    if (state_ != State::RawLine) {
        wipe(raw_);
    }
    std::size_t pos = 0;
    for (;;) {
        const std::string_view rest = input.substr(pos);
        switch (state_) {
            case State::Closed:
                return Step{ParseStatus::Fatal, input.size(), {}, false};
            case State::AwaitDecision:
                return Step{ParseStatus::AppendLiteral, pos, {}, false};
            case State::Line: {
                if (fresh_) {
                    start_command();
                }
                if (rest.empty()) {
                    return Step{ParseStatus::NeedMore, pos, {}, false};
                }
                const auto lf = rest.find('\n');
                const std::size_t seg = lf == std::string_view::npos ? rest.size() : lf + 1;
                if (text_bytes_ + seg > limits_.max_line) {
                    // Skip to the end of the line, watching its end for a literal marker.
                    // The tag may still be only in `rest` if the line started in this chunk.
                    std::string head = buf_.substr(0, kSkipTail);
                    head.append(rest.substr(0, kSkipTail));
                    skip_tail_.clear();
                    keep_tail(skip_tail_, buf_);
                    Step s = fail(pos, ParseError::Kind::Bad, {}, "Command line too long");
                    if (buf_.empty()) {
                        error_.tag = tag_of(head);
                    }
                    state_ = State::SkipLine;
                    fresh_ = false;
                    return s;
                }
                if (lf == std::string_view::npos) {
                    buf_.append(rest);
                    text_bytes_ += rest.size();
                    return Step{ParseStatus::NeedMore, input.size(), {}, false};
                }
                buf_.append(rest.substr(0, seg));
                text_bytes_ += seg;
                pos += seg;
                if (auto s = on_line_end(pos)) {
                    return *s;
                }
                break;
            }
            case State::Literal: {
                const auto n =
                    static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
                buf_.append(rest.substr(0, n));
                remaining_ -= n;
                pos += n;
                if (remaining_ > 0) {
                    return Step{ParseStatus::NeedMore, pos, {}, false};
                }
                segment_start_ = buf_.size();
                state_ = State::Line;
                break;
            }
            case State::Stream: {
                const auto n =
                    static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
                if (n == 0 && remaining_ > 0) {
                    return Step{ParseStatus::NeedMore, pos, {}, false};
                }
                remaining_ -= n;
                const bool last = remaining_ == 0;
                if (last) {
                    state_ = State::Line;
                }
                return Step{ParseStatus::LiteralData, pos + n, rest.substr(0, n), last};
            }
            case State::Discard: {
                const auto n =
                    static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
                remaining_ -= n;
                pos += n;
                if (remaining_ > 0) {
                    return Step{ParseStatus::NeedMore, pos, {}, false};
                }
                skip_tail_.clear();
                state_ = State::SkipLine;
                break;
            }
            case State::SkipLine: {
                const auto lf = rest.find('\n');
                if (lf == std::string_view::npos) {
                    keep_tail(skip_tail_, rest);
                    return Step{ParseStatus::NeedMore, input.size(), {}, false};
                }
                keep_tail(skip_tail_, rest.substr(0, lf + 1));
                pos += lf + 1;
                const std::string tail = std::move(skip_tail_);
                skip_tail_.clear();
                const Step s = finish_skip_line(pos, tail);
                if (s.status == ParseStatus::Fatal) {
                    return s;
                }
                break;
            }
            case State::RawLine: {
                const auto lf = rest.find('\n');
                const std::size_t seg = lf == std::string_view::npos ? rest.size() : lf + 1;
                if (raw_.size() + seg > limits_.max_line) {
                    wipe(raw_);
                    skip_tail_.clear();
                    Step s = fail(pos, ParseError::Kind::Bad, {}, "Line too long");
                    // The raw line belongs to the IDLE/AUTHENTICATE command: it ends with
                    // that command's tag (RFC 9051 §6.2.2 "BAD" for a bad SASL response).
                    error_.tag = command_.tag;
                    state_ = State::SkipLine;
                    fresh_ = false;
                    return s;
                }
                if (lf == std::string_view::npos) {
                    raw_.append(rest);
                    return Step{ParseStatus::NeedMore, input.size(), {}, false};
                }
                raw_.append(rest.substr(0, lf + 1));
                pos += lf + 1;
                state_ = State::Line;
                fresh_ = true;
                return Step{ParseStatus::Line, pos, strip_line_end(raw_), false};
            }
        }
    }
}

void CommandParser::accept_literal() {
    if (state_ != State::AwaitDecision) {
        return;
    }
    state_ = State::Stream;
    remaining_ = append_.size;
    pending_continue_ = append_.sync;
}

void CommandParser::reject_literal() {
    if (state_ != State::AwaitDecision) {
        return;
    }
    if (append_.sync) {
        state_ = State::Line;
        fresh_ = true;
        return;
    }
    if (append_.size > limits_.max_discard) {
        error_ = ParseError{ParseError::Kind::Bad, {}, "TOOBIG", "Literal too large"};
        state_ = State::Closed;
        return;
    }
    state_ = State::Discard;
    remaining_ = append_.size;
}

void CommandParser::expect_line() {
    wipe(raw_);
    state_ = State::RawLine;
}

}  // namespace sov::imap::wire
