// Fuzzes the HTTP request-head reader (RFC 9112) and the router behind it. Properties checked:
// - feeding the input whole or in pieces (sizes from the first input byte), as the driver does,
//   gives a complete head in both or in neither, and then the same head and the same consumed
//   byte count (chunking must not matter, STYLE.md §3.11 #2);
// - the consumed count never exceeds the input, and an error status is 400 or 431;
// - the router answers every complete head with a known status, and serialize() produces a
//   status line; a head with a body is never kept alive.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "web/request_reader.hpp"
#include "web/router.hpp"

namespace {

namespace web = sov::web;

using sov::fuzz::check;

struct Outcome {
    web::ReadStep last;
    std::size_t consumed = 0;
};

Outcome feed(web::RequestReader& reader, std::string_view wire, std::size_t piece) {
    std::string buffered;
    Outcome out;
    std::size_t offset = 0;
    do {
        const std::size_t n = std::min(piece, wire.size() - offset);
        buffered.append(wire.substr(offset, n));
        offset += n;
        out.last = reader.feed(buffered);
        check(out.last.consumed <= buffered.size());
        out.consumed += out.last.consumed;
        buffered.erase(0, out.last.consumed);
    } while (out.last.status == web::ReadStatus::NeedMore && offset < wire.size());
    return out;
}

bool same(const web::Request& a, const web::Request& b) {
    return a.method == b.method && a.target == b.target && a.host_fields == b.host_fields &&
           a.version == b.version && a.keep_alive == b.keep_alive && a.has_body == b.has_body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::size_t piece = 1 + data[0] % 64;
    const std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
    const web::ReaderLimits limits{.max_header_bytes = 2048};

    web::RequestReader whole(limits);
    const Outcome a = feed(whole, wire, wire.size() + 1);
    web::RequestReader pieces(limits);
    const Outcome b = feed(pieces, wire, piece);

    for (const auto* outcome : {&a, &b}) {
        if (outcome->last.status == web::ReadStatus::Error) {
            check(outcome->last.error_status == 400 || outcome->last.error_status == 431);
        }
    }
    const bool a_complete = a.last.status == web::ReadStatus::Complete;
    const bool b_complete = b.last.status == web::ReadStatus::Complete;
    check(a_complete == b_complete);
    if (!a_complete) {
        return 0;
    }
    check(a.consumed == b.consumed);
    check(same(whole.request(), pieces.request()));

    web::Site site;
    site.mta_sts_policy = "version: STSv1\r\nmode: testing\r\nmx: mx.example\r\nmax_age: 86400\r\n";
    site.is_hosted_domain = [](std::string_view domain) { return !domain.empty(); };
    const auto response = web::route(whole.request(), site);
    check(web::reason_phrase(response.status) != "Unknown");
    check(!whole.request().has_body || response.close);
    const auto bytes = web::serialize(response, whole.request().method == "HEAD", {});
    check(bytes.starts_with("HTTP/1.1 "));
    return 0;
}
