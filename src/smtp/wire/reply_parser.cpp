#include "smtp/wire/reply_parser.hpp"

#include <algorithm>

namespace sov::smtp::wire {

namespace {

bool digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

std::string ServerReply::summary() const {
    std::string out = std::to_string(code);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out += i == 0 ? " " : " / ";
        out += lines[i];
    }
    return out;
}

void ReplyParser::reset() {
    line_.clear();
    reply_ = ServerReply{};
    failed_ = false;
    error_.clear();
}

ReplyParser::Status ReplyParser::fail(std::string_view reason) {
    failed_ = true;
    error_ = reason;
    return Status::Error;
}

ReplyParser::Status ReplyParser::feed(std::string_view& input) {
    if (failed_) {
        return Status::Error;
    }
    while (!input.empty()) {
        const auto lf = input.find('\n');
        const std::string_view chunk =
            input.substr(0, lf == std::string_view::npos ? input.size() : lf);
        if (line_.size() + chunk.size() > max_line_) {
            return fail("reply line too long");
        }
        line_.append(chunk);
        if (lf == std::string_view::npos) {
            input.remove_prefix(input.size());
            return Status::NeedMore;
        }
        input.remove_prefix(lf + 1);
        const Status status = finish_line();
        if (status != Status::NeedMore) {
            return status;
        }
    }
    return Status::NeedMore;
}

// One line without its LF: "NNN-text" continues, "NNN text" or "NNN" ends the reply.
ReplyParser::Status ReplyParser::finish_line() {
    std::string line = std::move(line_);
    line_.clear();
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();  // CRLF is the rule; a bare LF is tolerated (RFC 5321 §2.3.8 client side)
    }
    if (line.find('\0') != std::string::npos) {
        return fail("NUL in reply");
    }
    if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) || line[0] < '2' ||
        line[0] > '5') {
        return fail("reply line does not start with a reply code");
    }
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!reply_.lines.empty() && code != reply_.code) {
        return fail("reply code changes within a multiline reply");
    }
    if (reply_.lines.size() >= max_lines_) {
        return fail("too many reply lines");
    }
    reply_.code = code;
    const char separator = line.size() > 3 ? line[3] : ' ';
    if (separator != ' ' && separator != '-') {
        return fail("reply code not followed by space or hyphen");
    }
    reply_.lines.push_back(line.size() > 4 ? line.substr(4) : std::string());
    return separator == '-' ? Status::NeedMore : Status::Complete;
}

std::map<std::string, std::string, std::less<>> ehlo_keywords(const ServerReply& reply) {
    std::map<std::string, std::string, std::less<>> out;
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        const std::string& line = reply.lines[i];
        const auto space = line.find(' ');
        std::string keyword = line.substr(0, space);
        std::transform(keyword.begin(), keyword.end(), keyword.begin(), [](unsigned char c) {
            return static_cast<char>(std::toupper(c));
        });
        if (!keyword.empty()) {
            out[keyword] = space == std::string::npos ? std::string() : line.substr(space + 1);
        }
    }
    return out;
}

}  // namespace sov::smtp::wire
