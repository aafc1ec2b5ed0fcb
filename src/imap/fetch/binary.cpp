// BINARY[part]<partial> and BINARY.SIZE[part] (RFC 3516 §4; RFC 9051 §6.4.5, §7.5.2).
#include <cstring>
#include <string>

#include "imap/fetch/detail/content.hpp"
#include "mime/transfer_encoding.hpp"

namespace sov::imap::fetch::detail {
namespace {

constexpr std::uint64_t kAll = ~std::uint64_t{0};

// Decodes the part's content into `out`. Returns false for an unknown CTE.
bool decode_part(
    const mime::MessageStructure& s,
    std::uint32_t index,
    bool with_header,
    std::string_view bytes,
    std::string& out
) {
    const mime::Part& p = s.parts[index];
    // BINARY is defined for leaf parts only (RFC 9051 §6.4.5). A multipart or MESSAGE/RFC822
    // part may only have an identity CTE (RFC 2045 §6.4, RFC 2046 §5.2.1), so for those the
    // "decoded" content is the content itself, which is what we send.
    const bool leaf = !p.is_multipart() && !p.is_message();
    const mime::TransferEncoding enc = leaf ? mime::classify_transfer_encoding(p.transfer_encoding)
                                            : mime::TransferEncoding::Identity;
    if (enc == mime::TransferEncoding::Unknown) {
        return false;  // RFC 3516 §4.3: NO [UNKNOWN-CTE]
    }
    if (with_header) {
        // BINARY[]: the message header as it is, then the decoded body (Dovecot does the same).
        const Text header = slice(bytes, p.header_offset, p.body_offset);
        append_normalized(header, 0, kAll, out);
    }
    // RFC 3516 §4.2: BINARY returns the content with the transfer encoding removed, byte for
    // byte — also for text parts (a base64 text with bare LFs keeps them; Dovecot and its
    // imaptest script fetch-binary-mime-base64 agree). Only 7bit/8bit content, which is
    // line-oriented by definition, is sent with CRLF line ends (RFC 9051 §7.5.2).
    const bool normalise =
        enc == mime::TransferEncoding::Identity && p.transfer_encoding != "binary";
    const Text body = slice(bytes, p.body_offset, p.end_offset);
    if (enc == mime::TransferEncoding::Identity) {
        if (normalise) {
            append_normalized(body, 0, kAll, out);
        } else {
            out.append(body.bytes);
        }
        return true;
    }
    mime::decode_transfer_encoding(enc, body.bytes, out);
    return true;
}

}  // namespace

AttStatus write_binary(
    wire::ResponseWriter& w,
    const wire::FetchAtt& att,
    const mime::MessageStructure& s,
    std::string_view bytes
) {
    const std::optional<std::uint32_t> node = resolve_part(s, att.section.part);
    if (!node) {
        // Unlike BODY[], there is no data to pretend: the engine decides (NO, or NIL, which
        // the nstring of RFC 3516 §4.3 allows).
        return AttStatus::NoSuchPart;
    }
    std::string content;
    if (!decode_part(s, *node, att.section.part.empty(), bytes, content)) {
        return AttStatus::UnknownCte;
    }
    // section-binary = "[" [section-part] "]": only part numbers (RFC 3516 §7).
    std::string name;
    const bool size_only = att.item == wire::FetchItem::BinarySize;
    name += size_only ? "BINARY.SIZE[" : "BINARY[";
    append_section_spec(name, wire::Section{att.section.part, wire::SectionText::None, {}});
    name += ']';
    if (size_only) {
        // "The value returned MUST match the size of the <nstring> or <literal8> that will be
        // returned by the corresponding FETCH BINARY request" (RFC 3516 §4.3).
        w.atom(name).number(content.size());
        return AttStatus::Ok;
    }
    append_partial_origin(name, att.partial);
    w.atom(name);
    const auto [from, to] = window(content.size(), att.partial);
    const std::string_view data =
        std::string_view(content).substr(static_cast<std::size_t>(from), to - from);
    if (data.empty()) {
        w.string("");
    } else if (std::memchr(data.data(), '\0', data.size()) != nullptr) {
        w.literal8(data);  // RFC 3516 §4.3: NUL octets need literal8
    } else {
        // "If the domain of the decoded data is 8bit and the data does not contain the NUL
        // octet, the server SHOULD return the data in a <string>" (RFC 3516 §4.3).
        w.literal(data);
    }
    return AttStatus::Ok;
}

}  // namespace sov::imap::fetch::detail
