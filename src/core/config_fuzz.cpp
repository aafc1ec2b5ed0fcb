// parse_config on arbitrary bytes: no crash, no hang, no sanitizer report; and every diagnostic
// has a file name and a reason (a diagnostic without one would be useless to the operator).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto load = sov::core::parse_config(text, "fuzz.toml", "/base");
    for (const auto& d : load.diagnostics) {
        if (d.file != "fuzz.toml" || d.reason.empty()) {
            std::abort();
        }
    }
    if (load.ok() && load.config.hostname.empty()) {
        std::abort();  // hostname is required: an accepted file always has one
    }
    return 0;
}
