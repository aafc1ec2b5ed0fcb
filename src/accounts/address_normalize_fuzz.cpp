// Fuzzes address and domain normalisation, checking the properties the rest of the system
// relies on: canonical forms are fixed points, and every accepted account address is a safe
// directory name (<data>/mail/<address>/).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "accounts/address.hpp"
#include "fuzz_check.hpp"

namespace {

using sov::fuzz::check;

void fuzz_domain(std::string_view input) {
    auto domain = sov::accounts::normalize_domain(input);
    if (!domain) {
        return;
    }
    // A domain may use all 253 octets; an address under it may not (254 in all).
    if (2 + domain->ascii.size() <= sov::accounts::kMaxAddressOctets) {
        check(sov::accounts::is_safe_account_name("a@" + domain->ascii));
    }
    auto again = sov::accounts::normalize_domain(domain->ascii);
    check(again && again->ascii == domain->ascii && again->display == domain->display);
    auto from_display = sov::accounts::normalize_domain(domain->display);
    check(from_display && from_display->ascii == domain->ascii);
}

void fuzz_address(std::string_view input) {
    if (auto local = sov::accounts::normalize_local_address(input); local) {
        const std::string canonical = local->canonical();
        check(sov::accounts::is_safe_account_name(canonical));
        check(canonical.find('/') == std::string::npos);
        auto again = sov::accounts::normalize_local_address(canonical);
        check(again && again->canonical() == canonical);
    }
    if (auto external = sov::accounts::normalize_external_address(input); external) {
        auto again = sov::accounts::normalize_external_address(*external);
        check(again && *again == *external);
    }
    if (auto parts = sov::accounts::split_address(input); parts) {
        check(parts->local.size() < input.size());
        if (sov::accounts::is_safe_local_part(parts->local)) {
            check(parts->local.find_first_of(std::string_view("/\0", 2)) == std::string::npos);
            check(parts->local.front() != '.');
        }
    }
    (void)sov::accounts::subaddress_base(input, '+');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    fuzz_domain(input);
    fuzz_address(input);
    return 0;
}
