#include "mime/address.hpp"

#include "mime/encoded_word.hpp"
#include "mime/header.hpp"

namespace sov::mime {
namespace {

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Index one past a quoted-string starting at s[i] == '"' (RFC 5322 §3.2.4).
std::size_t skip_quoted(std::string_view s, std::size_t i) noexcept {
    ++i;
    while (i < s.size() && s[i] != '"') {
        i += (s[i] == '\\') ? 2 : 1;
    }
    return i < s.size() ? i + 1 : s.size();
}

// Index one past a (nested) comment starting at s[i] == '(' (RFC 5322 §3.2.2).
std::size_t skip_comment(std::string_view s, std::size_t i) noexcept {
    int depth = 0;
    while (i < s.size()) {
        if (s[i] == '\\') {
            i += 2;
            continue;
        }
        if (s[i] == '(') {
            ++depth;
        } else if (s[i] == ')' && --depth == 0) {
            return i + 1;
        }
        ++i;
    }
    return s.size();
}

void append_comment_text(std::string_view c, std::string& out) {
    // c includes the outer parentheses
    if (c.size() >= 2 && c.front() == '(') {
        c = c.substr(1, c.back() == ')' ? c.size() - 2 : c.size() - 1);
    }
    for (std::size_t i = 0; i < c.size(); ++i) {
        if (c[i] == '\\' && i + 1 < c.size()) {
            out.push_back(c[++i]);
        } else if (c[i] != '\r' && c[i] != '\n') {
            out.push_back(c[i]);
        }
    }
}

// A phrase (display name) in its two forms: `raw` as IMAP ENVELOPE sends it (quoted strings
// unquoted, comments dropped, whitespace collapsed, encoded-words kept) and `decoded` for
// display and search. Encoded-words inside quoted strings are decoded too: RFC 2047 §5 forbids
// them there, but mail software writes them and every reader decodes them (the Stalwart
// conformance suite expects it); ENVELOPE sends `raw`, which Dovecot does as well.
struct Phrase {
    std::string raw;
    std::string decoded;
};

Phrase render_phrase(std::string_view s, std::string* last_comment) {
    Phrase p;
    bool pending_space = false;
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (is_space(c)) {
            pending_space = true;
            ++i;
        } else if (c == '(') {
            const std::size_t end = skip_comment(s, i);
            if (last_comment != nullptr) {
                last_comment->clear();
                append_comment_text(s.substr(i, end - i), *last_comment);
            }
            pending_space = true;
            i = end;
        } else {
            if (pending_space && !p.raw.empty()) {
                p.raw.push_back(' ');
            }
            pending_space = false;
            if (c == '"') {
                const std::size_t end = skip_quoted(s, i);
                for (std::size_t k = i + 1; k < end; ++k) {
                    if (s[k] == '"' && k + 1 == end) {
                        break;
                    }
                    if (s[k] == '\\' && k + 1 < end) {
                        p.raw.push_back(s[++k]);
                    } else if (s[k] != '\r' && s[k] != '\n') {
                        p.raw.push_back(s[k]);
                    }
                }
                i = end;
            } else {
                p.raw.push_back(c);
                ++i;
            }
        }
    }
    if (p.raw.find("=?") == std::string::npos) {
        p.decoded = p.raw;
    } else {
        decode_encoded_words(p.raw, p.decoded, EncodedWordMode::Text);
    }
    // Leading spaces inside a quoted name are kept (they were quoted on purpose); trailing
    // whitespace is not significant.
    for (std::string* out : {&p.raw, &p.decoded}) {
        while (!out->empty() && is_space(out->back())) {
            out->pop_back();
        }
    }
    return p;
}

// Renders an addr-spec: comments and whitespace removed (RFC 5322 §3.4.1 CFWS around dots),
// quoted local parts unquoted.
std::string render_addr(std::string_view s, std::string* last_comment) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (is_space(c)) {
            ++i;
        } else if (c == '(') {
            const std::size_t end = skip_comment(s, i);
            if (last_comment != nullptr) {
                last_comment->clear();
                append_comment_text(s.substr(i, end - i), *last_comment);
            }
            i = end;
        } else if (c == '"') {
            const std::size_t end = skip_quoted(s, i);
            for (std::size_t k = i + 1; k < end; ++k) {
                if (s[k] == '"' && k + 1 == end) {
                    break;
                }
                if (s[k] == '\\' && k + 1 < end) {
                    out.push_back(s[++k]);
                } else if (s[k] != '\r' && s[k] != '\n') {
                    out.push_back(s[k]);
                }
            }
            i = end;
        } else {
            out.push_back(c);
            ++i;
        }
    }
    return out;
}

void split_addr(std::string addr, Address& a) {
    // RFC 5322 §4.4 obs-route: "@a,@b:" before the addr-spec.
    if (!addr.empty() && addr.front() == '@') {
        const auto colon = addr.find(':');
        if (colon != std::string::npos) {
            a.adl = addr.substr(0, colon);
            addr.erase(0, colon + 1);
        }
    }
    const auto at = addr.rfind('@');
    if (at == std::string::npos) {
        a.mailbox = std::move(addr);
        return;
    }
    a.mailbox = addr.substr(0, at);
    a.host = addr.substr(at + 1);
}

// Interprets one list item [s, e) without group syntax.
void parse_item(std::string_view item, std::vector<Address>& out) {
    // Find '<' outside quotes and comments.
    std::size_t lt = std::string_view::npos;
    for (std::size_t i = 0; i < item.size();) {
        if (item[i] == '"') {
            i = skip_quoted(item, i);
        } else if (item[i] == '(') {
            i = skip_comment(item, i);
        } else if (item[i] == '<') {
            lt = i;
            break;
        } else {
            ++i;
        }
    }
    Address a;
    std::string comment;
    if (lt != std::string_view::npos) {
        std::size_t gt = item.find('>', lt);
        if (gt == std::string_view::npos) {
            gt = item.size();
        }
        auto phrase = render_phrase(item.substr(0, lt), nullptr);
        a.name = std::move(phrase.decoded);
        a.raw_name = std::move(phrase.raw);
        split_addr(render_addr(item.substr(lt + 1, gt - lt - 1), nullptr), a);
        if (a.name.empty() && gt < item.size()) {
            // "<a@b> (Name)" or "<a@b> Name": the trailing text is the only name there is.
            auto trailing = render_phrase(item.substr(gt + 1), &comment);
            if (trailing.decoded.empty()) {
                a.raw_name = comment;
                decode_encoded_words(comment, a.name, EncodedWordMode::Text);
            } else {
                a.name = std::move(trailing.decoded);
                a.raw_name = std::move(trailing.raw);
            }
        }
    } else {
        split_addr(render_addr(item, &comment), a);
        if (!comment.empty()) {
            std::string decoded;
            decode_encoded_words(comment, decoded, EncodedWordMode::Text);
            a.name = std::string(trim(decoded));
            a.raw_name = std::string(trim(comment));
        }
    }
    if (a.mailbox.empty() && a.host.empty()) {
        return;  // ", ,", a lone comment, "<>"
    }
    out.push_back(std::move(a));
}

void push_group_end(std::vector<Address>& out) {
    Address a;
    a.kind = Address::Kind::GroupEnd;
    out.push_back(std::move(a));
}

}  // namespace

std::vector<Address> parse_address_list(std::string_view s) {
    std::vector<Address> out;
    bool in_group = false;
    std::size_t item_start = 0;
    bool seen_at_or_angle = false;
    std::size_t i = 0;
    while (i <= s.size()) {
        const char c = i < s.size() ? s[i] : ',';
        if (i < s.size() && c == '"') {
            i = skip_quoted(s, i);
            continue;
        }
        if (i < s.size() && c == '(') {
            i = skip_comment(s, i);
            continue;
        }
        if (i < s.size() && c == '<') {
            seen_at_or_angle = true;
            const std::size_t gt = s.find('>', i);
            i = gt == std::string_view::npos ? s.size() : gt + 1;
            continue;
        }
        if (c == '@') {
            seen_at_or_angle = true;
        } else if (c == ':' && !seen_at_or_angle) {
            // RFC 5322 §3.4 group: display-name ":" [group-list] ";"
            if (in_group) {
                push_group_end(out);
            }
            Address g;
            g.kind = Address::Kind::GroupStart;
            auto phrase = render_phrase(s.substr(item_start, i - item_start), nullptr);
            g.name = std::move(phrase.decoded);
            g.raw_name = std::move(phrase.raw);
            out.push_back(std::move(g));
            in_group = true;
            item_start = i + 1;
        } else if (c == ',' || c == ';') {
            parse_item(s.substr(item_start, std::min(i, s.size()) - item_start), out);
            if (c == ';' && in_group) {
                push_group_end(out);
                in_group = false;
            }
            item_start = i + 1;
            seen_at_or_angle = false;
        }
        ++i;
    }
    if (in_group) {
        push_group_end(out);
    }
    return out;
}

void append_address_display(std::string& out, const std::vector<Address>& list) {
    bool first = true;
    for (const Address& a : list) {
        if (a.kind == Address::Kind::GroupEnd) {
            out += ';';
            continue;
        }
        if (!first) {
            out += ", ";
        }
        first = false;
        if (a.kind == Address::Kind::GroupStart) {
            out += a.name;
            out += ':';
            continue;
        }
        if (!a.name.empty()) {
            out += a.name;
            out += " <";
        }
        out += a.mailbox;
        if (!a.host.empty()) {
            out += '@';
            out += a.host;
        }
        if (!a.name.empty()) {
            out += '>';
        }
    }
}

}  // namespace sov::mime
