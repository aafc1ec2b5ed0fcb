#include "accounts/address.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include <idn2.h>

#include "accounts/errors.hpp"
#include "core/utf8.hpp"

namespace sov::accounts {
namespace {

// Bounds the work libidn2 does on hostile input; no valid name comes near it (a U-label name
// of 253 A-label octets is at most a few hundred UTF-8 octets).
constexpr std::size_t kMaxDomainInputOctets = 1024;

struct FreeDeleter {
    void operator()(char* p) const noexcept {
        std::free(p);
    }  // NOLINT(cppcoreguidelines-no-malloc)
};
using IdnString = std::unique_ptr<char, FreeDeleter>;

bool is_ascii_alnum(unsigned char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 1035 §2.3.1 / RFC 5321 §4.1.2 sub-domain (LDH), lowercase only: the canonical form.
bool is_canonical_ldh_domain(std::string_view name) noexcept {
    if (name.empty() || name.size() > kMaxDomainOctets) {
        return false;
    }
    bool last_label_numeric = true;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = name.find('.', start);
        const std::string_view label = name.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start
        );
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        last_label_numeric = true;
        for (const char ch : label) {
            const auto c = static_cast<unsigned char>(ch);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
                return false;
            }
            if (c < '0' || c > '9') {
                last_label_numeric = false;
            }
        }
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    // An all-numeric top-level label would make `1.2.3.4` look like a domain (RFC 3696 §2).
    return !last_label_numeric;
}

using core::is_valid_utf8;

// IDNA2008 lookup with UTS #46 non-transitional processing (so `ß` stays `ß`, as browsers and
// registries now do) after NFC; lowercase. STD3 rules are not requested because libidn2 then
// silently deletes disallowed ASCII (`a_b` would become `ab`); callers check LDH instead.
std::optional<std::string> idna_lookup(const std::string& name) {
    char* raw = nullptr;
    const int rc = idn2_lookup_u8(
        reinterpret_cast<const std::uint8_t*>(name.c_str()),
        reinterpret_cast<std::uint8_t**>(&raw),
        IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL
    );
    const IdnString owner(raw);
    if (rc != IDN2_OK || raw == nullptr) {
        return std::nullopt;
    }
    return ascii_lower(raw);
}

bool has_a_label(std::string_view ascii) noexcept {
    return ascii.starts_with("xn--") || ascii.find(".xn--") != std::string_view::npos;
}

// RFC 5321 §4.1.2 atext (RFC 5322 §3.2.3), plus UTF-8 bytes (RFC 6531 §3.3).
bool is_atext(unsigned char c) noexcept {
    if (is_ascii_alnum(c) || c >= 0x80) {
        return true;
    }
    constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
    return kSpecials.find(static_cast<char>(c)) != std::string_view::npos;
}

// RFC 5321 §4.1.2 qtextSMTP, plus UTF-8 bytes (RFC 6531 §3.3).
bool is_qtext(unsigned char c) noexcept {
    return c == 32 || c == 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126) || c >= 0x80;
}

}  // namespace

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& ch : out) {
        if (ch >= 'A' && ch <= 'Z') {
            ch = static_cast<char>(ch - 'A' + 'a');
        }
    }
    return out;
}

Result<DomainName> normalize_domain(std::string_view domain) {
    if (domain.empty() || domain.size() > kMaxDomainInputOctets) {
        return make_error_code(Errc::InvalidDomain);
    }
    for (const char ch : domain) {
        const auto c = static_cast<unsigned char>(ch);
        // libidn2 reads C strings, so NUL would truncate silently; controls are never valid.
        if (c < 0x21 || c == 0x7F) {
            return make_error_code(Errc::InvalidDomain);
        }
    }
    if (domain.front() == '[') {
        return make_error_code(Errc::InvalidDomain);  // RFC 5321 §4.1.3 address literal
    }
    if (domain.back() == '.') {
        domain.remove_suffix(1);  // the root label: `example.com.` is `example.com`
    }
    if (domain.empty() || !is_valid_utf8(domain)) {
        return make_error_code(Errc::InvalidDomain);
    }
    auto ascii = idna_lookup(std::string(domain));
    if (!ascii || !is_canonical_ldh_domain(*ascii)) {
        return make_error_code(Errc::InvalidDomain);
    }
    DomainName out;
    out.ascii = std::move(*ascii);
    out.display = domain_to_display(out.ascii);
    // libidn2 passes an A-label through as long as its Punycode decodes to NFC, even when
    // IDNA2008 disallows what it decodes to: `xn--bsherr` is `⑶⑾⑸⒂`, which UTS #46 maps to
    // `(3)(11)(5)(15)`. An A-label is valid only as the encoding of a valid U-label (RFC 5890
    // §2.3.2.1); one decoded for lookup is checked as a U-label and must encode back to itself
    // (RFC 5891 §5.3). Else its display form would name another domain, or none.
    if (has_a_label(out.ascii) && idna_lookup(out.display) != out.ascii) {
        return make_error_code(Errc::InvalidDomain);
    }
    return out;
}

std::string domain_to_display(std::string_view ascii) {
    const std::string input(ascii);
    char* raw = nullptr;
    const int rc = idn2_to_unicode_8z8z(input.c_str(), &raw, 0);
    const IdnString owner(raw);
    if (rc != IDN2_OK || raw == nullptr) {
        return input;
    }
    return raw;
}

bool is_safe_local_part(std::string_view local) noexcept {
    if (local.empty() || local.size() > kMaxLocalPartOctets) {
        return false;
    }
    // A leading '.' would hide the directory (or make it "." / ".."); a leading '-' reads as
    // an option to shell tools. A trailing '.' or ".." is not a Dot-string (RFC 5321 §4.1.2).
    if (local.front() == '.' || local.front() == '-' || local.back() == '.' ||
        local.find("..") != std::string_view::npos) {
        return false;
    }
    for (const char ch : local) {
        const auto c = static_cast<unsigned char>(ch);
        if (!(is_ascii_alnum(c) || c == '.' || c == '_' || c == '+' || c == '-')) {
            return false;
        }
    }
    return true;
}

bool is_safe_account_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > kMaxAddressOctets) {
        return false;
    }
    const std::size_t at = name.find('@');
    if (at == std::string_view::npos) {
        return false;
    }
    return is_safe_local_part(name.substr(0, at)) && is_canonical_ldh_domain(name.substr(at + 1));
}

bool is_valid_smtp_local_part(std::string_view local) noexcept {
    if (local.empty() || local.size() > kMaxLocalPartOctets || !is_valid_utf8(local)) {
        return false;
    }
    if (local.front() == '"') {
        // Quoted-string = DQUOTE *QcontentSMTP DQUOTE
        if (local.size() < 3 || local.back() != '"') {
            return false;
        }
        for (std::size_t i = 1; i + 1 < local.size(); ++i) {
            const auto c = static_cast<unsigned char>(local[i]);
            if (c == '\\') {
                // quoted-pairSMTP = %d92 %d32-126
                if (i + 2 >= local.size()) {
                    return false;
                }
                const auto next = static_cast<unsigned char>(local[i + 1]);
                if (next < 32 || next > 126) {
                    return false;
                }
                ++i;
            } else if (!is_qtext(c)) {
                return false;
            }
        }
        return true;
    }
    // Dot-string = Atom *("." Atom)
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
        return false;
    }
    for (const char ch : local) {
        const auto c = static_cast<unsigned char>(ch);
        if (c != '.' && !is_atext(c)) {
            return false;
        }
    }
    return true;
}

Result<AddressParts> split_address(std::string_view address) {
    if (address.empty() || address.size() > kMaxAddressOctets) {
        return make_error_code(Errc::InvalidAddress);
    }
    const std::size_t at = address.rfind('@');
    if (at == std::string_view::npos) {
        return make_error_code(Errc::InvalidAddress);
    }
    AddressParts parts;
    parts.domain = std::string(address.substr(at + 1));
    const std::string_view local = address.substr(0, at);
    if (!local.empty() && local.front() == '"') {
        if (!is_valid_smtp_local_part(local)) {
            return make_error_code(Errc::InvalidAddress);
        }
        parts.quoted = true;
        for (std::size_t i = 1; i + 1 < local.size(); ++i) {
            if (local[i] == '\\') {
                ++i;
            }
            parts.local.push_back(local[i]);
        }
    } else {
        parts.local = std::string(local);
    }
    return parts;
}

Result<NormalizedAddress> normalize_local_address(std::string_view address) {
    auto parts = split_address(address);
    if (!parts) {
        return parts.error();
    }
    if (!is_safe_local_part(parts->local)) {
        return make_error_code(Errc::InvalidAddress);
    }
    auto domain = normalize_domain(parts->domain);
    if (!domain) {
        return domain.error();
    }
    NormalizedAddress out;
    out.local = ascii_lower(parts->local);
    out.local_display = std::move(parts->local);
    out.domain = std::move(*domain);
    if (out.local.size() + 1 + out.domain.ascii.size() > kMaxAddressOctets) {
        return make_error_code(Errc::InvalidAddress);
    }
    return out;
}

Result<std::string> normalize_external_address(std::string_view address) {
    if (address.empty() || address.size() > kMaxDomainInputOctets) {
        return make_error_code(Errc::InvalidAddress);
    }
    const std::size_t at = address.rfind('@');
    if (at == std::string_view::npos) {
        return make_error_code(Errc::InvalidAddress);
    }
    const std::string_view local = address.substr(0, at);
    if (!is_valid_smtp_local_part(local)) {
        return make_error_code(Errc::InvalidAddress);
    }
    auto domain = normalize_domain(address.substr(at + 1));
    if (!domain) {
        return domain.error();
    }
    std::string out = std::string(local) + '@' + domain->ascii;
    if (out.size() > kMaxAddressOctets) {
        return make_error_code(Errc::InvalidAddress);
    }
    return out;
}

std::string_view subaddress_base(std::string_view local, char separator) noexcept {
    const std::size_t pos = local.find(separator);
    if (pos == std::string_view::npos || pos == 0) {
        return {};
    }
    return local.substr(0, pos);
}

}  // namespace sov::accounts
