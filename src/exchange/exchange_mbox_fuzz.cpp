// Fuzzes the streaming mbox reader (mbox::Parser) and the "From " line date parser.
//
// Input layout: byte 0 picks the split point and chunk size, byte 1 the limits, the rest is the
// mbox file. Properties checked:
// - the Sink sees a well-formed event sequence (on_message, on_data*, on_end) and no open message
//   after finish();
// - the messages do not depend on how the input is chunked (whole, split in two, small chunks);
// - the reader only drops bytes (From lines, metadata headers, quoting '>', separators): message
//   bytes ≤ input bytes, and after the importer's bare LF → CRLF conversion ≤ 2 × input;
// - a file that does not start with a "From " line yields no message;
// - writing each message back with format_message and reading it again gives the same message
//   (bytes normalised as the writer documents: a final line end and an empty header terminator
//   are added when missing), flags and keywords;
// - a parsed "From " date is written by format_from_line so that it parses to the same instant.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "exchange/line_ends.hpp"
#include "exchange/mbox.hpp"
#include "fuzz_check.hpp"

namespace {

namespace mbox = sov::exchange::mbox;
namespace chr = std::chrono;

using sov::fuzz::check;

struct Message {
    sov::core::WallTime date;
    mbox::Meta meta;
    std::string bytes;
    bool operator==(const Message& o) const {
        return date == o.date && meta.flags == o.meta.flags && meta.keywords == o.meta.keywords &&
               bytes == o.bytes;
    }
};

class Recorder final : public mbox::Sink {
public:
    void on_message(sov::core::WallTime date, const mbox::Meta& meta) override {
        check(!open_);
        open_ = true;
        messages.push_back({date, meta, {}});
    }
    void on_data(std::string_view bytes) override {
        check(open_);
        messages.back().bytes.append(bytes);
        crlf_bytes += bytes.size();
        converted_.clear();
        crlf_.convert(bytes, converted_);
        converted_bytes += converted_.size();
    }
    void on_end() override {
        check(open_);
        open_ = false;
        crlf_ = {};
    }
    bool open() const { return open_; }

    std::vector<Message> messages;
    std::uint64_t crlf_bytes = 0;
    std::uint64_t converted_bytes = 0;

private:
    bool open_ = false;
    sov::exchange::CrlfWriter crlf_;
    std::string converted_;
};

struct Run {
    std::vector<Message> messages;
    bool is_mbox = true;
    std::uint64_t pseudo = 0;
};

// Feeds `input` in the given pieces (each piece size; the rest goes in one last piece).
template <class NextSize>
Run parse(std::string_view input, mbox::Parser::Limits limits, NextSize&& next_size) {
    Recorder sink;
    mbox::Parser parser(sink, limits);
    while (!input.empty()) {
        const auto n = std::min(next_size(input.size()), input.size());
        parser.feed(input.substr(0, n));
        input.remove_prefix(n);
    }
    parser.finish();
    check(!sink.open());
    check(sink.converted_bytes <= 2 * sink.crlf_bytes);
    return {std::move(sink.messages), parser.is_mbox(), parser.pseudo_messages()};
}

bool in_writable_range(sov::core::WallTime t) {
    // format_from_line writes a four-digit year and the reader wants 1970 or later.
    const auto secs = chr::floor<chr::seconds>(t).time_since_epoch().count();
    return secs >= 0 && secs < 253402300800;  // 10000-01-01T00:00:00Z
}

// The first line of the header section that is empty ends it (as the writer looks for it).
bool has_header_end(std::string_view bytes) {
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const auto nl = bytes.find('\n', pos);
        const auto line = bytes.substr(pos, nl == std::string_view::npos ? nl : nl + 1 - pos);
        if (line == "\n" || line == "\r\n") {
            return true;
        }
        pos += line.size();
    }
    return false;
}

void check_from_line(std::string_view input) {
    const auto line = input.substr(0, input.find('\n'));
    const auto date = mbox::parse_from_line(line);
    if (!date || !in_writable_range(*date)) {
        return;
    }
    std::string again = mbox::format_from_line(*date);
    check(!again.empty() && again.back() == '\n');
    again.pop_back();
    const auto reparsed = mbox::parse_from_line(again);
    check(reparsed && *reparsed == *date);
}

void check_round_trip(const std::vector<Message>& messages) {
    for (const auto& m : messages) {
        if (!in_writable_range(m.date)) {
            continue;
        }
        std::string expected = m.bytes;
        if (expected.empty() || expected.back() != '\n') {
            expected += '\n';
        }
        if (!has_header_end(expected)) {
            expected += '\n';
        }
        const std::string file = mbox::format_message(m.bytes, m.date, m.meta);
        const auto run = parse(file, {}, [](std::size_t n) { return n; });
        check(run.is_mbox && run.pseudo == 0);
        check(run.messages.size() == 1);
        const auto& back = run.messages.front();
        check(back.date == m.date);
        check(back.meta.flags == m.meta.flags);
        check(back.meta.keywords == m.meta.keywords);
        check(back.bytes == expected);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::uint8_t b0 = data[0];
    const std::uint8_t b1 = data[1];
    const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

    // Small limits (bit 7 of byte 1 clear) reach the overlong-line and big-header paths.
    mbox::Parser::Limits limits;
    const bool small_limits = (b1 & 0x80) == 0;
    if (small_limits) {
        limits.max_line = 1 + (b1 & 0x0F) * 8U;        // 1..121
        limits.max_header = ((b1 >> 4) & 0x07) * 64U;  // 0..448
    }

    const auto whole = parse(input, limits, [](std::size_t n) { return n; });
    const std::size_t split = input.size() * b0 / 255;
    bool first = true;
    const auto halves = parse(input, limits, [&](std::size_t n) {
        const auto take = first ? split : n;
        first = false;
        return take;
    });
    const std::size_t chunk = 1 + (b0 % 13);
    const auto pieces = parse(input, limits, [&](std::size_t) { return chunk; });

    check(whole.messages == halves.messages && whole.messages == pieces.messages);
    check(whole.is_mbox == halves.is_mbox && whole.is_mbox == pieces.is_mbox);
    check(whole.pseudo == halves.pseudo && whole.pseudo == pieces.pseudo);

    std::uint64_t total = 0;
    for (const auto& m : whole.messages) {
        total += m.bytes.size();
        for (const auto& k : m.meta.keywords) {
            check(!k.empty() && k.find_first_of(" ,\t\r\n") == std::string::npos);
        }
    }
    check(total <= input.size());
    if (!input.empty() && input.substr(0, 5) != "From ") {
        check(!whole.is_mbox && whole.messages.empty());
    }
    if (!whole.is_mbox) {
        check(whole.messages.empty());
    }

    check_from_line(input);
    if (!small_limits) {
        // With the default limits no input of fuzzing size overflows a header section, so every
        // message is one the writer can reproduce.
        check_round_trip(whole.messages);
    }
    return 0;
}
