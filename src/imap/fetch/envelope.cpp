// ENVELOPE (RFC 9051 §7.5.2, §9 "envelope"; RFC 3501 §7.4.2).
#include <string>
#include <vector>

#include "imap/fetch/detail/content.hpp"

namespace sov::imap::fetch::detail {
namespace {

// address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
void emit_address(Emitter& e, const mime::Address& a) {
    e.open_adjacent();  // env-from = "(" 1*address ")": no SP between addresses
    switch (a.kind) {
        case mime::Address::Kind::Mailbox:
            // The name as written (encoded-words kept); structures stored before raw_name
            // existed have only the decoded one.
            e.display_name(a.raw_name.empty() ? a.name : a.raw_name);
            e.nstring(a.adl);
            e.string(a.mailbox);
            // A NIL host marks group syntax (RFC 9051 §7.5.2), so an address without a domain
            // ("To: someone") gets an empty host instead.
            e.string(a.host);
            break;
        case mime::Address::Kind::GroupStart:
            // Start of group: (NIL NIL "group name" NIL); the name must not be NIL here.
            e.nil();
            e.nil();
            if (a.name.empty() && a.raw_name.empty()) {
                e.string("");
            } else {
                e.display_name(a.raw_name.empty() ? a.name : a.raw_name);
            }
            e.nil();
            break;
        case mime::Address::Kind::GroupEnd:
            e.nil();
            e.nil();
            e.nil();
            e.nil();
            break;
    }
    e.close();
}

// env-from = "(" 1*address ")" / nil: absent and empty fields are both NIL.
void emit_address_list(Emitter& e, const std::vector<mime::Address>& list) {
    if (list.empty()) {
        e.nil();
        return;
    }
    e.open();
    for (const auto& a : list) {
        emit_address(e, a);
    }
    e.close();
}

}  // namespace

void emit_envelope(Emitter& e, const mime::MessageStructure& s, std::uint32_t envelope_index) {
    e.open();
    if (envelope_index >= s.envelopes.size()) {
        // No envelope recorded (a structure from a damaged cache): all members NIL.
        for (int i = 0; i < 10; ++i) {
            e.nil();
        }
        e.close();
        return;
    }
    const mime::Envelope& env = s.envelopes[envelope_index];
    // Date, Subject, In-Reply-To and Message-ID are the raw (unfolded, not RFC 2047-decoded)
    // values. mime::Envelope does not tell "absent" from "present but empty"; both are NIL,
    // which RFC 9051 §7.5.2 says clients must treat alike.
    e.nstring(env.date);
    e.nstring(env.subject);
    emit_address_list(e, env.from_addr);
    // "If the Sender or Reply-To header fields are absent ... or are present but empty, the
    // server sets the corresponding member of the envelope to be the same value as the from
    // member" (RFC 9051 §7.5.2).
    emit_address_list(e, env.sender_addr.empty() ? env.from_addr : env.sender_addr);
    emit_address_list(e, env.reply_to_addr.empty() ? env.from_addr : env.reply_to_addr);
    emit_address_list(e, env.to_addr);
    emit_address_list(e, env.cc_addr);
    emit_address_list(e, env.bcc_addr);
    e.nstring(env.in_reply_to);
    e.nstring(env.message_id);
    e.close();
}

void write_envelope(wire::ResponseWriter& w, const mime::MessageStructure& s) {
    // One buffer per thread: ENVELOPE is fetched for whole mailboxes, and the text is built
    // here once and appended to the response in one piece.
    thread_local std::string buf;
    buf.clear();
    Emitter e(w, buf);
    emit_envelope(e, s, s.parts.empty() ? mime::kNoIndex : s.parts[0].envelope);
    w.atom("ENVELOPE").atom(buf);
    release_if_large(buf);
}

}  // namespace sov::imap::fetch::detail
