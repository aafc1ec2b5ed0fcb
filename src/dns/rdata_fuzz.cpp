// Every RDATA parser on the same bytes: none may read outside them or crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dns/rdata.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view rdata(reinterpret_cast<const char*>(data), size);
    (void)sov::dns::parse_mx(rdata);
    (void)sov::dns::parse_txt(rdata);
    (void)sov::dns::parse_tlsa(rdata);
    (void)sov::dns::parse_srv(rdata);
    (void)sov::dns::parse_caa(rdata);
    (void)sov::dns::parse_name_rdata(rdata);
    for (const auto type :
         {sov::dns::RrType::A,
          sov::dns::RrType::MX,
          sov::dns::RrType::TXT,
          sov::dns::RrType::TLSA,
          sov::dns::RrType::SRV,
          sov::dns::RrType::CAA,
          sov::dns::RrType::CNAME}) {
        (void)sov::dns::to_presentation(type, rdata);
    }
    return 0;
}
