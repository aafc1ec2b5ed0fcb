#include "mailauth/auth_results.hpp"

#include <algorithm>

#include "core/ascii.hpp"

namespace sov::mailauth {

namespace {

constexpr std::size_t kMaxFieldValue = 64 * 1024;
constexpr std::string_view kFieldName = "Authentication-Results";

bool is_wsp(char c) {
    return c == ' ' || c == '\t';
}

// RFC 2045 §5.1 token: printable ASCII except SPACE and tspecials.
bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
        return false;
    }
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// RFC 5322 §3.2.3 atext.
bool is_atext(char c) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return u < 0x80 && std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view s, bool (*allowed)(char)) {
    if (s.empty() || s.front() == '.' || s.back() == '.') {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '.') {
            if (s[i + 1] == '.') {
                return false;
            }
        } else if (!allowed(s[i])) {
            return false;
        }
    }
    return true;
}

bool is_ldh(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

// pvalue (RFC 8601 §2.2): a value (token / quoted-string) or [[local-part] "@"] domain-name.
bool writes_bare(std::string_view v) {
    if (v.empty()) {
        return false;
    }
    const auto at = v.rfind('@');
    if (at == std::string_view::npos) {
        return std::all_of(v.begin(), v.end(), is_token_char);
    }
    const auto local = v.substr(0, at);
    const auto domain = v.substr(at + 1);
    return (local.empty() || is_dot_atom(local, is_atext)) && is_dot_atom(domain, is_ldh);
}

std::string quoted(std::string_view v) {
    std::string out = "\"";
    for (const char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            continue;  // controls (CR, LF among them) would break the field
        }
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
    return out;
}

std::string pvalue(std::string_view v) {
    return writes_bare(v) ? std::string(v) : quoted(v);
}

// Skips CFWS (RFC 5322 §3.2.2) from `pos`; comments nest. False on an unterminated comment.
bool skip_cfws(std::string_view s, std::size_t& pos) {
    while (pos < s.size()) {
        const char c = s[pos];
        if (is_wsp(c) || c == '\r' || c == '\n') {
            ++pos;
        } else if (c == '(') {
            int depth = 0;
            while (pos < s.size()) {
                if (s[pos] == '\\') {
                    pos += 2;
                    continue;
                }
                if (s[pos] == '(') {
                    ++depth;
                } else if (s[pos] == ')' && --depth == 0) {
                    ++pos;
                    break;
                }
                ++pos;
            }
            if (depth != 0) {
                return false;
            }
        } else {
            return true;
        }
    }
    return true;
}

}  // namespace

std::string format_authentication_results(
    std::string_view authserv_id, const std::vector<AuthResult>& results
) {
    std::string out(kFieldName);
    out += ": ";
    out += authserv_id;
    if (results.empty()) {
        out += "; none\r\n";
        return out;
    }
    for (const auto& r : results) {
        out += ";\r\n\t";
        out += r.method;
        out += '=';
        out += r.result;
        if (!r.reason.empty()) {
            out += " reason=";
            out += quoted(r.reason);
        }
        for (const auto& [name, value] : r.properties) {
            out += ' ';
            out += name;
            out += '=';
            out += pvalue(value);
        }
    }
    out += "\r\n";
    return out;
}

std::optional<std::string> authserv_id_of(std::string_view value) {
    if (value.size() > kMaxFieldValue) {
        return std::nullopt;
    }
    std::size_t pos = 0;
    if (!skip_cfws(value, pos) || pos >= value.size()) {
        return std::nullopt;
    }
    std::string id;
    if (value[pos] == '"') {
        for (++pos; pos < value.size(); ++pos) {
            if (value[pos] == '\\' && pos + 1 < value.size()) {
                id += value[++pos];
            } else if (value[pos] == '"') {
                return id;
            } else if (value[pos] != '\r' && value[pos] != '\n') {
                id += value[pos];
            }
        }
        return std::nullopt;  // unterminated quoted-string
    }
    while (pos < value.size() && is_token_char(value[pos])) {
        id += value[pos++];
    }
    if (id.empty()) {
        return std::nullopt;
    }
    return id;
}

std::string remove_authentication_results(
    std::string_view message, std::string_view authserv_id, std::size_t* removed
) {
    std::string out;
    out.reserve(message.size());
    std::size_t dropped = 0;
    std::size_t pos = 0;
    // Walk the header one field at a time: a field is its first line plus continuation lines
    // (those starting with WSP, RFC 5322 §2.2.3). The header ends at the first empty line.
    while (pos < message.size()) {
        const auto line_end = message.find('\n', pos);
        const auto first_line = message.substr(
            pos, line_end == std::string_view::npos ? std::string_view::npos : line_end - pos
        );
        if (first_line.empty() || first_line == "\r") {
            break;  // the empty line: the body follows
        }
        std::size_t end = line_end == std::string_view::npos ? message.size() : line_end + 1;
        while (end < message.size() && is_wsp(message[end])) {
            const auto next = message.find('\n', end);
            end = next == std::string_view::npos ? message.size() : next + 1;
        }
        const auto field = message.substr(pos, end - pos);
        bool ours = false;
        if (field.size() > kFieldName.size() &&
            core::ascii_iequals(field.substr(0, kFieldName.size()), kFieldName)) {
            std::size_t colon = kFieldName.size();
            while (colon < field.size() && is_wsp(field[colon])) {
                ++colon;
            }
            if (colon < field.size() && field[colon] == ':') {
                const auto id = authserv_id_of(field.substr(colon + 1));
                ours = id && core::ascii_iequals(*id, authserv_id);
            }
        }
        if (ours) {
            ++dropped;
        } else {
            out += field;
        }
        pos = end;
    }
    out += message.substr(pos);
    if (removed != nullptr) {
        *removed = dropped;
    }
    return out;
}

}  // namespace sov::mailauth
