#include "mime/serialize.hpp"

#include <cstdint>

#include "core/varint.hpp"
#include "mime/errors.hpp"

namespace sov::mime {
namespace {

class Writer {
public:
    explicit Writer(std::string& out) : out_(out) {}
    void u(std::uint64_t v) { core::put_varint(out_, v); }
    void idx(std::uint32_t v) { u(v == kNoIndex ? 0 : std::uint64_t{v} + 1); }
    void str(std::string_view s) {
        u(s.size());
        out_.append(s);
    }
    void content_type(const ContentType& ct) {
        str(ct.type);
        str(ct.subtype);
        u(ct.params.size());
        for (const auto& p : ct.params) {
            str(p.name);
            str(p.value);
            str(p.language);
        }
    }
    void addresses(const std::vector<Address>& list) {
        u(list.size());
        for (const auto& a : list) {
            u(static_cast<std::uint8_t>(a.kind));
            str(a.name);
            str(a.raw_name);
            str(a.adl);
            str(a.mailbox);
            str(a.host);
        }
    }

private:
    std::string& out_;
};

class Reader {
public:
    Reader(std::string_view in, unsigned version) : in_(in), version_(version) {}
    [[nodiscard]] bool ok() const { return !failed_; }
    [[nodiscard]] bool at_end() const { return pos_ == in_.size(); }

    std::uint64_t u() {
        std::uint64_t v = 0;
        if (!core::get_varint(in_, pos_, v)) {
            failed_ = true;
            return 0;
        }
        return v;
    }
    std::uint32_t idx() {
        const std::uint64_t v = u();
        if (v > 0xFFFFFFFFULL) {
            failed_ = true;
            return kNoIndex;
        }
        return v == 0 ? kNoIndex : static_cast<std::uint32_t>(v - 1);
    }
    std::uint32_t u32() {
        const std::uint64_t v = u();
        if (v > 0xFFFFFFFFULL) {
            failed_ = true;
        }
        return static_cast<std::uint32_t>(v);
    }
    // A count of items each at least `min_bytes` long cannot exceed what remains.
    std::size_t count(std::size_t min_bytes) {
        const std::uint64_t n = u();
        if (n > (in_.size() - pos_) / min_bytes) {
            failed_ = true;
            return 0;
        }
        return static_cast<std::size_t>(n);
    }
    void str(std::string& s) {
        const std::uint64_t n = u();
        if (failed_ || n > in_.size() - pos_) {
            failed_ = true;
            return;
        }
        s.assign(in_.substr(pos_, static_cast<std::size_t>(n)));
        pos_ += static_cast<std::size_t>(n);
    }
    void content_type(ContentType& ct) {
        str(ct.type);
        str(ct.subtype);
        const std::size_t n = count(3);
        ct.params.resize(n);
        for (auto& p : ct.params) {
            str(p.name);
            str(p.value);
            str(p.language);
        }
    }
    void addresses(std::vector<Address>& list) {
        const std::size_t n = count(5);
        list.resize(n);
        for (auto& a : list) {
            const std::uint64_t kind = u();
            if (kind > static_cast<std::uint8_t>(Address::Kind::GroupEnd)) {
                failed_ = true;
                return;
            }
            a.kind = static_cast<Address::Kind>(kind);
            str(a.name);
            if (version_ >= 2) {
                str(a.raw_name);
            }
            str(a.adl);
            str(a.mailbox);
            str(a.host);
        }
    }

private:
    std::string_view in_;
    unsigned version_ = kStructureFormatVersion;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

// An envelope's fields in their stored order, for serialize() and deserialize() alike
// (`Env` is Envelope or const Envelope).
template <class Env, class OnText, class OnAddresses>
void for_each_envelope_field(Env& e, OnText&& on_text, OnAddresses&& on_addresses) {
    for (auto* f :
         {&e.date,
          &e.subject,
          &e.from,
          &e.sender,
          &e.reply_to,
          &e.to,
          &e.cc,
          &e.bcc,
          &e.in_reply_to,
          &e.message_id}) {
        on_text(*f);
    }
    for (auto* l :
         {&e.from_addr, &e.sender_addr, &e.reply_to_addr, &e.to_addr, &e.cc_addr, &e.bcc_addr}) {
        on_addresses(*l);
    }
}

bool valid_tree(const MessageStructure& s) {
    const auto n = static_cast<std::uint32_t>(s.parts.size());
    if (n == 0 || s.envelopes.empty()) {
        return false;
    }
    for (std::uint32_t i = 0; i < n; ++i) {
        const Part& p = s.parts[i];
        // Parts are in pre-order: links only point forward, parents backward; no cycles.
        if ((i == 0) != (p.parent == kNoIndex) || (p.parent != kNoIndex && p.parent >= i) ||
            (p.first_child != kNoIndex && (p.first_child <= i || p.first_child >= n)) ||
            (p.next_sibling != kNoIndex && (p.next_sibling <= i || p.next_sibling >= n)) ||
            (p.envelope != kNoIndex && p.envelope >= s.envelopes.size()) ||
            p.header_offset > p.body_offset || p.body_offset > p.end_offset ||
            p.end_offset > s.size || p.child_count > n) {
            return false;
        }
    }
    return s.parts[0].envelope == 0;
}

}  // namespace

std::string serialize(const MessageStructure& s) {
    std::string out;
    out.reserve(64 + s.parts.size() * 48);
    out.push_back(static_cast<char>(kStructureFormatVersion));
    Writer w(out);
    w.u(s.size);
    w.u(s.problems);
    w.u(s.parts.size());
    for (const Part& p : s.parts) {
        w.u(p.header_offset);
        w.u(p.body_offset - p.header_offset);
        w.u(p.end_offset - p.body_offset);
        w.u(p.body_lines);
        w.u(p.body_bare_lf);
        w.u(p.header_bare_lf);
        w.idx(p.parent);
        w.idx(p.first_child);
        w.idx(p.next_sibling);
        w.u(p.child_count);
        w.idx(p.envelope);
        w.u(p.problems);
        w.u(p.content_type_given ? 1 : 0);
        w.content_type(p.content_type);
        w.str(p.transfer_encoding);
        w.str(p.content_id);
        w.str(p.description);
        w.str(p.md5);
        w.str(p.location);
        w.content_type(p.disposition);
        w.u(p.languages.size());
        for (const auto& l : p.languages) {
            w.str(l);
        }
    }
    w.u(s.envelopes.size());
    for (const Envelope& e : s.envelopes) {
        for_each_envelope_field(
            e, [&](const std::string& f) { w.str(f); }, [&](const auto& l) { w.addresses(l); }
        );
    }
    return out;
}

Result<MessageStructure> deserialize(std::string_view data) {
    if (data.empty()) {
        return make_error_code(Errc::Truncated);
    }
    const auto version = static_cast<unsigned char>(data[0]);
    if (version < 1 || version > kStructureFormatVersion) {
        return make_error_code(Errc::BadVersion);
    }
    Reader r(data.substr(1), version);
    MessageStructure s;
    s.size = r.u();
    s.problems = r.u32();
    s.parts.resize(r.count(24));
    for (Part& p : s.parts) {
        if (!r.ok()) {
            break;
        }
        p.header_offset = r.u();
        const std::uint64_t header_size = r.u();
        const std::uint64_t body_size = r.u();
        if (header_size > s.size || body_size > s.size || p.header_offset > s.size) {
            return make_error_code(Errc::Corrupt);
        }
        p.body_offset = p.header_offset + header_size;
        p.end_offset = p.body_offset + body_size;
        p.body_lines = r.u();
        p.body_bare_lf = r.u();
        if (version >= 2) {
            p.header_bare_lf = r.u();
        }
        p.parent = r.idx();
        p.first_child = r.idx();
        p.next_sibling = r.idx();
        p.child_count = r.u32();
        p.envelope = r.idx();
        p.problems = r.u32();
        const std::uint64_t given = r.u();
        if (given > 1) {
            return make_error_code(Errc::Corrupt);
        }
        p.content_type_given = given == 1;
        r.content_type(p.content_type);
        r.str(p.transfer_encoding);
        r.str(p.content_id);
        r.str(p.description);
        r.str(p.md5);
        r.str(p.location);
        r.content_type(p.disposition);
        p.languages.resize(r.count(1));
        for (auto& l : p.languages) {
            r.str(l);
        }
    }
    s.envelopes.resize(r.count(16));
    for (Envelope& e : s.envelopes) {
        if (!r.ok()) {
            break;
        }
        for_each_envelope_field(
            e, [&](std::string& f) { r.str(f); }, [&](auto& l) { r.addresses(l); }
        );
    }
    if (!r.ok()) {
        return make_error_code(Errc::Truncated);
    }
    if (!r.at_end() || !valid_tree(s)) {
        return make_error_code(Errc::Corrupt);
    }
    return s;
}

}  // namespace sov::mime
