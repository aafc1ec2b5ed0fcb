// Fuzzes the CATENATE URL parser (imap_url.hpp). Properties checked on every accepted URL:
// - it was at most kMaxImapUrl long, named a UID above zero and, if any, a UIDVALIDITY above
//   zero and a non-empty UTF-8 mailbox name without control octets;
// - a partial has a length above zero;
// - the same text parses the same way twice, and its upper-cased form (keywords and section
//   names are case-insensitive) parses to the same message part when the mailbox name and the
//   header field names were ASCII upper case already.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "imap/wire/chars.hpp"
#include "imap/wire/imap_url.hpp"

namespace {

namespace wire = sov::imap::wire;

using sov::fuzz::check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto url = wire::parse_message_part_url(input);
    if (!url) {
        return 0;
    }
    check(input.size() <= wire::kMaxImapUrl);
    check(url->uid > 0);
    check(!url->uid_validity || *url->uid_validity > 0);
    if (url->mailbox) {
        check(!url->mailbox->empty() && wire::is_valid_utf8(*url->mailbox));
        for (const char c : *url->mailbox) {
            check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
        }
    }
    check(!url->partial || url->partial->length > 0);
    check(wire::parse_message_part_url(input) == url);
    std::string upper(input);
    for (char& c : upper) {
        c = wire::ascii_upper(c);
    }
    if (const auto again = wire::parse_message_part_url(upper)) {
        check(again->uid == url->uid && again->uid_validity == url->uid_validity);
        check(again->section.part == url->section.part && again->section.text == url->section.text);
        check(again->partial == url->partial);
    }
    return 0;
}
