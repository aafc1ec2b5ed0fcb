#include "core/log.hpp"

#include <stdio.h>

#include <atomic>
#include <mutex>

#include <fmt/format.h>

#include "core/clock.hpp"

namespace sov::log {
namespace {

std::atomic<Level> g_level{Level::Info};
std::atomic<Format> g_format{Format::Logfmt};
std::mutex g_output_mutex;
FILE* g_output = nullptr;  // nullptr means stderr

const char* level_name(Level level) {
    switch (level) {
        case Level::Debug:
            return "debug";
        case Level::Info:
            return "info";
        case Level::Warn:
            return "warn";
        case Level::Error:
            return "error";
    }
    return "info";
}

// logfmt values are quoted when they contain spaces, quotes or '='; control bytes are escaped so
// one event is always one line, whatever a peer sent us.
void append_logfmt_value(std::string& out, std::string_view value) {
    bool needs_quotes = value.empty();
    for (const char c : value) {
        if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20 ||
            c == '\x7f') {
            needs_quotes = true;
            break;
        }
    }
    if (!needs_quotes) {
        out.append(value);
        return;
    }
    out.push_back('"');
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out.append("\\n");
        } else if (c == '\r') {
            out.append("\\r");
        } else if (u < 0x20 || u == 0x7f) {
            out.append(fmt::format("\\x{:02x}", u));
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

void append_json_string(std::string& out, std::string_view value) {
    out.push_back('"');
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out.append("\\n");
        } else if (c == '\r') {
            out.append("\\r");
        } else if (c == '\t') {
            out.append("\\t");
        } else if (u < 0x20 || u == 0x7f) {
            out.append(fmt::format("\\u{:04x}", u));
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

std::string timestamp() {
    const auto t = core::now();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const time_t secs = static_cast<time_t>(ms / 1000);
    struct tm parts{};
    gmtime_r(&secs, &parts);
    return fmt::format(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        parts.tm_year + 1900,
        parts.tm_mon + 1,
        parts.tm_mday,
        parts.tm_hour,
        parts.tm_min,
        parts.tm_sec,
        ms % 1000
    );
}

}  // namespace

void configure(Level min_level, Format format) {
    g_level.store(min_level);
    g_format.store(format);
}

void set_output_file(const std::string& path) {
    const std::lock_guard lock(g_output_mutex);
    if (g_output != nullptr) {
        fclose(g_output);
        g_output = nullptr;
    }
    if (!path.empty()) {
        g_output = fopen(path.c_str(), "ae");
    }
}

std::string format_line(Format format, Level level, std::string_view event, Fields fields) {
    std::string line;
    line.reserve(128);
    if (format == Format::Json) {
        line.append("{\"ts\":\"").append(timestamp()).append("\",\"level\":\"");
        line.append(level_name(level)).append("\",\"event\":");
        append_json_string(line, event);
        for (const auto& field : fields) {
            line.push_back(',');
            append_json_string(line, field.key);
            line.push_back(':');
            append_json_string(line, field.value);
        }
        line.push_back('}');
    } else {
        line.append("ts=").append(timestamp()).append(" level=").append(level_name(level));
        line.append(" event=").append(event);
        for (const auto& field : fields) {
            line.push_back(' ');
            line.append(field.key);
            line.push_back('=');
            append_logfmt_value(line, field.value);
        }
    }
    line.push_back('\n');
    return line;
}

void write(Level level, std::string_view event, Fields fields) {
    if (level < g_level.load(std::memory_order_relaxed)) {
        return;
    }
    const auto line = format_line(g_format.load(std::memory_order_relaxed), level, event, fields);
    const std::lock_guard lock(g_output_mutex);
    FILE* out = g_output != nullptr ? g_output : stderr;
    fwrite(line.data(), 1, line.size(), out);
    fflush(out);
}

bool parse_level(std::string_view text, Level& out) {
    if (text == "debug") {
        out = Level::Debug;
    } else if (text == "info") {
        out = Level::Info;
    } else if (text == "warn") {
        out = Level::Warn;
    } else if (text == "error") {
        out = Level::Error;
    } else {
        return false;
    }
    return true;
}

}  // namespace sov::log
