#pragma once
// Reads one HTTP/1.1 request head (RFC 9112 §2-§5) from bytes, with Beast's parser underneath
// and Beast kept out of this header. Sans-I/O: the driver presents every unconsumed byte it has
// buffered and drops exactly `consumed` of them after each step (the reader may take the request
// line and whole fields before the head is complete). The limit counts every byte of the head,
// however it arrived, so a head trickled in small pieces cannot grow without bound.
// We accept no request body; whether one was announced is reported, and the body is never read.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "web/router.hpp"

namespace sov::web {

struct ReaderLimits {
    /// The request line plus all fields. 8 KiB is what common servers allow by default and far
    /// more than a policy fetch or a health check needs; beyond it: 431 (RFC 6585 §5) and close.
    std::uint32_t max_header_bytes = 8 * 1024;
};

enum class ReadStatus {
    NeedMore,  // the head is incomplete: drop `consumed`, read more, present the rest again
    Complete,  // request() holds the head; `consumed` bytes of the input were its bytes
    Error,     // malformed or too large: answer `error_status` and close the connection
};

struct ReadStep {
    ReadStatus status = ReadStatus::NeedMore;
    std::size_t consumed = 0;
    unsigned error_status = 0;  // 400 or 431 when status is Error
};

class RequestReader {
public:
    explicit RequestReader(ReaderLimits limits);
    RequestReader() : RequestReader(ReaderLimits{}) {}
    ~RequestReader();
    RequestReader(RequestReader&&) noexcept;
    RequestReader& operator=(RequestReader&&) noexcept;
    RequestReader(const RequestReader&) = delete;
    RequestReader& operator=(const RequestReader&) = delete;

    /// `input` is every byte received and not yet consumed. After Complete or Error the reader
    /// is spent: reset() before the next request (further feeds answer Error).
    [[nodiscard]] ReadStep feed(std::string_view input) noexcept;

    /// The head, after Complete.
    [[nodiscard]] const Request& request() const noexcept { return request_; }

    /// Ready for the next request on the same connection.
    void reset();

private:
    struct Impl;
    ReaderLimits limits_;
    std::unique_ptr<Impl> impl_;
    Request request_;
    std::size_t head_bytes_ = 0;  // consumed so far for the current head
    bool spent_ = false;
};

}  // namespace sov::web
