// Fuzzes the DKIM tag=value list parser (RFC 6376 §3.2) and what is built on it: the key record
// reader (§3.6.1) and, on the same bytes, the body and header canonicalisation (§3.4).
// Properties checked:
// - an accepted list has distinct names matching tag-name, values without leading or trailing
//   FWS, every view inside the input, and re-serialised as "name=value;" it parses to the same;
// - a rejected list exposes no tags;
// - body canonicalisation gives the same bytes whether the input comes whole or in two chunks,
//   and its output never ends with an empty line;
// - relaxed header canonicalisation is idempotent (on outputs without CR or LF).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "mailauth/dkim_canon.hpp"
#include "mailauth/dkim_key.hpp"
#include "mailauth/dkim_tags.hpp"

namespace {

namespace ma = sov::mailauth;

using sov::fuzz::check;

bool is_fws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_tags(std::string_view input) {
    const auto tags = ma::TagList::parse(input);
    if (!tags.ok()) {
        check(tags.size() == 0);
        return;
    }
    std::string again;
    for (std::size_t i = 0; i < tags.size(); ++i) {
        const auto& tag = tags[i];
        check(!tag.name.empty() && inside(tag.name, input) && inside(tag.value, input));
        if (!tag.value.empty()) {
            check(!is_fws(tag.value.front()) && !is_fws(tag.value.back()));
        }
        for (std::size_t j = 0; j < i; ++j) {
            check(tags[j].name != tag.name);
        }
        check(tags.find(tag.name) == tag.value);
        again += std::string(tag.name) + "=" + std::string(tag.value) + ";";
    }
    const auto reparsed = ma::TagList::parse(again, {.max_octets = again.size()});
    check(reparsed.ok() && reparsed.size() == tags.size());
    for (std::size_t i = 0; i < tags.size(); ++i) {
        check(reparsed[i].name == tags[i].name && reparsed[i].value == tags[i].value);
    }
    // The key record reader must cope with whatever p= holds.
    (void)ma::PublicKey::from_record(input);
}

void check_canon(std::string_view input) {
    for (const auto canon : {ma::Canon::Simple, ma::Canon::Relaxed}) {
        const auto whole = ma::canonicalize_body(canon, input);
        std::string split;
        ma::BodyCanonicalizer c(canon);
        const std::size_t half = input.size() / 2;
        c.update(input.substr(0, half), split);
        c.update(input.substr(half), split);
        c.finish(split);
        check(split == whole);
        check(whole.empty() || whole.ends_with("\r\n"));
        check(whole == "\r\n" || !whole.ends_with("\r\n\r\n"));
    }
    const auto once = ma::canonicalize_header(ma::Canon::Relaxed, input);
    // (A bare CR followed by a bare LF becomes a CRLF once the text between them is gone, so
    // only outputs free of CR and LF must be fixed points.)
    if (once.find_first_of("\r\n") == std::string::npos) {
        check(ma::canonicalize_header(ma::Canon::Relaxed, once) == once);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_tags(input);
    if (size <= 65536) {
        check_canon(input);
    }
    return 0;
}
