#pragma once
// Internal to the engine: the command implementations, grouped by file (auth.cpp,
// mailbox_commands.cpp, message_commands.cpp, search_commands.cpp, append.cpp). Each writes its
// untagged responses and its tagged completion to `w`.
#include <string_view>

#include "accounts/sasl.hpp"
#include "imap/engine/session.hpp"

namespace sov::imap {

class Session::Handlers {
public:
    using W = wire::ResponseWriter;
    using Cmd = wire::Command;

    // session.cpp
    static void capability(Session& s, W& w);
    static std::string capabilities(const Session& s);
    static void enable(Session& s, const Cmd& c, W& w);
    static void id(Session& s, const Cmd& c, W& w);
    static void ok(W& w, const Cmd& c, std::string_view code = {});
    static void no(W& w, const Cmd& c, std::string_view code, std::string_view text);
    static void bad(W& w, const Cmd& c, std::string_view text);
    /// Store failures become "NO [SERVERBUG]" or a more precise code; logged with the session.
    static void store_error(Session& s, W& w, const Cmd& c, const std::error_code& ec);
    static PollMode poll_mode(const Session& s, bool allow_expunge);
    static wire::WriterOptions writer_options(const Session& s);

    // auth.cpp
    static After login(Session& s, const Cmd& c, W& w);
    static After authenticate(Session& s, const Cmd& c, W& w);
    /// Answers one step of the AUTHENTICATE in progress (s.sasl_): a continuation, or the end.
    static After sasl_step(Session& s, accounts::SaslServer::Step step, W& w);
    static After starttls(Session& s, const Cmd& c, W& w);

    // mailbox_commands.cpp
    static void select(Session& s, const Cmd& c, W& w);
    static void create(Session& s, const Cmd& c, W& w);
    static void remove(Session& s, const Cmd& c, W& w);
    static void rename(Session& s, const Cmd& c, W& w);
    static void subscribe(Session& s, const Cmd& c, W& w, bool on);
    static void list(Session& s, const Cmd& c, W& w);
    static void namespace_(Session& s, const Cmd& c, W& w);
    static void status(Session& s, const Cmd& c, W& w);
    static void close(Session& s, const Cmd& c, W& w, bool expunge);
    static void expunge(Session& s, const Cmd& c, W& w);
    static void quota(Session& s, const Cmd& c, W& w);
    /// One "* LIST (attributes) "/" name" line (SELECT in IMAP4rev2).
    static void write_list_entry(Session& s, const std::string& name, W& w);
    /// Writes "* STATUS name (...)" (STATUS and LIST-STATUS).
    static bool write_status(
        Session& s, std::string_view mailbox, const std::vector<wire::StatusItem>& items, W& w
    );

    // message_commands.cpp
    static void fetch(Session& s, const Cmd& c, W& w);
    /// Whether a FETCH may start on the I/O thread (Session::handle's `quick`): few messages,
    /// no \Seen to set, no CHANGEDSINCE. fetch() refuses later what turns out to need more.
    static bool fetch_is_quick(const Session& s, const Cmd& c);
    static void store(Session& s, const Cmd& c, W& w);
    static void copy(Session& s, const Cmd& c, W& w, bool move);
    /// The UIDs a command's sequence set names ("$" = the saved search result).
    static std::vector<std::uint32_t> set_uids(
        Session& s, const wire::SequenceSet& set, bool by_uid
    );

    // search_commands.cpp
    static void search(Session& s, const Cmd& c, W& w);
    static void sort(Session& s, const Cmd& c, W& w);
    static void thread(Session& s, const Cmd& c, W& w);
    static void search_or_sort(
        Session& s,
        const Cmd& c,
        W& w,
        const wire::SearchReturn& ret,
        const std::string& charset,
        const wire::SearchKey& key,
        const std::vector<wire::SortKey>* sort
    );
    /// CANCELUPDATE (RFC 5267 §4.3.5).
    static void cancel_update(Session& s, const Cmd& c, W& w);
    /// ADDTO / REMOVEFROM for every update context whose result changed (after the poll that
    /// reported the changes: new messages' EXISTS comes first, RFC 5267 §4.3.3).
    static void update_contexts(Session& s, W& w);
    /// REMOVEFROM for the messages about to be reported expunged, while their numbers are
    /// still valid (RFC 5267 §4.3.4). MailboxView calls it before writing the EXPUNGEs.
    static void contexts_expunged(Session& s, const std::vector<std::uint32_t>& gone, W& w);

    // append.cpp
    static void append(Session& s, const Cmd& c, W& w);
};

}  // namespace sov::imap
