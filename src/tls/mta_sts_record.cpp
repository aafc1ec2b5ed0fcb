#include "tls/mta_sts_record.hpp"

#include <algorithm>
#include <cstddef>

#include "tls/detail/txt_fields.hpp"
#include "tls/errors.hpp"

namespace sov::tls {
namespace {

using detail::is_wsp;
using detail::skip_wsp;

// RFC 8461 §3.1: sts-version = %s"v=STSv1" (case-sensitive, RFC 7405).
constexpr std::string_view kVersion = "v=STSv1";
// sts-id = %s"id=" 1*32(ALPHA / DIGIT)
constexpr std::size_t kMaxIdLength = 32;
// sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
constexpr std::size_t kMaxExtNameLength = 32;

bool is_alnum(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

bool is_sts_id(std::string_view id) noexcept {
    return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), is_alnum);
}

bool is_txt_ext_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > kMaxExtNameLength || !is_alnum(name.front())) {
        return false;
    }
    return std::all_of(name.begin() + 1, name.end(), [](char c) {
        return is_alnum(c) || c == '_' || c == '-' || c == '.';
    });
}

bool is_txt_ext_value(std::string_view value) noexcept {
    // sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): no SP, CTL, "=", ";" and nothing non-ASCII
    // (the record "MUST be US-ASCII", §3.1).
    return !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x21 && u <= 0x7e && c != '=' && c != ';';
    });
}

Result<StsRecord> parse_sts_record(std::string_view txt) noexcept {
    // §3.1: "The TXT record MUST begin with the sts-version field".
    if (!txt.starts_with(kVersion)) {
        return Errc::BadVersion;
    }
    std::size_t i = kVersion.size();
    if (i < txt.size() && !is_wsp(txt[i]) && txt[i] != ';') {
        return Errc::BadVersion;  // "v=STSv10", "v=STSv1x"
    }
    StsRecord record;
    bool have_id = false;
    // sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
    // sts-field-delim = *WSP ";" *WSP
    while (true) {
        i = skip_wsp(txt, i);
        if (i == txt.size()) {
            break;  // lenient: WSP after the last field without a ";"
        }
        if (txt[i] != ';') {
            return Errc::Syntax;
        }
        i = skip_wsp(txt, i + 1);
        if (i == txt.size()) {
            break;  // the optional trailing delimiter
        }
        const std::size_t eq = txt.find('=', i);
        if (eq == std::string_view::npos) {
            return Errc::Syntax;
        }
        const std::string_view name = txt.substr(i, eq - i);
        if (!is_txt_ext_name(name)) {
            return Errc::Syntax;  // also catches an empty field (";;") and stray bytes
        }
        std::size_t end = eq + 1;
        while (end < txt.size() && txt[end] != ';' && !is_wsp(txt[end])) {
            ++end;
        }
        const std::string_view value = txt.substr(eq + 1, end - eq - 1);
        i = end;
        if (name == "id" && !have_id) {
            if (!is_sts_id(value)) {
                return Errc::Syntax;
            }
            record.id = std::string(value);
            have_id = true;
            continue;
        }
        // Every later field must at least be a syntactically valid sts-extension.
        if (!is_txt_ext_value(value)) {
            return Errc::Syntax;
        }
        if (name == "id" || name == "v") {
            // §3.2 (last paragraph, which covers "TXT records and policy files"): for a
            // duplicated non-repeated field "all entries except for the first SHALL be ignored".
            continue;
        }
        // §3.2: unknown fields "SHALL be ignored"; we keep them for logging.
        record.extensions.push_back({std::string(name), std::string(value)});
    }
    if (!have_id) {
        return Errc::MissingField;  // "id" (plaintext, required), §3.1
    }
    return record;
}

Result<StsRecord> select_sts_record(const std::vector<std::string>& txts) noexcept {
    // §3.1: discard records that do not begin with "v=STSv1;"; "If the number of resulting
    // records is not one, or if the resulting record is syntactically invalid, senders MUST
    // assume the recipient domain does not have an available MTA-STS Policy".
    return detail::select_single_record(txts, kVersion, [](const std::string& txt) {
        return parse_sts_record(txt);
    });
}

std::string format_sts_record(std::string_view id) {
    std::string out(kVersion);
    out += "; id=";
    out += id;
    out += ';';
    return out;
}

}  // namespace sov::tls
