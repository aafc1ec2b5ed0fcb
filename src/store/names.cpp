// Names the store accepts: account directory names, canonical mailbox names (RFC 3501 §5.1) and
// flag keywords (RFC 3501 §9), with how keywords are stored in the index.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "store/detail/store_impl.hpp"
#include "store/store.hpp"

namespace sov::store {

namespace {

// RFC 3501 §9: flag-keyword = atom; atom-specials = "(" / ")" / "{" / SP / CTL / "%" / "*" /
// DQUOTE / "\" / "]". A keyword never starts with "\" (that is a system flag).
bool valid_keyword(std::string_view k) {
    if (k.empty() || k.size() > 255) {
        return false;
    }
    for (unsigned char c : k) {
        if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' ||
            c == '"' || c == '\\' || c == ']') {
            return false;
        }
    }
    return true;
}

}  // namespace

namespace detail {

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80             ? 0
                        : (c & 0xe0) == 0xc0 ? 1
                        : (c & 0xf0) == 0xe0 ? 2
                        : (c & 0xf8) == 0xf0 ? 3
                                             : 4;
        if (n == 4 || (n == 1 && c < 0xc2) || s.size() - i <= n) {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
                return false;
            }
        }
        i += n + 1;
    }
    return true;
}

std::vector<std::string> normalize_keywords(std::vector<std::string> kw) {
    std::erase_if(kw, [](const std::string& k) { return !valid_keyword(k); });
    std::sort(kw.begin(), kw.end());
    kw.erase(std::unique(kw.begin(), kw.end()), kw.end());
    return kw;
}

std::string join_keywords(const std::vector<std::string>& kw) {
    std::string out;
    for (const auto& k : kw) {
        if (!out.empty()) {
            out += ' ';
        }
        out += k;
    }
    return out;
}

std::vector<std::string> split_keywords(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        auto sp = s.find(' ');
        if (sp != 0) {
            out.emplace_back(s.substr(0, sp));
        }
        if (sp == std::string_view::npos) {
            break;
        }
        s.remove_prefix(sp + 1);
    }
    return out;
}

}  // namespace detail

bool Store::is_safe_account_name(std::string_view account) {
    if (account.empty() || account.size() > 255 || account.front() == '.') {
        return false;
    }
    for (unsigned char c : account) {
        if (c == '/' || c == '\0' || c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

std::string Store::canonical_mailbox_name(std::string_view name) {
    if (name.empty() || name.size() > 1000 || !detail::valid_utf8(name)) {
        return {};
    }
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f) {
            return {};
        }
    }
    // '/' is the hierarchy separator: no empty level.
    if (name.front() == '/' || name.back() == '/' || name.find("//") != std::string_view::npos) {
        return {};
    }
    // "." and ".." levels would become path escapes when a mailbox is exported as a directory
    // (Maildir++, Dovecot layout), and no client needs them.
    for (std::size_t start = 0; start <= name.size();) {
        const auto end = std::min(name.find('/', start), name.size());
        const auto level = name.substr(start, end - start);
        if (level == "." || level == "..") {
            return {};
        }
        start = end + 1;
    }
    // RFC 3501 §5.1: INBOX is case-insensitive, so is the INBOX level of its children.
    std::string out(name);
    auto head = name.substr(0, name.find('/'));
    if (head.size() == 5 && std::equal(head.begin(), head.end(), "INBOX", [](char a, char b) {
            return (a & ~0x20) == b;
        })) {
        out.replace(0, 5, "INBOX");
    }
    return out;
}

}  // namespace sov::store
