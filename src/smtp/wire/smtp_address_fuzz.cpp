// Fuzzes path, ESMTP parameter and xtext parsing (smtp/wire/address.hpp). Round-trip checks:
// an accepted mailbox printed by to_string() must parse back to the same mailbox.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/wire/address.hpp"

using namespace sov::smtp::wire;  // NOLINT(google-build-using-namespace): fuzz target only

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    for (const auto kind : {PathKind::Reverse, PathKind::Forward}) {
        for (const bool utf8 : {false, true}) {
            const auto r = parse_path(in, kind, utf8);
            if (r.status != AddressStatus::Ok) {
                continue;
            }
            if (r.path.utf8 && !utf8) {
                std::abort();
            }
            if (r.path.mailbox.local_part.size() > kMaxLocalPart ||
                r.path.mailbox.domain.size() > kMaxDomain) {
                std::abort();
            }
            if (!r.path.null && !r.path.postmaster) {
                const auto again = parse_path("<" + r.path.to_string() + ">", kind, utf8);
                if (again.status != AddressStatus::Ok || !(again.path.mailbox == r.path.mailbox)) {
                    std::abort();
                }
            }
            std::vector<EsmtpParam> params;
            if (parse_esmtp_params(r.rest, params)) {
                for (const auto& p : params) {
                    std::string decoded;
                    if (xtext_decode(p.value, decoded)) {
                        std::string round;
                        if (!xtext_decode(xtext_encode(decoded), round) || round != decoded) {
                            std::abort();
                        }
                    }
                }
            }
        }
    }
    std::string out;
    (void)xtext_decode(in, out);
    (void)valid_utf8(in);
    return 0;
}
