#pragma once
// One line per event: a constant event name plus key/value pairs (PowerDNS Logr, STYLE.md §3.7).
//   log::info("smtp.rcpt.rejected", {{"session", id}, {"rcpt", addr}, {"reply", "550 5.1.1"}});
// logfmt by default (`ts=… level=info event=smtp.rcpt.rejected session=… rcpt=…`), JSON on request.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sov::log {

enum class Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3
};
enum class Format {
    Logfmt,
    Json
};

struct Field {
    std::string_view key;
    std::string value;

    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const std::string& v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v) {}
    template <class Int>
        requires std::is_integral_v<Int>
    Field(std::string_view k, Int v) : key(k), value(std::to_string(v)) {}
};

using Fields = std::initializer_list<Field>;

/// Process-wide settings; set once at startup (and on SIGHUP), read by every thread.
void configure(Level min_level, Format format);

/// Sends log lines to `path` (appended) instead of stderr; empty path means stderr.
void set_output_file(const std::string& path);

void write(Level level, std::string_view event, Fields fields);

inline void debug(std::string_view event, Fields fields = {}) {
    write(Level::Debug, event, fields);
}
inline void info(std::string_view event, Fields fields = {}) {
    write(Level::Info, event, fields);
}
inline void warn(std::string_view event, Fields fields = {}) {
    write(Level::Warn, event, fields);
}
inline void error(std::string_view event, Fields fields = {}) {
    write(Level::Error, event, fields);
}

/// Formats one line without writing it (used by write() and by tests).
std::string format_line(Format format, Level level, std::string_view event, Fields fields);

bool parse_level(std::string_view text, Level& out);

}  // namespace sov::log
