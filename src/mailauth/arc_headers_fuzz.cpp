// Fuzzes the ARC header parsers (RFC 8617 §4.1) and the chain collector (§4.2, §5.2 steps 1-3).
// The input is a message header (and body); each field is also fed to all three field parsers.
// Properties checked:
// - every view a parser returns lies inside its input;
// - an accepted field has an instance in 1..50 that arc_instance() agrees with, an AMS or AS
//   has non-empty b=, d=, s= that pass is_arc_domain(), an AMS h= never names ARC-Seal;
// - an accepted chain has sets 1..N whose fields carry their own instance and kind;
// - remove_b_value() leaves a field that still parses, with an empty b=, or fails to parse for
//   the same reason as before.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "mailauth/arc_headers.hpp"
#include "mailauth/dkim_signature.hpp"

namespace {

namespace ma = sov::mailauth;

using sov::fuzz::check;

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

void check_field(std::string_view raw) {
    const auto aar = ma::parse_arc_authentication_results(raw);
    if (aar.status == ma::ArcFieldStatus::Ok) {
        check(aar.instance >= 1 && aar.instance <= ma::kMaxArcInstance);
        check(inside(aar.authserv_id, raw) && inside(aar.payload, raw));
        check(!aar.authserv_id.empty());
        check(ma::arc_instance(ma::ArcFieldKind::AuthenticationResults, raw) == aar.instance);
    }

    const auto ams = ma::parse_arc_message_signature(raw);
    if (ams.status == ma::ArcFieldStatus::Ok) {
        check(ams.instance >= 1 && ams.instance <= ma::kMaxArcInstance);
        check(ma::arc_instance(ma::ArcFieldKind::MessageSignature, raw) == ams.instance);
        check(!ams.signature.empty() && !ams.body_hash.empty());
        check(ma::is_arc_domain(ams.domain) && ma::is_arc_domain(ams.selector));
        check(inside(ams.signature, raw) && inside(ams.domain, raw));
        for (const auto name : ams.signed_headers) {
            check(!name.empty() && inside(name, raw) && !iequals(name, "arc-seal"));
        }
        const auto blanked = ma::remove_b_value(raw);
        const auto again = ma::parse_arc_message_signature(blanked);
        check(again.status == ma::ArcFieldStatus::BadValue && again.detail == "b");
    }

    const auto seal = ma::parse_arc_seal(raw);
    if (seal.status == ma::ArcFieldStatus::Ok) {
        check(seal.instance >= 1 && seal.instance <= ma::kMaxArcInstance);
        check(ma::arc_instance(ma::ArcFieldKind::Seal, raw) == seal.instance);
        check(!seal.signature.empty() && inside(seal.signature, raw));
        check(ma::is_arc_domain(seal.domain) && ma::is_arc_domain(seal.selector));
        const auto again = ma::parse_arc_seal(ma::remove_b_value(raw));
        check(again.status == ma::ArcFieldStatus::BadValue && again.detail == "b");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (size > 262144) {
        return 0;
    }
    const auto split = ma::split_message(input);
    for (const auto& field : split.fields) {
        check(inside(field.raw, input));
        check_field(field.raw);
    }
    const auto chain = ma::collect_arc_chain(split.fields);
    if (chain.status == ma::ArcChain::Status::Ok) {
        check(chain.max_instance >= 1 && chain.max_instance <= ma::kMaxArcInstance);
        check(chain.sets.size() == static_cast<std::size_t>(chain.max_instance));
        for (std::size_t i = 0; i < chain.sets.size(); ++i) {
            const int instance = static_cast<int>(i) + 1;
            const auto& set = chain.sets[i];
            check(ma::arc_field_kind(set.aar.name) == ma::ArcFieldKind::AuthenticationResults);
            check(ma::arc_field_kind(set.ams.name) == ma::ArcFieldKind::MessageSignature);
            check(ma::arc_field_kind(set.seal.name) == ma::ArcFieldKind::Seal);
            check(
                ma::arc_instance(ma::ArcFieldKind::AuthenticationResults, set.aar.raw) == instance
            );
            check(ma::arc_instance(ma::ArcFieldKind::MessageSignature, set.ams.raw) == instance);
            check(ma::arc_instance(ma::ArcFieldKind::Seal, set.seal.raw) == instance);
        }
        check(chain.latest_seal.has_value());
    } else if (chain.status == ma::ArcChain::Status::None) {
        check(chain.sets.empty() && chain.max_instance == 0);
    }
    return 0;
}
