#include "tls/our_policy.hpp"

#include <array>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace sov::tls {

Policy our_policy(const core::Config& config) {
    Policy policy;
    switch (config.mta_sts.mode) {
        case core::MtaStsMode::None:
            policy.mode = Mode::None;
            break;
        case core::MtaStsMode::Testing:
            policy.mode = Mode::Testing;
            break;
        case core::MtaStsMode::Enforce:
            policy.mode = Mode::Enforce;
            break;
    }
    policy.max_age = static_cast<std::uint32_t>(config.mta_sts.max_age.count());
    policy.mx = {config.hostname};
    return policy;
}

std::string policy_id(const Policy& policy) {
    const std::string text = to_text(policy);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
    std::string id;
    for (unsigned int i = 0; i < 10; ++i) {
        id += fmt::format("{:02x}", digest[i]);
    }
    return id;
}

}  // namespace sov::tls
