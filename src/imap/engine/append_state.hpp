#pragma once
// An APPEND in progress (RFC 9051 §6.3.12, MULTIAPPEND RFC 3502, CATENATE RFC 4469): the
// message literals stream into spool files while the client sends them; the messages are stored
// when the command is complete, all in one transaction (Store::append_all) when there are
// several. A CATENATE message's TEXT parts are spooled one file each, and the message is put
// together from them and its URL parts when the command is complete (append.cpp). Dropping the
// state (client gone, parse error) removes the spool files: an APPEND that was not answered OK
// leaves nothing (store.hpp, Incoming).
#include <optional>
#include <string>
#include <vector>

#include "imap/engine/session.hpp"
#include "store/store.hpp"

namespace sov::imap {

struct Session::AppendState {
    struct Message {
        std::optional<store::Incoming> incoming;  // a plain message literal
        bool catenate = false;
        std::vector<store::Incoming> texts;  // CATENATE: the TEXT parts so far, in order
    };
    std::string tag;
    std::string mailbox;
    std::vector<Message> messages;
    bool previous_cr = false;  // line-end normalisation across chunk boundaries
    std::error_code error;     // a spool write failed: the APPEND will answer NO
};

}  // namespace sov::imap
