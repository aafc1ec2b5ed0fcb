// Fuzzes the Authentication-Results reader (RFC 8601): authserv-id extraction and the removal of
// fields claiming our id. Properties checked:
// - removal never adds bytes, and removing again removes nothing more;
// - the body (after the first empty line) is never touched;
// - a field we format with an arbitrary reason and property value reads back our authserv-id,
//   and contains no line break other than the folding we put in.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "mailauth/auth_results.hpp"

namespace {

namespace ma = sov::mailauth;

using sov::fuzz::check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    (void)ma::authserv_id_of(input);

    std::size_t removed = 0;
    const auto once = ma::remove_authentication_results(input, "mx.example.org", &removed);
    check(once.size() <= input.size());
    std::size_t again = 0;
    check(ma::remove_authentication_results(once, "mx.example.org", &again) == once);
    check(again == 0);
    if (removed == 0) {
        check(once == input);
    }

    const std::vector<ma::AuthResult> results{
        {.method = "dkim",
         .result = "fail",
         .reason = std::string(input),
         .properties = {{"header.d", std::string(input)}}},
    };
    const auto field = ma::format_authentication_results("mx.example.org", results);
    const auto colon = field.find(':');
    check(ma::authserv_id_of(std::string_view(field).substr(colon + 1)) == "mx.example.org");
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\n') {
            check(i > 0 && field[i - 1] == '\r');
            check(i + 1 == field.size() || field[i + 1] == '\t');
        } else if (field[i] == '\r') {
            check(i + 1 < field.size() && field[i + 1] == '\n');
        }
    }
    return 0;
}
