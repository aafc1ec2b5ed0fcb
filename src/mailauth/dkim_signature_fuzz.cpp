// Fuzzes the DKIM-Signature parser (RFC 6376 §3.5, §6.1.1), the b= blanking of §3.7 and the
// verifier's key-free path over the same bytes taken as a whole message.
// Properties checked:
// - an accepted signature has every required value, d= in lowercase, an identity whose domain
//   is d= or below it, x= not before t=, and a b= span inside the input;
// - remove_b_value is idempotent and never lengthens the field;
// - without keys the verifier never passes a signature, and gives one verdict per
//   DKIM-Signature field it finds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "mailauth/dkim_signature.hpp"
#include "mailauth/dkim_verify.hpp"

namespace {

namespace ma = sov::mailauth;

using sov::fuzz::check;

void check_signature(std::string_view input) {
    const auto parsed = ma::parse_dkim_signature(input);
    if (parsed.status != ma::SignatureStatus::Ok) {
        check(!parsed.reason.empty());
        return;
    }
    const auto& sig = parsed.signature;
    check(!sig.b.empty() && !sig.bh.empty() && !sig.selector.empty() && !sig.headers.empty());
    for (const char c : sig.domain) {
        check(!(c >= 'A' && c <= 'Z'));
    }
    check(
        sig.identity_domain == sig.domain || (sig.identity_domain.size() > sig.domain.size() &&
                                              sig.identity_domain.ends_with("." + sig.domain))
    );
    if (sig.timestamp && sig.expiration) {
        check(*sig.expiration >= *sig.timestamp);
    }
    check(sig.b_offset + sig.b_size <= input.size());
}

void check_blanking(std::string_view input) {
    const std::string field = "DKIM-Signature:" + std::string(input);
    const auto once = ma::remove_b_value(field);
    check(once.size() <= field.size());
    check(ma::remove_b_value(once) == once);
}

void check_verifier(std::string_view input) {
    const auto verdicts = ma::verify_dkim_with_keys(input, {}, {});
    for (const auto& v : verdicts) {
        check(v.result != ma::DkimResult::Pass);
        check(v.result != ma::DkimResult::Fail);  // nothing is hashed without a key
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_signature(input);
    check_blanking(input);
    if (size <= 65536) {
        check_verifier(input);
    }
    return 0;
}
