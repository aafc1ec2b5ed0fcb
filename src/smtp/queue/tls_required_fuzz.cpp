// queue::tls_required_no (RFC 8689 §3 "TLS-Required: No") on arbitrary bytes taken as a message,
// with two properties that hold for any input: a complete header line of another field in front
// changes nothing, and a "TLS-Required: No" line in front (not continued by the input) is found.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/queue/runner.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const bool found = sov::smtp::queue::tls_required_no(input);

    const std::string other = "X-Other: TLS-Required: No\r\n" + std::string(input);
    if (sov::smtp::queue::tls_required_no(other) != found) {
        std::abort();
    }
    const bool continues = !input.empty() && (input.front() == ' ' || input.front() == '\t');
    const std::string tagged = "TLS-Required: No\r\n" + std::string(input);
    if (!continues && !sov::smtp::queue::tls_required_no(tagged)) {
        std::abort();
    }
    return 0;
}
