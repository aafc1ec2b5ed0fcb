// The client-side reply parser on arbitrary bytes, fed in two pieces, several replies in a row.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp/wire/reply_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    sov::smtp::wire::ReplyParser parser(512, 20);
    std::string_view first = input.substr(0, input.size() / 2);
    std::string_view rest = input.substr(input.size() / 2);
    for (auto* part : {&first, &rest}) {
        while (!part->empty()) {
            const auto status = parser.feed(*part);
            if (status == sov::smtp::wire::ReplyParser::Status::Error) {
                return 0;
            }
            if (status == sov::smtp::wire::ReplyParser::Status::Complete) {
                (void)sov::smtp::wire::ehlo_keywords(parser.reply());
                (void)parser.reply().summary();
                parser.reset();
            }
        }
    }
    return 0;
}
