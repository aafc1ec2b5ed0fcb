#pragma once
// SMTP replies as a client reads them (RFC 5321 §4.2): "250-first", "250-more", "250 last". The
// parser is incremental (bytes arrive in any split), bounded (line length and line count), and
// never throws: a peer that breaks the grammar gets Status::Error and a reason for the log.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sov::smtp::wire {

struct ServerReply {
    int code = 0;                    // 200..599
    std::vector<std::string> lines;  // text after "NNN-" / "NNN ", without CRLF

    bool positive() const noexcept { return code >= 200 && code < 400; }
    bool transient() const noexcept { return code >= 400 && code < 500; }
    bool permanent() const noexcept { return code >= 500; }
    /// "250 first line / more" on one line, for logs and DSN diagnostic codes.
    std::string summary() const;
};

class ReplyParser {
public:
    enum class Status {
        NeedMore,  // the reply is not complete yet; feed more bytes
        Complete,  // reply() holds a whole reply; bytes after it are left in `input`
        Error      // the peer broke the grammar or a limit; error() says how
    };

    /// RFC 5321 §4.5.3.1.5: reply lines are at most 512 octets; servers exceed it, so the
    /// default allows more, but not without bound.
    explicit ReplyParser(std::size_t max_line = 4096, std::size_t max_lines = 200)
        : max_line_(max_line), max_lines_(max_lines) {}

    /// Consumes bytes from the front of `input` up to the end of one reply.
    Status feed(std::string_view& input);

    const ServerReply& reply() const noexcept { return reply_; }
    std::string_view error() const noexcept { return error_; }
    /// Ready for the next reply (after Complete).
    void reset();

private:
    Status finish_line();
    Status fail(std::string_view reason);

    std::size_t max_line_;
    std::size_t max_lines_;
    std::string line_;
    ServerReply reply_;
    bool failed_ = false;
    std::string error_;
};

/// EHLO keywords (RFC 5321 §4.1.1.1) of a 250 reply, upper-cased, with their parameters as
/// given: {"SIZE": "35882577", "STARTTLS": "", ...}. The first line is the greeting, not a
/// keyword.
std::map<std::string, std::string, std::less<>> ehlo_keywords(const ServerReply& reply);

}  // namespace sov::smtp::wire
