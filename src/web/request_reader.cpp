#include "web/request_reader.hpp"

#include <exception>
#include <optional>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

namespace sov::web {

namespace http = boost::beast::http;

struct RequestReader::Impl {
    std::optional<http::request_parser<http::empty_body>> parser;

    explicit Impl(const ReaderLimits& limits) { start(limits); }

    void start(const ReaderLimits& limits) {
        parser.emplace();
        // Stop after the head: a body is refused (413), never read.
        parser->eager(false);
        // Beast applies this to each put() alone; feed() also counts the whole head.
        parser->header_limit(limits.max_header_bytes);
    }
};

RequestReader::RequestReader(ReaderLimits limits)
    : limits_(limits), impl_(std::make_unique<Impl>(limits_)) {}

RequestReader::~RequestReader() = default;
RequestReader::RequestReader(RequestReader&&) noexcept = default;
RequestReader& RequestReader::operator=(RequestReader&&) noexcept = default;

void RequestReader::reset() {
    impl_->start(limits_);
    request_ = Request{};
    head_bytes_ = 0;
    spent_ = false;
}

ReadStep RequestReader::feed(std::string_view input) noexcept {
    constexpr unsigned kBadRequest = 400;
    constexpr unsigned kTooLarge = 431;  // RFC 6585 §5
    if (spent_) {
        return {.status = ReadStatus::Error, .consumed = 0, .error_status = kBadRequest};
    }
    try {
        auto& parser = *impl_->parser;
        boost::beast::error_code ec;
        const std::size_t n = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
        head_bytes_ += n;
        if (ec == http::error::need_more) {
            // What is buffered but unparsed still belongs to the head.
            if (head_bytes_ + (input.size() - n) >= limits_.max_header_bytes) {
                spent_ = true;
                return {.status = ReadStatus::Error, .consumed = n, .error_status = kTooLarge};
            }
            return {.status = ReadStatus::NeedMore, .consumed = n, .error_status = 0};
        }
        if (ec) {
            spent_ = true;
            const unsigned status = ec == http::error::header_limit ? kTooLarge : kBadRequest;
            return {.status = ReadStatus::Error, .consumed = n, .error_status = status};
        }
        if (!parser.is_header_done()) {
            // put() without need_more stops only at the end of the head (eager(false)).
            spent_ = true;
            return {.status = ReadStatus::Error, .consumed = n, .error_status = kBadRequest};
        }
        spent_ = true;
        if (head_bytes_ > limits_.max_header_bytes) {
            return {.status = ReadStatus::Error, .consumed = n, .error_status = kTooLarge};
        }
        const auto& message = parser.get();
        request_.method = std::string(message.method_string());
        request_.target = std::string(message.target());
        request_.version = message.version();
        for (auto [it, end] = message.equal_range(http::field::host); it != end; ++it) {
            request_.host_fields.emplace_back(it->value());
        }
        // HTTP/1.1 only: an HTTP/1.0 connection is not kept open (it would need "Connection:
        // keep-alive" echoed back, RFC 9112 Appendix C.2.2).
        request_.keep_alive = request_.version == 11 && parser.keep_alive();
        // RFC 9112 §6.3: a body is framed by Content-Length or Transfer-Encoding; a
        // Transfer-Encoding other than chunked (which Beast would reject or treat as framing
        // to the close) counts as a body too.
        request_.has_body = parser.chunked() || parser.content_length().value_or(0) > 0 ||
                            message.count(http::field::transfer_encoding) > 0;
        return {.status = ReadStatus::Complete, .consumed = n, .error_status = 0};
    } catch (const std::exception&) {
        // Only allocation failures and Beast's field-size checks (unreachable under the header
        // limit) throw; either way this request cannot be served.
        spent_ = true;
        return {.status = ReadStatus::Error, .consumed = 0, .error_status = kBadRequest};
    }
}

}  // namespace sov::web
