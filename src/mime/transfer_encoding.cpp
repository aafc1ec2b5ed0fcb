#include "mime/transfer_encoding.hpp"

#include "core/ascii.hpp"
#include "mime/encoded_word.hpp"

namespace sov::mime {

namespace {

bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t';
}

}  // namespace

TransferEncoding classify_transfer_encoding(std::string_view cte) noexcept {
    if (cte.empty() || cte == "7bit" || cte == "8bit" || cte == "binary") {
        return TransferEncoding::Identity;
    }
    if (cte == "base64") {
        return TransferEncoding::Base64;
    }
    if (cte == "quoted-printable") {
        return TransferEncoding::QuotedPrintable;
    }
    return TransferEncoding::Unknown;
}

void decode_quoted_printable(std::string_view in, std::string& out) {
    out.reserve(out.size() + in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        // One line at a time, so trailing whitespace (transport padding, rule 3) can be dropped.
        std::size_t eol = in.find('\n', i);
        const bool has_eol = eol != std::string_view::npos;
        if (!has_eol) {
            eol = in.size();
        }
        std::size_t end = eol;
        if (end > i && in[end - 1] == '\r') {
            --end;
        }
        while (end > i && is_blank(in[end - 1])) {
            --end;
        }
        bool soft_break = false;
        for (std::size_t p = i; p < end; ++p) {
            const char c = in[p];
            if (c != '=') {
                out.push_back(c);
                continue;
            }
            if (p + 1 == end) {  // "=" at the end of a line: soft line break
                soft_break = true;
                break;
            }
            if (const int octet = core::hex_octet(in.substr(0, end), p + 1); octet >= 0) {
                out.push_back(static_cast<char>(octet));
                p += 2;
                continue;
            }
            out.push_back('=');  // malformed escape: keep it literally
        }
        if (has_eol && !soft_break) {
            out.append("\r\n");
        }
        i = has_eol ? eol + 1 : in.size();
    }
}

void decode_transfer_encoding(TransferEncoding encoding, std::string_view body, std::string& out) {
    switch (encoding) {
        case TransferEncoding::Base64:
            decode_base64(body, out);
            return;
        case TransferEncoding::QuotedPrintable:
            decode_quoted_printable(body, out);
            return;
        case TransferEncoding::Identity:
        case TransferEncoding::Unknown:
            out.append(body);
            return;
    }
}

}  // namespace sov::mime
